"""Errors the tap reports to its user as one clear line.

Every exception defined here carries a message written for the person running the tap:
it names the endpoint, stream, setting or file at fault and what to do, and it never
contains the API key, an Authorization header, a query string or an e-mail address.
The CLI prints such errors as one ERROR line per message line (the traceback only at
DEBUG level) and exits non-zero; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import re

from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_MAX_DETAIL = 200


class TapChartMogulError(Exception):
    """An error that the tap explains in one line, without a traceback."""


class SettingsError(TapChartMogulError, ConfigValidationError):
    """One or more settings are invalid; each problem is one line naming the setting.

    Also a ``ConfigValidationError``, so code that builds the tap in-process sees the
    SDK's exception type, with ``errors`` holding the problems.
    """

    def __init__(self, problems: list[str]) -> None:
        """Keep the problems; the message is one line per problem."""
        ConfigValidationError.__init__(self, "\n".join(problems), errors=problems)


class InputFileError(TapChartMogulError):
    """A --config, --state or --catalog file cannot be used."""


class ChartMogulAPIError(TapChartMogulError, FatalAPIError):
    """ChartMogul answered in a way the tap cannot use (4xx, or a body that is not JSON)."""

    def __init__(
        self, message: str, *, status: int | None = None, param: str | None = None
    ) -> None:
        """Keep the HTTP status and the parameter ChartMogul blamed, for callers that adapt."""
        super().__init__(message)
        self.status = status
        self.param = param


class ChartMogulAuthError(ChartMogulAPIError):
    """ChartMogul refused the credentials (HTTP 401 or 403); retrying cannot help."""


class NotFoundError(ChartMogulAPIError):
    """HTTP 404: the object asked for does not exist (any more)."""


class ConnectionSetupError(TapChartMogulError):
    """The connection cannot work as configured (TLS, certificates, redirects)."""


class ChartMogulGaveUpError(TapChartMogulError):
    """A transient failure (429, 5xx, timeout, broken connection) outlasted the retries."""


class PagingError(TapChartMogulError):
    """A listing's pages cannot be followed to the end without looping or losing records."""


class RecordError(TapChartMogulError):
    """A record cannot be emitted as its schema says (a missing key, a wrong type)."""


class ResponseTooLargeError(ChartMogulAPIError):
    """A response body grew past ``max_response_mb`` (decompressed) while being read."""


class LocalResourceError(TapChartMogulError):
    """A local resource failed the run: a full disk, an unwritable temporary directory."""


class OutputClosedError(TapChartMogulError):
    """Whatever reads the tap's output (the target, ``head``) stopped reading."""


class RunCancelledError(Exception):
    """The run is ending (failure elsewhere or a signal); background work stops quietly."""


def one_line(text: str, limit: int = _MAX_DETAIL) -> str:
    """Squash ``text`` to one short line with e-mail addresses redacted.

    API error bodies are echoed to help the user, but they may quote customer data
    (the customer search 404 quotes the e-mail searched for), so addresses go. Secrets
    are removed separately, by ``redaction``, from every line the tap writes.
    """
    squashed = " ".join(text.split())
    squashed = _EMAIL.sub("<email>", squashed)
    if len(squashed) > limit:
        squashed = squashed[: limit - 3] + "..."
    return squashed
