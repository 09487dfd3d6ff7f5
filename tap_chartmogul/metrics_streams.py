"""Metric time series: ``/metrics/all`` and the eight single-metric endpoints.

Every stream emits one series per segment (plus the unsegmented ``all`` series),
keyed by ``segment``, ``date`` and ``interval``. The window from ``start_date``
(default: 365 days ago) to today is re-read on every run because ChartMogul restates
metrics after the fact; see ``metrics_plan`` for windows and segments. Rows read while
ChartMogul is still processing a data source are ``provisional`` (see ``processing``).
"""

from __future__ import annotations

import sys
import typing as t
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from tap_chartmogul.client import ChartMogulStream
from tap_chartmogul.errors import ChartMogulAPIError
from tap_chartmogul.metrics_plan import (
    INTERVALS,
    Segment,
    Window,
    coarser,
    coarsest,
    segments_from_config,
    windows,
)
from tap_chartmogul.settings import DEFAULT_INTERVAL, DEFAULT_METRICS_LOOKBACK_DAYS

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_chartmogul.run.context import RunContext
    from tap_chartmogul.run.listings import Listing
    from tap_chartmogul.streams import DataSourcesStream

BAD_REQUEST = 400


class MetricsStream(ChartMogulStream):
    """Base of the metric streams: segments x windows, one request each.

    Built with the ``data_sources`` stream, whose listing says whether the figures are
    provisional (read through the run: no request of its own).
    """

    primary_keys = ("segment", "date", "interval")
    paginated = False
    #: Intervals this metric accepts (ChartMogul computes ASP per month at the finest).
    allowed_intervals: t.ClassVar[tuple[str, ...]] = INTERVALS

    _interval_confirmed = False

    def __init__(
        self, tap: Tap, *, data_sources: DataSourcesStream, run: RunContext | None = None
    ) -> None:
        """Build the stream; the data sources' listing says whether its rows are provisional."""
        self.data_sources = data_sources
        super().__init__(tap, run=run)

    @override
    def listings_read(self) -> list[Listing]:
        """The data sources' listing: their processing status."""
        return [self.data_sources.listing]

    @cached_property
    def date_range(self) -> tuple[date, date]:
        """From ``start_date`` (default 365 days ago) to today, UTC."""
        today = datetime.now(UTC).date()
        start = self.config.get("start_date")
        first = (
            datetime.fromisoformat(start).date()
            if start
            else today - timedelta(days=DEFAULT_METRICS_LOOKBACK_DAYS)
        )
        return first, today

    @cached_property
    def segments(self) -> list[Segment]:
        """The unsegmented series and each configured segment."""
        return segments_from_config(self.config)

    @cached_property
    def interval(self) -> str:
        """``metrics_interval``, coarsened where this metric does not support it."""
        wanted = self.config.get("metrics_interval") or DEFAULT_INTERVAL
        effective = coarsest(wanted, self.allowed_intervals)
        if effective != wanted:
            # Expected, and documented: not a warning a default run should always print.
            self.logger.info(
                "%s: ChartMogul does not compute this metric per %s; using interval=%s "
                "(metrics_interval=%s)",
                self.name,
                wanted,
                effective,
                wanted,
            )
        return effective

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        """The request's window, interval and segment filters (all carried by the context)."""
        return {key: value for key, value in (context or {}).items() if key != "segment"}

    def _context(self, segment: Segment, window: Window) -> dict[str, str]:
        return {
            "segment": segment.name,
            "start-date": window.start.isoformat(),
            "end-date": window.end.isoformat(),
            "interval": self.interval,
            **segment.params(),
        }

    def _fetch(self, segment: Segment, window: Window) -> list[dict[str, t.Any]]:
        return list(self.request_records(self._context(segment, window)))

    def _coarsen_after(self, error: ChartMogulAPIError) -> bool:
        """Adapt once to ChartMogul refusing the interval (e.g. one the docs don't list).

        Only before any request with this interval succeeded, and only for a 400 that
        blames ``interval``: the run goes on with the next coarser interval and a warning
        naming ``metrics_interval``, instead of failing on a 400.
        """
        if self._interval_confirmed or error.status != BAD_REQUEST or error.param != "interval":
            return False
        next_interval = coarser(self.interval)
        if next_interval is None:
            return False
        self.logger.warning(
            "%s: ChartMogul refused interval=%s; using interval=%s instead (metrics_interval)",
            self.name,
            self.interval,
            next_interval,
        )
        self.interval = next_interval  # replaces the cached value
        return True

    def _series(self, segment: Segment, *, provisional: bool | None) -> Iterator[dict[str, t.Any]]:
        start, end = self.date_range
        while True:
            plan = windows(start, end, self.interval)
            try:
                first = self._fetch(segment, plan[0])
            except ChartMogulAPIError as error:
                if self._coarsen_after(error):
                    continue
                raise
            self._interval_confirmed = True
            break
        last_date = ""
        for index, window in enumerate(plan):
            entries = first if index == 0 else self._fetch(segment, window)
            for entry in entries:
                when = str(entry.get("date", ""))
                if when <= last_date:
                    continue  # the overlap day of a later window (or a repeat)
                last_date = when
                yield {
                    **entry,
                    "segment": segment.name,
                    "interval": self.interval,
                    "provisional": provisional,
                }

    @override
    def fetch_records(self) -> Iterator[dict[str, t.Any]]:
        """Every segment's series over the whole window."""
        start, end = self.date_range
        if start > end:
            self.logger.warning(
                "%s: start_date %s is in the future; nothing to read", self.name, start
            )
            return
        # A connection test (--test) reads a record, and no listing ahead: nothing to tell.
        provisional = None if self.run.dry_run else self.data_sources.processing.provisional()
        for segment in self.segments:
            yield from self._series(segment, provisional=provisional)


class AllMetricsStream(MetricsStream):
    """All eight key metrics and their percentage changes per period."""

    name = "metrics"
    path = "/metrics/all"


class MrrStream(MetricsStream):
    """MRR with its movements: new business, expansion, contraction, churn, reactivation."""

    name = "metrics_mrr"
    path = "/metrics/mrr"


class ArrStream(MetricsStream):
    """Annualised run rate."""

    name = "metrics_arr"
    path = "/metrics/arr"


class ArpaStream(MetricsStream):
    """Average revenue per account."""

    name = "metrics_arpa"
    path = "/metrics/arpa"


class AspStream(MetricsStream):
    """Average sale price; ChartMogul computes it per month, quarter or year only."""

    name = "metrics_asp"
    path = "/metrics/asp"
    allowed_intervals = ("month", "quarter", "year")


class CustomerCountStream(MetricsStream):
    """Number of paying customers (column ``customers``)."""

    name = "metrics_customer_count"
    path = "/metrics/customer-count"


class CustomerChurnRateStream(MetricsStream):
    """Customer churn rate, in percent."""

    name = "metrics_customer_churn_rate"
    path = "/metrics/customer-churn-rate"


class MrrChurnRateStream(MetricsStream):
    """Net MRR churn rate, in percent (negative when expansion outweighs churn)."""

    name = "metrics_mrr_churn_rate"
    path = "/metrics/mrr-churn-rate"


class LtvStream(MetricsStream):
    """Customer lifetime value, in cents."""

    name = "metrics_ltv"
    path = "/metrics/ltv"


METRIC_STREAM_TYPES: tuple[type[MetricsStream], ...] = (
    AllMetricsStream,
    MrrStream,
    ArrStream,
    ArpaStream,
    AspStream,
    CustomerCountStream,
    CustomerChurnRateStream,
    MrrChurnRateStream,
    LtvStream,
)
