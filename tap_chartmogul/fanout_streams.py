"""Streams built from another stream's listing: one request series per parent, or none.

These are top-level streams rather than SDK child streams on purpose. An SDK child is
synced once per parent record, and each of those syncs writes its own SCHEMA (and
ACTIVATE_VERSION) message and its own log lines: 10,000 customers would mean 10,000
SCHEMA messages. Here each stream writes one SCHEMA, and reads its parent's listing
(fetched once per run, see ``run``), whatever order the SDK syncs them in:

- ``customer_subscriptions`` and ``plan_group_plans`` request each parent's records,
  many parents at once on the run's workers, and emit them in parent order;
- ``invoice_line_items`` and ``invoice_transactions`` expand the invoices' nested
  arrays, so they cost no request.
"""

from __future__ import annotations

import sys
import typing as t
from collections import deque
from functools import cached_property

from tap_chartmogul.client import ChartMogulStream
from tap_chartmogul.errors import NotFoundError, RecordError
from tap_chartmogul.refresh import STATE_KEY, ChangeDetection, RefreshPlan
from tap_chartmogul.settings import DEFAULT_MAX_AGE_DAYS, DEFAULT_REFRESH

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from concurrent.futures import Future

    from singer_sdk import Tap

    from tap_chartmogul.run.context import RunContext
    from tap_chartmogul.run.listings import Listing
    from tap_chartmogul.streams import ActivitiesStream

Record = dict[str, t.Any]

#: Parents fetched ahead of the one being emitted, per worker: enough requests in flight
#: to keep every connection busy at any latency, few enough to bound memory.
PARENTS_AHEAD_PER_WORKER = 4


class ParentRecordsStream(ChartMogulStream):
    """A stream whose records come from a parent stream's listing."""

    def __init__(
        self, tap: Tap, *, parent: ChartMogulStream, run: RunContext | None = None
    ) -> None:
        """Build the stream over ``parent`` (the stream whose listing drives it)."""
        self.parent = parent
        super().__init__(tap, run=run or parent.run)

    @override
    def listings_read(self) -> list[Listing]:
        """The parent's listing (read by this stream's own listing's producer)."""
        return [self.parent.listing]

    def parent_records(self) -> Iterator[Record]:
        """The parent's records (as many as a connection test needs, then)."""
        return self.parent.listing.read(limit=self.ABORT_AT_RECORD_COUNT)


class FanOutStream(ParentRecordsStream):
    """Requests ``path`` once per parent record (cursor-paged), adding the parent's uuid.

    A parent that vanished between listing and fan-out (HTTP 404: deleted or merged in
    ChartMogul meanwhile) is skipped with a warning.
    """

    #: Column (and ``path`` placeholder) holding the parent's uuid.
    parent_key: t.ClassVar[str]
    fan_out = True
    write_group = 2

    def parent_uuids(self) -> Iterator[str]:
        """The parent uuids, in listing order; a parent without one is an error."""
        for position, record in enumerate(self.parent_records(), start=1):
            yield self.uuid_of(record, position)

    def uuid_of(self, record: Record, position: int) -> str:
        """A parent record's uuid; a parent without one is an error (it cannot be requested)."""
        uuid = record.get("uuid")
        if not isinstance(uuid, str) or not uuid:
            msg = (
                f"{self.name}: {self.parent.name} record {position} has no uuid, so its "
                f"{self.name} cannot be requested; stopping"
            )
            raise RecordError(msg)
        return uuid

    def _fetch_parent(self, uuid: str) -> list[Record]:
        """All records of one parent (runs on a worker thread)."""
        try:
            return [
                {**record, self.parent_key: uuid}
                for record in self.request_records({self.parent_key: uuid})
            ]
        except NotFoundError as error:
            self.logger.warning(
                "%s: skipping %s %s, deleted or merged after it was listed (%s)",
                self.name,
                self.parent_key.removesuffix("_uuid").replace("_", " "),
                uuid,
                error,
            )
            return []

    @override
    def fetch_records(self) -> Iterator[Record]:
        """One request series per parent, for every parent."""
        return self.fan_out_over(self.parent_uuids())

    def fan_out_over(self, uuids: Iterable[str]) -> Iterator[Record]:
        """One request series per parent uuid, many in flight, records in parent order.

        Workers only fetch; records leave in parent order, so the Singer output is the
        same as a sequential run's. At most ``PARENTS_AHEAD_PER_WORKER`` parents per
        worker are fetched ahead, which bounds memory; the shared transport keeps the
        request rate and the open connections within the limits.
        """
        workers = self.run.workers
        progress = self.run.progress
        ahead = PARENTS_AHEAD_PER_WORKER * workers.size
        pending: deque[Future[list[Record]]] = deque()
        done = self.parents_done
        for uuid in uuids:
            pending.append(workers.submit(self._fetch_parent, uuid))
            if len(pending) >= ahead:
                yield from pending.popleft().result()
                done += 1
                progress.parents(self.name, done=done)
        progress.parents(self.name, total=done + len(pending))
        while pending:
            yield from pending.popleft().result()
            done += 1
            progress.parents(self.name, done=done)
        self.parents_done = done

    #: Parents whose records were fetched so far in this run.
    parents_done = 0


class CustomerSubscriptionsStream(FanOutStream):
    """Each customer's subscriptions (Metrics API); a customer deleted mid-run is skipped.

    With ``subscriptions_refresh: changed`` only the customers that changed since the
    previous run (or are due in the rotation) are re-read; see ``refresh``. The activities
    and subscription events that say who changed come from those streams' listings when
    they are read anyway, so nothing is requested twice; the invoices (edited or disabled
    in ChartMogul) only when they are read anyway.
    """

    name = "customer_subscriptions"
    path = "/customers/{customer_uuid}/subscriptions"
    primary_keys = ("uuid",)
    parent_key = "customer_uuid"

    def __init__(  # noqa: PLR0913 - the streams it is built from, each keyword-only
        self,
        tap: Tap,
        *,
        parent: ChartMogulStream,
        activities: ActivitiesStream,
        events: ChartMogulStream,
        invoices: ChartMogulStream,
        run: RunContext | None = None,
    ) -> None:
        """Build the fan-out over ``parent`` (customers), told of changes by the other three."""
        self.activities = activities
        self.events = events
        self.invoices = invoices
        super().__init__(tap, parent=parent, run=run)
        self.customers_listed = 0

    @cached_property
    def plan(self) -> RefreshPlan:
        """This run's refresh rules, from the state (loaded after the streams are built)."""
        return RefreshPlan.from_state(
            self.config.get("subscriptions_refresh") or DEFAULT_REFRESH,
            int(self.config.get("subscriptions_max_age_days") or DEFAULT_MAX_AGE_DAYS),
            self.run.started,
            self.get_context_state(None),
        )

    def _reuses_activities(self) -> bool:
        """Whether the activities listing, read anyway, says who changed in the window."""
        return self.activities.selected and self.activities.covers(self.plan.window_start)

    @override
    def listings_read(self) -> list[Listing]:
        """Also the events', the activities' (covering the window) and the invoices' (selected)."""
        listings = super().listings_read()
        if not self.plan.everyone:
            listings.append(self.events.listing)
            if self._reuses_activities():
                listings.append(self.activities.listing)
            if self.invoices.selected:
                listings.append(self.invoices.listing)
        return listings

    @override
    def fetch_records(self) -> Iterator[Record]:
        """Every customer's subscriptions, or (``changed``) those of the customers that changed."""
        if self.plan.everyone:
            yield from self.fan_out_over(self._counted(self.parent_uuids()))
            return
        plan = self.plan
        detection = ChangeDetection(plan, self.uuid_of)
        detection.activities(
            self.activities.listing.read()
            if self._reuses_activities()
            else self.activities.window_records(plan.window_start, plan.now)
        )
        last_run = self.get_context_state(None).get(STATE_KEY) or {}
        listed = int(last_run.get("customers_listed") or 0)
        rate = float(self.config["requests_per_second"])
        self.logger.info("%s: %s", self.name, detection.expectation(listed, rate))
        yield from self.fan_out_over(detection.selected(self.parent_records()))
        yield from self.fan_out_over(detection.named_by_events(self.events.listing.read()))
        if self.invoices.selected:
            invoices = self.invoices.listing.read()
            yield from self.fan_out_over(detection.named_by_invoices(invoices))
        self.customers_listed = detection.customers_listed
        self.logger.info("%s: %s", self.name, detection.outcome(self.parents_done))

    def _counted(self, uuids: Iterable[str]) -> Iterator[str]:
        for uuid in uuids:
            self.customers_listed += 1
            yield uuid

    @override
    def completed(self) -> None:
        """Every customer due was re-read: remember this run in the state."""
        self.get_context_state(None)[STATE_KEY] = self.plan.state_after(self.customers_listed)

    @override
    def activates_version(self) -> bool:
        """Only a run that re-read every customer may let a target delete the others."""
        return self.plan.everyone


class PlanGroupPlansStream(FanOutStream):
    """The plans of each plan group, with the group's uuid."""

    name = "plan_group_plans"
    path = "/plan_groups/{plan_group_uuid}/plans"
    primary_keys = ("plan_group_uuid", "uuid")
    records_key = "plans"
    parent_key = "plan_group_uuid"


class InvoiceItemsStream(ParentRecordsStream):
    """One record per element of an invoice's nested array, with the invoice's keys.

    And whether the invoice is disabled: ChartMogul leaves an item of a disabled invoice
    out of its metrics whatever the item's own ``disabled`` says.
    """

    #: The invoice key holding the nested array.
    nested_key: t.ClassVar[str]

    @override
    def fetch_records(self) -> Iterator[Record]:
        """The nested items of every invoice, each with ``invoice_uuid`` and ``customer_uuid``."""
        for position, invoice in enumerate(self.parent_records(), start=1):
            items = invoice.get(self.nested_key)
            if items is None or items == "":
                continue
            if not isinstance(invoice.get("uuid"), str) or not invoice.get("uuid"):
                msg = (
                    f"{self.name}: invoice {position} has {self.nested_key} but no uuid, so "
                    "its items cannot name their invoice; stopping"
                )
                raise RecordError(msg)
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                msg = (
                    f"{self.name}: invoice {invoice.get('uuid') or f'at position {position}'} "
                    f"has {self.nested_key} that is not a list of objects; stopping"
                )
                raise RecordError(msg)
            for item in items:
                yield {
                    **item,
                    "invoice_uuid": invoice.get("uuid"),
                    "customer_uuid": invoice.get("customer_uuid"),
                    "invoice_disabled": invoice.get("disabled"),
                }


class InvoiceLineItemsStream(InvoiceItemsStream):
    """Invoice line items (subscription and one-time), one record each."""

    name = "invoice_line_items"
    primary_keys = ("uuid",)
    nested_key = "line_items"


class InvoiceTransactionsStream(InvoiceItemsStream):
    """Payments and refunds recorded on invoices, one record each."""

    name = "invoice_transactions"
    primary_keys = ("uuid",)
    nested_key = "transactions"
