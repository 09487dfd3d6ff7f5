"""Stream declarations for ChartMogul's list endpoints; HTTP policy is inherited.

Per-customer fan-outs and invoice-derived streams are in ``fanout_streams``, the
metric series in ``metrics_streams``. The tap syncs streams in the order
``tap.STREAM_TYPES`` lists them; ``account`` comes first because it is one cheap
request that always returns a record, so a connection test proves the key at once.
"""

from __future__ import annotations

import sys
import typing as t
from datetime import datetime, timedelta, timezone
from functools import cached_property

from tap_chartmogul.client import PAGE_SIZE, ChartMogulStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

#: How far before the bookmark ``activities`` re-reads by default (``activities_lookback_days``).
DEFAULT_ACTIVITIES_LOOKBACK_DAYS = 30


class AccountStream(ChartMogulStream):
    """The account itself (name, currency, time zone, churn settings): one record."""

    name = "account"
    path = "/account"
    primary_keys = ("id",)
    records_key = None
    paginated = False

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict:
        """Ask for every optional account setting, so the record is complete."""
        return {
            "include": "churn_recognition,churn_when_zero_mrr,auto_churn_subscription,"
            "refund_handling,proximate_movement_reclassification",
        }


class DataSourcesStream(ChartMogulStream):
    """Billing-system connections and import sources, with their processing status."""

    name = "data_sources"
    path = "/data_sources"
    primary_keys = ("uuid",)
    records_key = "data_sources"
    paginated = False

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict:
        """Ask for the optional status and settings blocks."""
        return {
            "with_processing_status": "true",
            "with_auto_churn_subscription_setting": "true",
            "with_invoice_handling_setting": "true",
        }


class CustomersStream(ChartMogulStream):
    """Customers and leads, with their current MRR/ARR and attributes."""

    name = "customers"
    path = "/customers"
    primary_keys = ("uuid",)


class PlansStream(ChartMogulStream):
    """Plans of every data source."""

    name = "plans"
    path = "/plans"
    primary_keys = ("uuid",)
    records_key = "plans"


class PlanGroupsStream(ChartMogulStream):
    """Plan groups (their member plans are in ``plan_group_plans``)."""

    name = "plan_groups"
    path = "/plan_groups"
    primary_keys = ("uuid",)
    records_key = "plan_groups"


class InvoicesStream(ChartMogulStream):
    """Invoices with their line items and transactions nested in each record.

    When ``invoice_line_items`` or ``invoice_transactions`` is selected, the nested
    arrays are spooled as the invoices stream by, so those streams need no request.
    """

    name = "invoices"
    path = "/invoices"
    primary_keys = ("uuid",)
    records_key = "invoices"

    #: Set by the tap when a stream derived from invoices is selected.
    feeds_derived_streams = False

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict:
        """Include invoices ChartMogul flagged invalid (their ``errors`` say why)."""
        return {"validation_type": "all"}

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Yield invoices, spooling their nested items when a derived stream wants them."""
        records = super().get_records(context)
        if self.feeds_derived_streams and not self.run_cache.invoices_spooled:
            records = self.run_cache.spool_invoices(records)
        yield from records


class SubscriptionEventsStream(ChartMogulStream):
    """Subscription lifecycle events; ``""`` sent for missing values becomes null."""

    name = "subscription_events"
    path = "/subscription_events"
    primary_keys = ("id",)
    records_key = "subscription_events"
    blank_strings_to_null = True


class ContactsStream(ChartMogulStream):
    """People at customers (CRM contacts)."""

    name = "contacts"
    path = "/contacts"
    primary_keys = ("uuid",)


class CustomerNotesStream(ChartMogulStream):
    """Notes and call logs on customers, for the whole account."""

    name = "customer_notes"
    path = "/customer_notes"
    primary_keys = ("uuid",)


class TasksStream(ChartMogulStream):
    """CRM tasks."""

    name = "tasks"
    path = "/tasks"
    primary_keys = ("task_uuid",)


class OpportunitiesStream(ChartMogulStream):
    """CRM opportunities (sales pipeline)."""

    name = "opportunities"
    path = "/opportunities"
    primary_keys = ("uuid",)


class ActivitiesStream(ChartMogulStream):
    """MRR movements (new business, expansion, contraction, churn, reactivation).

    Incremental on ``date``, filtered server-side with ``start-date`` and read in
    ascending order, so the bookmark is resumable. ChartMogul back-dates and recomputes
    activities (late imports, reprocessing), so each run starts
    ``activities_lookback_days`` before the bookmark; a first run starts at
    ``start_date`` (or the beginning). Activities dated after the run started
    (scheduled ones) are left for the run after their date, which keeps the bookmark
    from ever passing the present. No ``uuid`` is emitted twice in one run.
    """

    name = "activities"
    path = "/activities"
    primary_keys = ("uuid",)
    replication_key = "date"
    is_sorted = True
    # The lookback deliberately re-reads records older than the stored bookmark.
    check_sorted = False
    # A STATE message per page (the SDK default is every 10,000 records), so an
    # interrupted run resumes within 200 activities of where it stopped.
    STATE_MSG_FREQUENCY = PAGE_SIZE
    _start: datetime | None = None

    @cached_property
    def run_started(self) -> datetime:
        """The upper bound of this run's window (fixed on first use)."""
        return datetime.now(timezone.utc).replace(microsecond=0)

    def window_start(self, context: Context | None) -> datetime | None:
        """First activity date to read: bookmark minus lookback, never before start_date."""
        start_date = self.config.get("start_date")
        floor = _as_utc(datetime.fromisoformat(start_date)) if start_date else None
        bookmark = self.get_context_state(context).get("replication_key_value")
        if not bookmark:
            return floor
        lookback = timedelta(days=self.config["activities_lookback_days"])
        start = _as_utc(datetime.fromisoformat(str(bookmark))) - lookback
        return max(start, floor) if floor else start

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict:
        """Send the window on every page (the cursor alone does not carry it)."""
        params = {"order": "date", "end-date": _iso(self.run_started)}
        if self._start is not None:
            params["start-date"] = _iso(self._start)
        return params

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Yield activities once each, even if the API repeats one at a page boundary.

        The window is fixed before the first request: the SDK advances the bookmark
        while records stream by, and later pages must not see a moving ``start-date``.
        """
        self._start = self.window_start(context)
        self.logger.info(
            "Reading activities dated %s to %s",
            _iso(self._start) if self._start else "the beginning",
            _iso(self.run_started),
        )
        # Activities come in ascending date order (the resumable bookmark relies on it
        # too), so a repeated uuid can only carry the date being read: remembering that
        # date's uuids is exact and keeps memory flat however many activities there are.
        current_date: object = None
        seen: set[str] = set()
        for record in super().get_records(context):
            if record.get("date") != current_date:
                current_date = record.get("date")
                seen = set()
            uuid = record.get("uuid")
            if uuid in seen:
                continue
            seen.add(uuid)
            yield record


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
