"""A thick account's invoices: rows in columns, each wire record drawn when it is read.

:class:`InvoiceBook` is what ``FakeAccount.invoices`` is in a thick account: a read-only
sequence in API order (newest created first) whose items are the invoices' wire records,
drawn by :func:`~.billing.invoice_record` on every read. It keeps its
own order and indexes (:class:`~fake_chartmogul.paging.Presorted`), so the server pages it
without copying it, and a page of 200 costs 200 records drawn, whatever the account's size.

Every invoice has its own creation time in µs (no two alike), which its cursor carries
(docs/chartmogul-api.md §1.2); its uuid shows the millisecond. Simulated days add rows at
the top (:meth:`InvoiceBook.add`): the newest invoices are the ones a day issued.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from fake_chartmogul.formats import mix64
from fake_chartmogul.paging import SortedView

from .billing import invoice_record, invoice_uuid

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterator

    from fake_chartmogul.cursors import Key

    from .base import Rows
    from .billing import Bill

Record = dict[str, Any]
_SEED_SALT = 0xB00C


@dataclass(frozen=True)
class _Order:
    """One state of the book: rows in API order, and per data source (copy on write)."""

    rows: array[int]
    by_source: dict[str, array[int]]


class InvoiceBook(Sequence[Record]):
    """A thick account's invoices, newest created first (see the module docstring)."""

    def __init__(self, seed: int, bills: list[Bill], rows: Rows) -> None:
        """Order the build's rows by creation time, nudging ties apart by a µs each."""
        self.seed = mix64(seed, _SEED_SALT)
        """The account seed, hashed: every invoice's draws and uuid start from it."""
        self.bills = bills
        self._bill = array("i", rows.bill)
        self._period = array("q", rows.period)
        self._flags = array("b", rows.flags)
        natural = rows.created_us
        ascending = sorted(range(len(natural)), key=natural.__getitem__)
        created = array("q", bytes(8 * len(natural)))
        last = -1
        for row in ascending:
            last = max(natural[row], last + 1)
            created[row] = last
        self._created = created
        self._last_us = last
        self._by_sub = {bill.sub_uuid: k for k, bill in enumerate(bills)}
        self._lock = threading.Lock()
        self._order = self._split(array("i", reversed(ascending)))

    def _split(self, rows: array[int]) -> _Order:
        """The per-data-source orders of ``rows`` (each row once, in the same order)."""
        sources = [bill.data_source_uuid for bill in self.bills]
        by_source: dict[str, array[int]] = {}
        column = self._bill
        for row in rows:
            source = sources[column[row]]
            found = by_source.get(source)
            if found is None:
                found = by_source[source] = array("i")
            found.append(row)
        return _Order(rows, by_source)

    # -- one row ---------------------------------------------------------------------------
    def record(self, row: int) -> Record:
        """The wire record of ``row`` (the same every time)."""
        bill = self.bills[self._bill[row]]
        columns = (self._period[row], self._created[row], self._flags[row])
        return invoice_record(self.seed, row, bill, columns)

    def key(self, row: int) -> Key:
        """The row's cursor key: (-creation ns, uuid), as the codec of ``/invoices`` has it."""
        created = self._created[row]
        return (-created * 1000, invoice_uuid(self.seed, row, created))

    def created_ns(self, index: int) -> int:
        """The creation time (ns) of the ``index``-th invoice in API order (for tests)."""
        return self._created[self._order.rows[index]] * 1000

    # -- the sequence ----------------------------------------------------------------------
    def __len__(self) -> int:
        """Invoices in the account."""
        return len(self._order.rows)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        """The record(s) at ``index`` in API order, drawn now."""
        rows = self._order.rows
        if isinstance(index, slice):
            return [self.record(row) for row in rows[index]]
        return self.record(rows[index])

    def __iter__(self) -> Iterator[Record]:
        """Every invoice in API order, drawn one at a time."""
        for row in self._order.rows:
            yield self.record(row)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same records in the same order."""
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    # -- what the server asks (paging.Presorted) -------------------------------------------
    def sorted_view(self) -> SortedView:
        """Every invoice in serving order, keys and records drawn on demand."""
        return self._view(self._order.rows)

    def grouped(self, names: tuple[str, ...]) -> dict[Hashable, SortedView] | None:
        """The data-source and validity indexes (every thick invoice is valid); else None."""
        if not names or not set(names) <= {"valid", "data_source_uuid"}:
            return None
        order = self._order
        parts = order.by_source.items() if "data_source_uuid" in names else [("", order.rows)]
        out: dict[Hashable, SortedView] = {}
        for source, rows in parts:
            values = tuple(source if name == "data_source_uuid" else True for name in names)
            out[values if len(values) > 1 else values[0]] = self._view(rows)
        return out

    def _view(self, rows: array[int]) -> SortedView:
        return SortedView(_Keys(self, rows), _Records(self, rows))

    # -- changes ---------------------------------------------------------------------------
    def bill_index(self, sub_uuid: str) -> int | None:
        """The index of a subscription's bill (by its metrics-API uuid), if it is billed."""
        return self._by_sub.get(sub_uuid)

    def add_bill(self, bill: Bill) -> int:
        """A new subscription's bill; its index for :meth:`add`."""
        with self._lock:
            self.bills.append(bill)
            self._by_sub[bill.sub_uuid] = len(self.bills) - 1
            return len(self.bills) - 1

    def add(self, rows: Rows) -> None:
        """New invoices at the top: each created after every invoice so far, in row order."""
        if not rows.bill:
            return
        with self._lock:
            first = len(self._bill)
            for k in range(len(rows.bill)):
                self._last_us = max(rows.created_us[k], self._last_us + 1)
                self._bill.append(rows.bill[k])
                self._period.append(rows.period[k])
                self._flags.append(rows.flags[k])
                self._created.append(self._last_us)
            new = self._split(array("i", range(len(self._bill) - 1, first - 1, -1)))
            old = self._order
            by_source = dict(old.by_source)
            for source, added in new.by_source.items():
                by_source[source] = added + by_source.get(source, array("i"))
            self._order = _Order(new.rows + old.rows, by_source)

    def remove_customer(self, uuid: str) -> None:
        """Drop a deleted customer's invoices (O(n): a test's edit, not a day's)."""
        with self._lock:
            gone = {k for k, bill in enumerate(self.bills) if bill.customer_uuid == uuid}
            column = self._bill
            kept = array("i", (row for row in self._order.rows if column[row] not in gone))
            self._order = self._split(kept)


class _Keys(Sequence["Key"]):
    """The cursor keys of some rows, computed when bisect asks."""

    __slots__ = ("book", "rows")

    def __init__(self, book: InvoiceBook, rows: array[int]) -> None:
        self.book, self.rows = book, rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Key: ...

    @overload
    def __getitem__(self, index: slice) -> list[Key]: ...

    def __getitem__(self, index: int | slice) -> Key | list[Key]:
        if isinstance(index, slice):
            return [self.book.key(row) for row in self.rows[index]]
        return self.book.key(self.rows[index])


class _Records(Sequence[Record]):
    """The wire records of some rows, drawn when a page is served."""

    __slots__ = ("book", "rows")

    def __init__(self, book: InvoiceBook, rows: array[int]) -> None:
        self.book, self.rows = book, rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self.book.record(row) for row in self.rows[index]]
        return self.book.record(self.rows[index])
