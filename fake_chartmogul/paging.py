"""Keyset cursor paging over the account's lists.

Each paginated list gets a :class:`SortedCollection`: a sorted snapshot plus a parallel list of
sort keys, rebuilt only when the account changes. A cursor encodes the sort key of the last
record served (cursors.py: like the real ``"<timestamp>&<id>"`` cursors,
docs/chartmogul-api.md §1.2), so serving a page is a bisect plus ``per_page`` steps — O(page
size) — and stays correct when records are added or removed between pages.

Filters are indexes, never scans: :meth:`SortedCollection.index` groups the snapshot by
one or more :class:`IndexSpec` (a record may be in several groups, e.g. a customer of two data
sources), so a filtered page and its legacy ``total_pages`` cost what an unfiltered one does.

When the account can say which records were merely added since the last snapshot (its journal,
see ``FakeAccount.insert_records``), the snapshot and its indexes absorb them in
O(added · log n) key work instead of re-sorting: a 100 000-customer account re-sorts in seconds,
which would otherwise land on the first request after every simulated day.

A list that keeps its own order and indexes (a thick account's invoices, billing.py) is
served as it is: :class:`Presorted`.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

from .errors import invalid_cursor, invalid_param

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence

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
    """Records in serving order and their ascending sort keys (parallel sequences)."""

    keys: Sequence[Key]
    records: Sequence[Record]


EMPTY_VIEW = SortedView([], [])


@dataclass(frozen=True)
class IndexSpec:
    """An equality index: the values a record is found under (none, one or several)."""

    name: str
    values: Callable[[Record], Iterable[Hashable]]


def field_index(field: str) -> IndexSpec:
    """Records by the value of ``field`` (list and dict values are not indexable)."""

    def values(r: Record) -> tuple[Hashable, ...]:
        value = r.get(field)
        return () if isinstance(value, (list, dict)) else (value,)

    return IndexSpec(field, values)


if TYPE_CHECKING:
    Groups: TypeAlias = dict[Hashable, SortedView]


@runtime_checkable
class Presorted(Protocol):
    """A list that keeps its own serving order and indexes, served without a copy."""

    def sorted_view(self) -> SortedView:
        """The whole list in serving order."""
        ...

    def grouped(self, names: tuple[str, ...]) -> dict[Hashable, SortedView] | None:
        """The index on ``names`` (keys as :meth:`SortedCollection.index` has them), or None."""
        ...


class SortedCollection:
    """Sorted, lazily re-indexed snapshot of one account list."""

    def __init__(
        self,
        source: Callable[[], Sequence[Record]],
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
        self._indexes: dict[tuple[str, ...], tuple[tuple[IndexSpec, ...], Groups]] = {}

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
        for specs, groups in self._indexes.values():
            by_value: dict[Hashable, list[tuple[Key, Record]]] = {}
            for k, r in new:
                for value in _values(specs, r):
                    by_value.setdefault(value, []).append((k, r))
            for value, items in by_value.items():
                groups[value] = _merged(groups.get(value, EMPTY_VIEW), items)

    def view(self) -> SortedView:
        """The whole list in serving order (re-sorted first if the account changed)."""
        records = self._source()
        if isinstance(records, Presorted):
            return records.sorted_view()
        self._fresh()
        return self._view

    def index(self, *specs: str | IndexSpec) -> Groups:
        """Equality index ``value -> SortedView`` (built on first use, then kept up to date).

        A string is :func:`field_index` of that field. With several specs the keys are
        tuples of one value per spec (a record under each combination of its values).
        """
        resolved = tuple(field_index(s) if isinstance(s, str) else s for s in specs)
        names = tuple(s.name for s in resolved)
        records = self._source()
        if isinstance(records, Presorted):
            grouped = records.grouped(names)
            if grouped is not None:
                return grouped
        self._fresh()
        found = self._indexes.get(names)
        if found is None:
            view = self.view()
            found = (resolved, _group(view, resolved))
            self._indexes[names] = found
        return found[1]


def _values(specs: tuple[IndexSpec, ...], record: Record) -> list[Hashable]:
    """The index keys of ``record``: a value per spec, or a tuple of one value per spec."""
    if len(specs) == 1:
        return list(dict.fromkeys(specs[0].values(record)))
    combos: list[tuple[Hashable, ...]] = [()]
    for spec in specs:
        combos = [(*c, v) for c in combos for v in dict.fromkeys(spec.values(record))]
    return list(combos)


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


def _group(view: SortedView, specs: tuple[IndexSpec, ...]) -> Groups:
    """Split a view by its records' index values (a record may land in several groups)."""
    grouped: dict[Hashable, tuple[list[Key], list[Record]]] = {}
    with gc_paused():
        for k, r in zip(view.keys, view.records, strict=True):
            for value in _values(specs, r):
                slot = grouped.setdefault(value, ([], []))
                slot[0].append(k)
                slot[1].append(r)
        return {v: SortedView(ks, rs) for v, (ks, rs) in grouped.items()}


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
    """One page of results, what the response should say about the rest, its last key."""

    records: list[Record]
    has_more: bool
    last_key: Key | None


def keyset_page(
    view: SortedView,
    after: Key | None,
    per_page: int,
    keep: Callable[[Record], bool] | None = None,
) -> Page:
    """The ``per_page`` records strictly after ``after`` (or from the start) that ``keep`` keeps.

    The page's cursor is made from ``last_key``, the view's own key of its last record (a
    list that orders by more than its records show, like thick invoices, resumes exactly).
    ``keep`` is for what no index holds (disabled records, which a user's edit flips in place).
    """
    try:
        i = bisect.bisect_right(view.keys, after) if after is not None else 0
    except TypeError:  # a cursor from another endpoint decoded into the wrong key types
        raise invalid_cursor() from None
    if keep is None:
        out = list(range(i, min(i + per_page + 1, len(view.records))))
    else:
        out = []
        while i < len(view.records) and len(out) <= per_page:
            if keep(view.records[i]):
                out.append(i)
            i += 1
    has_more = len(out) > per_page
    chosen = out[:per_page]
    records = [view.records[j] for j in chosen]
    return Page(records, has_more, view.keys[chosen[-1]] if chosen else None)


def total_pages(count: int, per_page: int) -> int:
    """The legacy ``total_pages`` of first pages (docs/chartmogul-api.md §1.2)."""
    return -(-count // per_page)
