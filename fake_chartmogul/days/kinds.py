"""The five kinds of change of a simulated day, each on one customer (see days/__init__)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fake_chartmogul.formats import iso_offset, to_ns
from fake_chartmogul.generate import (
    FIRST_CUSTOMER_ID,
    Drawer,
    Record,
    activity_record,
    plan_cycle,
    subscription_record,
)
from fake_chartmogul.generate.base import Rows

from .billing import DayBilling
from .rates import KINDS

if TYPE_CHECKING:
    from fake_chartmogul.account import FakeAccount


@dataclass
class Day:
    """Work in progress of one day: what was drawn and what will be inserted."""

    at: int
    drawer: Drawer
    taken: set[str] = field(default_factory=set)
    kinds: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    customers: list[Record] = field(default_factory=list)
    activities: list[Record] = field(default_factory=list)
    events: list[Record] = field(default_factory=list)
    rows: Rows = field(default_factory=lambda: Rows([], [], [], []))
    """A thick account's new invoices (days/billing.py)."""


class DayKinds(DayBilling):
    """new, plan_change, swap, churn, renewal: one customer's change and the records it leaves."""

    account: FakeAccount
    _plan_by_name: dict[str, Record]
    _plans_by_ds: dict[str, list[Record]]
    _same_price: dict[tuple[str, int], list[Record]]
    _next_customer_id: int
    _next_subscription_id: int
    _next_event_id: int

    def _plan_change(self, day: Day, customer: Record, sub: Record) -> str | None:
        """Another plan of the data source and/or another quantity: MRR moves."""
        drawer = day.drawer
        plan = self._plan_by_name[sub["plan"]]
        options = [p for p in self._plans_by_ds[plan["data_source_uuid"]] if p is not plan]
        quantity = sub["quantity"]
        if options and drawer.rand() < 0.5:
            plan = drawer.pick(options)
        elif quantity == 1 or drawer.rand() < 0.6:
            quantity += drawer.between(1, 5)
        else:
            quantity = drawer.between(1, quantity - 1)
        mrr = self.account.plan_prices[plan["uuid"]] * quantity
        if mrr == sub["mrr"]:  # another plan of the same price: make it a quantity change
            quantity += 1
            mrr += self.account.plan_prices[plan["uuid"]]
        movement = mrr - sub["mrr"]
        self._set_plan(sub, plan, quantity, mrr)
        self._bill_price(day, sub, plan, prorate=movement > 0)
        kind = "expansion" if movement > 0 else "contraction"
        verb = "upgraded" if movement > 0 else "downgraded"
        move = (day.at, kind, mrr, movement, f"{verb} the {plan['name']} plan")
        self._activity(day, customer, sub, plan, move)
        amount = int(mrr * plan_cycle(plan)[0])
        self._event(day, customer, sub, plan, ("subscription_updated", amount, "filled"))
        self._add_mrr(customer, movement)
        return "plan_change"

    def _swap(self, day: Day, customer: Record, sub: Record) -> str | None:
        """Another plan of the same monthly price: an event, no activity, same MRR."""
        plan = self._plan_by_name[sub["plan"]]
        price = self.account.plan_prices[plan["uuid"]]
        options = [
            p for p in self._same_price.get((plan["data_source_uuid"], price), ()) if p is not plan
        ]
        if not options:
            return None
        plan = day.drawer.pick(options)
        self._set_plan(sub, plan, sub["quantity"], sub["mrr"])
        self._bill_price(day, sub, plan, prorate=False)
        amount = int(sub["mrr"] * plan_cycle(plan)[0])
        self._event(day, customer, sub, plan, ("subscription_updated", amount, "filled"))
        return "swap"

    def _churn(self, day: Day, customer: Record, sub: Record) -> str | None:
        """The subscription ends today; the customer is Cancelled once nothing is active."""
        plan = self._plan_by_name[sub["plan"]]
        lost = sub["mrr"]
        sub.update({"status": "inactive", "mrr": 0, "arr": 0, "end-date": iso_offset(day.at)})
        self._bill_end(day, sub)
        subs = self.account.customer_subscriptions[customer["uuid"]]
        none_left = all(s["status"] != "active" for s in subs)
        # ChartMogul types movements per customer: cancelling one of several is a contraction.
        kind = "churn" if none_left else "contraction"
        move = (day.at, kind, 0, -lost, f"cancelled the {plan['name']} plan")
        self._activity(day, customer, sub, plan, move)
        r = day.drawer.rand()
        style = "blank" if r < 0.4 else "null" if r < 0.7 else "filled"
        self._event(day, customer, sub, plan, ("subscription_cancelled", 0, style))
        self._add_mrr(customer, -lost)
        if none_left:
            customer["status"] = "Cancelled"
        return "churn"

    def _renewal(self, day: Day, _customer: Record, sub: Record) -> str | None:
        """``end-date`` moves to the end of the period containing the day; nothing else."""
        cycle = plan_cycle(self._plan_by_name[sub["plan"]])[1]
        end = to_ns(sub["end-date"]) // 1_000_000_000
        periods = max(1, -(-(day.at - end) // cycle))
        sub["end-date"] = iso_offset(end + periods * cycle)
        self._bill_periods(day, sub, end, periods, cycle)
        return "renewal"

    def _new_customer(self, day: Day) -> None:
        """A customer signed up today with 1-2 subscriptions (the build's shapes)."""
        account, drawer = self.account, day.drawer
        index = self._next_customer_id - FIRST_CUSTOMER_ID
        self._next_customer_id += 1
        customer = drawer.new_customer(index, day.at, account.data_sources)
        plans = self._plans_by_ds[customer["data_source_uuid"]]
        stripe = customer["billing-system-type"] == "Stripe"
        count = 1 if drawer.rand() < 0.8 else 2
        shared_set = f"set_{customer['id']}" if drawer.rand() < 0.5 else None
        subs = []
        for _ in range(count):
            plan = drawer.pick(plans)
            months, cycle = plan_cycle(plan)
            quantity = 1 if drawer.rand() < 0.8 else drawer.between(2, 20)
            mrr = account.plan_prices[plan["uuid"]] * quantity
            sub_id = self._next_subscription_id
            self._next_subscription_id += 1
            ext = f"sub_{drawer.bits(56):014x}" if stripe else f"S-{sub_id}"
            sub = subscription_record(
                sub_id=sub_id,
                uuid=drawer.uuid(),
                external_id=ext,
                set_id=shared_set or f"set_{sub_id}",
                plan=plan,
                quantity=quantity,
                mrr=mrr,
                arr=mrr * 12,
                active=True,
                start=day.at,
                end=day.at + cycle,
            )
            subs.append(sub)
            self._bill_start(day, customer, sub, plan)
            move = (day.at, "new_biz", mrr, mrr, f"purchased the {plan['name']} plan")
            self._activity(day, customer, sub, plan, move)
            amount = int(mrr * months)
            self._event(day, customer, sub, plan, ("subscription_start", amount, "filled"))
            self._add_mrr(customer, mrr)
        account.customer_subscriptions[customer["uuid"]] = subs
        day.customers.append(customer)
        day.kinds["new"].append(customer["uuid"])

    # -- shared steps ----------------------------------------------------------------------------
    def _set_plan(self, sub: Record, plan: Record, quantity: int, mrr: int) -> None:
        sub.update(
            {
                "plan": plan["name"],
                "quantity": quantity,
                "mrr": mrr,
                "arr": mrr * 12,
                "billing-cycle": plan["interval_unit"],
                "billing-cycle-count": plan["interval_count"],
            }
        )

    @staticmethod
    def _activity(
        day: Day, customer: Record, sub: Record, plan: Record, move: tuple[int, str, int, int, str]
    ) -> None:
        uuid = day.drawer.uuid()
        day.activities.append(activity_record(customer, sub, plan, move, uuid))

    def _event(
        self, day: Day, customer: Record, sub: Record, plan: Record, spec: tuple[str, int, str]
    ) -> None:
        kind, amount, style = spec
        event = day.drawer.event(customer, sub, plan, (day.at, kind, amount, style), (day.at,) * 2)
        event["id"] = self._next_event_id
        self._next_event_id += 1
        day.events.append(event)

    @staticmethod
    def _add_mrr(customer: Record, delta: int) -> None:
        """Keep the build's invariant: a customer's mrr is its active subscriptions' sum."""
        customer["mrr"] += delta
        customer["arr"] = customer["mrr"] * 12
