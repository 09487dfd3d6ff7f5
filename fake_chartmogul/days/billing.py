"""A thick account's invoices of a simulated day: each change as its subscription's bill has it.

A new subscription is invoiced the day it starts, a renewal for every period its end-date
moves over, an upgrade at once for the rest of its period (pro rata); a plan change or a swap
prices the periods after it, a churn ends the billing. Every such invoice is created that day,
at the top of the creation order. None of this draws from the day's RNG: a thick account's
days change the same customers as the thin account's of the same seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fake_chartmogul.formats import to_ns
from fake_chartmogul.generate import plan_cycle
from fake_chartmogul.generate.billing import RECENT, new_bill, upgrade

if TYPE_CHECKING:
    from fake_chartmogul.account import FakeAccount
    from fake_chartmogul.generate import Record
    from fake_chartmogul.generate.book import InvoiceBook

    from .kinds import Day


class DayBilling:
    """The day's invoice rows; nothing at all for a thin account (``book`` is None)."""

    account: FakeAccount
    book: InvoiceBook | None

    def _bill_start(self, day: Day, customer: Record, sub: Record, plan: Record) -> None:
        """A new subscription: its bill, and its first period's invoice today."""
        if self.book is None:
            return
        months, cycle = plan_cycle(plan)
        price = (plan["uuid"], sub["quantity"], months, cycle, day.at + cycle)
        bill = new_bill(customer, sub, [(day.at, sub["mrr"], *price)], seed=self.account.seed)
        day.rows.add(self.book.add_bill(bill), day.at, day.at * 1_000_000, RECENT)

    def _bill_price(self, day: Day, sub: Record, plan: Record, *, prorate: bool) -> None:
        """The price from today on; an upgrade's difference billed now for the current period."""
        index = self.book.bill_index(sub["uuid"]) if self.book is not None else None
        if self.book is None or index is None:
            return
        bill = self.book.bills[index]
        months, cycle = plan_cycle(plan)
        until = to_ns(sub["end-date"]) // 1_000_000_000
        price = (plan["uuid"], sub["quantity"], months, cycle, until)
        bill.segments.append((day.at, sub["mrr"], *price))
        j = len(bill.segments) - 1
        if prorate and until > day.at and upgrade(bill, j):
            day.rows.add(index, -1 - j, day.at * 1_000_000, RECENT)

    def _bill_end(self, day: Day, sub: Record) -> None:
        """A churn: nothing is billed from today."""
        index = self.book.bill_index(sub["uuid"]) if self.book is not None else None
        if self.book is not None and index is not None:
            last = self.book.bills[index].segments[-1]
            self.book.bills[index].segments.append((day.at, 0, *last[2:6], day.at))

    def _bill_periods(self, day: Day, sub: Record, start: int, periods: int, cycle: int) -> None:
        """A renewal: an invoice for each period from ``start`` on, all created today."""
        index = self.book.bill_index(sub["uuid"]) if self.book is not None else None
        if index is None:
            return
        for k in range(periods):
            day.rows.add(index, start + k * cycle, day.at * 1_000_000, RECENT)
