"""Wait times: exponential with jitter, capped, and Retry-After wins."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import requests

from tap_chartmogul.retry import retry_after_seconds, wait_times


def response_with(headers):
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return response


class FailureError(Exception):
    def __init__(self, response=None):
        super().__init__("failed")
        self.response = response


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds(response_with({"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(response_with({"Retry-After": "1.5"})) == 1.5
    now = 1_700_000_000.0
    when = datetime.fromtimestamp(now + 30, tz=UTC)
    header = format_datetime(when, usegmt=True)
    assert retry_after_seconds(response_with({"Retry-After": header}), now=now) == 30.0


def test_retry_after_absent_past_or_garbage():
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(response_with({})) is None
    assert retry_after_seconds(response_with({"Retry-After": "soon"})) is None
    assert retry_after_seconds(response_with({"Retry-After": "-5"})) == 0.0


def test_waits_grow_exponentially_with_equal_jitter_and_cap():
    lows = wait_times(base=1.0, cap=8.0, rand=lambda: 0.0)
    highs = wait_times(base=1.0, cap=8.0, rand=lambda: 1.0)
    next(lows)
    next(highs)
    low = [lows.send(FailureError()) for _ in range(6)]
    high = [highs.send(FailureError()) for _ in range(6)]
    assert low == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert high == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_retry_after_replaces_the_computed_wait_and_is_capped():
    waits = wait_times(base=1.0, cap=8.0, retry_after_cap=100.0, rand=lambda: 0.0)
    next(waits)
    assert waits.send(FailureError(response_with({"Retry-After": "3"}))) == 3.0
    assert waits.send(FailureError(response_with({"Retry-After": "100000"}))) == 100.0
    assert waits.send(FailureError(None)) == 2.0  # third failure, no hint: back to the curve
