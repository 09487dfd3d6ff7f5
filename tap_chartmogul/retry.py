"""How long to wait before retrying a failed ChartMogul request.

ChartMogul answers 429 above 40 requests/s (or when the per-minute compute budget is
spent) and 503 above 20 parallel connections; it also has passing 5xx (including
Cloudflare's 520/524). The official clients retry these with capped exponential
backoff, and so does the tap. No recorded 429 carries ``Retry-After``, but the docs
do not rule it out, so when present it wins (as seconds or as an HTTP date).
"""

from __future__ import annotations

import email.utils
import random
import time
import typing as t
from datetime import datetime, timezone

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator

    import requests

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
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.fromtimestamp(time.time() if now is None else now, tz=timezone.utc)
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
