"""Simulated days: seeded daily changes to a :class:`~fake_chartmogul.data.FakeAccount`.

A tap that re-reads ``/customers/{uuid}/subscriptions`` only for customers that changed needs
a fake whose customers change day by day, some visibly and some not. Each
:meth:`Timeline.advance` applies one day to a share of the customers, in these kinds (what
changes -> what it leaves behind for a tap to notice):

- ``new``: a paying customer (``customer-since`` = the day) with 1-2 active subscriptions
  starting that day -> per subscription a ``new_biz`` activity and a ``subscription_start``
  event; the customer appears in ``/customers``.
- ``plan_change``: an active subscription gets another plan and/or quantity, so its MRR moves
  -> one ``expansion`` or ``contraction`` activity and one ``subscription_updated`` event; the
  customer's ``mrr``/``arr`` follow.
- ``swap``: an active subscription moves to another plan of the same monthly price, MRR
  unchanged -> one ``subscription_updated`` event only (ChartMogul records no activity for a
  zero movement); the customer row is unchanged.
- ``churn``: an active subscription ends that day (``inactive``, MRR 0) -> one ``churn``
  activity (``contraction`` while the customer keeps another active subscription: ChartMogul
  types movements per customer) and one ``subscription_cancelled`` event; the customer's
  ``mrr``/``arr`` drop and its ``status`` becomes ``Cancelled`` once nothing is left active.
- ``renewal``: an active subscription's ``end-date`` moves to the end of the billing period
  that contains the day -> nothing at all: only a periodic re-read catches it.

Each changed customer gets exactly one change a day. New records are stamped at the day's
instant ``at``: activities' ``date``, events' ``event_date``/``effective_date``/``created_at``/
``updated_at``, new customers' ``customer-since``, new subscriptions' ``start-date``.

Time. By default ``at`` is the wall clock's now (``Timeline.clock``, ``time.time``), because the
tap dates its change window by the wall clock: ``[previous run start - 1 day, this run start]``.
A test that alternates "run the tap, advance a day, run the tap" then finds each day's records
inside the next run's window without touching the tap's clock; the fake's "days" are seconds
apart in real time. Passing ``at`` explicitly (or a ``clock``) pins the dates, e.g. for
byte-identical reruns; :meth:`Timeline.advance_days` spaces several days 24 h apart ending at now.

Which customers change, and how, is drawn from ``random.Random`` seeded by (account seed, day
number) and never from ``at``, so reruns change the same customers whatever the clock says.
Every step is O(changes): customers are drawn by index, records are merged into the sorted
lists with bisection (:meth:`FakeAccount.insert_records`) and the server merges them into its
indexes without re-sorting.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .formats import iso_offset, mix64, parse_datetime, to_ns
from .generate import (
    AS_OF,
    DAY,
    FIRST_CUSTOMER_ID,
    Drawer,
    Record,
    activity_record,
    plan_cycle,
    subscription_record,
)
from .paging import gc_paused

if TYPE_CHECKING:
    from collections.abc import Callable

    from .data import FakeAccount

ADVANCE_DAY_PATH = "/_fake/advance-day"
"""Harness endpoint (POST): apply a day while the fake runs in another process."""
KINDS = ("new", "plan_change", "swap", "churn", "renewal")
MAX_DAYS_PER_REQUEST = 366
_SALT = 0xDA75
_TRIES_PER_CHANGE = 20


@dataclass(frozen=True)
class DayRates:
    """Share of the account's customers (at the start of the day) that each kind changes.

    A share times the customer count is rounded stochastically (seeded), so small accounts
    still see the occasional change. The defaults add up to 1 % a day.
    """

    new: float = 0.002
    plan_change: float = 0.003
    swap: float = 0.0005
    churn: float = 0.0015
    renewal: float = 0.003

    def __post_init__(self) -> None:
        """Shares are fractions of the account."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                msg = f"{f.name} must be between 0 and 1, not {value}"
                raise ValueError(msg)

    @classmethod
    def total(cls, share: float) -> DayRates:
        """The default mix of kinds scaled so that ``share`` of the customers change a day."""
        base = cls()
        scale = share / base.sum()
        return cls(**{f.name: getattr(base, f.name) * scale for f in fields(cls)})

    @classmethod
    def only(cls, kind: str, share: float) -> DayRates:
        """Every customer-``share`` change of one kind, no other kind (for tests)."""
        if kind not in KINDS:
            msg = f"unknown kind {kind!r}; known: {KINDS}"
            raise ValueError(msg)
        return replace(cls(**dict.fromkeys(KINDS, 0.0)), **{kind: share})

    def sum(self) -> float:
        """Share of the customers changed a day, all kinds together."""
        return sum(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class DayChanges:
    """What one :meth:`Timeline.advance` did: per kind, the customer uuids, in draw order.

    ``activities`` and ``subscription_events`` are the records it added (also in the account).
    """

    day: int
    at: int
    """The day's instant, epoch seconds (UTC); every new record is stamped with it."""
    new: tuple[str, ...] = ()
    plan_change: tuple[str, ...] = ()
    swap: tuple[str, ...] = ()
    churn: tuple[str, ...] = ()
    renewal: tuple[str, ...] = ()
    activities: tuple[Record, ...] = field(default=(), repr=False)
    subscription_events: tuple[Record, ...] = field(default=(), repr=False)

    def by_kind(self) -> dict[str, list[str]]:
        """Kind -> customer uuids (every kind present, possibly empty)."""
        return {kind: list(getattr(self, kind)) for kind in KINDS}

    def customers(self) -> frozenset[str]:
        """Every customer changed that day."""
        return frozenset(uuid for kind in KINDS for uuid in getattr(self, kind))

    @property
    def stamp(self) -> str:
        """``at`` as the activities' ``date`` shows it."""
        return iso_offset(self.at)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (what the harness endpoint answers)."""
        return {
            "day": self.day,
            "at": self.stamp,
            "changes": self.by_kind(),
            "activities": len(self.activities),
            "subscription_events": len(self.subscription_events),
        }


@dataclass
class _Day:
    """Work in progress of one day: what was drawn and what will be inserted."""

    at: int
    drawer: Drawer
    taken: set[str] = field(default_factory=set)
    kinds: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    customers: list[Record] = field(default_factory=list)
    activities: list[Record] = field(default_factory=list)
    events: list[Record] = field(default_factory=list)


class Timeline:
    """The simulated days of one account: seeded daily changes (see the module docstring)."""

    def __init__(
        self,
        account: FakeAccount,
        *,
        rates: DayRates | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Prepare lookups once (O(n)); every :meth:`advance` afterwards is O(changes)."""
        self.account = account
        self.rates = rates if rates is not None else DayRates()
        self.clock = clock
        """Epoch seconds used when :meth:`advance` is given no ``at``."""
        self.day = 0
        """Days applied so far."""
        self.last_at: int | None = None
        self._lock = threading.Lock()
        self._plan_by_name = {p["name"]: p for p in account.plans}
        self._plans_by_ds: dict[str, list[Record]] = {}
        self._same_price: dict[tuple[str, int], list[Record]] = {}
        for plan in account.plans:
            ds = plan["data_source_uuid"]
            self._plans_by_ds.setdefault(ds, []).append(plan)
            price = account.plan_prices[plan["uuid"]]
            self._same_price.setdefault((ds, price), []).append(plan)
        self._next_customer_id = max((c["id"] for c in account.customers), default=0) + 1
        self._next_customer_id = max(self._next_customer_id, FIRST_CUSTOMER_ID)
        self._next_subscription_id = 1 + max(
            (s["id"] for subs in account.customer_subscriptions.values() for s in subs),
            default=0,
        )
        self._next_event_id = 1 + max((e["id"] for e in account.subscription_events), default=0)

    @property
    def today(self) -> date:
        """The fake's "today": the date of the last day applied (the build's AS_OF before)."""
        if self.last_at is None:
            return AS_OF
        return datetime.fromtimestamp(self.last_at, tz=UTC).date()

    # -- advancing -----------------------------------------------------------------------------
    def advance(
        self, at: datetime | float | None = None, *, rates: DayRates | None = None
    ) -> DayChanges:
        """Apply the next day's changes, stamped at ``at`` (default ``clock()``), and report them.

        ``rates`` overrides :attr:`rates` for this day only.
        """
        stamp = self._instant(at)
        rates = rates if rates is not None else self.rates
        account = self.account
        with self._lock, gc_paused():  # nothing made here is garbage: skip collections
            self.day += 1
            day = _Day(stamp, Drawer(mix64(account.seed, self.day, _SALT)))
            population = len(account.customers)
            counts = {kind: self._count(day, getattr(rates, kind) * population) for kind in KINDS}
            changers = {
                "plan_change": self._plan_change,
                "swap": self._swap,
                "churn": self._churn,
                "renewal": self._renewal,
            }
            for kind, change in changers.items():
                for _ in range(counts[kind]):
                    if not self._pick_and_apply(day, population, change):
                        break  # no candidate left: report fewer than asked
            for _ in range(counts["new"]):
                self._new_customer(day)
            self._commit(day)
            self.last_at = stamp
            return DayChanges(
                day=self.day,
                at=stamp,
                activities=tuple(day.activities),
                subscription_events=tuple(day.events),
                **{kind: tuple(uuids) for kind, uuids in day.kinds.items()},
            )

    def advance_days(
        self, days: int, *, end: datetime | float | None = None, rates: DayRates | None = None
    ) -> list[DayChanges]:
        """Apply ``days`` days spaced 24 h apart, the last one stamped at ``end`` (default now).

        For an account "after N days of changes" whose latest records are recent.
        """
        if days < 0:
            msg = "days must be >= 0"
            raise ValueError(msg)
        last = self._instant(end)
        return [self.advance(last - (days - 1 - k) * DAY, rates=rates) for k in range(days)]

    def _instant(self, at: datetime | float | None) -> int:
        if at is None:
            at = self.clock()
        if isinstance(at, datetime):
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            return int(at.timestamp())
        return int(at)

    @staticmethod
    def _count(day: _Day, expected: float) -> int:
        whole = int(expected)
        return whole + (day.drawer.rand() < expected - whole)

    # -- picking ---------------------------------------------------------------------------------
    def _pick_and_apply(
        self, day: _Day, population: int, change: Callable[[_Day, Record, Record], str | None]
    ) -> bool:
        """Draw customers until one with an active subscription takes ``change``.

        Bounded tries (O(1) per change): in a tiny or mostly-churned account a kind may come
        up short, which the returned :class:`DayChanges` shows.
        """
        if not population:
            return False
        customers = self.account.customers
        subscriptions = self.account.customer_subscriptions
        rand = day.drawer.rand
        for _ in range(_TRIES_PER_CHANGE):
            customer = customers[int(rand() * population)]
            if customer["uuid"] in day.taken:
                continue
            active = [s for s in subscriptions.get(customer["uuid"], ()) if s["status"] == "active"]
            if not active:
                continue
            kind = change(day, customer, day.drawer.pick(active))
            if kind is not None:
                day.taken.add(customer["uuid"])
                day.kinds[kind].append(customer["uuid"])
                return True
        return False

    # -- the kinds -------------------------------------------------------------------------------
    def _plan_change(self, day: _Day, customer: Record, sub: Record) -> str | None:
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
        kind = "expansion" if movement > 0 else "contraction"
        verb = "upgraded" if movement > 0 else "downgraded"
        move = (day.at, kind, mrr, movement, f"{verb} the {plan['name']} plan")
        self._activity(day, customer, sub, plan, move)
        amount = int(mrr * plan_cycle(plan)[0])
        self._event(day, customer, sub, plan, ("subscription_updated", amount, "filled"))
        self._add_mrr(customer, movement)
        return "plan_change"

    def _swap(self, day: _Day, customer: Record, sub: Record) -> str | None:
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
        amount = int(sub["mrr"] * plan_cycle(plan)[0])
        self._event(day, customer, sub, plan, ("subscription_updated", amount, "filled"))
        return "swap"

    def _churn(self, day: _Day, customer: Record, sub: Record) -> str | None:
        """The subscription ends today; the customer is Cancelled once nothing is active."""
        plan = self._plan_by_name[sub["plan"]]
        lost = sub["mrr"]
        sub.update({"status": "inactive", "mrr": 0, "arr": 0, "end-date": iso_offset(day.at)})
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

    def _renewal(self, day: _Day, _customer: Record, sub: Record) -> str | None:
        """``end-date`` moves to the end of the period containing the day; nothing else."""
        cycle = plan_cycle(self._plan_by_name[sub["plan"]])[1]
        end = to_ns(sub["end-date"]) // 1_000_000_000
        periods = max(1, -(-(day.at - end) // cycle))
        sub["end-date"] = iso_offset(end + periods * cycle)
        return "renewal"

    def _new_customer(self, day: _Day) -> None:
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
        day: _Day, customer: Record, sub: Record, plan: Record, move: tuple[int, str, int, int, str]
    ) -> None:
        uuid = day.drawer.uuid()
        day.activities.append(activity_record(customer, sub, plan, move, uuid))

    def _event(
        self, day: _Day, customer: Record, sub: Record, plan: Record, spec: tuple[str, int, str]
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

    def _commit(self, day: _Day) -> None:
        """Insert the day's new records (journaled); the metrics follow the activities."""
        account = self.account
        account.insert_records("customers", day.customers)
        account.insert_records("activities", day.activities)
        account.insert_records("subscription_events", day.events)


def advance_from_query(account: FakeAccount, raw_query: str) -> dict[str, Any]:
    """Serve :data:`ADVANCE_DAY_PATH`: ``?days=N`` (default 1) and ``?at=<ISO datetime>``.

    ``at`` stamps the last of the days (default: now). Raises ``ValueError`` for bad input.
    """
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    unknown = sorted(set(query) - {"days", "at"})
    if unknown:
        msg = f"unknown parameter {unknown[0]}"
        raise ValueError(msg)
    days = int(query.get("days") or "1")
    if not 1 <= days <= MAX_DAYS_PER_REQUEST:
        msg = f"days must be between 1 and {MAX_DAYS_PER_REQUEST}"
        raise ValueError(msg)
    end = parse_datetime(query["at"]) if query.get("at") else None
    timeline = account.timeline
    applied = timeline.advance_days(days, end=end)
    return {
        "day": timeline.day,
        "today": timeline.today.isoformat(),
        "customers": len(account.customers),
        "days": [changes.summary() for changes in applied],
    }


__all__ = ["ADVANCE_DAY_PATH", "KINDS", "DayChanges", "DayRates", "Timeline", "advance_from_query"]
