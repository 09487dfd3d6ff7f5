"""The fake account: plain wire-shaped lists/dicts that the server serves and tests inspect.

Tests compute expected tap output straight from these attributes and may mutate them; the
server re-sorts its cursor indexes whenever :attr:`FakeAccount.version` or a list's length
changes, so appending a record is picked up automatically. After editing a sort field in place
(``customer-since``, activity ``date``, ``created_at``...) call :meth:`FakeAccount.touch`.
:meth:`FakeAccount.insert_records` adds records at their API position and journals them, so
the server merges them into its indexes instead of re-sorting (what simulated days use).
"""

from __future__ import annotations

import bisect
import gc
import random
import threading
from collections import deque
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from . import metrics as metrics_model
from .cursors import Key, created_at_ns, customer_codec, newest_first_codec
from .days import DayChanges, DayRates, Timeline
from .formats import UTC, iso_offset, to_ns, uuid4
from .generate import AS_OF, CURRENCY, Record, generate

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .paging import Stamp

FREEZE_GC_FROM = 10_000
JOURNAL_LENGTH = 256
"""Insert batches remembered per list; an index further behind than that re-sorts instead."""


def activity_key(record: Record) -> tuple[int, str]:
    """Sort key of the global ``/activities`` list: ascending ``date``, ties by ``uuid``."""
    return to_ns(record["date"]), record["uuid"]


SORT_KEYS: dict[str, Callable[[Record], Key]] = {
    "customers": customer_codec().key,
    "activities": activity_key,
    "subscription_events": newest_first_codec(created_at_ns, "id", int_id=True).key,
}
"""API order of the lists :meth:`FakeAccount.insert_records` accepts (as routes.py serves them)."""


class FakeAccount:
    """A deterministic ChartMogul account with ``customers`` customers generated from ``seed``.

    Attributes (all in the API's wire shape): ``account``, ``data_sources``, ``plans``,
    ``plan_groups``, ``plan_group_plans`` (group uuid -> plans), ``customers``,
    ``customer_subscriptions`` (customer uuid -> list), ``activities``, ``invoices``,
    ``subscription_events``, ``contacts``, ``customer_notes``, ``tasks``, ``opportunities``.
    Lists are already in the order the API returns them.
    """

    def __init__(
        self, customers: int = 100, seed: int = 42, *, freeze_gc: bool | None = None
    ) -> None:
        """Generate the dataset.

        ``freeze_gc`` (default: on from 10 000 customers) moves the finished dataset into the
        GC's permanent generation. Otherwise every full collection walks millions of live
        records (~1 s pauses at 50k customers, visible as latency spikes in benchmarks).
        Frozen objects are still freed by reference counting when the account is dropped.
        """
        self.seed = seed
        self.size = customers
        freeze = customers >= FREEZE_GC_FROM if freeze_gc is None else freeze_gc
        if freeze:
            gc.collect()  # cheap before the build; nothing cyclic is left to be frozen
        data = generate(customers, seed)
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
        self.invoices: list[Record] = data.invoices
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
    @property
    def version(self) -> int:
        """Bumped by the mutation helpers and :meth:`touch`; the server re-indexes on change.

        :meth:`insert_records` (simulated days) journals its batches instead, so the server
        merges them without a re-sort.
        """
        return self._version

    def touch(self) -> None:
        """Declare in-place edits (e.g. a changed ``date``) so the server re-sorts its indexes."""
        with self._lock:
            self._version += 1

    def insert_records(self, attr: str, records: Sequence[Record]) -> None:
        """Insert new ``records`` into the list ``attr`` at their API positions and journal them.

        ``attr`` is a key of :data:`SORT_KEYS`. Costs O(k log n) key computations plus one
        pointer copy of the list; the server then merges the same records into its indexes
        (:meth:`added_since`) rather than re-sorting the whole list.
        """
        key = SORT_KEYS[attr]
        new = sorted(records, key=key)
        if not new:
            return
        with self._lock:
            target: list[Record] = getattr(self, attr)
            before: Stamp = (self._version, id(target), len(target))
            merged: list[Record] = []
            done = 0
            for record in new:
                k = key(record)
                if done < len(target) and key(target[done]) > k:
                    i = done  # the usual case after the first: right where the last one went
                else:
                    i = bisect.bisect_right(target, k, done, key=key)
                merged += target[done:i]
                merged.append(record)
                done = i
            merged += target[done:]
            target[:] = merged  # one atomic swap: readers see all of the batch or none of it
            journal = self._journal.setdefault(attr, deque(maxlen=JOURNAL_LENGTH))
            journal.append((before, len(target), tuple(new)))

    def added_since(self, attr: str, old: Stamp, new: Stamp) -> list[Record] | None:
        """Records journaled into ``attr`` between two snapshots, or ``None`` if unknown.

        ``None`` (re-sort everything) whenever anything else may have happened in between:
        a version bump, a replaced list, or a length change no journaled batch explains.
        """
        if old[:2] != new[:2]:
            return None
        batches = {
            before[2]: (after, records)
            for before, after, records in list(self._journal.get(attr, ()))
            if before[:2] == old[:2]
        }
        length, out = old[2], []
        while length < new[2]:
            found = batches.get(length)
            if found is None:
                return None
            length, records = found
            out.extend(records)
        return out if length == new[2] else None

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

    def find_customer(self, uuid: str) -> Record | None:
        """Linear lookup for tests; the server keeps its own index."""
        return next((c for c in self.customers if c["uuid"] == uuid), None)

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
    def add_activity(self, **overrides: Any) -> Record:
        """Insert a new global activity (e.g. back-dated) keeping ``activities`` sorted.

        Keyword names may use ``_`` for ``-`` (``activity_mrr=5`` sets ``activity-mrr``);
        ``date`` accepts a ``date``/``datetime`` or a string. Unspecified fields are copied
        from a deterministic existing activity of a paying customer.
        """
        with self._lock:
            rng = self._mutation_rng
            base = (
                self.activities[int(rng.random() * len(self.activities))]
                if self.activities
                else self._blank_activity()
            )
            record = dict(base)
            record["uuid"] = uuid4(rng.getrandbits(128))
            for name, value in overrides.items():
                key = name if name in record else name.replace("_", "-")
                record[key] = _wire_datetime(value) if key == "date" else value
            if (
                "activity-mrr" in record
                and "activity_arr" not in overrides
                and "activity-arr" not in overrides
            ):
                record["activity-arr"] = record["activity-mrr"] * 12
            keys = [activity_key(a) for a in self.activities]
            self.activities.insert(bisect.bisect_right(keys, activity_key(record)), record)
            self._version += 1
            return record

    def remove_customer(self, uuid: str, *, cascade: bool = True) -> Record:
        """Delete a customer; with ``cascade`` also everything that belongs to it.

        Afterwards ``/customers`` no longer lists it and its ``/subscriptions`` endpoint
        answers 404, like a customer deleted in ChartMogul.
        """
        with self._lock:
            customer = self.find_customer(uuid)
            if customer is None:
                raise KeyError(uuid)
            self.customers.remove(customer)
            self.customer_subscriptions.pop(uuid, None)
            if cascade:
                kept = []
                for activity in self.activities:
                    if activity["customer-uuid"] == uuid:
                        self.removed_activity_keys[activity["uuid"]] = activity_key(activity)
                    else:
                        kept.append(activity)
                self.activities[:] = kept
                for name in ("invoices", "contacts", "customer_notes", "tasks", "opportunities"):
                    records = getattr(self, name)
                    records[:] = [r for r in records if r.get("customer_uuid") != uuid]
                ext_ids = set(customer["external_ids"])
                ds_ids = set(customer["data_source_uuids"])
                self.subscription_events[:] = [
                    e
                    for e in self.subscription_events
                    if not (
                        e["customer_external_id"] in ext_ids and e["data_source_uuid"] in ds_ids
                    )
                ]
            self._version += 1
            return customer

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

    def _blank_activity(self) -> Record:
        return {
            "activity-arr": 0,
            "activity-mrr": 0,
            "activity-mrr-movement": 0,
            "billing-connector-uuid": self.data_sources[0]["uuid"],
            "currency": CURRENCY,
            "customer-external-id": "",
            "customer-name": "",
            "customer-uuid": "",
            "date": iso_offset(0),
            "description": "",
            "plan-external-id": "",
            "subscription-external-id": "",
            "subscription-set-external-id": "",
            "type": "new_biz",
            "uuid": "",
        }

    def __repr__(self) -> str:
        """Size and seed: enough to rebuild the same account."""
        return f"FakeAccount(customers={self.size}, seed={self.seed})"


def _wire_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return iso_offset(int(value.timestamp()))
    if isinstance(value, date):
        return iso_offset(int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()))
    return str(value)


__all__ = ["AS_OF", "FakeAccount", "activity_key"]
