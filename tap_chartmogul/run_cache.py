"""What streams of one run hand each other, so no request is made twice.

- Parent keys: a fan-out stream (subscriptions per customer, plans per plan group)
  reuses the uuids its parent stream listed earlier in the same run instead of listing
  them again; only the uuids are kept (a few MB at 50,000 customers).
- The HTTP session: one rate limiter and one connection pool for every request.
- The invoice spool: invoice line items and transactions come nested in invoices. The
  first stream that reads invoices writes the nested arrays to a spool (memory up to
  16 MB, then a temporary file), and the derived streams read it back, so the items
  cost no request of their own and memory stays bounded however many invoices exist.
"""

from __future__ import annotations

import json
import tempfile
import threading
import typing as t

from tap_chartmogul.http_session import build_session

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    import requests

SPOOL_MEMORY_BYTES = 16 * 1024 * 1024


class _Spool(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    """A spool that closes itself when dropped.

    The tap closes the run's spool when ``sync_all`` ends; a dry run (``--test``, the
    SDK's connection test) syncs streams one by one and may abandon a half-read spool,
    which is then released with its generator instead of raising a ResourceWarning.
    """

    def __del__(self) -> None:
        self.close()


class RunCache:
    """Per-run hand-offs between streams; one instance per tap."""

    def __init__(self) -> None:
        """Start empty: nothing is known before the first stream runs."""
        self._parent_keys: dict[str, list[str]] = {}
        self._wanted_parents: set[str] = set()
        self._spool: t.IO[str] | None = None
        self._spool_complete = False
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()

    def http_session(self, config: Mapping[str, t.Any]) -> requests.Session:
        """The run's one session (rate limiter + bounded pool), built on first use."""
        with self._session_lock:
            if self._session is None:
                self._session = build_session(
                    requests_per_second=config["requests_per_second"],
                    max_connections=config["max_connections"],
                )
            return self._session

    def close(self) -> None:
        """Free what the run kept: the spool (and its temporary file) and the keys."""
        if self._spool is not None:
            self._spool.close()
        self._spool = None
        self._spool_complete = False
        self._parent_keys.clear()
        if self._session is not None:
            self._session.close()
            self._session = None

    # --- parent keys ------------------------------------------------------------------

    def want_parent_keys(self, parent: str) -> None:
        """Ask ``parent`` to remember the keys it lists in this run."""
        self._wanted_parents.add(parent)

    def wants_parent_keys(self, parent: str) -> bool:
        """Whether a selected fan-out stream will need ``parent``'s keys."""
        return parent in self._wanted_parents

    def store_parent_keys(self, parent: str, keys: list[str]) -> None:
        """Record the complete list of keys ``parent`` emitted."""
        self._parent_keys[parent] = keys

    def parent_keys(self, parent: str) -> list[str] | None:
        """The keys ``parent`` listed in this run, or None if it did not run completely."""
        return self._parent_keys.get(parent)

    # --- invoice spool ----------------------------------------------------------------

    @property
    def invoices_spooled(self) -> bool:
        """Whether every invoice of this run is in the spool."""
        return self._spool_complete

    def spool_invoices(self, invoices: Iterable[dict[str, t.Any]]) -> Iterator[dict[str, t.Any]]:
        """Pass ``invoices`` through, writing their nested arrays to the spool.

        The spool counts as complete only when the iteration finishes, so a failed
        read never leaves half a spool behind for the derived streams.
        """
        spool = _Spool(max_size=SPOOL_MEMORY_BYTES, mode="w+", encoding="utf-8")
        try:
            yield from self._spooled_pass(spool, invoices)
        except BaseException:
            spool.close()
            raise
        if self._spool is not None:
            self._spool.close()
        self._spool = spool
        self._spool_complete = True

    @staticmethod
    def _spooled_pass(
        spool: t.IO[str], invoices: Iterable[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        for invoice in invoices:
            nested = {
                "uuid": invoice.get("uuid"),
                "customer_uuid": invoice.get("customer_uuid"),
                "line_items": invoice.get("line_items") or [],
                "transactions": invoice.get("transactions") or [],
            }
            spool.write(json.dumps(nested, separators=(",", ":")))
            spool.write("\n")
            yield invoice

    def spooled_invoices(self) -> Iterator[dict[str, t.Any]]:
        """Read the spool back: ``uuid``, ``customer_uuid`` and the nested arrays."""
        if self._spool is None or not self._spool_complete:
            msg = "the invoice spool is not complete"
            raise RuntimeError(msg)
        self._spool.seek(0)
        for line in self._spool:
            yield json.loads(line)
