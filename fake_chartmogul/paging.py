"""Keyset cursor paging over the account's lists.

Each paginated list gets a :class:`SortedCollection`: a sorted snapshot plus a parallel list of
sort keys, rebuilt only when the account changes. A cursor encodes the sort key of the last
record served (cursors.py: like the real ``"<timestamp>&<id>"`` cursors,
docs/chartmogul-api.md §1.2), so serving a page is a bisect plus ``per_page`` steps — O(page
size) — and stays correct when records are added or removed between pages.

When the account can say which records were merely added since the last snapshot (its journal,
see ``FakeAccount.insert_records``), the snapshot and its equality indexes absorb them in
O(added · log n) key work instead of re-sorting: a 100 000-customer account re-sorts in seconds,
which would otherwise land on the first request after every simulated day.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import invalid_cursor, invalid_param

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator, Sequence

    from .cursors import Key

Record = dict[str, Any]
Stamp = tuple[int, int, int]
"""(account version, id of the source list, its length): what a snapshot was taken of."""
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 200


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building big indexes (thread-safe, nestable).

    Index builds allocate ~10^5 long-lived tuples, which triggers full collections; with a
    50k-customer dataset in memory each one costs ~1 s and nothing is ever garbage.
    """
    global _gc_depth, _gc_was_enabled  # noqa: PLW0603 - process-wide switch by nature
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


def parse_per_page(query: dict[str, str], default: int = DEFAULT_PER_PAGE) -> int:
    """``per_page``: default 200, larger values silently capped, junk rejected with 400."""
    raw = query.get("per_page")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(param="per_page") from None
    if value < 1:
        raise invalid_param(param="per_page")
    return min(value, MAX_PER_PAGE)


@dataclass(frozen=True)
class SortedView:
    """Records in serving order and their ascending sort keys (parallel lists)."""

    keys: list[Key]
    records: list[Record]


EMPTY_VIEW = SortedView([], [])


class SortedCollection:
    """Sorted, lazily re-indexed snapshot of one account list."""

    def __init__(
        self,
        source: Callable[[], list[Record]],
        version: Callable[[], int],
        key: Callable[[Record], Key],
        additions: Callable[[Stamp, Stamp], Sequence[Record] | None] | None = None,
    ) -> None:
        """Serve ``source()`` sorted by ``key``; re-sort whenever ``version()`` changes.

        ``additions(old, new)`` may return the records added to the source between two stamps
        (``None`` when it cannot tell); they are then merged in instead of re-sorting all.
        """
        self._source = source
        self._version = version
        self._key = key
        self._additions = additions
        self._lock = threading.Lock()
        self._stamp: Stamp | None = None
        self._view = EMPTY_VIEW
        self._indexes: dict[str, dict[Hashable, SortedView]] = {}

    def _fresh(self) -> None:
        records = self._source()
        stamp = (self._version(), id(records), len(records))
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            added = None
            if self._additions is not None and self._stamp is not None:
                added = self._additions(self._stamp, stamp)
            with gc_paused():
                if added is not None:
                    self._absorb(added)
                else:
                    decorated = sorted(
                        ((self._key(r), r) for r in list(records)), key=lambda t: t[0]
                    )
                    self._view = SortedView([t[0] for t in decorated], [t[1] for t in decorated])
                    self._indexes = {}
            self._stamp = stamp

    def _absorb(self, added: Sequence[Record]) -> None:
        """Merge ``added`` into the snapshot and every built index (copy-on-write views).

        Requests in flight keep paging through the views they already hold; only the
        affected index groups get new views.
        """
        new = sorted(((self._key(r), r) for r in added), key=lambda t: t[0])
        self._view = _merged(self._view, new)
        for field, groups in self._indexes.items():
            by_value: dict[Hashable, list[tuple[Key, Record]]] = {}
            for k, r in new:
                value = r.get(field)
                if not isinstance(value, (list, dict)):
                    by_value.setdefault(value, []).append((k, r))
            for value, items in by_value.items():
                groups[value] = _merged(groups.get(value, EMPTY_VIEW), items)

    def view(self) -> SortedView:
        """The whole list in serving order (re-sorted first if the account changed)."""
        self._fresh()
        return self._view

    def index(self, field: str) -> dict[Hashable, SortedView]:
        """Equality index ``value -> SortedView`` on ``field`` (built on first use)."""
        self._fresh()
        indexes = self._indexes
        found = indexes.get(field)
        if found is None:
            found = _group(self._view, field)
            indexes[field] = found
        return found


def _merged(view: SortedView, new: list[tuple[Key, Record]]) -> SortedView:
    """A new view of ``view`` plus the key-sorted ``new`` pairs (equal keys: new ones last)."""
    old_keys, old_records = view.keys, view.records
    keys: list[Key] = []
    records: list[Record] = []
    done = 0
    for k, r in new:
        i = bisect.bisect_right(old_keys, k, done)
        keys += old_keys[done:i]
        records += old_records[done:i]
        keys.append(k)
        records.append(r)
        done = i
    keys += old_keys[done:]
    records += old_records[done:]
    return SortedView(keys, records)


def _group(view: SortedView, field: str) -> dict[Hashable, SortedView]:
    """Split a view by the value of ``field`` (list/dict values are not indexable)."""
    grouped: dict[Hashable, tuple[list[Key], list[Record]]] = {}
    with gc_paused():
        for k, r in zip(view.keys, view.records, strict=True):
            value = r.get(field)
            if isinstance(value, (list, dict)):
                continue
            slot = grouped.setdefault(value, ([], []))
            slot[0].append(k)
            slot[1].append(r)
        return {v: SortedView(ks, rs) for v, (ks, rs) in grouped.items()}


@dataclass(frozen=True)
class Selection:
    """The records a request may see: an (indexed) view plus an optional residual filter."""

    view: SortedView
    keep: Callable[[Record], bool] | None = None

    def count(self) -> int:
        """Matching records (O(1) without a residual filter, else a scan)."""
        if self.keep is None:
            return len(self.view.records)
        keep = self.keep
        return sum(1 for r in self.view.records if keep(r))


@dataclass(frozen=True)
class PageRequest:
    """``per_page``/``cursor`` of a request; ``first`` = no cursor (legacy keys wanted)."""

    per_page: int
    cursor: str | None

    @property
    def first(self) -> bool:
        """A request without a cursor: its answer carries the legacy keys."""
        return self.cursor is None

    @classmethod
    def from_query(cls, query: dict[str, str]) -> PageRequest:
        """Read and check ``per_page`` and ``cursor`` (a bad ``per_page`` is a 400)."""
        return cls(parse_per_page(query), query.get("cursor") or None)


@dataclass
class Page:
    """One page of results and what the response should say about the rest."""

    records: list[Record]
    has_more: bool
    last: Record | None


def keyset_page(
    view: SortedView, after: Key | None, per_page: int, keep: Callable[[Record], bool] | None = None
) -> Page:
    """Records strictly after ``after`` (or from the start), filtered by ``keep``."""
    records = view.records
    try:
        i = bisect.bisect_right(view.keys, after) if after is not None else 0
    except TypeError:  # a cursor from another endpoint decoded into the wrong key types
        raise invalid_cursor() from None
    n = len(records)
    out: list[Record] = []
    if keep is None:
        out = records[i : i + per_page + 1]
    else:
        while i < n and len(out) <= per_page:
            r = records[i]
            i += 1
            if keep(r):
                out.append(r)
    has_more = len(out) > per_page
    page = out[:per_page]
    return Page(page, has_more, page[-1] if page else None)


def total_pages(count: int, per_page: int) -> int:
    """The legacy ``total_pages`` of first pages (docs/chartmogul-api.md §1.2)."""
    return -(-count // per_page)
