"""The simulated days of one account: which customers change, when, and the commit."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fake_chartmogul.formats import mix64, parse_datetime
from fake_chartmogul.generate import AS_OF, DAY, FIRST_CUSTOMER_ID, Drawer, Record
from fake_chartmogul.generate.book import InvoiceBook
from fake_chartmogul.paging import gc_paused

from .kinds import Day, DayKinds
from .rates import KINDS, DayChanges, DayRates

if TYPE_CHECKING:
    from collections.abc import Callable

    from fake_chartmogul.account import FakeAccount

ADVANCE_DAY_PATH = "/_fake/advance-day"
"""Harness endpoint (POST): apply a day while the fake runs in another process."""
MAX_DAYS_PER_REQUEST = 366
_SALT = 0xDA75
_TRIES_PER_CHANGE = 20


class Timeline(DayKinds):
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
        self.book = account.invoices if isinstance(account.invoices, InvoiceBook) else None
        """A thick account's invoices, which the days add to (None: thin, no invoices)."""
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
            day = Day(stamp, Drawer(mix64(account.seed, self.day, _SALT)))
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
                invoices=len(day.rows.bill),
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
    def _count(day: Day, expected: float) -> int:
        whole = int(expected)
        return whole + (day.drawer.rand() < expected - whole)

    # -- picking ---------------------------------------------------------------------------------
    def _pick_and_apply(
        self, day: Day, population: int, change: Callable[[Day, Record, Record], str | None]
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
    def _commit(self, day: Day) -> None:
        """Insert the day's new records (journaled); the metrics follow the activities."""
        account = self.account
        account.insert_records("customers", day.customers)
        account.insert_records("activities", day.activities)
        account.insert_records("subscription_events", day.events)
        if self.book is not None:
            self.book.add(day.rows)


def advance_from_query(account: FakeAccount, raw_query: str) -> dict[str, Any]:
    """Serve :data:`ADVANCE_DAY_PATH`: ``?days=N`` (default 1), ``?at=<ISO datetime>``, ``?share=``.

    ``at`` stamps the last of the days (default: now); ``share`` (0 to 1) is the share of
    customers those days change, in the default mix of kinds (default: the timeline's rates),
    so a harness can bring a quiet account up to date before its busy days. Raises
    ``ValueError`` for bad input.
    """
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    unknown = sorted(set(query) - {"days", "at", "share"})
    if unknown:
        msg = f"unknown parameter {unknown[0]}"
        raise ValueError(msg)
    days = int(query.get("days") or "1")
    if not 1 <= days <= MAX_DAYS_PER_REQUEST:
        msg = f"days must be between 1 and {MAX_DAYS_PER_REQUEST}"
        raise ValueError(msg)
    end = parse_datetime(query["at"]) if query.get("at") else None
    rates = DayRates.total(float(query["share"])) if query.get("share") else None
    timeline = account.timeline
    applied = timeline.advance_days(days, end=end, rates=rates)
    return {
        "day": timeline.day,
        "today": timeline.today.isoformat(),
        "customers": len(account.customers),
        "days": [changes.summary() for changes in applied],
    }
