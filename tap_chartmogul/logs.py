"""What the tap's log says, and what it keeps quiet, so a daily run stays readable.

Three filters on the log handlers (handler filters see records from every logger):

- ``SECRETS`` masks the API key in every line (see ``redaction``);
- ``QuietMetrics`` drops the SDK's METRIC lines (one or two per HTTP request, thousands
  per run) unless ``log_metrics`` is on; the run summary reports the same counts once;
- ``ReportedFailures`` demotes the SDK's generic "An unhandled error occurred while
  syncing" ERROR line to DEBUG for a stream whose failure the tap reports itself, in
  one line that names the endpoint and the cause. This is the one seam the SDK lacks:
  ``Stream.sync`` is final and logs that line for every exception; matching its text
  is pinned by tests/test_cli.py.
"""

from __future__ import annotations

import logging
import threading

from tap_chartmogul.redaction import SECRETS

#: The SDK's generic line (singer_sdk/streams/core.py, ``Stream.sync``).
SDK_SYNC_ERROR = "An unhandled error occurred while syncing '%s'"
_VERDICT = "_tap_chartmogul_verdict"


class QuietMetrics(logging.Filter):
    """Drop the SDK's ``METRIC:`` lines unless the user asked for them."""

    def __init__(self) -> None:
        """Quiet by default."""
        super().__init__()
        self.enabled = False

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record except METRIC lines while metrics logging is off."""
        return self.enabled or not (
            isinstance(record.msg, str) and record.msg.startswith("METRIC: ")
        )


class ReportedFailures(logging.Filter):
    """Demote the SDK's generic sync-error line for streams the tap reports itself."""

    def __init__(self) -> None:
        """No stream has failed yet."""
        super().__init__()
        self._names: set[str] = set()
        self._everywhere = False
        self._lock = threading.Lock()

    def reported(self, stream: str) -> None:
        """The tap reports ``stream``'s failure in its own line."""
        with self._lock:
            self._names.add(stream)

    def reported_everywhere(self) -> None:
        """The tap reports a failure that ends every stream (the output closed)."""
        self._everywhere = True

    def reset(self, stream: str) -> None:
        """``stream`` starts (again): its earlier failure no longer applies."""
        with self._lock:
            self._names.discard(stream)

    def filter(self, record: logging.LogRecord) -> bool:
        """Demote the generic line to DEBUG (shown only when DEBUG is on)."""
        verdict = getattr(record, _VERDICT, None)
        if verdict is not None:  # another handler already decided
            return bool(verdict)
        if (
            record.levelno >= logging.ERROR
            and record.msg == SDK_SYNC_ERROR
            and record.args
            and isinstance(record.args, tuple)
            and (self._everywhere or record.args[0] in self._names)
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            verdict = logging.getLogger("tap-chartmogul").isEnabledFor(logging.DEBUG)
            setattr(record, _VERDICT, verdict)
            return verdict
        return True


QUIET_METRICS = QuietMetrics()
REPORTED_FAILURES = ReportedFailures()


def install(*, log_metrics: bool) -> None:
    """Attach the filters to every handler of every logger (idempotent).

    The SDK's console handler sits on the root logger; a ``SINGER_SDK_LOG_CONFIG`` may
    add handlers elsewhere, and those must not print the key either.
    """
    QUIET_METRICS.enabled = log_metrics
    loggers = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            for log_filter in (SECRETS, QUIET_METRICS, REPORTED_FAILURES):
                if log_filter not in handler.filters:
                    handler.addFilter(log_filter)
