"""Streams that need a parent's records: one request series per parent, or none at all.

These are top-level streams rather than SDK child streams on purpose. An SDK child is
synced once per parent record, and each of those syncs writes its own SCHEMA (and
ACTIVATE_VERSION) message and its own metric log lines: 10,000 customers would mean
10,000 SCHEMA messages. Here each stream writes one SCHEMA, and:

- ``customer_subscriptions`` and ``plan_group_plans`` reuse the parent uuids listed
  earlier in the run (``RunCache``), listing them only when the parent did not run;
- ``invoice_line_items`` and ``invoice_transactions`` read the invoices already fetched
  (spooled by the first stream that read them), so they cost no request.
"""

from __future__ import annotations

import sys
import typing as t
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from tap_chartmogul.client import ChartMogulStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context


class FanOutStream(ChartMogulStream):
    """Requests ``path`` once per parent record (cursor-paged), adding the parent's uuid."""

    #: Name of the parent stream whose ``uuid``s drive the requests.
    parent_stream_name: t.ClassVar[str]
    #: Column (and ``path`` placeholder) holding the parent's uuid.
    parent_key: t.ClassVar[str]

    #: The parent stream instance; set by the tap.
    parent: ChartMogulStream

    def parent_uuids(self) -> Iterator[str]:
        """The parent uuids of this run, listed by the parent stream or, failing that, here."""
        known = self.run_cache.parent_keys(self.parent_stream_name)
        if known is not None:
            yield from known
            return
        self.logger.info("Listing %s to fan out over them", self.parent_stream_name)
        for record in self.parent.request_records(None):
            yield record["uuid"]

    def _fetch(self, uuid: str) -> list[dict[str, t.Any]]:
        """All records of one parent (runs in a worker thread)."""
        records = list(self.request_records({self.parent_key: uuid}))
        for record in records:
            record[self.parent_key] = uuid
        return records

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """One request series per parent, ``max_connections`` of them in flight.

        Workers only fetch; records are yielded here, on the SDK's thread, in parent
        order, so the Singer output is the same as a sequential run's. At most twice
        ``max_connections`` parents are fetched ahead, which bounds memory; the shared
        session keeps the request rate and the open connections within the limits.
        """
        workers = int(self.config["max_connections"])
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.name)
        pending: deque[Future[list[dict[str, t.Any]]]] = deque()
        try:
            for uuid in self.parent_uuids():
                pending.append(pool.submit(self._fetch, uuid))
                if len(pending) >= 2 * workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class CustomerSubscriptionsStream(FanOutStream):
    """Each customer's subscriptions (Metrics API); a customer deleted mid-run is skipped."""

    name = "customer_subscriptions"
    path = "/customers/{customer_uuid}/subscriptions"
    primary_keys = ("uuid",)
    parent_stream_name = "customers"
    parent_key = "customer_uuid"
    skip_not_found = True


class PlanGroupPlansStream(FanOutStream):
    """The plans of each plan group, with the group's uuid."""

    name = "plan_group_plans"
    path = "/plan_groups/{plan_group_uuid}/plans"
    primary_keys = ("plan_group_uuid", "uuid")
    records_key = "plans"
    parent_stream_name = "plan_groups"
    parent_key = "plan_group_uuid"
    skip_not_found = True


class InvoiceItemsStream(ChartMogulStream):
    """One record per element of an invoice's nested array, with the invoice's keys."""

    #: The invoice key holding the nested array.
    nested_key: t.ClassVar[str]

    #: The invoices stream instance; set by the tap.
    invoices: ChartMogulStream

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Read the spool, or fetch (and spool) the invoices if no stream has yet."""
        if self.run_cache.invoices_spooled:
            source: Iterable[dict[str, t.Any]] = self.run_cache.spooled_invoices()
        else:
            source = self.run_cache.spool_invoices(self.invoices.request_records(None))
        for invoice in source:
            for item in invoice.get(self.nested_key) or ():
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
