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
4. rotation: every customer has a fixed phase in a ``subscriptions_max_age_days`` cycle
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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

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
            previous = previous.replace(tzinfo=timezone.utc)
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
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
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
            "last_run_started": self.now.astimezone(timezone.utc).isoformat(),
            "customers_listed": customers,
        }
