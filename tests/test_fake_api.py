"""Tests of the fake ChartMogul API itself (not the tap): quirks, knobs, faults, determinism.

The tap's tests trust the fake to behave like the reference (docs/chartmogul-api.md);
these tests pin that behaviour down over plain ``http.client`` so a fake regression shows up
here rather than as a puzzling tap failure.
"""

from __future__ import annotations

import base64
import gc
import http.client
import json
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from fake_chartmogul import FAULT_KINDS, FakeAccount, FakeChartMogul, Fault
from fake_chartmogul.generate import generate

KEY = "fake-test-key"
ROOT = Path(__file__).resolve().parents[1]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


AUTH = basic(KEY, "")


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def get(
    server: FakeChartMogul,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    auth: str | None = AUTH,
    method: str = "GET",
) -> Reply:
    """One request on a fresh connection (closed afterwards: warnings are errors here)."""
    url = path + ("?" + urlencode(params) if params else "")
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        headers = {"Authorization": auth} if auth else {}
        conn.request(method, url, headers=headers)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def walk(server: FakeChartMogul, path: str, root: str, per_page: int, **params: Any) -> list[Any]:
    """Follow cursors until has_more is false; returns every response body."""
    bodies = []
    cursor = None
    while True:
        query = {"per_page": per_page, **params} | ({"cursor": cursor} if cursor else {})
        reply = get(server, path, query)
        assert reply.status == 200, reply.body
        body = reply.json
        bodies.append(body)
        assert isinstance(body[root], list)
        if not body["has_more"]:
            return bodies
        cursor = body["cursor"]
        assert cursor


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    """Shared read-only dataset (mutating tests build their own)."""
    return FakeAccount(customers=450, seed=11)


@pytest.fixture(scope="module")
def server(account: FakeAccount):
    with FakeChartMogul(account, api_key=KEY) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _calm(request: pytest.FixtureRequest):
    """Reset the shared server's knobs around every test that uses it."""
    if "server" not in request.fixturenames:
        yield
        return
    fake: FakeChartMogul = request.getfixturevalue("server")
    clock, sleep = fake.clock, fake.sleep

    def reset() -> None:
        fake.clock, fake.sleep = clock, sleep
        fake.latency = 0.0
        fake.rate_limit_rps = None
        fake.max_connections = None
        fake.fault_rate = 0.0
        fake.fault_kinds = ("500", "502", "503", "504")
        fake.retry_after = None
        fake.fault_slow_seconds = 0.3
        fake.clear_script()
        fake.reset_log()

    reset()
    yield
    reset()


# -- auth -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "auth",
    [basic(KEY, ""), basic(KEY, KEY), basic("account-token", KEY)],
    ids=["empty", "both", "old"],
)
def test_auth_accepted_forms(server: FakeChartMogul, account: FakeAccount, auth: str):
    reply = get(server, "/v1/account", auth=auth)
    assert reply.status == 200
    assert reply.json == account.account


@pytest.mark.parametrize(
    "auth",
    [None, basic("wrong", ""), basic(KEY, "wrong"), basic("", ""), "Bearer " + KEY, "Basic !!!"],
)
def test_auth_rejected_with_exact_body(server: FakeChartMogul, auth: str | None):
    reply = get(server, "/v1/customers", auth=auth)
    assert reply.status == 401
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.body == b'{"code":401,"message":"No valid API key provided","param":null}'
    assert server.requests[-1].authorization == auth


# -- customers paging -------------------------------------------------------------------------
def test_customers_walk_legacy_keys_and_final_cursor(server: FakeChartMogul, account: FakeAccount):
    bodies = walk(server, "/v1/customers", "entries", 200)
    assert len(bodies) == 3
    assert list(bodies[0]) == [
        "entries",
        "current_page",
        "total_pages",
        "has_more",
        "per_page",
        "page",
        "cursor",
    ]
    assert bodies[0]["total_pages"] == 3
    assert bodies[0]["per_page"] == 200
    for later in bodies[1:]:
        assert set(later) == {"entries", "has_more", "cursor"}
    uuids = [c["uuid"] for body in bodies for c in body["entries"]]
    assert uuids == [c["uuid"] for c in account.customers]
    assert len(set(uuids)) == 450
    last = bodies[-1]
    assert last["has_more"] is False
    assert last["cursor"]  # the quirk: a non-null cursor on the final page
    after = get(server, "/v1/customers", {"cursor": last["cursor"]}).json
    assert after == {"entries": [], "has_more": False, "cursor": None}


def test_customers_sorted_by_since_then_id_leads_last(account: FakeAccount):
    paying = [c for c in account.customers if c["customer-since"] is not None]
    leads = [c for c in account.customers if c["customer-since"] is None]
    assert account.customers == paying + leads
    assert leads
    assert all(c["status"].endswith("Lead") for c in leads)
    assert [c["id"] for c in leads] == sorted(c["id"] for c in leads)
    since = [(c["customer-since"], c["id"]) for c in paying]
    assert since == sorted(since)


def test_per_page_is_capped_at_200(server: FakeChartMogul):
    body = get(server, "/v1/customers", {"per_page": 1000}).json
    assert len(body["entries"]) == 200
    assert body["per_page"] == 200
    assert len(get(server, "/v1/customers").json["entries"]) == 200  # default


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_invalid_per_page_is_400(server: FakeChartMogul, value: str):
    reply = get(server, "/v1/customers", {"per_page": value})
    assert reply.status == 400
    assert reply.json == {"code": 400, "message": "Invalid per_page parameter", "param": "per_page"}


@pytest.mark.parametrize(
    "path", ["/v1/customers", "/v1/invoices", "/v1/activities", "/v1/contacts", "/v1/tasks"]
)
@pytest.mark.parametrize("cursor", ["not-base64!!", base64.b64encode(b"junk").decode()])
def test_invalid_cursor_is_400(server: FakeChartMogul, path: str, cursor: str):
    reply = get(server, path, {"cursor": cursor})
    assert reply.status == 400
    assert reply.body == b'{"code":400,"message":"Invalid cursor","param":"cursor"}'


@dataclass(frozen=True)
class ListCase:
    """A paginated endpoint: where it lives, its root key and its first-page legacy keys."""

    path: str
    root: str
    attr: str
    ident: str = "uuid"
    legacy: frozenset[str] = frozenset()
    final_cursor: bool = False

    @property
    def first_keys(self) -> set[str]:
        return {self.root, "cursor", "has_more"} | self.legacy


PAGES = frozenset({"current_page", "total_pages"})
LIST_CASES = [
    ListCase("/v1/contacts", "entries", "contacts", final_cursor=True),
    ListCase("/v1/customer_notes", "entries", "customer_notes", final_cursor=True),
    ListCase("/v1/tasks", "entries", "tasks", ident="task_uuid", final_cursor=True),
    ListCase("/v1/opportunities", "entries", "opportunities", final_cursor=True),
    ListCase("/v1/plans", "plans", "plans", legacy=PAGES),
    ListCase("/v1/plan_groups", "plan_groups", "plan_groups", legacy=PAGES),
    ListCase("/v1/invoices", "invoices", "invoices", legacy=PAGES),
    ListCase(
        "/v1/subscription_events",
        "subscription_events",
        "subscription_events",
        ident="id",
        legacy=frozenset({"meta"}),
    ),
    ListCase("/v1/activities", "entries", "activities", legacy=frozenset({"per_page"})),
]


@pytest.mark.parametrize("case", LIST_CASES, ids=[c.attr for c in LIST_CASES])
def test_list_endpoints_walk_in_account_order(
    server: FakeChartMogul, account: FakeAccount, case: ListCase
):
    expected = getattr(account, case.attr)
    per_page = max(1, len(expected) // 3)
    bodies = walk(server, case.path, case.root, per_page)
    assert set(bodies[0]) == case.first_keys
    for later in bodies[1:]:
        assert set(later) == {case.root, "cursor", "has_more"}
    served = [r[case.ident] for body in bodies for r in body[case.root]]
    assert served == [r[case.ident] for r in expected]
    assert bool(bodies[-1]["cursor"]) is case.final_cursor
    if case.final_cursor:
        after = get(server, case.path, {"cursor": bodies[-1]["cursor"]}).json
        assert after[case.root] == []
        assert after["has_more"] is False
        assert after["cursor"] is None


def test_subscription_events_meta_and_type_trap(server: FakeChartMogul, account: FakeAccount):
    body = get(server, "/v1/subscription_events", {"per_page": 5}).json
    meta = body["meta"]
    assert set(meta) == {"next_key", "prev_key", "before_key", "page", "total_pages"}
    assert meta["page"] == 1
    assert meta["total_pages"] == -(-len(account.subscription_events) // 5)
    events = account.subscription_events
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    trapped = [e for e in events if e["quantity"] == ""]
    assert trapped
    for event in trapped:
        assert event["currency"] == event["amount_in_cents"] == event["plan_external_id"] == ""
        assert event["subscription_set_external_id"] == ""
    assert any(e["quantity"] is None for e in events)


# -- customer children ------------------------------------------------------------------------
def test_customer_subscriptions_paging_quirks(server: FakeChartMogul, account: FakeAccount):
    uuid, subs = next((u, s) for u, s in account.customer_subscriptions.items() if len(s) >= 2)
    path = f"/v1/customers/{uuid}/subscriptions"
    first = get(server, path, {"per_page": 1}).json
    assert list(first) == ["entries", "has_more", "per_page", "page", "cursor"]
    assert base64.b64decode(first["cursor"]) == b"subscriptions_next_page=2"
    bodies = walk(server, path, "entries", 1)
    assert [s["id"] for b in bodies for s in b["entries"]] == [s["id"] for s in subs]
    last = bodies[-1]
    assert last["has_more"] is False
    assert last["cursor"]
    after = get(server, path, {"per_page": 1, "cursor": last["cursor"]}).json
    assert after["entries"] == []
    assert after["has_more"] is False
    assert after["cursor"]
    assert after["cursor"] != last["cursor"]
    assert all("sub_" not in s["uuid"] for s in subs)


def test_leads_have_no_subscriptions_and_paying_have_1_to_3(account: FakeAccount):
    for customer in account.customers:
        subs = account.customer_subscriptions[customer["uuid"]]
        if customer["customer-since"] is None:
            assert subs == []
            assert customer["mrr"] == 0
        else:
            assert 1 <= len(subs) <= 3
            assert customer["mrr"] == sum(s["mrr"] for s in subs if s["status"] == "active")


def test_unknown_customer_subscriptions_are_404(server: FakeChartMogul):
    reply = get(server, "/v1/customers/cus_nope/subscriptions")
    assert reply.status == 404
    assert reply.json == {
        "code": 404,
        "message": "Customer not found",
        "param": "customer_uuid",
    }


# -- /activities ------------------------------------------------------------------------------
def test_activities_date_filters_and_order(server: FakeChartMogul, account: FakeAccount):
    start, end = "2023-01-01", "2023-06-30"
    body = get(server, "/v1/activities", {"start-date": start, "end-date": end}).json
    expected = [a for a in account.activities if start <= a["date"][:10] <= end]
    assert [a["uuid"] for a in body["entries"]] == [a["uuid"] for a in expected][:200]
    desc = walk(
        server,
        "/v1/activities",
        "entries",
        7,
        order="-date",
        **{"start-date": start, "end-date": end},
    )
    assert [a["uuid"] for b in desc for a in b["entries"]] == [
        a["uuid"] for a in reversed(expected)
    ]
    stamp = get(server, "/v1/activities", {"start-date": "2023-01-01T12:00:00Z"}).json["entries"][0]
    assert stamp["date"] >= "2023-01-01T12:00:00"


def test_activities_cursor_is_a_bare_uuid(server: FakeChartMogul):
    body = get(server, "/v1/activities", {"per_page": 3}).json
    assert body["cursor"] == body["entries"][-1]["uuid"]
    assert len(body["cursor"]) == 36
    reply = get(server, "/v1/activities", {"cursor": "00000000-0000-4000-8000-000000000000"})
    assert reply.status == 400


# -- other endpoints --------------------------------------------------------------------------
def test_account_include_and_data_sources(server: FakeChartMogul, account: FakeAccount):
    plain = get(server, "/v1/account").json
    assert set(plain) == {"id", "name", "currency", "time_zone", "week_start_on"}
    included = get(server, "/v1/account", {"include": "churn_recognition,refund_handling"}).json
    assert included["churn_recognition"] == "churn_at_time_of_cancelation"
    assert "churn_when_zero_mrr" not in included
    sources = get(server, "/v1/data_sources").json
    assert list(sources) == ["data_sources"]
    assert sources["data_sources"] == account.data_sources
    assert 2 <= len(account.data_sources) <= 3


def test_plan_group_plans(server: FakeChartMogul, account: FakeAccount):
    group = account.plan_groups[0]
    body = get(server, f"/v1/plan_groups/{group['uuid']}/plans").json
    assert set(body) == {"plans", "current_page", "total_pages", "cursor", "has_more"}
    assert len(body["plans"]) == group["plans_count"]
    assert {p["uuid"] for p in body["plans"]} == {
        p["uuid"] for p in account.plan_group_plans[group["uuid"]]
    }


def test_unknown_paths_and_methods(server: FakeChartMogul):
    for path in ("/v1/nope", "/v2/account", "/", "/v1/customers/cus_x/unknown"):
        reply = get(server, path)
        assert reply.status == 404
        assert reply.json == {"error": "Not found"}
    assert get(server, "/v1/customers", method="POST").status == 405
    assert get(server, "/v1/customers", method="DELETE").status == 405


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/invoices", "customer_uuid"),
        ("/v1/customers", "status"),
        ("/v1/activities", "type"),
        ("/v1/data_sources", "system"),
        ("/v1/metrics/mrr", "per_page"),
    ],
)
def test_parameters_the_fake_does_not_implement_are_refused(
    server: FakeChartMogul, path: str, param: str
):
    dates = {"start-date": "2023-01-01", "end-date": "2023-01-31"} if "metrics" in path else {}
    assert get(server, path, dates).status == 200
    reply = get(server, path, {**dates, param: "x"})
    assert reply.status == 400
    assert reply.json["param"] == param
    assert "does not implement" in reply.json["message"]


def test_keep_alive_connection_is_reused(server: FakeChartMogul):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        for _ in range(5):
            conn.request("GET", "/v1/account", headers={"Authorization": AUTH})
            response = conn.getresponse()
            assert response.status == 200
            response.read()
        assert conn.sock is not None
    finally:
        conn.close()


# -- knobs ------------------------------------------------------------------------------------
def test_rate_limit_gives_429s(server: FakeChartMogul):
    now = [1000.0]
    server.clock = lambda: now[0]  # every request arrives in the same instant
    server.rate_limit_rps = 5
    statuses = [get(server, "/v1/account").status for _ in range(12)]
    assert statuses == [200] * 5 + [429] * 7
    rejected = [r for r in server.requests if r.status == 429]
    assert all(r.fault == "rate-limit" for r in rejected)
    reply = get(server, "/v1/account")
    assert reply.status == 429
    assert reply.json == {
        "code": 429,
        "message": "Your request rate has exceeded our rate limit.",
        "param": None,
    }
    assert "Retry-After" not in reply.headers
    server.retry_after = "2"
    assert get(server, "/v1/account").headers["Retry-After"] == "2"
    now[0] += 1.0  # one second later the window has slid past them all
    assert get(server, "/v1/account").status == 200


def test_max_connections_gives_503s(server: FakeChartMogul):
    """Two requests hold both slots (their latency waits on a gate); a third gets the 503."""
    server.max_connections = 2
    server.latency = 1.0
    holding, release = threading.Semaphore(0), threading.Event()

    def hold(_seconds: float) -> None:
        holding.release()
        release.wait()

    server.sleep = hold
    with ThreadPoolExecutor(max_workers=2) as pool:
        holders = [pool.submit(get, server, "/v1/account") for _ in range(2)]
        try:
            # A generous bound only so a broken fake fails instead of hanging.
            assert all(holding.acquire(timeout=30) for _ in range(2))
            busy = get(server, "/v1/account")
        finally:
            release.set()
        assert [h.result().status for h in holders] == [200, 200]
    assert server.peak_in_flight == 2
    assert busy.status == 503
    assert busy.headers["Content-Type"] == "text/plain"
    assert busy.body == b"503 Service Unavailable: too many parallel connections"


def test_latency(server: FakeChartMogul):
    waits: list[float] = []
    server.sleep = waits.append
    server.latency = 0.15
    assert get(server, "/v1/account").status == 200
    server.script(r"^/v1/account$", [503])
    assert get(server, "/v1/account").status == 503
    assert waits == [0.15, 0.15]  # scripted answers wait too


PLAIN = {
    "500": b"500 Internal Server Error",
    "502": b"502 Bad Gateway",
    "503": b"503 Service Unavailable",
    "504": b"504 Gateway Timeout Error",
    "520": b"520 Web Server Returned an Unknown Error",
    "524": b"524 A Timeout Occurred",
}


def check_fault(server: FakeChartMogul, kind: str) -> None:
    """Assert that the next /v1/customers request shows fault ``kind``."""
    if kind == "reset":
        with pytest.raises(
            (http.client.IncompleteRead, ConnectionError, http.client.HTTPException)
        ):
            get(server, "/v1/customers", {"per_page": 5})
        return
    waits: list[float] = []
    server.sleep = waits.append
    reply = get(server, "/v1/customers", {"per_page": 5})
    if kind in PLAIN:
        assert reply.status == int(kind)
        assert reply.headers["Content-Type"] == "text/plain"
        assert reply.body == PLAIN[kind]
    elif kind.startswith("429"):
        assert reply.status == 429
        assert reply.json["message"] == "Your request rate has exceeded our rate limit."
        assert reply.headers.get("Retry-After") == ("1" if kind == "429-retry-after" else None)
    elif kind == "slow":
        assert reply.status == 200
        assert len(reply.json["entries"]) == 5
        assert waits == [server.fault_slow_seconds]
    elif kind == "truncated":
        assert reply.status == 200
        assert int(reply.headers["Content-Length"]) == len(reply.body)
        with pytest.raises(json.JSONDecodeError):
            json.loads(reply.body)
    elif kind == "html":
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "text/html"
        assert reply.body == b"<html><body>Login</body></html>"
    else:
        assert kind == "empty-500"
        assert reply.status == 500
        assert reply.body == b""


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_scripted_fault_kinds(server: FakeChartMogul, kind: str):
    server.script(r"^/v1/customers", [Fault(kind=kind)])
    check_fault(server, kind)
    assert server.pending_script() == 0
    assert get(server, "/v1/customers", {"per_page": 5}).status == 200  # queue drained
    assert server.requests[0].fault == f"script:{kind}"


@pytest.mark.parametrize("kind", ["503", "reset", "truncated", "429-retry-after"])
def test_random_faults_at_rate_one(server: FakeChartMogul, kind: str):
    server.fault_rate = 1.0
    server.fault_kinds = [kind]
    check_fault(server, kind)
    assert server.requests[-1].fault == kind


def test_random_faults_are_seeded(server: FakeChartMogul):
    server.fault_rate = 0.5
    server.fault_kinds = ["500", "502"]
    runs = []
    for _ in range(2):
        server.reseed_faults(123)
        runs.append([get(server, "/v1/account").status for _ in range(20)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500, 502}
    with pytest.raises(ValueError, match="unknown fault kinds"):
        server.fault_kinds = ["418"]


def test_script_is_fifo_per_pattern(server: FakeChartMogul, account: FakeAccount):
    server.script(
        r"/v1/account",
        [
            500,
            Fault(status=429, headers={"Retry-After": "3"}),
            200,
            Fault(status=418, body={"x": 1}),
        ],
    )
    first = get(server, "/v1/account")
    assert (first.status, first.body) == (500, b"500 Internal Server Error")
    assert get(server, "/v1/data_sources").status == 200  # other paths untouched
    second = get(server, "/v1/account")
    assert second.status == 429
    assert second.headers["Retry-After"] == "3"
    assert get(server, "/v1/account").status == 200  # 200 = answer normally
    fourth = get(server, "/v1/account")
    assert (fourth.status, fourth.json) == (418, {"x": 1})
    assert get(server, "/v1/account").json == account.account
    assert server.count("/v1/account") == 5
    assert server.count("/v1/account", status=200) == 2
    assert server.count(status=200) == 3


def test_script_regex_matches_path_or_path_with_query(server: FakeChartMogul):
    server.script(r"^/v1/plans$", [503])
    server.script(r"cursor=", [502])
    assert get(server, "/v1/plans", {"per_page": 2}).status == 503
    assert get(server, "/v1/plans", {"per_page": 2}).status == 200
    assert get(server, "/v1/contacts", {"cursor": "x"}).status == 502
    assert get(server, "/v1/contacts", {"cursor": "x"}).status == 400  # queue empty again
    assert server.pending_script() == 0


def test_request_log(server: FakeChartMogul):
    get(server, "/v1/customers", {"per_page": 2})
    get(server, "/v1/account", auth=None)
    records = server.requests
    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", "/v1/customers", 200),
        ("GET", "/v1/account", 401),
    ]
    assert records[0].query == {"per_page": "2"}
    assert records[0].authorization == AUTH
    assert records[1].authorization is None
    assert records[0].started <= records[0].ended <= records[1].started
    server.reset_log()
    assert server.requests == []


# -- metrics ----------------------------------------------------------------------------------
def metric(server: FakeChartMogul, name: str, **params: str) -> Reply:
    query = {k.replace("_", "-"): v for k, v in params.items()}
    return get(server, f"/v1/metrics/{name}", query)


@pytest.mark.parametrize(
    ("interval", "dates"),
    [
        ("month", ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-10"]),
        ("week", ["2023-01-22", "2023-01-29", "2023-02-02"]),
        ("quarter", ["2023-03-31", "2023-06-30", "2023-08-01"]),
        ("year", ["2023-12-31", "2024-12-31", "2025-02-01"]),
    ],
)
def test_metric_intervals_end_on_period_ends(
    server: FakeChartMogul, interval: str, dates: list[str]
):
    start = {
        "month": "2023-01-15",
        "week": "2023-01-17",
        "quarter": "2023-02-01",
        "year": "2023-06-01",
    }
    body = metric(
        server, "mrr", start_date=start[interval], end_date=dates[-1], interval=interval
    ).json
    assert [e["date"] for e in body["entries"]] == dates
    assert set(body["summary"]) == {"current", "previous", "percentage-change"}


def test_metric_defaults_and_shapes(server: FakeChartMogul):
    days = metric(server, "mrr", start_date="2023-01-01", end_date="2023-01-31").json["entries"]
    assert len(days) == 31
    assert days[0]["percentage-change"] == 0.0
    assert all(e["mrr-contraction"] <= 0 and e["mrr-churn"] <= 0 for e in days)
    for name in ("asp", "customer-churn-rate", "mrr-churn-rate", "ltv"):
        entries = metric(server, name, start_date="2015-01-01", end_date="2015-02-01").json[
            "entries"
        ]
        assert [e["date"] for e in entries] == ["2015-01-31", "2015-02-01"], name
    count = metric(server, "customer-count", start_date="2023-01-01", end_date="2023-01-01").json
    assert set(count["entries"][0]) == {"date", "customers", "percentage-change"}
    everything = metric(server, "all", start_date="2023-01-01", end_date="2023-01-02").json
    entry = everything["entries"][1]
    for name in (
        "mrr",
        "arr",
        "arpa",
        "asp",
        "customers",
        "customer-churn-rate",
        "mrr-churn-rate",
        "ltv",
    ):
        assert name in entry
        assert f"{name}-percentage-change" in entry
        assert f"current-{name}" in everything["summary"]
    assert isinstance(entry["customer-churn-rate"], float)


def test_metric_values_depend_only_on_the_date(server: FakeChartMogul):
    long = metric(server, "all", start_date="2022-01-01", end_date="2025-12-31").json["entries"]
    assert len(long) == 1461
    by_date = {e["date"]: e for e in long}
    short = metric(server, "all", start_date="2024-02-27", end_date="2024-03-02").json["entries"]
    for entry in short:
        assert entry["mrr"] == by_date[entry["date"]]["mrr"]
        assert entry["ltv"] == by_date[entry["date"]]["ltv"]
    assert any(isinstance(e["ltv"], float) for e in long)
    assert any(isinstance(e["ltv"], int) for e in long)
    assert any(e["mrr-churn-rate"] < 0 for e in long)
    geo = metric(server, "mrr", start_date="2024-03-01", end_date="2024-03-01", geo="US,DE").json
    assert geo["entries"][0]["mrr"] < by_date["2024-03-01"]["mrr"]


@pytest.mark.parametrize(
    ("name", "params", "param"),
    [
        ("asp", {"interval": "day"}, "interval"),
        ("asp", {"interval": "week"}, "interval"),
        ("mrr", {"interval": "fortnight"}, "interval"),
        ("mrr", {"start-date": None}, "start-date"),
        ("mrr", {"end-date": None}, "end-date"),
        ("mrr", {"start-date": "yesterday"}, "start-date"),
    ],
)
def test_metric_errors_are_400(server: FakeChartMogul, name: str, params: dict, param: str):
    query = {"start-date": "2023-01-01", "end-date": "2023-02-01"} | params
    reply = get(server, f"/v1/metrics/{name}", {k: v for k, v in query.items() if v})
    assert reply.status == 400
    assert reply.json["code"] == 400
    assert reply.json["param"] == param
    if param == "interval":
        assert reply.json["message"] == "Interval not supported for this metric"


def test_account_metrics_methods(account: FakeAccount):
    entries = account.metrics_entries("asp", date(2023, 1, 1), date(2023, 3, 31), "quarter")
    assert [e["date"] for e in entries] == ["2023-03-31"]
    assert set(account.summary("all")) >= {"current-mrr", "previous-mrr", "mrr-percentage-change"}


# -- dataset ----------------------------------------------------------------------------------
def snapshot(account: FakeAccount) -> dict[str, Any]:
    names = (
        "account", "data_sources", "plans", "plan_groups", "plan_group_plans", "customers",
        "customer_subscriptions", "activities", "invoices", "subscription_events", "contacts",
        "customer_notes", "tasks", "opportunities",
    )  # fmt: skip
    return {name: getattr(account, name) for name in names}


def test_dataset_is_deterministic():
    first, second = FakeAccount(customers=300, seed=5), FakeAccount(customers=300, seed=5)
    assert snapshot(first) == snapshot(second)
    assert json.dumps(snapshot(first)) == json.dumps(snapshot(second))
    assert snapshot(FakeAccount(customers=300, seed=6))["customers"] != snapshot(first)["customers"]
    start, end = date(2022, 1, 1), date(2022, 3, 1)
    assert first.metrics_entries("mrr", start, end) == second.metrics_entries("mrr", start, end)


def test_dataset_shapes_and_quirks(account: FakeAccount):
    counts = account.counts()
    assert counts["customers"] == 450
    assert counts["plans"] == 5
    assert len(account.plan_groups) == 3
    for group in account.plan_groups:
        assert group["plans_count"] == len(account.plan_group_plans[group["uuid"]])
    customers = account.customers
    assert any(len(c["data_source_uuids"]) != len(set(c["data_source_uuids"])) for c in customers)
    assert any(c["city"] == "" for c in customers)
    assert any(c["company"] == "" for c in customers)
    assert all(c["uuid"].startswith("cus_") for c in customers)
    assert all(isinstance(c["arr"], int) and c["arr"] == c["mrr"] * 12 for c in customers)
    assert {c["status"] for c in customers} >= {"Active", "Cancelled", "New Lead"}
    subs = [s for group in account.customer_subscriptions.values() for s in group]
    assert {s["status"] for s in subs} == {"active", "inactive"}
    items = [li for inv in account.invoices for li in inv["line_items"]]
    assert {li["type"] for li in items} == {"subscription", "one_time"}
    assert any(li["discount_code"] == "" for li in items)
    assert any(li["account_code"] == "" for li in items)
    transactions = [t for inv in account.invoices for t in inv["transactions"]]
    assert any(t["amount_in_cents"] is None for t in transactions)
    assert {a["type"] for a in account.activities} >= {"new_biz", "churn", "expansion"}
    dates = [a["date"] for a in account.activities]
    assert dates == sorted(dates)
    assert {n["type"] for n in account.customer_notes} == {"note", "call"}
    assert all(len(o["estimated_close_date"]) == 10 for o in account.opportunities)


def test_big_account_builds_without_garbage_collection_pauses():
    """What keeps big builds quick: the cyclic GC (~40 % of the time) stays off meanwhile."""
    collections: list[int] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(on_gc)
    try:
        big = generate(5000, seed=1)
    finally:
        gc.callbacks.remove(on_gc)
    # Unpaused, this build runs ~240 collections (2 of them full). Paused, at most the one
    # collection that was due fires as the pause ends (which generation depends on what
    # earlier tests left in the GC's counters).
    assert len(collections) <= 1, collections
    assert len(big.customers) == 5000
    assert gc.isenabled()


# -- mutation ---------------------------------------------------------------------------------
def test_remove_customer_and_add_activity():
    account = FakeAccount(customers=60, seed=3)
    with FakeChartMogul(account, api_key=KEY) as fake:
        first = get(fake, "/v1/customers", {"per_page": 10}).json
        victim = next(c for c in account.customers[20:] if c["customer-since"])
        removed = account.remove_customer(victim["uuid"])
        assert removed is victim
        rest = walk(fake, "/v1/customers", "entries", 10)
        listed = [c["uuid"] for c in first["entries"]]
        listed += [c["uuid"] for b in rest for c in b["entries"]]
        assert victim["uuid"] not in listed
        assert len(set(listed)) == 59
        reply = get(fake, f"/v1/customers/{victim['uuid']}/subscriptions")
        assert reply.status == 404
        assert reply.json == {
            "code": 404,
            "message": "Customer not found",
            "param": "customer_uuid",
        }
        assert all(a["customer-uuid"] != victim["uuid"] for a in account.activities)
        assert account.counts()["customers"] == 59

        added = account.add_activity(date=date(2022, 1, 1), type="expansion", activity_mrr=100)
        assert added["date"] == "2022-01-01T00:00:00+00:00"
        assert added["activity-arr"] == 1200
        entries = get(fake, "/v1/activities", {"per_page": 1}).json["entries"]
        assert entries[0]["uuid"] == added["uuid"]
        late = account.add_activity(date="2022-01-01T00:00:00+00:00")
        assert account.activities.index(late) > account.activities.index(added) or (
            late["uuid"] < added["uuid"]
        )


def test_account_can_be_swapped(server: FakeChartMogul, account: FakeAccount):
    other = FakeAccount(customers=3, seed=99)
    server.account = other
    try:
        assert len(get(server, "/v1/customers").json["entries"]) == 3
    finally:
        server.account = account
    assert len(get(server, "/v1/customers").json["entries"]) == 200


# -- lifecycle and CLI ------------------------------------------------------------------------
def account_on(conn: http.client.HTTPConnection) -> bytes:
    conn.request("GET", "/v1/account", headers={"Authorization": AUTH})
    return conn.getresponse().read()


def test_stop_closes_keep_alive_connections():
    fake = FakeChartMogul(FakeAccount(customers=2, seed=1), api_key=KEY)
    fake.start()
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=5)
    try:
        assert json.loads(account_on(conn)) == fake.account.account
        fake.stop()
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            account_on(conn)
    finally:
        conn.close()
        fake.stop()


def test_cli_serves_until_sigterm(tmp_path: Path):
    ready = tmp_path / "ready"
    command = [
        sys.executable, "-m", "fake_chartmogul", "--port", "0", "--customers", "20",
        "--api-key", KEY, "--ready-file", str(ready),
    ]  # fmt: skip
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            # The listening line comes once the port is bound and the ready file written;
            # the bound on the wait is only there so a hung fake fails instead of hanging.
            readable, _, _ = select.select([proc.stdout], [], [], 60)
            listening = proc.stdout.readline() if readable else ""
            assert listening, proc.stderr.read() if proc.poll() is not None else "no output"
            base_url = ready.read_text().strip()
            assert base_url.startswith("http://127.0.0.1:")
            conn = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=5)
            try:
                conn.request("GET", "/v1/customers", headers={"Authorization": AUTH})
                response = conn.getresponse()
                assert response.status == 200
                assert len(json.loads(response.read())["entries"]) == 20
            finally:
                conn.close()
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0
    assert listening == f"fake ChartMogul listening on {base_url} (api key: {KEY})\n"
    assert out == ""  # that line was the whole of stdout


def test_week_entries_fall_on_sundays(account: FakeAccount):
    entries = account.metrics_entries("arr", date(2024, 1, 1), date(2024, 3, 1), "week")
    ends = [date.fromisoformat(e["date"]) for e in entries[:-1]]
    assert all(d.weekday() == 6 for d in ends)
    assert ends[1] - ends[0] == timedelta(days=7)


@pytest.mark.skipif(sys.platform != "linux", reason="kernel receive times are Linux's")
def test_requests_count_from_when_they_arrived_not_from_when_the_fake_got_to_them():
    """A busy fake (the GIL held by a page of thick invoices) sees requests late, not later.

    The rate limit's window and the log count a request from the kernel's receive time, so
    requests a client spaced out are not bunched by the fake's own delays.
    """
    with FakeChartMogul(FakeAccount(customers=5, seed=1), api_key=KEY) as fake:
        gate = threading.Event()
        dispatch = fake._harness

        def busy(handler: Any, split: Any) -> bool:  # the fake gets to the request late
            gate.wait(10)
            return dispatch(handler, split)

        fake._harness = busy  # type: ignore[method-assign]
        with ThreadPoolExecutor(max_workers=1) as pool:
            sent = time.monotonic()
            answer = pool.submit(get, fake, "/v1/account")
            time.sleep(0.6)
            gate.set()
            assert answer.result().status == 200
        fake.wait_idle(10)
        late = fake.requests[-1]
    assert late.ended - sent >= 0.5  # answered once the fake got to it...
    assert late.started - sent < 0.3  # ...but counted from its arrival


def test_rate_window_counts_arrivals_seen_out_of_order(server: FakeChartMogul):
    """An early arrival seen late (its thread waited for the GIL) leaves the window on time.

    Kept in the order seen, the window held the 10.0 arrival behind the 10.5 one and still
    counted it at 11.2, answering a third request 429 with two in the trailing second.
    """
    server.rate_limit_rps = 2
    server._window.clear()  # the fixture's earlier requests
    assert not server._rate_limited(10.5)
    assert not server._rate_limited(10.0)
    assert not server._rate_limited(11.2)  # 10.5 and 11.2 arrived in (10.2, 11.2]
    assert server._rate_limited(11.3)  # three in (10.3, 11.3]
