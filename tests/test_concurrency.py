"""Parallel fan-out under one run-wide rate limit and connection cap."""

from __future__ import annotations

import logging

import pytest
from singer_sdk.exceptions import ConfigValidationError

from fake_chartmogul import FakeAccount, FakeChartMogul
from tap_chartmogul.http_session import WINDOW_SECONDS, Pacer
from tap_chartmogul.tap import TapChartMogul
from tests.helpers import API_KEY, fake_config, records, run_sync

FAN_OUT = ["customers", "customer_subscriptions"]


@pytest.fixture(scope="module")
def account():
    return FakeAccount(customers=240, seed=8)


def max_in_any_window(starts: list[float], seconds: float = 1.0) -> int:
    """Most arrivals (the fake's stamps) within any ``seconds``-long window."""
    starts = sorted(starts)
    best, low = 0, 0
    for high, moment in enumerate(starts):
        while starts[low] <= moment - seconds:
            low += 1
        best = max(best, high - low + 1)
    return best


#: How much later one request may reach the fake than another sent at the same moment
#: (thread scheduling, connection setup). A delay can bunch arrivals: requests the limiter
#: admitted over one second can arrive within 1 - ARRIVAL_SPREAD seconds, never less.
ARRIVAL_SPREAD = 0.25


@pytest.mark.slow
def test_defaults_stay_under_chartmogul_limits(account):
    """The fake enforces 40 requests/s and 20 connections, as ChartMogul does."""
    with FakeChartMogul(
        account, api_key=API_KEY, latency=0.05, rate_limit_rps=40, max_connections=20
    ) as server:
        config = {"api_key": API_KEY, "api_url": server.base_url}  # default limits
        messages = run_sync(config, streams=FAN_OUT)
        statuses = [r.status for r in server.requests]
        starts = [r.started for r in server.requests]
        peak = server.peak_in_flight
    assert statuses.count(429) == 0
    assert statuses.count(503) == 0
    # The limiter admits 38 per second on the tap's clock; arrival jitter can add one on
    # the server's. What matters is ChartMogul's 40, which the fake enforces.
    assert max_in_any_window(starts) <= 40
    assert 1 < peak <= 8
    total = sum(len(s) for s in account.customer_subscriptions.values())
    assert len(records(messages, "customer_subscriptions")) == total


@pytest.mark.slow
@pytest.mark.parametrize("rate", [10, 25])
def test_requests_per_second_bounds_every_one_second_window(rate):
    """At most ``rate`` requests in any second, checked on the fake's arrival stamps.

    A slow machine delays requests, which mostly spreads them out but can also bunch them
    (one delayed, the next not): the arrivals of one admitted second then fit in a window
    ``ARRIVAL_SPREAD`` shorter. Counting over that shorter window keeps the bound exact
    (at most ``rate``, no slack) while delays stay under ``ARRIVAL_SPREAD``; an unthrottled
    tap would send hundreds in it.
    """
    # One subscriptions request per customer: about three seconds' worth at ``rate``.
    account = FakeAccount(customers=3 * rate, seed=8)
    with FakeChartMogul(account, api_key=API_KEY) as server:
        run_sync(
            {"api_key": API_KEY, "api_url": server.base_url, "requests_per_second": rate},
            streams=["customer_subscriptions"],
        )
        starts = [r.started for r in server.requests]
    assert len(starts) > 2 * rate  # more than the limiter may let through in one window
    assert max_in_any_window(starts, 1.0 - ARRIVAL_SPREAD) <= rate


@pytest.mark.slow
@pytest.mark.parametrize("connections", [2, 8])
def test_connection_cap_holds_and_every_connection_is_used(account, connections):
    """Never more than ``max_connections`` requests in flight, and that many at once."""
    with FakeChartMogul(account, api_key=API_KEY, latency=0.05) as server:
        run_sync(
            fake_config(server, max_connections=connections), streams=["customer_subscriptions"]
        )
        peak = server.peak_in_flight
        fanned_out = server.count("/v1/customers/")
    assert peak == connections
    assert fanned_out == len(account.customers)  # one subscriptions request per customer


@pytest.mark.slow
def test_parallel_output_is_in_the_same_order_as_a_sequential_run(account):
    with FakeChartMogul(account, api_key=API_KEY, latency=0.01) as server:
        parallel = run_sync(fake_config(server, max_connections=8), streams=FAN_OUT)
        server.peak_in_flight = 0
        sequential = run_sync(fake_config(server, max_connections=1), streams=FAN_OUT)
        assert server.peak_in_flight == 1
    strip = lambda ms: [m for m in ms if m["type"] in {"RECORD", "SCHEMA"}]  # noqa: E731
    assert [m.get("record") for m in strip(parallel)] == [
        m.get("record") for m in strip(sequential)
    ]


def test_connection_cap_is_chartmogul_s_20():
    with pytest.raises(ConfigValidationError) as caught:
        TapChartMogul(config={"api_key": API_KEY, "max_connections": 21}, parse_env_config=False)
    assert any("'max_connections' must be at most 20" in e for e in caught.value.errors)


def test_more_than_40_requests_per_second_warns(account, caplog):
    with FakeChartMogul(account, api_key=API_KEY) as server, caplog.at_level(logging.WARNING):
        run_sync(fake_config(server, requests_per_second=100), streams=["account"])
    assert any("above ChartMogul's 40 requests/s" in m for m in caplog.messages)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_pacer_spaces_sends_and_never_lets_late_ones_burst():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock)
    sent = []
    for _ in range(10):
        pacer.wait_turn(sleep=clock.sleep)
        sent.append(clock.now)
    assert sent == pytest.approx([100.0 + i / 10 for i in range(10)])
    # Ten more threads book their times (101.0 to 101.9), then all wake up late, at 101.5.
    booked = [pacer.reserve() for _ in range(10)]
    assert booked == pytest.approx([0.1 + 0.1 * i for i in range(10)])
    clock.now = 101.5
    admitted = [pacer.admit() == 0 for _ in range(10)]
    # The last second already holds the sends of 100.5 to 100.9: only five more fit now.
    assert admitted == [True] * 5 + [False] * 5
    assert pacer.admit() == pytest.approx(100.5 + WINDOW_SECONDS - 101.5)
