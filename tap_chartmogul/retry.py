"""When and how long to retry a failed ChartMogul request, and how to say it gave up.

ChartMogul answers 429 above 40 requests/s (or when the per-minute compute budget is
spent) and 503 above 20 parallel connections; it also has passing 5xx (including
Cloudflare's 520/524). The official clients retry these with capped exponential
backoff, and so does the tap. The SDK does not read ``Retry-After`` (meltano/sdk#2012);
``wait_times`` follows the SDK's documented recipe ("Custom Backoff",
``backoff_wait_generator``). No recorded 429 carries ``Retry-After``, but the docs
do not rule it out, so when present it wins (as seconds or as an HTTP date).
"""

from __future__ import annotations

import email.utils
import functools
import math
import random
import time
import typing as t
from datetime import UTC, datetime

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_chartmogul.errors import ChartMogulGaveUpError, ConnectionSetupError, one_line
from tap_chartmogul.redaction import redact
from tap_chartmogul.responses import api_message
from tap_chartmogul.run.deadline import ResponseDeadlineError

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Generator

    from backoff.types import Details

Attempt = t.Callable[[requests.PreparedRequest, t.Any], requests.Response]

#: First wait; it doubles on each retry until ``MAX_WAIT_SECONDS``.
BASE_WAIT_SECONDS = 0.5
#: Cap of one exponential wait (the official Ruby/Node clients cap at 60 s).
MAX_WAIT_SECONDS = 60.0
#: Cap on an honoured Retry-After, so a bogus header cannot stall a run for hours.
MAX_RETRY_AFTER_SECONDS = 300.0


def retry_after_seconds(
    response: requests.Response | None,
    now: float | None = None,
) -> float | None:
    """Read ``Retry-After`` as seconds to wait, or None when absent or unreadable.

    Args:
        response: The failed response, if the failure had one.
        now: Current Unix time (for tests); defaults to the clock.

    Returns:
        Seconds to wait (>= 0), or None.
    """
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    except OverflowError:  # a year beyond what datetime holds: no usable hint
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return max(0.0, (when - current).total_seconds())


def wait_times(
    *,
    base: float | None = None,
    cap: float | None = None,
    retry_after_cap: float | None = None,
    rand: Callable[[], float] = random.random,
) -> Generator[float, BaseException | None, None]:
    """Yield the wait before each retry; ``backoff`` sends in the exception that failed.

    Exponential with "equal jitter" (half fixed, half random), so parallel clients
    spread out but a wait never collapses to zero. A ``Retry-After`` header on the
    failed response replaces the computed wait.

    Unset bounds take the module constants at call time (tests shorten them).

    Yields:
        Seconds to sleep before the next attempt.
    """
    base = BASE_WAIT_SECONDS if base is None else base
    cap = MAX_WAIT_SECONDS if cap is None else cap
    retry_after_cap = MAX_RETRY_AFTER_SECONDS if retry_after_cap is None else retry_after_cap
    exception = yield 0.0  # priming value; backoff discards it
    attempt = 0
    while True:
        ceiling = min(cap, base * (2**attempt))
        attempt += 1
        wait = ceiling / 2 + rand() * ceiling / 2
        hinted = retry_after_seconds(getattr(exception, "response", None))
        if hinted is not None:
            wait = min(hinted, retry_after_cap)
        exception = yield wait


#: Failures worth another attempt: throttling, server errors, broken or slow connections.
RETRIABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    RetriableAPIError,
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def cannot_heal(exception: Exception) -> bool:
    """Failures that look transient to ``requests`` but that no retry can fix (TLS)."""
    return isinstance(exception, requests.exceptions.SSLError)


def describe_failure(exception: BaseException) -> str:
    """Say what went wrong in a failed attempt, without URLs (they carry query strings)."""
    response = getattr(exception, "response", None)
    if isinstance(exception, RetriableAPIError) and response is not None:
        return f"HTTP {response.status_code} ({api_message(response)})"
    if isinstance(exception, ResponseDeadlineError):
        return one_line(str(exception))
    if isinstance(exception, requests.exceptions.Timeout):
        return "no response within request_timeout"
    if isinstance(exception, RetriableAPIError):
        return one_line(redact(exception))
    root: BaseException = exception
    for _ in range(10):  # the innermost cause names the real problem (refused, reset...)
        if root.__context__ is None:
            break
        root = root.__context__
    return (
        f"connection failed ({type(exception).__name__}: {type(root).__name__}); "
        "check api_url and the network"
    )


def log_retry(logger: logging.Logger, endpoint: str, details: Details, max_tries: int) -> None:
    """One line per retry: endpoint, cause, wait, attempt number."""
    logger.warning(
        "Retrying %s in %.1fs after %s (attempt %d of %d)",
        endpoint,
        details.get("wait", 0.0),
        describe_failure(t.cast("BaseException", details.get("exception"))),
        details.get("tries", 0) + 1,
        max_tries,
    )


def setup_failure(exception: requests.exceptions.RequestException, endpoint: str) -> str:
    """One line for a request that cannot work as configured (TLS, a malformed URL)."""
    if isinstance(exception, requests.exceptions.SSLError):
        return (
            f"TLS failed for {endpoint} ({_innermost(exception)}): check that api_url is an "
            "https:// URL of a TLS server and, behind a TLS-inspecting proxy, set "
            "REQUESTS_CA_BUNDLE or SSL_CERT_FILE to its CA certificate"
        )
    return (
        f"Cannot send the request for {endpoint} ({type(exception).__name__}): "
        "check api_url and the proxy settings"
    )


def _innermost(exception: BaseException) -> str:
    root: BaseException = exception
    for _ in range(10):
        nested = root.__context__ or root.__cause__
        if nested is None:
            break
        root = nested
    reason = one_line(redact(root), 120)
    return f"{type(root).__name__}: {reason}" if reason else type(root).__name__


def resilient(
    attempt: Attempt,
    *,
    max_tries: int,
    wait_gen: Callable[[], Generator[float, t.Any, None]],
    on_backoff: Callable[[Details], None],
    fallback_endpoint: str,
) -> Attempt:
    """Wrap ``attempt`` with retries; when they run out or cannot help, fail in one line.

    Retries what ``RETRIABLE_EXCEPTIONS`` lists (TLS errors excepted), waiting as
    ``wait_gen`` says; the final failure becomes a ``ChartMogulGaveUpError`` naming the
    endpoint and the last cause, and a request that cannot work as configured (TLS, a
    malformed URL) a ``ConnectionSetupError``, both without a traceback.
    """
    retrying = backoff.on_exception(
        wait_gen,
        RETRIABLE_EXCEPTIONS,
        max_tries=max_tries,
        giveup=cannot_heal,
        jitter=None,
        on_backoff=on_backoff,
        logger=None,
    )(attempt)

    @functools.wraps(attempt)
    def request(prepared: requests.PreparedRequest, context: t.Any) -> requests.Response:
        endpoint = (prepared.path_url or fallback_endpoint or "").split("?", 1)[0]
        try:
            return retrying(prepared, context)
        except requests.exceptions.SSLError as error:
            raise ConnectionSetupError(setup_failure(error, endpoint)) from None
        except RETRIABLE_EXCEPTIONS as error:
            msg = (
                f"Gave up on {endpoint} after {max_tries} attempts; last failure: "
                f"{describe_failure(error)}"
            )
            raise ChartMogulGaveUpError(msg) from error
        except requests.exceptions.RequestException as error:
            raise ConnectionSetupError(setup_failure(error, endpoint)) from None

    return request


__all__ = [
    "RETRIABLE_EXCEPTIONS",
    "describe_failure",
    "resilient",
    "retry_after_seconds",
    "wait_times",
]
