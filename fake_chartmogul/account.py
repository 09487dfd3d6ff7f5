"""The fake account: plain wire-shaped lists/dicts that the server serves and tests inspect.

Tests compute expected tap output straight from these attributes and may mutate them (change
tracking: journal.py; edits as ChartMogul's data changes: mutations.py); the metric endpoints
follow from the activities (metrics.py) and simulated days change the account (days/).
"""

from __future__ import annotations

import gc
import random
import threading
from typing import TYPE_CHECKING

from . import metrics as metrics_model
from .days import DayChanges, DayRates, Timeline
from .generate import AS_OF, Record, Shape, generate
from .mutations import Mutations

if TYPE_CHECKING:
    from collections import deque
    from datetime import date, datetime

    from .generate.book import InvoiceBook
    from .paging import Stamp

FREEZE_GC_FROM = 10_000


class FakeAccount(Mutations):
    """A deterministic ChartMogul account with ``customers`` customers generated from ``seed``.

    Attributes (all in the API's wire shape): ``account``, ``data_sources``, ``plans``,
    ``plan_groups``, ``plan_group_plans`` (group uuid -> plans), ``customers``,
    ``customer_subscriptions`` (customer uuid -> list), ``activities``, ``invoices``,
    ``subscription_events``, ``contacts``, ``customer_notes``, ``tasks``, ``opportunities``.
    Lists are already in the order the API returns them.
    """

    def __init__(
        self,
        customers: int = 100,
        seed: int = 42,
        *,
        thick: bool = False,
        data_sources: int | None = None,
        freeze_gc: bool | None = None,
    ) -> None:
        """Generate the dataset.

        ``thick`` (default off, so tests stay quick): an invoice per billing period of every
        subscription, with payments, retries and refunds, and a history bulk-imported when
        each data source was connected (README.md, "Thick accounts"); ``invoices`` is then an
        :class:`~fake_chartmogul.generate.book.InvoiceBook`, a read-only sequence.
        ``data_sources``: 1 to 3 (default: two or three, drawn).

        ``freeze_gc`` (default: on from 10 000 customers) moves the finished dataset into the
        GC's permanent generation. Otherwise every full collection walks millions of live
        records (~1 s pauses at 50k customers, visible as latency spikes in benchmarks).
        Frozen objects are still freed by reference counting when the account is dropped.
        """
        self.seed = seed
        self.size = customers
        self.shape = Shape(thick=thick, data_sources=data_sources)
        freeze = customers >= FREEZE_GC_FROM if freeze_gc is None else freeze_gc
        if freeze:
            gc.collect()  # cheap before the build; nothing cyclic is left to be frozen
        data = generate(customers, seed, self.shape)
        self.account: Record = data.account
        self.account_settings: Record = data.account_settings
        self.data_sources: list[Record] = data.data_sources
        self.plans: list[Record] = data.plans
        self.plan_prices: dict[str, int] = data.plan_prices
        self.plan_groups: list[Record] = data.plan_groups
        self.plan_group_plans: dict[str, list[Record]] = data.plan_group_plans
        self.customers: list[Record] = data.customers
        self.customer_subscriptions: dict[str, list[Record]] = data.customer_subscriptions
        self.activities: list[Record] = data.activities
        self.invoices: list[Record] | InvoiceBook = data.invoices
        self.subscription_events: list[Record] = data.subscription_events
        self.contacts: list[Record] = data.contacts
        self.customer_notes: list[Record] = data.customer_notes
        self.tasks: list[Record] = data.tasks
        self.opportunities: list[Record] = data.opportunities
        self._lock = threading.RLock()
        self._version = 0
        self._mutation_rng = random.Random(f"mutations-{seed}")  # noqa: S311 - deterministic data
        self.removed_activity_keys: dict[str, tuple[int, str]] = {}
        """uuid -> sort key of deleted activities, so an outstanding cursor stays valid."""
        self._journal: dict[str, deque[tuple[Stamp, int, tuple[Record, ...]]]] = {}
        self._timeline: Timeline | None = None
        self.metrics = metrics_model.MetricsModel(self)
        """The metric endpoints, computed from ``activities`` as they are when asked."""
        if freeze:
            gc.freeze()

    # -- change tracking ------------------------------------------------------------------
    # -- days -------------------------------------------------------------------------------
    @property
    def timeline(self) -> Timeline:
        """The account's simulated days (created on first use with default rates)."""
        with self._lock:
            if self._timeline is None:
                self._timeline = Timeline(self)
            return self._timeline

    def advance_day(
        self, at: datetime | float | None = None, *, rates: DayRates | None = None
    ) -> DayChanges:
        """Apply one simulated day of changes stamped at ``at`` (default: the clock's now).

        See :class:`fake_chartmogul.days.Timeline` for what changes and how it is dated.
        """
        return self.timeline.advance(at, rates=rates)

    # -- counts ---------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Number of records each list endpoint would return in a full walk."""
        return {
            "data_sources": len(self.data_sources),
            "plans": len(self.plans),
            "plan_groups": len(self.plan_groups),
            "plan_group_plans": sum(len(v) for v in self.plan_group_plans.values()),
            "customers": len(self.customers),
            "customer_subscriptions": sum(len(v) for v in self.customer_subscriptions.values()),
            "activities": len(self.activities),
            "invoices": len(self.invoices),
            "invoice_line_items": sum(len(i["line_items"]) for i in self.invoices),
            "invoice_transactions": sum(len(i["transactions"]) for i in self.invoices),
            "subscription_events": len(self.subscription_events),
            "contacts": len(self.contacts),
            "customer_notes": len(self.customer_notes),
            "tasks": len(self.tasks),
            "opportunities": len(self.opportunities),
        }

    # -- mutation helpers -----------------------------------------------------------------
    # -- metrics --------------------------------------------------------------------------
    @property
    def today(self) -> date:
        """The fake's "today": the last simulated day's date, else the build's AS_OF."""
        timeline = self._timeline
        return AS_OF if timeline is None else timeline.today

    def metrics_entries(  # noqa: PLR0913 - the endpoint's parameters
        self,
        metric: str,
        start: date,
        end: date,
        interval: str | None = None,
        *,
        geo: str | None = None,
        plans: str | None = None,
        filters: str | None = None,
    ) -> list[Record]:
        """Entries for ``metric`` between ``start`` and ``end``, dated at period ends.

        The shape is docs/chartmogul-api.md §2.16; the values follow from :attr:`activities`
        (see :mod:`fake_chartmogul.metrics`). Tests compare the tap's rows against it.
        """
        segment = metrics_model.parse_segment(geo, plans, filters)
        return self.metrics.entries(metric, start, end, interval, segment=segment)

    def summary(
        self,
        metric: str,
        *,
        geo: str | None = None,
        plans: str | None = None,
        filters: str | None = None,
    ) -> Record:
        """Summary block (docs/chartmogul-api.md §2.16): figures as of :attr:`today`."""
        segment = metrics_model.parse_segment(geo, plans, filters)
        return self.metrics.summary(metric, segment=segment)

    def __repr__(self) -> str:
        """Size, seed and shape: enough to rebuild the same account."""
        shape = self.shape
        thick = ", thick=True" if shape.thick else ""
        sources = f", data_sources={shape.data_sources}" if shape.data_sources else ""
        return f"FakeAccount(customers={self.size}, seed={self.seed}{thick}{sources})"


__all__ = ["AS_OF", "FakeAccount"]
