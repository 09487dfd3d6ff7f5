"""The ChartMogul tap: its settings and its streams."""

from __future__ import annotations

import logging
import sys
import typing as t

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from tap_chartmogul import streams
from tap_chartmogul.errors import TapChartMogulError
from tap_chartmogul.settings import settings_problems

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from types import TracebackType

    import click

    from tap_chartmogul.client import ChartMogulStream

#: Streams in sync order (see ``streams`` for why ``account`` is first).
STREAM_TYPES: tuple[type[ChartMogulStream], ...] = (
    streams.AccountStream,
    streams.DataSourcesStream,
    streams.CustomersStream,
    streams.PlansStream,
    streams.InvoicesStream,
    streams.MetricsStream,
)

DEFAULT_API_URL = "https://api.chartmogul.com"

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
            "Earliest date of time-based data (the metrics window). "
            "Default: 365 days before the run."
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

    @override
    def discover_streams(self) -> list[ChartMogulStream]:
        """Return one instance of every stream, in sync order."""
        return [stream_type(self) for stream_type in STREAM_TYPES]

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
