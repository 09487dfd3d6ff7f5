"""One whole generation run: the layers in their draw order, customer by customer."""

from __future__ import annotations

from typing import Any

from fake_chartmogul.paging import gc_paused

from .base import LEAD_SORT, W0, Ctx, Dataset, Out, Record, Shape, Sub
from .billing import bill_of, bill_rows
from .book import InvoiceBook
from .crm import CrmDraws
from .records import classify_customer_moves


class _Gen(CrmDraws):
    """One generation run; methods share the RNG so call order defines the dataset."""

    def run(self) -> Dataset:
        account, settings = self.account()
        data_sources = self.data_sources()
        plans, prices, plans_by_ds = self.plans(data_sources)
        groups, group_plans = self.plan_groups(plans)
        ctx = Ctx(data_sources, plans_by_ds, prices)
        out = Out()
        for i in range(self.n):
            self.customer(i, ctx, out)
        return Dataset(
            account=account,
            account_settings=settings,
            data_sources=data_sources,
            plans=plans,
            plan_prices=prices,
            plan_groups=groups,
            plan_group_plans=group_plans,
            **self.assemble(out),
        )

    def assemble(self, out: Out) -> dict[str, Any]:
        """Every list in API order; a thick account's invoices as a book of rows."""
        lists = out.assemble()
        if self.shape.thick:
            lists["invoices"] = InvoiceBook(self.seed, out.bills, out.rows)
        return lists

    def customer(self, i: int, ctx: Ctx, out: Out) -> None:
        """One customer plus everything hanging off it (subscriptions, invoices, CRM)."""
        ds = self.weighted_ds(ctx.data_sources)
        life = self.lifecycle()
        customer = self.customer_record(i, ds, ctx, life)
        since = life.since
        out.customers.append((since if since is not None else LEAD_SORT, customer["id"], customer))
        subs: list[Sub] = []
        if since is not None:
            first_activity = len(out.activities)
            subs = self.subscriptions(customer, since, ctx, out)
            classify_customer_moves(out.activities[first_activity:])
            mrr = sum(s.record["mrr"] for s in subs if s.active)
            customer["mrr"] = int(mrr)
            customer["arr"] = int(mrr) * 12
            self.invoices(customer, since, subs, out)
            if self.shape.thick:
                self.bills(customer, subs, out)
        out.subs[customer["uuid"]] = [s.record for s in subs]
        anchor = life.lead_created if life.lead_created is not None else since
        self.crm_records(customer, anchor if anchor is not None else W0, life, out)

    def bills(self, customer: Record, subs: list[Sub], out: Out) -> None:
        """A thick customer's bills and their invoice rows (the thin invoices drawn, dropped).

        The thin invoices are still drawn, so a thick account is the thin one of the same seed
        with other invoices and creation times: the same customers, subscriptions, activities.
        """
        out.invoices.clear()
        past_due = customer["status"] == "Past Due"
        for sub in subs:
            bill = bill_of(customer, sub, self.seed)
            out.bills.append(bill)
            index, clock, stream, rows = len(out.bills) - 1, self.clock, out.stream, out.rows
            bill_rows(bill, index, sub, clock=clock, stream=stream, rows=rows, past_due=past_due)


class Drawer(_Gen):
    """The generator's random drawing, reused for records made after the build (days/).

    Records drawn here have exactly the generator's shapes and quirks because they come from
    the same methods; only the caller decides the dates.
    """

    def __init__(self, seed: int) -> None:
        """Draw from ``random.Random(seed)``; the seed names the day, not the account size."""
        super().__init__(0, seed)


def generate(customers: int, seed: int, shape: Shape | None = None) -> Dataset:
    """Build the full dataset for ``customers`` customers from ``seed``, of ``shape``.

    The cyclic GC is paused meanwhile: the build creates ~15 containers per customer and none
    of them are garbage, so repeated collections would only cost time (~40 % of the build).
    """
    if customers < 0:
        msg = "customers must be >= 0"
        raise ValueError(msg)
    with gc_paused():
        return _Gen(customers, seed, shape).run()
