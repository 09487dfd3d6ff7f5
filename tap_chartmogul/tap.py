"""The ChartMogul tap: its settings, its streams, and how it reports a failed run."""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import json
import logging
import signal
import sys
import threading
import typing as t

import click
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_chartmogul import environment, fanout_streams, logs, notes_streams, streams
from tap_chartmogul.client import SCHEMAS
from tap_chartmogul.errors import InputFileError, SettingsError, TapChartMogulError
from tap_chartmogul.input_files import checked_catalog, checked_config_files, checked_state
from tap_chartmogul.metrics_streams import METRIC_STREAM_TYPES
from tap_chartmogul.redaction import SECRETS
from tap_chartmogul.run.context import RunContext
from tap_chartmogul.run.output import ChartMogulWriter
from tap_chartmogul.settings import (
    API_REQUESTS_PER_SECOND,
    SETTINGS,
    closest,
    settings_problems,
    unknown_setting_lines,
    without_blanks,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import PurePath
    from types import FrameType

    from singer_sdk import Stream
    from singer_sdk.singerlib import Catalog

    from tap_chartmogul.client import ChartMogulStream

__all__ = ["SETTINGS", "STREAM_TYPES", "TapChartMogul"]

#: Every stream, each after the streams it is built from (``DEPENDENCIES``). The SDK writes
#: them in another order (``TapChartMogul.streams``); listings make either irrelevant to
#: what is requested.
STREAM_TYPES: tuple[type[ChartMogulStream], ...] = (
    streams.AccountStream,
    streams.DataSourcesStream,
    streams.CustomersStream,
    streams.SubscriptionEventsStream,
    streams.ActivitiesStream,
    streams.InvoicesStream,
    fanout_streams.CustomerSubscriptionsStream,
    streams.PlansStream,
    streams.PlanGroupsStream,
    fanout_streams.PlanGroupPlansStream,
    fanout_streams.InvoiceLineItemsStream,
    fanout_streams.InvoiceTransactionsStream,
    streams.ContactsStream,
    notes_streams.NotesStream,
    notes_streams.CustomerNotesStream,
    streams.TasksStream,
    streams.OpportunitiesStream,
    *METRIC_STREAM_TYPES,
)
#: The other streams each stream is built with (constructor argument -> stream name).
DEPENDENCIES: dict[str, dict[str, str]] = {
    **{
        name: {"data_sources": "data_sources"}
        for name in (
            "customers",
            "plans",
            "plan_groups",
            "invoices",
            "subscription_events",
            "contacts",
            "notes",
            "tasks",
            "opportunities",
        )
    },
    "customer_subscriptions": {
        "parent": "customers",
        "activities": "activities",
        "events": "subscription_events",
        "invoices": "invoices",
    },
    "plan_group_plans": {"parent": "plan_groups"},
    "invoice_line_items": {"parent": "invoices"},
    "invoice_transactions": {"parent": "invoices"},
    "customer_notes": {"parent": "notes"},
    **{
        str(vars(metric)["name"]): {"data_sources": "data_sources"}
        for metric in METRIC_STREAM_TYPES
    },
}


def stream_name(stream_type: type[ChartMogulStream]) -> str:
    """The ``name`` a stream class declares (the SDK types ``Stream.name`` per instance)."""
    return str(vars(stream_type)["name"])


def replication_key(stream_type: type[ChartMogulStream]) -> str | None:
    """The replication key a stream class declares, or None for a full-table stream."""
    key = vars(stream_type).get("replication_key")
    return key if isinstance(key, str) else None


#: The cyclic collector's thresholds for a run (CPython's default: 700, 10, 10). A run
#: allocates millions of short-lived dicts (every page's records) and makes few cycles, so
#: fewer collections cost little memory. Measured, the collector itself not profiled: the
#: daily benchmark at 100,000 thick customers gave 1.085 and 1.084 of the bound (tap CPU
#: 343 and 361 s) against 1.212 (501 s) at the default, at 20,000 1.138 and 1.174 against
#: 1.209 and 1.267, with the same peak RSS (docs/performance.md).
RUN_GC_THRESHOLD = (50_000, 50, 1_000)


def _write_rank(stream: Stream) -> tuple[int, str]:
    """Slow listings (customers) after the others, fan-outs (a request per parent) last."""
    return (getattr(stream, "write_group", 0), stream.name)


class TapChartMogul(Tap):
    """Singer tap for ChartMogul."""

    name = "tap-chartmogul"
    config_jsonschema = SETTINGS.to_dict()
    message_writer_class = ChartMogulWriter

    def __init__(
        self,
        *,
        config: dict[str, t.Any] | PurePath | str | list[PurePath | str] | None = None,
        catalog: PurePath | str | dict[str, t.Any] | Catalog | None = None,
        state: PurePath | str | dict[str, t.Any] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        **kwargs: t.Any,
    ) -> None:
        """Build the tap; invalid settings fail here, one line per bad setting.

        ``TAP_CHARTMOGUL_*`` variables (and ``./.env``) are read by ``environment``, not
        by the SDK, so a bad value is one line and an empty one means "not set"; the SDK
        gets the merged dict. It validates the settings against ``config_jsonschema``
        first; its messages are JSON Schema's, so ``settings_problems`` re-words them
        (and checks what the schema cannot say) before any request is made.
        """
        merged = self._merged_config(config, parse_env=parse_env_config)
        try:
            super().__init__(
                config=merged,
                catalog=catalog,
                state=state,
                parse_env_config=False,
                validate_config=validate_config,
                **kwargs,
            )
        except ConfigValidationError as error:
            self._guard_output()
            problems = settings_problems(self.config) or list(error.errors)
            raise SettingsError(problems) from None
        self._guard_output()
        if validate_config:
            problems = settings_problems(self.config)
            if problems:
                raise SettingsError(problems)
            if self.config["requests_per_second"] > API_REQUESTS_PER_SECOND:
                self.logger.warning(
                    "requests_per_second=%s is above ChartMogul's %s requests/s: expect 429 "
                    "answers (retried) unless your account's limit was raised",
                    self.config["requests_per_second"],
                    API_REQUESTS_PER_SECOND,
                )
        self._install_signal_handlers()

    @classmethod
    def full_settings_schema(cls) -> dict[str, t.Any]:
        """The tap's settings plus the SDK's built-in ones (``stream_maps``...)."""
        schema = copy.deepcopy(SETTINGS.to_dict())
        cls.append_builtin_config(schema)
        return schema

    @classmethod
    def _merged_config(
        cls,
        config: dict[str, t.Any] | PurePath | str | list[PurePath | str] | None,
        *,
        parse_env: bool,
    ) -> t.Any:
        """The settings from ``config`` and, with ``--config ENV``, the environment.

        Environment values override the files' (the SDK's order). Names the tap does not
        know are warned about once each, from files and variables alike.
        """
        if config is not None and not isinstance(config, dict):
            return config  # file paths (deprecated in the SDK): left to it
        schema = cls.full_settings_schema()
        # Meltano passes every setting as a variable too, so unknown variables are worth a
        # word even when only --config files are read; .env is read only for ENV.
        variables = environment.tap_variables(read_dotenv=parse_env)
        SECRETS.add(variables.get(environment.variable_name("api_key")))
        merged = dict(config or {})
        if parse_env:
            merged.update(environment.environment_settings(schema, variables))
        merged = environment.text_values_parsed(without_blanks(merged), schema)
        known = schema.get("properties") or {}
        for line in unknown_setting_lines(merged, known):
            cls.logger.warning("%s", line)
        known_variables = [environment.variable_name(name) for name in known]
        for name in environment.unknown_variables(schema, variables):
            if environment.setting_name(name) in merged:
                continue  # already named as an unknown setting (Meltano passes both)
            hint = closest(name, known_variables)
            cls.logger.warning(
                "%s is not a tap-chartmogul setting and is ignored%s",
                name,
                f": did you mean {hint}?" if hint else " (see tap-chartmogul --about)",
            )
        return merged

    def _guard_output(self) -> None:
        """Mask the key in all output from now on, and quiet the SDK's metric lines."""
        key = self.config.get("api_key")
        if isinstance(key, str):
            SECRETS.add(key)
        logs.install(log_metrics=self.config.get("log_metrics") is True)

    @override
    def discover_streams(self) -> list[ChartMogulStream]:
        """One instance of every stream, each built with what it needs from the others."""
        run = RunContext(self.config, writer=t.cast("ChartMogulWriter", self.message_writer))
        built: dict[str, ChartMogulStream] = {}
        for stream_type in STREAM_TYPES:
            name = stream_name(stream_type)
            others = {arg: built[other] for arg, other in DEPENDENCIES.get(name, {}).items()}
            built[name] = stream_type(self, run=run, **others)
        return list(built.values())

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """The streams in the order they are written: by name, slow listings and fan-outs last.

        ``Tap.sync_all`` writes ``self.streams`` one after another, and ``load_streams``
        (both ``@final``, singer_sdk/tap_base.py) sorts them by name: customer_subscriptions
        before customers and the invoice streams. Their listings are read ahead anyway, so
        the order decides only what the SDK writes while the fan-out's requests are still
        going: written before it, the invoices and their items (hundreds of thousands of
        records in a thick account) go out during those requests instead of after the last
        one. Customers (one chain per data source, no seeds: minutes at 100,000 customers)
        go after the other listings, so the SDK does not wait on them while those are ready.
        tests/test_full_sync.py pins the order.
        """
        streams = super().streams
        return dict(sorted(streams.items(), key=lambda item: _write_rank(item[1])))

    # --- signals -----------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        """Replace the SDK's SIGTERM/SIGINT handler with one that exits non-zero.

        The SDK's own handler (``Tap._handle_termination``, singer_sdk/tap_base.py, from
        meltano/sdk#2620) writes the state and calls ``sys.exit(0)``, which tells an
        orchestrator that an interrupted run succeeded; tests/test_resume.py pins 143/130.
        This one writes the state too, then exits with 128 + the signal number; background
        threads are daemons, so the exit is immediate whatever they are waiting for.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self.logger.error(
            "Interrupted by %s: resume from the last STATE message written",
            signal.Signals(signum).name,
        )

        def final_state() -> None:
            with contextlib.suppress(Exception):
                self.state_writer.write_state(self.state)  # the records held go out before it

        # At a whole line: a signal during a write of the output waits for it (output.py).
        t.cast("ChartMogulWriter", self.message_writer).stop(final_state, 128 + signum)

    # --- command line ------------------------------------------------------------------

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        state: t.IO[str] | None = None,
        catalog: t.IO[str] | None = None,
    ) -> None:
        """Check the --state and --catalog files, then run as the SDK does, in one line on error."""
        with _one_line_errors(cls.logger):
            gc.set_threshold(*RUN_GC_THRESHOLD)
            known = {
                stream_name(stream_type): {
                    "schema": SCHEMAS.get_schema(stream_name(stream_type)),
                    "replication_key": replication_key(stream_type),
                }
                for stream_type in STREAM_TYPES
            }
            if state is not None:
                state = io.StringIO(json.dumps(checked_state(state.read(), known)))
            if catalog is not None:
                catalog = io.StringIO(json.dumps(checked_catalog(catalog.read(), known)))
            super().invoke(
                about=about, about_format=about_format, config=config, state=state, catalog=catalog
            )

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test``: the SDK's connection test, reporting a failure in one line."""
        with _one_line_errors(cls.logger):
            super().cb_test(ctx, param, value)

    @classmethod
    @override
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """``--discover``, reporting a failure in one line."""
        with _one_line_errors(cls.logger):
            super().cb_discover(ctx, param, value)

    @classmethod
    @override
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        """Read the ``--config`` files, saying in one line which one cannot be used."""
        with _one_line_errors(cls.logger):
            checked_config_files(value)
            return super().cb_config(ctx, param, value)


#: Problems with local input: the line says all there is; a traceback would add nothing.
LOCAL_ERRORS = (SettingsError, InputFileError)


@contextlib.contextmanager
def _one_line_errors(logger: logging.Logger) -> Iterator[None]:
    """Report the tap's own errors as one ERROR line each and exit 1, without a traceback.

    Any other exception is a bug: it keeps the SDK's report, traceback included.
    """
    try:
        yield
    except TapChartMogulError as error:
        for line in str(error).splitlines() or [type(error).__name__]:
            logger.error("%s", line)  # noqa: TRY400 - one line, no traceback, is the point
        if logger.isEnabledFor(logging.DEBUG) and not isinstance(error, LOCAL_ERRORS):
            logger.debug("Traceback", exc_info=error)
        raise click.exceptions.Exit(1) from None


if __name__ == "__main__":
    TapChartMogul.cli()
