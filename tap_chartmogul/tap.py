"""The ChartMogul tap: its settings and its streams."""

from __future__ import annotations

import io
import json
import logging
import signal
import sys
import typing as t

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError

from tap_chartmogul import fanout_streams, streams
from tap_chartmogul.errors import TapChartMogulError
from tap_chartmogul.http_session import API_REQUESTS_PER_SECOND
from tap_chartmogul.input_files import checked_catalog, checked_state
from tap_chartmogul.metrics_plan import INTERVALS
from tap_chartmogul.metrics_streams import DEFAULT_INTERVAL, METRIC_STREAM_TYPES
from tap_chartmogul.run_cache import RunCache
from tap_chartmogul.settings import settings_problems

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from types import FrameType, TracebackType

    import click

    from tap_chartmogul.client import ChartMogulStream

#: Streams in sync order (see ``streams`` for why ``account`` is first).
STREAM_TYPES: tuple[type[ChartMogulStream], ...] = (
    streams.AccountStream,
    streams.DataSourcesStream,
    streams.CustomersStream,
    fanout_streams.CustomerSubscriptionsStream,
    streams.PlansStream,
    streams.PlanGroupsStream,
    fanout_streams.PlanGroupPlansStream,
    streams.InvoicesStream,
    fanout_streams.InvoiceLineItemsStream,
    fanout_streams.InvoiceTransactionsStream,
    streams.SubscriptionEventsStream,
    streams.ActivitiesStream,
    streams.ContactsStream,
    streams.CustomerNotesStream,
    streams.TasksStream,
    streams.OpportunitiesStream,
    *METRIC_STREAM_TYPES,
)

DEFAULT_API_URL = "https://api.chartmogul.com"
#: Two requests/s under ChartMogul's 40, as headroom for network jitter and other
#: tools sharing the key (their 429s are still handled).
DEFAULT_REQUESTS_PER_SECOND = 38
#: Well under ChartMogul's 20 parallel connections; 2-3 already saturate 40 requests/s
#: at typical latencies, the rest absorbs slow responses.
DEFAULT_MAX_CONNECTIONS = 8

#: The tap's own settings. ``config_jsonschema`` is built from it; the SDK later adds its
#: built-in settings to that dict in place, so this object is the pristine list.
SETTINGS = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType(nullable=False),
        required=True,
        secret=True,
        title="API key",
        description=(
            "ChartMogul API key (a read-only key is enough). Sent as the HTTP Basic "
            "username with an empty password; never logged."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType(nullable=False),
        default=DEFAULT_API_URL,
        title="API URL",
        description=(
            "Base URL of the API, without /v1. Must be https:// unless the host is "
            "loopback (localhost, 127.0.0.0/8, ::1), e.g. a local test server."
        ),
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description=(
            "Earliest date of time-based data: the metrics window (default: 365 days "
            "before the run) and the first activities run (default: all history)."
        ),
    ),
    th.Property(
        "activities_lookback_days",
        th.IntegerType(nullable=False),
        default=streams.DEFAULT_ACTIVITIES_LOOKBACK_DAYS,
        title="Activities lookback (days)",
        description=(
            "Days before the bookmark that each incremental run of activities re-reads, "
            "to catch activities ChartMogul back-dated or recomputed since the last run."
        ),
    ),
    th.Property(
        "metrics_interval",
        th.StringType(nullable=False),
        default=DEFAULT_INTERVAL,
        allowed_values=list(INTERVALS),
        title="Metrics interval",
        description=(
            "Period of each metrics row: day, week, month, quarter or year. metrics_asp is "
            "at least monthly (ChartMogul computes ASP per month at the finest)."
        ),
    ),
    th.Property(
        "metrics_geo",
        th.StringType,
        title="Metrics countries",
        description=(
            "Comma-separated ISO 3166 alpha-2 country codes that every metric series is limited to."
        ),
    ),
    th.Property(
        "metrics_plans",
        th.StringType,
        title="Metrics plans",
        description=(
            "Comma-separated plan names, uuids or external ids that every metric series "
            "is limited to."
        ),
    ),
    th.Property(
        "metrics_filters",
        th.StringType,
        title="Metrics filters",
        description=(
            "A ChartMogul Filter Language expression applied to every metric series, "
            "passed through as is."
        ),
    ),
    th.Property(
        "metrics_segments",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType(nullable=False), required=True),
                th.Property("geo", th.StringType),
                th.Property("plans", th.StringType),
                th.Property("filters", th.StringType),
            )
        ),
        title="Metrics segments",
        description=(
            "Extra named series for every metric stream, each with its own geo, plans and/or "
            "filters (unset ones inherit metrics_geo/metrics_plans/metrics_filters). Rows carry "
            "the segment name; the unsegmented series is named 'all'."
        ),
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType(nullable=False),
        default=False,
        title="Emit ACTIVATE_VERSION messages",
        description=(
            "Send ACTIVATE_VERSION for every full-table stream, so targets that honour it "
            "drop records deleted or merged in ChartMogul since the previous run."
        ),
    ),
    th.Property(
        "requests_per_second",
        th.IntegerType(nullable=False),
        default=DEFAULT_REQUESTS_PER_SECOND,
        title="Requests per second",
        description=(
            "Most requests the tap sends in any second, retries included, across all streams. "
            "ChartMogul allows 40 per account, shared with other tools using it; a higher "
            "value (for a raised account limit) is allowed with a warning."
        ),
    ),
    th.Property(
        "max_connections",
        th.IntegerType(nullable=False),
        default=DEFAULT_MAX_CONNECTIONS,
        title="Maximum parallel connections",
        description=(
            "Most HTTP connections open at once; per-customer requests run this many in "
            "parallel. ChartMogul allows 20 per account; at most 20."
        ),
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(nullable=False),
        default=60,
        title="Request timeout",
        description="Seconds to wait for each HTTP response before retrying it.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType(nullable=False),
        default=10,
        title="Maximum retries",
        description=(
            "Retries of a request after a 429, 5xx, timeout or connection error, with "
            "exponential backoff from 0.5 s capped at 60 s (Retry-After honoured); "
            "the default gives up after 2 to 4 minutes."
        ),
    ),
)


class TapChartMogul(Tap):
    """Singer tap for ChartMogul."""

    name = "tap-chartmogul"
    config_jsonschema = SETTINGS.to_dict()
    #: msgspec serialises Singer messages several times faster than the default writer.
    message_writer_class = MsgSpecWriter
    #: Hand-offs between this run's streams (created with the streams).
    run_cache: RunCache

    @override
    def discover_streams(self) -> list[ChartMogulStream]:
        """Return one instance of every stream, in sync order, wired to each other."""
        cache = self.run_cache = RunCache()
        discovered = [stream_type(self) for stream_type in STREAM_TYPES]
        by_name = {stream.name: stream for stream in discovered}
        for stream in discovered:
            stream.run_cache = cache
            if isinstance(stream, fanout_streams.FanOutStream):
                stream.parent = by_name[stream.parent_stream_name]
            if isinstance(stream, fanout_streams.InvoiceItemsStream):
                stream.invoices = by_name["invoices"]
        return discovered

    @override
    def sync_all(self) -> None:
        """Tell parent streams what selected streams will need from them, then sync."""
        if self.config["requests_per_second"] > API_REQUESTS_PER_SECOND:
            self.logger.warning(
                "requests_per_second=%s is above ChartMogul's %s requests/s: expect 429 "
                "answers (retried) unless your account's limit was raised",
                self.config["requests_per_second"],
                API_REQUESTS_PER_SECOND,
            )
        streams_by_name = t.cast("dict[str, ChartMogulStream]", self.streams)
        for stream in streams_by_name.values():
            if not stream.selected:
                continue
            if isinstance(stream, fanout_streams.FanOutStream):
                stream.run_cache.want_parent_keys(stream.parent_stream_name)
            if isinstance(stream, fanout_streams.InvoiceItemsStream):
                t.cast("streams.InvoicesStream", stream.invoices).feeds_derived_streams = True
        try:
            super().sync_all()
        finally:
            self.run_cache.close()

    @override
    def load_streams(self) -> list[ChartMogulStream]:  # type: ignore[override]
        """Keep ``STREAM_TYPES`` order (the SDK sorts by name) so ``account`` syncs first."""
        position = {stream_type: index for index, stream_type in enumerate(STREAM_TYPES)}
        loaded = t.cast("list[ChartMogulStream]", super().load_streams())
        return sorted(loaded, key=lambda stream: position.get(type(stream), len(position)))

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Check settings with messages that name the setting and never the key.

        Runs before any request. The SDK's JSON Schema check would quote the value of
        a mistyped ``api_key``; its errors are replaced by ``settings_problems``.
        """
        try:
            errors = super()._validate_config(raise_errors=False)
        except ConfigValidationError as exc:  # pragma: no cover - raise_errors=False
            errors = list(exc.errors)
        errors = [e for e in errors if "api_key" not in e]
        for problem in settings_problems(self.config):
            if problem not in errors:
                errors.append(problem)
        if errors and raise_errors:
            raise ConfigValidationError(
                errors[0] if len(errors) == 1 else "Invalid settings",
                errors=errors,
                schema=self.config_jsonschema,
            )
        return errors

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,  # the SDK's private _ConfigInput
        state: t.IO[str] | None = None,
        catalog: t.IO[str] | None = None,
    ) -> None:
        """Check the --state and --catalog files, then run as the SDK does."""
        known = [stream_type.name for stream_type in STREAM_TYPES]
        if state is not None:
            state = io.StringIO(json.dumps(checked_state(state.read(), known)))
        if catalog is not None:
            catalog = io.StringIO(json.dumps(checked_catalog(catalog.read(), known)))
        super().invoke(
            about=about, about_format=about_format, config=config, state=state, catalog=catalog
        )

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """On SIGTERM/SIGINT, write the state (SDK) and exit non-zero, not 0.

        The SDK exits 0, which tells an orchestrator an interrupted run succeeded.
        """
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            self.logger.error(  # noqa: TRY400 - an interruption needs no traceback
                "Interrupted by %s: resume from the last STATE message written",
                signal.Signals(signum).name,
            )
            raise SystemExit(128 + signum) from None

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """Report the tap's own errors as one line instead of a traceback."""
        command = super().get_singer_command()
        sdk_hook = command.excepthook  # type: ignore[attr-defined]

        def excepthook(
            exc_type: type[BaseException],
            exc_value: BaseException,
            exc_traceback: TracebackType | None,
        ) -> None:
            if not isinstance(exc_value, TapChartMogulError):
                sdk_hook(exc_type, exc_value, exc_traceback)
                return
            cls.logger.error("%s", exc_value)
            if cls.logger.isEnabledFor(logging.DEBUG):
                cls.logger.debug("Traceback", exc_info=(exc_type, exc_value, exc_traceback))

        command.excepthook = excepthook  # type: ignore[attr-defined]
        return command


if __name__ == "__main__":
    TapChartMogul.cli()
