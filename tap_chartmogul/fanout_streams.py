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
from collections import deque

from tap_chartmogul.client import ChartMogulStream
from tap_chartmogul.errors import NotFoundError, RecordError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from concurrent.futures import Future

    from singer_sdk import Tap

    from tap_chartmogul.listings import Listing
    from tap_chartmogul.services import RunServices

Record = dict[str, t.Any]

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
            uuid = record.get("uuid")
            if not isinstance(uuid, str) or not uuid:
                msg = (
                    f"{self.name}: {self.parent.name} record {position} has no uuid, so its "
                    f"{self.name} cannot be requested; stopping"
                )
                raise RecordError(msg)
            yield uuid

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
        """One request series per parent, many in flight, records in parent order.

        Workers only fetch; records leave in parent order, so the Singer output is the
        same as a sequential run's. At most ``PARENTS_AHEAD_PER_WORKER`` parents per
        worker are fetched ahead, which bounds memory; the shared session keeps the
        request rate and the open connections within the limits.
        """
        workers = self.services.workers
        progress = self.services.progress
        ahead = PARENTS_AHEAD_PER_WORKER * workers.size
        pending: deque[Future[list[Record]]] = deque()
        done = 0
        for uuid in self.parent_uuids():
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


class CustomerSubscriptionsStream(FanOutStream):
    """Each customer's subscriptions (Metrics API); a customer deleted mid-run is skipped."""

    name = "customer_subscriptions"
    path = "/customers/{customer_uuid}/subscriptions"
    primary_keys = ("uuid",)
    parent_key = "customer_uuid"


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
