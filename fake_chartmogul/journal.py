"""Change tracking of a :class:`~fake_chartmogul.account.FakeAccount`: versions and a journal.

The server re-sorts its cursor indexes whenever :attr:`Journal.version` or a list's length
changes, so appending a record is picked up automatically. After editing a sort field in place
(``customer-since``, activity ``date``, ``created_at``...) call :meth:`Journal.touch`.
:meth:`Journal.insert_records` adds records at their API position and journals them, so the
server merges them into its indexes instead of re-sorting (what simulated days use).
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import TYPE_CHECKING, Any

from .cursors import Key, created_at_ns, customer_codec, newest_first_codec
from .formats import to_ns

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Sequence

    from .paging import Stamp

Record = dict[str, Any]
JOURNAL_LENGTH = 256
"""Insert batches remembered per list; an index further behind than that re-sorts instead."""


def activity_key(record: Record) -> tuple[int, str]:
    """Sort key of the global ``/activities`` list: ascending ``date``, ties by ``uuid``."""
    return to_ns(record["date"]), record["uuid"]


SORT_KEYS: dict[str, Callable[[Record], Key]] = {
    "customers": customer_codec().key,
    "activities": activity_key,
    "subscription_events": newest_first_codec(created_at_ns, "id", int_id=True).key,
}
"""API order of the lists :meth:`FakeAccount.insert_records` accepts (as routes/ serves them)."""


class Journal:
    """Versions and insert batches of the account's lists, for the server's indexes."""

    _lock: threading.RLock
    _version: int
    _journal: dict[str, deque[tuple[Stamp, int, tuple[Record, ...]]]]

    @property
    def version(self) -> int:
        """Bumped by the mutation helpers and :meth:`touch`; the server re-indexes on change.

        :meth:`insert_records` (simulated days) journals its batches instead, so the server
        merges them without a re-sort.
        """
        return self._version

    def touch(self) -> None:
        """Declare in-place edits (e.g. a changed ``date``) so the server re-sorts its indexes."""
        with self._lock:
            self._version += 1

    def insert_records(self, attr: str, records: Sequence[Record]) -> None:
        """Insert new ``records`` into the list ``attr`` at their API positions and journal them.

        ``attr`` is a key of :data:`SORT_KEYS`. Costs O(k log n) key computations plus one
        pointer copy of the list; the server then merges the same records into its indexes
        (:meth:`added_since`) rather than re-sorting the whole list.
        """
        key = SORT_KEYS[attr]
        new = sorted(records, key=key)
        if not new:
            return
        with self._lock:
            target: list[Record] = getattr(self, attr)
            before: Stamp = (self._version, id(target), len(target))
            merged: list[Record] = []
            done = 0
            for record in new:
                k = key(record)
                if done < len(target) and key(target[done]) > k:
                    i = done  # the usual case after the first: right where the last one went
                else:
                    i = bisect.bisect_right(target, k, done, key=key)
                merged += target[done:i]
                merged.append(record)
                done = i
            merged += target[done:]
            target[:] = merged  # one atomic swap: readers see all of the batch or none of it
            journal = self._journal.setdefault(attr, deque(maxlen=JOURNAL_LENGTH))
            journal.append((before, len(target), tuple(new)))

    def added_since(self, attr: str, old: Stamp, new: Stamp) -> list[Record] | None:
        """Records journaled into ``attr`` between two snapshots, or ``None`` if unknown.

        ``None`` (re-sort everything) whenever anything else may have happened in between:
        a version bump, a replaced list, or a length change no journaled batch explains.
        """
        if old[:2] != new[:2]:
            return None
        batches = {
            before[2]: (after, records)
            for before, after, records in list(self._journal.get(attr, ()))
            if before[:2] == old[:2]
        }
        length, out = old[2], list[Record]()
        while length < new[2]:
            found = batches.get(length)
            if found is None:
                return None
            length, records = found
            out.extend(records)
        return out if length == new[2] else None
