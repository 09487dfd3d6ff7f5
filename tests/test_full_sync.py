"""A full sync of a 2,500-customer account emits exactly what the fake holds, per stream.

Its customers and invoices are long listings (13 and about 38 pages), read in parts.

Then a second run with the first run's state re-reads only the activities lookback
window, while full-table streams are read whole again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tests.helpers import (
    API_KEY,
    METRIC_STREAMS,
    expected_keys,
    fake_config,
    key_of,
    made_up_cursors,
    records,
    run_sync,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def account():
    return FakeAccount(customers=2500, seed=42)


@pytest.fixture(scope="module")
def runs(account):
    with FakeChartMogul(account, api_key=API_KEY) as server:
        config = fake_config(server)
        first = run_sync(config)
        first_requests = list(server.requests)
        state = [m for m in first if m["type"] == "STATE"][-1]["value"]
        server.reset_log()
        second = run_sync(config, state=state)
        yield first, first_requests, state, second, list(server.requests)


def test_every_stream_emits_exactly_the_records_the_fake_holds(runs, account):
    first, _, _, _, _ = runs
    for stream, expected in expected_keys(account).items():
        got = [key_of(stream, row) for row in records(first, stream)]
        assert len(got) == len(set(got)), f"duplicates in {stream}"
        assert set(got) == expected, stream
    days = 366  # default window: 365 days back to today, inclusive
    for stream in METRIC_STREAMS:
        got = [key_of(stream, row) for row in records(first, stream)]
        assert len(got) == len(set(got)), stream
        expected_rows = 13 if stream == "metrics_asp" else days  # ASP is monthly
        assert len(got) == expected_rows, stream


def test_request_count_is_what_the_design_promises(runs, account):
    _, requests, _, _, _ = runs
    by_path: dict[str, int] = {}
    for request in requests:
        path = request.path
        if path.startswith("/v1/customers/"):
            path = "/v1/customers/{uuid}/subscriptions"
        elif path.startswith("/v1/plan_groups/"):
            path = "/v1/plan_groups/{uuid}/plans"
        by_path[path] = by_path.get(path, 0) + 1
    pages = lambda n: max(1, -(-n // 200))  # noqa: E731
    # Long listings are read in parts at once (tap_chartmogul/split.py): one part per data
    # source costs the first page read whole (set aside) and each part's partly full last
    # page; a chain started at a creation time costs its first page and where it meets the
    # chain above. Nothing else is requested twice.
    parts = len(account.data_sources)
    for path, held in (("/v1/customers", account.customers), ("/v1/invoices", account.invoices)):
        chains = len(made_up_cursors(requests, path, account))
        assert pages(len(held)) <= by_path[path] <= pages(len(held)) + 1 + parts + 2 * chains
    assert by_path["/v1/customers/{uuid}/subscriptions"] == len(account.customers)
    assert by_path["/v1/plan_groups/{uuid}/plans"] == len(account.plan_groups)
    assert by_path["/v1/account"] == by_path["/v1/data_sources"] == 1
    assert all(r.status == 200 for r in requests)


def test_second_run_rereads_only_the_activities_lookback(runs, account):
    _, _, state, second, requests = runs
    bookmark = datetime.fromisoformat(state["bookmarks"]["activities"]["replication_key_value"])
    window_start = bookmark - timedelta(days=30)
    expected = {
        a["uuid"] for a in account.activities if datetime.fromisoformat(a["date"]) >= window_start
    }
    got = [r["uuid"] for r in records(second, "activities")]
    assert set(got) == expected
    assert len(got) == len(expected) < len(account.activities)
    starts = {r.query.get("start-date") for r in requests if r.path == "/v1/activities"}
    assert starts == {window_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    # Full-table streams are read whole again.
    assert len(records(second, "customers")) == len(account.customers)


def test_fan_outs_are_written_last(runs):
    """In name order, but customers (a slow listing) and the fan-outs last
    (TapChartMogul.streams): what is read ahead is written while those requests still go,
    not after the last of them."""
    first, _, _, _, _ = runs
    order = list(dict.fromkeys(m["stream"] for m in first if m["type"] == "SCHEMA"))
    assert order[-3:] == ["customers", "customer_subscriptions", "plan_group_plans"]
    assert order[:-3] == sorted(order[:-3])
    assert order[0] == "account"  # the connection test's one cheap request comes first
