"""Nothing lost under faults: every stream's keys match the fake, under each fault kind.

Each scenario runs a full sync of every stream against a 1,000-customer fake that
misbehaves as ChartMogul (or the network) can. The tap must exit normally and emit
exactly the primary keys the fake holds, once each. Retry waits are shortened
(``retry`` module constants) so the suite stays fast; the waits themselves are
covered in test_http.py and test_retry.py.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault
from tap_chartmogul import retry
from tests.helpers import (
    API_KEY,
    METRIC_STREAMS,
    expected_keys,
    fake_config,
    key_of,
    records,
    run_sync,
)

pytestmark = pytest.mark.slow

FIVE_XX = ("500", "502", "503", "504") * 3 + ("520", "524")


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(retry, "BASE_WAIT_SECONDS", 0.01)
    monkeypatch.setattr(retry, "MAX_WAIT_SECONDS", 0.2)
    monkeypatch.setattr(retry, "MAX_RETRY_AFTER_SECONDS", 0.05)


@pytest.fixture(scope="module")
def account():
    return FakeAccount(customers=1000, seed=99)


def assert_exactly_the_fakes_records(messages, account):
    for stream, expected in expected_keys(account).items():
        got = [key_of(stream, row) for row in records(messages, stream)]
        assert len(got) == len(set(got)), f"duplicates in {stream}"
        assert set(got) == expected, stream
    for stream in METRIC_STREAMS:
        got = [key_of(stream, row) for row in records(messages, stream)]
        assert len(got) == len(set(got)) == (13 if stream == "metrics_asp" else 366), stream


def sync(server, **extra):
    config = fake_config(server, max_retries=10, **extra)
    return run_sync(config, audit_secrets=True)


@pytest.mark.parametrize(
    ("knobs", "fault_statuses"),
    [
        pytest.param(
            {"fault_rate": 0.10, "fault_kinds": FIVE_XX},
            {500, 502, 503, 504, 520, 524},
            id="5xx-10pct",
        ),
        pytest.param({"fault_rate": 0.05, "fault_kinds": ("reset",)}, set(), id="reset-mid-body"),
        pytest.param(
            {"fault_rate": 0.05, "fault_kinds": ("truncated",)}, set(), id="truncated-json"
        ),
        pytest.param(
            {
                "fault_rate": 0.12,
                "fault_kinds": (*FIVE_XX, "429", "reset", "truncated", "empty-500"),
            },
            {429, 500, 502, 503, 504, 520, 524},
            id="everything-at-once",
        ),
    ],
)
@pytest.mark.usefixtures("quick_retries")
def test_random_faults_lose_nothing(account, knobs, fault_statuses):
    with FakeChartMogul(account, api_key=API_KEY, fault_seed=7, **knobs) as server:
        messages = sync(server)
        faults = [r for r in server.requests if r.fault]
    assert_exactly_the_fakes_records(messages, account)
    assert len(faults) > 50, "the scenario should really have injected faults"
    assert {r.status for r in faults if r.status} <= fault_statuses | {200}


@pytest.mark.usefixtures("quick_retries")
def test_429_bursts_lose_nothing(account):
    """Runs of 429s, with and without Retry-After, as when a rate window is exhausted.

    Each 429 also pauses every worker until the client-side window clears (about a
    second), so the scenario uses bursts rather than a high random rate.
    """
    limited = Fault(
        status=429,
        body='{"code":429,"message":"Your request rate has exceeded our rate limit.","param":null}',
    )
    hinted = Fault(status=429, headers={"Retry-After": "1"})
    with FakeChartMogul(
        account,
        api_key=API_KEY,
        fault_rate=0.005,
        fault_kinds=("429", "429-retry-after"),
        fault_seed=3,
    ) as server:
        server.script(
            r"^/v1/customers/[^/]+/subscriptions$", [limited] * 8 + [200] * 300 + [hinted] * 6
        )
        server.script(r"^/v1/invoices$", [limited, hinted, limited])
        server.script(r"^/v1/activities$", [hinted] * 4)
        messages = sync(server)
        statuses = [r.status for r in server.requests]
    assert statuses.count(429) >= 21
    assert_exactly_the_fakes_records(messages, account)


SLOW_PATHS = ("/v1/customers", "/v1/invoices", "/v1/activities", "/v1/metrics/all")


@pytest.mark.usefixtures("quick_retries")
def test_responses_slower_than_the_timeout_are_retried(account):
    with FakeChartMogul(account, api_key=API_KEY, fault_slow_seconds=3.0) as server:
        for path in SLOW_PATHS:
            server.script(rf"^{path}$", [Fault(kind="slow")])
        messages = sync(server, request_timeout=1)
        # The abandoned slow answers are logged when they finish; the bound is a safety net.
        assert server.wait_idle(timeout=60)
        requests = server.requests
    slow = [r for r in requests if r.fault and "slow" in r.fault]
    assert sorted(r.path for r in slow) == sorted(SLOW_PATHS)
    for record in slow:
        # The tap gave up waiting and asked again: the same request, answered normally.
        again = [r for r in requests if (r.path, r.query) == (record.path, record.query)]
        assert [r.status for r in again if not r.fault] == [200], record.path
    assert_exactly_the_fakes_records(messages, account)


def test_rate_limit_and_connection_cap_shared_with_another_client(monkeypatch):
    """Another tool uses the same key: the tap meets real 429s and 503s and carries on."""
    monkeypatch.setattr(retry, "BASE_WAIT_SECONDS", 0.1)  # long enough for the window to clear
    account = FakeAccount(customers=300, seed=5)
    with FakeChartMogul(account, api_key=API_KEY, rate_limit_rps=200, max_connections=1) as server:
        stop = threading.Event()
        # The other tool sends no key: its requests are told apart by that.
        other_url = f"{server.base_url}/v1/account"

        def other_client() -> None:
            """Bursts that use up the rate window, once the tap has begun, every 1.5 s.

            Each burst runs until the other tool itself is told 429 (the window is full
            for up to a second: the tap meets 429s), holding the one connection meanwhile
            (the tap meets 503s); deterministic whatever the machine's speed.
            """
            while not stop.is_set() and not any(r.authorization for r in server.requests):
                time.sleep(0.01)
            while not stop.is_set():
                for _ in range(2000):
                    try:
                        urllib.request.urlopen(other_url, timeout=5).read()  # noqa: S310 - loopback http
                    except urllib.error.HTTPError as error:
                        if error.code == 429:
                            break
                    except OSError:
                        pass
                stop.wait(1.5)

        other = threading.Thread(target=other_client, daemon=True)
        other.start()
        try:
            messages = sync(server)
        finally:
            stop.set()
            other.join(timeout=5)
        tap_faults = {r.status for r in server.requests if r.fault and r.authorization}
    assert {429, 503} <= tap_faults
    assert_exactly_the_fakes_records(messages, account)
