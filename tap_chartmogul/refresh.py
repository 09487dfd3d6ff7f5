"""Which customers' subscriptions a run re-reads (``subscriptions_refresh``).

ChartMogul has no endpoint that lists subscriptions in bulk or customers by change, so
``all`` (the default) requests every customer's subscriptions on every run: about 97% of
a run's requests. ``changed`` re-reads only the customers that changed since the previous
run, plus a rotating share so that nothing stays stale for long:

1. customers with an activity dated in the change window (from the previous run's start
   minus one day to this run's start): a new customer, an upgrade, a downgrade, a churn
   or a reactivation always produces one;
2. customers named by a subscription event created or updated in the window;
3. customers whose listing row shows a change: ``customer-since`` in the window;
4. customers with an invoice that a user edited or disabled in ChartMogul in the window
   (its ``changed_at``, see ``edits``; an edited service period moves a subscription's
   ``end-date`` with no activity at all), when the invoices are read anyway;
5. rotation: every customer has a fixed phase in a ``subscriptions_max_age_days`` cycle
   (a hash of its uuid) and is re-read by the first run after each of its due times, so
   each customer is re-read at least once per cycle, spread evenly over the runs,
   whatever their frequency (a gap longer than the cycle re-reads everyone).

The state holds two values whatever the account's size: the start of the last run that
re-read subscriptions completely, and how many customers it listed. A first run (no
state) re-reads everyone. A change that produces no activity and no event (a renewal
moving ``end_date``, a quantity change on a free plan, a renamed plan) is picked up by
the rotation within ``subscriptions_max_age_days`` (plus the time to the next run).
"""

from __future__ import annotations

import hashlib
import math
import typing as t
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tap_chartmogul import edits

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

Record = dict[str, t.Any]

#: The change window reaches back this far before the previous run's start, so an
#: activity ChartMogul dates a little before it records it is still seen.
WINDOW_OVERLAP = timedelta(days=1)
STATE_KEY = "subscriptions_refresh"


def phase(uuid: str) -> float:
    """A customer's fixed place in the rotation cycle, in [0, 1)."""
    digest = hashlib.blake2b(uuid.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class RefreshPlan:
    """The decision rules of one run."""

    mode: str
    now: datetime
    previous: datetime | None
    max_age: timedelta

    @classmethod
    def from_state(
        cls, mode: str, max_age_days: int, now: datetime, state: t.Mapping[str, t.Any]
    ) -> RefreshPlan:
        """The plan for a run starting ``now`` after the run recorded in ``state``."""
        previous = None
        recorded = (state.get(STATE_KEY) or {}).get("last_run_started")
        if isinstance(recorded, str):
            try:
                previous = datetime.fromisoformat(recorded)
            except ValueError:
                previous = None
        if previous is not None and previous.tzinfo is None:
            previous = previous.replace(tzinfo=UTC)
        if previous is not None and previous > now:
            previous = None  # a clock that went backwards: trust nothing, read everyone
        return cls(mode, now, previous, timedelta(days=max_age_days))

    @property
    def everyone(self) -> bool:
        """Whether this run re-reads every customer (``all``, a first run, a long gap)."""
        return (
            self.mode != "changed"
            or self.previous is None
            or self.now - self.previous >= self.max_age
        )

    @property
    def window_start(self) -> datetime:
        """The earliest activity or event date that marks a customer as changed."""
        if self.previous is None:  # pragma: no cover - only asked when not everyone
            return self.now
        return self.previous - WINDOW_OVERLAP

    def in_window(self, value: object) -> bool:
        """Whether an ISO date-time lies in the change window."""
        if not isinstance(value, str) or not value:
            return False
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return False
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return self.window_start <= when <= self.now

    def rotation_due(self, uuid: str) -> bool:
        """Whether one of the customer's due times falls in (previous, now]."""
        if self.everyone or self.previous is None:
            return True
        cycle = self.max_age.total_seconds()
        offset = phase(uuid) * cycle
        before = math.floor((self.previous.timestamp() - offset) / cycle)
        after = math.floor((self.now.timestamp() - offset) / cycle)
        return after > before

    def rotation_share(self) -> float:
        """The expected fraction of customers the rotation re-reads in this run."""
        if self.everyone or self.previous is None:
            return 1.0
        return min(1.0, (self.now - self.previous) / self.max_age)

    def state_after(self, customers: int) -> dict[str, t.Any]:
        """What to store once this run has re-read every customer it had to."""
        return {
            "last_run_started": self.now.astimezone(UTC).isoformat(),
            "customers_listed": customers,
        }


@dataclass
class ChangeDetection:
    """Which customers of one ``changed`` run to re-read, and why (for the log).

    Fed, in this order, by the activities of the change window (``activities``), the
    customers listing (``selected``: the customers to re-read now, as they come), the
    subscription events (``named_by_events``: the customers they name that were not
    re-read already), and the invoices if they are read (``named_by_invoices``: the same,
    for invoices changed in ChartMogul). ``uuid_of`` checks a customer record's uuid.
    """

    plan: RefreshPlan
    uuid_of: Callable[[Record, int], str]
    changed: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)
    customers_listed: int = 0
    #: External id -> (customer uuid, its data sources) of customers not re-read yet.
    unselected: dict[str, list[tuple[str, set[str]]]] = field(default_factory=dict)
    #: Uuids of the customers not re-read yet (invoices name customers by uuid).
    waiting: set[str] = field(default_factory=set)

    def activities(self, records: Iterable[Record]) -> int:
        """Note the customers with an activity dated in the change window; how many."""
        self.changed = {
            str(record.get("customer-uuid"))
            for record in records
            if record.get("customer-uuid") and self.plan.in_window(record.get("date"))
        }
        return len(self.changed)

    def selected(self, customers: Iterable[Record]) -> Iterator[str]:
        """The customers to re-read now; the others are kept by external id for the events."""
        plan = self.plan
        for position, record in enumerate(customers, start=1):
            uuid = self.uuid_of(record, position)
            self.customers_listed += 1
            reason = (
                "with activities"
                if uuid in self.changed
                else "new"
                if plan.in_window(record.get("customer-since"))
                else "due in the rotation"
                if plan.rotation_due(uuid)
                else None
            )
            if reason is not None:
                self.reasons[reason] += 1
                yield uuid
                continue
            self.waiting.add(uuid)
            sources = {
                str(source)
                for source in [
                    *(record.get("data_source_uuids") or ()),
                    record.get("data_source_uuid"),
                ]
                if source
            }
            for external_id in {record.get("external_id"), *(record.get("external_ids") or ())}:
                if external_id:
                    self.unselected.setdefault(str(external_id), []).append((uuid, sources))

    def named_by_events(self, events: Iterable[Record]) -> list[str]:
        """Customers not re-read yet that a subscription event in the window names."""
        plan = self.plan
        named: dict[str, None] = {}
        for event in events:
            if not (
                plan.in_window(event.get("created_at")) or plan.in_window(event.get("updated_at"))
            ):
                continue
            source = event.get("data_source_uuid")
            for uuid, sources in self.unselected.get(str(event.get("customer_external_id")), ()):
                if not source or source in sources:
                    named[uuid] = None
        self.reasons["named by subscription events"] += len(named)
        self.waiting -= named.keys()
        return list(named)

    def named_by_invoices(self, invoices: Iterable[Record]) -> list[str]:
        """Customers not re-read yet with an invoice edited or disabled in the window."""
        named: dict[str, None] = {}
        for invoice in invoices:
            uuid = invoice.get("customer_uuid")
            if uuid in self.waiting and self.plan.in_window(edits.changed_at(invoice)):
                named[str(uuid)] = None
        self.reasons["with invoices changed in ChartMogul"] += len(named)
        self.waiting -= named.keys()
        return list(named)

    def expectation(self, listed_before: int, rate: float) -> str:
        """What the run expects to re-read, before the fan-out (one log line)."""
        plan = self.plan
        rotated = round(plan.rotation_share() * listed_before)
        expected = len(self.changed) + rotated
        return (
            f"subscriptions_refresh=changed since "
            f"{plan.previous.isoformat() if plan.previous else 'never'}: "
            f"{len(self.changed):,} customers with activities in the window, plus new "
            "customers, those named by subscription events or with invoices changed in "
            "ChartMogul, and the rotation "
            f"({100 * plan.rotation_share():.0f}% of customers, about {rotated:,} of the "
            f"{listed_before:,} listed last run); about {expected:,} requests, "
            f"{expected / rate / 60:.0f} min at {rate:g} requests/s"
        )

    def outcome(self, re_read: int) -> str:
        """What the run re-read, per reason (one log line)."""
        reasons = ", ".join(f"{count:,} {reason}" for reason, count in self.reasons.items())
        return f"re-read {re_read:,} of {self.customers_listed:,} customers ({reasons or 'none'})"
