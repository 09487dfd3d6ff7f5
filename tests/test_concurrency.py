"""Parallel fan-out under one run-wide rate limit and connection cap."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from singer_sdk.exceptions import ConfigValidationError

from fake_chartmogul import FakeAccount, FakeChartMogul
from tap_chartmogul.run.pacing import Pacer
from tap_chartmogul.run.session import Transport
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


def send_in_order(pacer: Pacer, entries: list, clock: FakeClock) -> list[float]:
    """Serve ``entries`` one after another, moving the clock to each one's time."""
    sent = []
    for entry in entries:
        while (wait := pacer.try_send(entry)) != 0.0:
            assert wait is not None, "served out of order"
            clock.now += wait
        sent.append(clock.now)
    return sent


def test_pacer_spaces_sends_and_never_lets_late_ones_burst():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock)
    first = [pacer.register((0, 0)) for _ in range(10)]
    assert send_in_order(pacer, first, clock) == pytest.approx([100.0 + i / 10 for i in range(10)])
    # Ten more wait; their threads all wake up late, at 101.5: the first goes, the rest keep
    # the spacing from there (no burst to make up for the lost slots).
    late = [pacer.register((0, 0)) for _ in range(10)]
    clock.now = 101.5
    assert pacer.try_send(late[0]) == 0.0
    assert pacer.try_send(late[1]) == pytest.approx(0.1)
    assert pacer.try_send(late[2]) is None  # not its turn yet


def test_pacer_window_holds_even_when_the_grid_would_allow_more():
    clock = FakeClock()
    pacer = Pacer(5, clock=clock)
    entries = [pacer.register((0, 0)) for _ in range(12)]
    sent = send_in_order(pacer, entries, clock)
    for start in sent:
        assert sum(start <= s < start + 1.0 for s in sent) <= 5


def test_pacer_serves_listing_pages_before_fan_out_requests():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock)
    bulk = [pacer.register((0, 1)) for _ in range(3)]
    page = pacer.register((0, 0))
    for entry in bulk:
        assert pacer.try_send(entry) is None  # the page is first
    assert pacer.try_send(page) == 0.0
    assert send_in_order(pacer, bulk, clock) == pytest.approx([100.1, 100.2, 100.3])


def test_pacer_admits_no_more_sends_than_free_connections():
    clock = FakeClock()
    pacer = Pacer(10, connections=2, clock=clock)
    entries = [pacer.register((0, 0)) for _ in range(3)]
    assert send_in_order(pacer, entries[:2], clock) == pytest.approx([100.0, 100.1])
    clock.now += 5.0  # both still in flight, however long it takes: no send time is due
    assert pacer.try_send(entries[2]) is None
    pacer.release()
    assert pacer.try_send(entries[2]) == 0.0


def test_a_server_holding_every_connection_cannot_bunch_admitted_requests():
    """Requests admitted while a slow server holds every connection do not leave together.

    Two slow answers hold both connections for 1.5 s while 18 more requests want to go
    at 10 per second. Admitted without a connection, they waited in the pool and reached
    the server together the moment it let go: 18 arrivals within 0.75 s.
    """
    account = FakeAccount(customers=3, seed=8)
    transport = Transport(
        requests_per_second=10, max_connections=2, deadline_seconds=30, max_bytes=2**20
    )
    with FakeChartMogul(account, api_key=API_KEY, fault_slow_seconds=1.5) as server:
        server.script(r"^/v1/plans$", ["slow", "slow"])
        session = transport.session()
        session.auth = (API_KEY, "")
        threads = [
            threading.Thread(target=session.get, args=(f"{server.base_url}/v1/plans",))
            for _ in range(20)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.01)  # in order: the two slow answers go to the first two
        for thread in threads:
            thread.join(timeout=30)
        starts = [r.started for r in server.requests]
    transport.close()
    assert len(starts) == 20
    assert max_in_any_window(starts, 1.0 - ARRIVAL_SPREAD) <= 10
