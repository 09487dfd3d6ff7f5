"""Simulated days: seeded daily changes to a :class:`~fake_chartmogul.account.FakeAccount`.

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

from .rates import KINDS, DayChanges, DayRates
from .timeline import ADVANCE_DAY_PATH, MAX_DAYS_PER_REQUEST, Timeline, advance_from_query

__all__ = [
    "ADVANCE_DAY_PATH",
    "KINDS",
    "MAX_DAYS_PER_REQUEST",
    "DayChanges",
    "DayRates",
    "Timeline",
    "advance_from_query",
]
