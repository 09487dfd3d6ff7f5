"""Streams built from another stream's listing: one request series per parent, or none.

These are top-level streams rather than SDK child streams on purpose. An SDK child is
synced once per parent record, and each of those syncs writes its own SCHEMA (and
ACTIVATE_VERSION) message and its own log lines: 10,000 customers would mean 10,000
SCHEMA messages. Here each stream writes one SCHEMA, and reads its parent's listing
(fetched once per run, see ``listings``), whatever order the SDK syncs them in:

- ``customer_subscriptions`` and ``plan_group_plans`` request each parent's records,
  many parents at once on the run's workers, and emit them in parent order;
- ``invoice_line_items`` and ``invoice_transactions`` expand the invoices' nested
  arrays, so they cost no request.
"""

from __future__ import annotations

import sys
import typing as t
from collections import Counter, deque
from functools import cached_property

from tap_chartmogul.client import ChartMogulStream
from tap_chartmogul.errors import NotFoundError, RecordError
from tap_chartmogul.http_session import request_priority
from tap_chartmogul.refresh import STATE_KEY, RefreshPlan
from tap_chartmogul.settings import DEFAULT_MAX_AGE_DAYS, DEFAULT_REFRESH

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from concurrent.futures import Future

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_chartmogul.listings import Listing
    from tap_chartmogul.services import RunServices
    from tap_chartmogul.streams import ActivitiesStream

Record = dict[str, t.Any]

#: The first part of a fan-out request's priority: after every listing's pages.
FAN_OUT = 1
#: Parents fetched ahead of the one being emitted, per worker: enough requests in flight
#: to keep every connection busy at any latency, few enough to bound memory.
PARENTS_AHEAD_PER_WORKER = 4


class ParentRecordsStream(ChartMogulStream):
    """A stream whose records come from a parent stream's listing."""

    def __init__(
        self, tap: Tap, *, parent: ChartMogulStream, services: RunServices | None = None
    ) -> None:
        """Build the stream over ``parent`` (the stream whose listing drives it)."""
        self.parent = parent
        super().__init__(tap, services=services or parent.services)

    def parent_records(self) -> Iterator[Record]:
        """The parent's records: its shared listing, or a direct fetch in a dry run."""
        if self.dry_run:
            return iter(self.parent.fetch_records())
        return self.parent.listing.read()


class FanOutStream(ParentRecordsStream):
    """Requests ``path`` once per parent record (cursor-paged), adding the parent's uuid.

    A parent that vanished between listing and fan-out (HTTP 404: deleted or merged in
    ChartMogul meanwhile) is skipped with a warning.
    """

    #: Column (and ``path`` placeholder) holding the parent's uuid.
    parent_key: t.ClassVar[str]

    @override
    def listings_read(self) -> list[Listing]:
        """Its own listing, and the parent's (read by the own listing's producer)."""
        return [self.listing, self.parent.listing]

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
            with request_priority((FAN_OUT, self.listing.priority)):  # see http_session.Pacer
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
        return self.fan_out(self.parent_uuids())

    def fan_out(self, uuids: Iterable[str]) -> Iterator[Record]:
        """One request series per parent uuid, many in flight, records in parent order.

        Workers only fetch; records leave in parent order, so the Singer output is the
        same as a sequential run's. At most ``PARENTS_AHEAD_PER_WORKER`` parents per
        worker are fetched ahead, which bounds memory; the shared session keeps the
        request rate and the open connections within the limits.
        """
        workers = self.services.workers
        progress = self.services.progress
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
    they are read anyway, so nothing is requested twice.
    """

    name = "customer_subscriptions"
    path = "/customers/{customer_uuid}/subscriptions"
    primary_keys = ("uuid",)
    parent_key = "customer_uuid"

    def __init__(
        self,
        tap: Tap,
        *,
        parent: ChartMogulStream,
        activities: ActivitiesStream,
        events: ChartMogulStream,
        services: RunServices | None = None,
    ) -> None:
        """Build the fan-out over ``parent`` (customers), told of changes by the other two."""
        self.activities = activities
        self.events = events
        super().__init__(tap, parent=parent, services=services)
        self.reasons: Counter[str] = Counter()
        self.customers_listed = 0

    @cached_property
    def plan(self) -> RefreshPlan:
        """This run's refresh rules, from the state (loaded after the streams are built)."""
        return RefreshPlan.from_state(
            self.config.get("subscriptions_refresh") or DEFAULT_REFRESH,
            int(self.config.get("subscriptions_max_age_days") or DEFAULT_MAX_AGE_DAYS),
            self.services.run_started,
            self.get_context_state(None),
        )

    @override
    def listings_read(self) -> list[Listing]:
        """Also the events' and (when that stream runs) the activities' listings."""
        listings = super().listings_read()
        if not self.plan.everyone:
            listings.append(self.events.listing)
            if self.activities.selected:
                listings.append(self.activities.listing)
        return listings

    @override
    def fetch_records(self) -> Iterator[Record]:
        """Every customer's subscriptions, or (``changed``) those of the customers that changed."""
        if self.plan.everyone:
            yield from self.fan_out(self._counted(self.parent_uuids()))
            return
        changed = self._changed_by_activities()
        self._log_plan(len(changed))
        unselected: dict[str, list[tuple[str, set[str]]]] = {}
        yield from self.fan_out(self._selected(changed, unselected))
        yield from self.fan_out(self._named_by_events(unselected))
        self.logger.info(
            "%s: re-read %s of %s customers (%s)",
            self.name,
            f"{self.parents_done:,}",
            f"{self.customers_listed:,}",
            ", ".join(f"{count:,} {reason}" for reason, count in self.reasons.items()) or "none",
        )

    def _counted(self, uuids: Iterable[str]) -> Iterator[str]:
        for uuid in uuids:
            self.customers_listed += 1
            yield uuid

    def _changed_by_activities(self) -> set[str]:
        """Customers with an activity dated in the change window.

        The activities stream's own listing is reused when it covers the window (its
        lookback normally does); otherwise the window is requested on its own.
        """
        plan = self.plan
        records: Iterable[Record]
        if self.activities.selected and self.activities.listing.wait_started(
            self.services.cancelled
        ):
            if self.activities.covers(plan.window_start):
                records = self.activities.listing.read()
            else:
                self.activities.listing.release_reader()
                records = self.activities.window_records(plan.window_start, plan.now)
        else:
            records = self.activities.window_records(plan.window_start, plan.now)
        return {
            str(record.get("customer-uuid"))
            for record in records
            if record.get("customer-uuid") and plan.in_window(record.get("date"))
        }

    def _selected(
        self, changed: set[str], unselected: dict[str, list[tuple[str, set[str]]]]
    ) -> Iterator[str]:
        """Customers to re-read now; the others are kept by external id for the events."""
        plan = self.plan
        for position, record in enumerate(self.parent_records(), start=1):
            uuid = self.uuid_of(record, position)
            self.customers_listed += 1
            reason = (
                "with activities"
                if uuid in changed
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
                    unselected.setdefault(str(external_id), []).append((uuid, sources))

    def _named_by_events(self, unselected: dict[str, list[tuple[str, set[str]]]]) -> list[str]:
        """Customers not re-read yet that a subscription event in the window names."""
        plan = self.plan
        named: dict[str, None] = {}
        for event in self.events.listing.read():
            if not (
                plan.in_window(event.get("created_at")) or plan.in_window(event.get("updated_at"))
            ):
                continue
            source = event.get("data_source_uuid")
            for uuid, sources in unselected.get(str(event.get("customer_external_id")), ()):
                if not source or source in sources:
                    named[uuid] = None
        self.reasons["named by subscription events"] += len(named)
        return list(named)

    def _log_plan(self, with_activities: int) -> None:
        plan = self.plan
        listed_before = int(
            (self.get_context_state(None).get(STATE_KEY) or {}).get("customers_listed") or 0
        )
        expected = with_activities + round(plan.rotation_share() * listed_before)
        rate = float(self.config["requests_per_second"])
        self.logger.info(
            "%s: subscriptions_refresh=changed since %s: %s customers with activities in the "
            "window, plus new customers, those named by subscription events, and the rotation "
            "(%.0f%% of customers, about %s of the %s listed last run); about %s requests, "
            "%.0f min at %s requests/s",
            self.name,
            plan.previous.isoformat() if plan.previous else "never",
            f"{with_activities:,}",
            100 * plan.rotation_share(),
            f"{round(plan.rotation_share() * listed_before):,}",
            f"{listed_before:,}",
            f"{expected:,}",
            expected / rate / 60,
            f"{rate:g}",
        )

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Emit; once every customer due was re-read, remember this run in the state."""
        yield from super().get_records(context)
        if not self.dry_run:
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
    """One record per element of an invoice's nested array, with the invoice's keys."""

    #: The invoice key holding the nested array.
    nested_key: t.ClassVar[str]

    @override
    def listings_read(self) -> list[Listing]:
        """Its own listing (the expanded items), and the invoices' (read by its producer)."""
        return [self.listing, self.parent.listing]

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
