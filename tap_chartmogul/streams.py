"""Stream declarations: one class per ChartMogul object, HTTP policy inherited.

Order matters: the tap syncs streams in the order ``tap.STREAM_TYPES`` lists them,
and ``account`` comes first because it is one cheap request that always returns a
record, so a connection test (``meltano config tap-chartmogul test``) proves the
key in well under a second.
"""

from __future__ import annotations

import sys
import typing as t
from datetime import datetime, timedelta, timezone

from tap_chartmogul.client import ChartMogulStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

#: Interval of the ``metrics`` stream: one record per day.
METRICS_INTERVAL = "day"
#: How far back ``metrics`` reaches when ``start_date`` is not set.
METRICS_DEFAULT_LOOKBACK_DAYS = 365


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


class InvoicesStream(ChartMogulStream):
    """Invoices with their line items and transactions nested in each record."""

    name = "invoices"
    path = "/invoices"
    primary_keys = ("uuid",)
    records_key = "invoices"

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict:
        """Include invoices ChartMogul flagged invalid (their ``errors`` say why)."""
        return {"validation_type": "all"}


class MetricsStream(ChartMogulStream):
    """All eight key metrics per day, from ``/metrics/all``.

    ChartMogul restates metrics after the fact, so the whole window from
    ``start_date`` (default: 365 days ago) to today is read on every run: one request.
    """

    name = "metrics"
    path = "/metrics/all"
    primary_keys = ("date", "interval")
    paginated = False

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict:
        """Send the window and interval; the API answers one entry per period."""
        today = datetime.now(timezone.utc).date()
        start = self.config.get("start_date")
        first = (
            datetime.fromisoformat(start).date()
            if start
            else today - timedelta(days=METRICS_DEFAULT_LOOKBACK_DAYS)
        )
        return {
            "start-date": first.isoformat(),
            "end-date": today.isoformat(),
            "interval": METRICS_INTERVAL,
        }

    @override
    def post_process(
        self,
        row: dict[str, t.Any],
        context: Context | None = None,
    ) -> dict[str, t.Any] | None:
        """Record which interval each entry summarises (part of the key)."""
        shaped = super().post_process(row, context)
        if shaped is not None:
            shaped["interval"] = METRICS_INTERVAL
        return shaped
