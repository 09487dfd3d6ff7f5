"""Simulated days of the fake account (fake_chartmogul/days/) and their effect on the API.

"changed"-mode refresh tests trust these days to change exactly what DayChanges reports, with
exactly the documented activities and events (and none for renewals), and trust the served
endpoints to show the changes at once.
"""

from __future__ import annotations

import copy
import http.client
import json
import select
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from fake_chartmogul.cursors import created_at_ns, newest_first_codec
from fake_chartmogul.days import ADVANCE_DAY_PATH, KINDS, DayRates, Timeline
from fake_chartmogul.formats import iso_offset, iso_z, to_ns
from fake_chartmogul.generate import plan_cycle
from fake_chartmogul.journal import SORT_KEYS, activity_key
from fake_chartmogul.paging import SortedCollection
from fake_chartmogul.server import KNOBS_PATH
from tests.test_fake_api import AUTH, KEY, get, walk

ROOT = Path(__file__).resolve().parents[1]
AT = 1_790_000_000  # 2026-09-21T14:13:20Z: a fixed instant, so records are byte-identical
DAY = 86_400


def snapshot(account: FakeAccount) -> str:
    """Everything a day may change, as text (equal text = equal accounts)."""
    return json.dumps(
        [
            account.customers,
            account.customer_subscriptions,
            account.activities,
            account.subscription_events,
        ]
    )


def subs_of(account: FakeAccount, uuid: str) -> list[dict[str, Any]]:
    return account.customer_subscriptions[uuid]


def active_mrr(account: FakeAccount, uuid: str) -> int:
    return sum(s["mrr"] for s in subs_of(account, uuid) if s["status"] == "active")


def by_customer(records: tuple[dict[str, Any], ...], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        out.setdefault(record[key], []).append(record)
    return out


def customer_of_event(account: FakeAccount, event: dict[str, Any]) -> str:
    """The uuid of the customer an event names by external id and data source."""
    matches = [
        c["uuid"]
        for c in account.customers
        if c["external_id"] == event["customer_external_id"]
        and c["data_source_uuid"] == event["data_source_uuid"]
    ]
    assert len(matches) == 1, matches
    return matches[0]


# -- determinism ------------------------------------------------------------------------------
def test_same_seed_same_days():
    one, two = FakeAccount(customers=300, seed=11), FakeAccount(customers=300, seed=11)
    rates = DayRates.total(0.05)
    for k in range(3):
        a = one.advance_day(AT + k * DAY, rates=rates)
        b = two.advance_day(AT + k * DAY, rates=rates)
        assert a == b
        assert a.customers()  # something happened, or the comparison proves nothing
    assert snapshot(one) == snapshot(two)


def test_the_clock_changes_dates_not_choices():
    one, two = FakeAccount(customers=300, seed=11), FakeAccount(customers=300, seed=11)
    rates = DayRates.total(0.05)
    a = one.advance_day(AT, rates=rates)
    b = two.advance_day(AT + 12_345, rates=rates)
    assert a.by_kind() == b.by_kind()
    assert {r["date"] for r in b.activities} == {iso_offset(AT + 12_345)}


def test_another_seed_other_changes():
    one, two = FakeAccount(customers=300, seed=11), FakeAccount(customers=300, seed=12)
    rates = DayRates.total(0.05)
    a, b = one.advance_day(AT, rates=rates), two.advance_day(AT, rates=rates)
    assert a.customers()
    assert b.customers()
    assert a.by_kind() != b.by_kind()


def test_default_rates_change_one_percent_each_customer_once():
    account = FakeAccount(customers=3000, seed=5)
    changes = account.advance_day(AT)
    counts = {kind: len(uuids) for kind, uuids in changes.by_kind().items()}
    assert sum(counts.values()) == pytest.approx(30, abs=3)
    assert all(counts[kind] for kind in ("new", "plan_change", "churn", "renewal")), counts
    every = [uuid for uuids in changes.by_kind().values() for uuid in uuids]
    assert len(every) == len(set(every)) == len(changes.customers())


def test_rates_are_checked_and_composable():
    assert DayRates.total(0.02).sum() == pytest.approx(0.02)
    only = DayRates.only("churn", 0.1)
    assert only.churn == 0.1
    assert only.sum() == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown kind"):
        DayRates.only("refund", 0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        DayRates(new=1.5)


# -- each kind --------------------------------------------------------------------------------
def test_new_customers_arrive_with_their_records():
    account = FakeAccount(customers=400, seed=3)
    shape = {
        "customer": list(account.customers[0]),
        "sub": list(next(iter(account.customer_subscriptions.values()))[0]),
        "activity": list(account.activities[0]),
        "event": list(account.subscription_events[0]),
    }
    before_ids = {c["id"] for c in account.customers}
    max_event = max(e["id"] for e in account.subscription_events)
    activities, events = len(account.activities), len(account.subscription_events)

    changes = account.advance_day(AT, rates=DayRates.only("new", 0.05))

    assert len(changes.new) == 20
    assert changes.customers() == set(changes.new)
    made_activities = by_customer(changes.activities, "customer-uuid")
    total_subs = 0
    for uuid in changes.new:
        customer = next(c for c in account.customers if c["uuid"] == uuid)
        subs = subs_of(account, uuid)
        total_subs += len(subs)
        assert list(customer) == shape["customer"]
        assert customer["id"] not in before_ids
        assert customer["customer-since"] == iso_offset(AT)
        assert customer["status"] == "Active"
        assert customer["mrr"] == active_mrr(account, uuid) > 0
        assert customer["arr"] == customer["mrr"] * 12
        assert 1 <= len(subs) <= 2
        for sub in subs:
            assert list(sub) == shape["sub"]
            assert (sub["status"], sub["start-date"]) == ("active", iso_offset(AT))
        mine = made_activities[uuid]
        assert [a["type"] for a in mine] == ["new_biz"] * len(subs)
        assert {a["subscription-external-id"] for a in mine} == {s["external_id"] for s in subs}
        assert all(list(a) == shape["activity"] and a["date"] == iso_offset(AT) for a in mine)
    assert len(changes.activities) == total_subs
    assert len(account.activities) == activities + total_subs
    assert len(account.subscription_events) == events + total_subs
    for event in changes.subscription_events:
        assert list(event) == shape["event"]
        assert event["event_type"] == "subscription_start"
        assert event["id"] > max_event
        assert event["created_at"] == event["updated_at"] == event["event_date"] == iso_z(AT)
        assert customer_of_event(account, event) in changes.new


def test_plan_changes_move_mrr_with_one_activity_and_one_event():
    account = FakeAccount(customers=400, seed=3)
    before = copy.deepcopy(account.customer_subscriptions)
    old_mrr = {c["uuid"]: c["mrr"] for c in account.customers}

    changes = account.advance_day(AT, rates=DayRates.only("plan_change", 0.05))

    assert len(changes.plan_change) == 20
    assert len(changes.activities) == len(changes.subscription_events) == 20
    activities = by_customer(changes.activities, "customer-uuid")
    for uuid in changes.plan_change:
        (activity,) = activities[uuid]
        (changed,) = [
            (old, new)
            for old, new in zip(before[uuid], subs_of(account, uuid), strict=True)
            if old != new
        ]
        old, new = changed
        movement = new["mrr"] - old["mrr"]
        assert movement != 0
        assert (new["plan"], new["quantity"]) != (old["plan"], old["quantity"])
        assert activity["type"] == ("expansion" if movement > 0 else "contraction")
        assert activity["activity-mrr-movement"] == movement
        assert activity["activity-mrr"] == new["mrr"]
        assert activity["subscription-external-id"] == new["external_id"]
        customer = next(c for c in account.customers if c["uuid"] == uuid)
        assert customer["mrr"] == old_mrr[uuid] + movement == active_mrr(account, uuid)
    for event in changes.subscription_events:
        assert event["event_type"] == "subscription_updated"
        assert event["created_at"] == event["updated_at"] == iso_z(AT)
        assert customer_of_event(account, event) in changes.plan_change


def test_swaps_leave_only_an_event():
    account = FakeAccount(customers=3000, seed=3)  # 15 plans: some share a monthly price
    before = copy.deepcopy(account.customer_subscriptions)
    rows = copy.deepcopy(account.customers)
    prices = {p["name"]: account.plan_prices[p["uuid"]] for p in account.plans}

    changes = account.advance_day(AT, rates=DayRates.only("swap", 0.01))

    assert changes.swap
    assert changes.activities == ()
    assert len(changes.subscription_events) == len(changes.swap)
    assert account.customers == rows  # nothing in the listing shows it
    for uuid in changes.swap:
        ((old, new),) = [
            (o, n) for o, n in zip(before[uuid], subs_of(account, uuid), strict=True) if o != n
        ]
        assert old["plan"] != new["plan"]
        assert prices[old["plan"]] == prices[new["plan"]]
        assert new["mrr"] == old["mrr"]
    assert {customer_of_event(account, e) for e in changes.subscription_events} == set(changes.swap)


def test_churns_end_a_subscription_with_one_activity_and_one_event():
    account = FakeAccount(customers=400, seed=3)
    before = copy.deepcopy(account.customer_subscriptions)

    changes = account.advance_day(AT, rates=DayRates.only("churn", 0.05))

    assert len(changes.churn) == 20
    activities = by_customer(changes.activities, "customer-uuid")
    cancelled = 0
    for uuid in changes.churn:
        ((old, new),) = [
            (o, n) for o, n in zip(before[uuid], subs_of(account, uuid), strict=True) if o != n
        ]
        assert old["status"] == "active"
        assert (new["status"], new["mrr"], new["arr"]) == ("inactive", 0, 0)
        assert new["end-date"] == iso_offset(AT)
        (activity,) = activities[uuid]
        assert activity["activity-mrr-movement"] == -old["mrr"]
        customer = next(c for c in account.customers if c["uuid"] == uuid)
        assert customer["mrr"] == active_mrr(account, uuid)
        none_left = all(s["status"] != "active" for s in subs_of(account, uuid))
        assert (customer["status"] == "Cancelled") == none_left
        # ChartMogul types movements per customer: one of several cancelled is a contraction.
        assert activity["type"] == ("churn" if none_left else "contraction")
        cancelled += none_left
    assert cancelled  # the status path was exercised
    assert cancelled < len(changes.churn)  # and so was the contraction path
    assert [e["event_type"] for e in changes.subscription_events] == ["subscription_cancelled"] * 20


def test_renewals_move_end_dates_and_leave_no_trace():
    account = FakeAccount(customers=400, seed=3)
    before = copy.deepcopy(account.customer_subscriptions)
    rows = copy.deepcopy(account.customers)
    activities, events = list(account.activities), list(account.subscription_events)
    cycles = {p["name"]: plan_cycle(p)[1] for p in account.plans}

    changes = account.advance_day(AT, rates=DayRates.only("renewal", 0.05))

    assert len(changes.renewal) == 20
    assert changes.activities == changes.subscription_events == ()
    assert account.activities == activities
    assert account.subscription_events == events
    assert account.customers == rows
    for uuid in changes.renewal:
        ((old, new),) = [
            (o, n) for o, n in zip(before[uuid], subs_of(account, uuid), strict=True) if o != n
        ]
        assert {k for k in old if old[k] != new[k]} == {"end-date"}
        moved = (to_ns(new["end-date"]) - to_ns(old["end-date"])) // 10**9
        assert moved > 0
        assert moved % cycles[new["plan"]] == 0
        assert to_ns(new["end-date"]) // 10**9 > AT  # the period that contains the day
    unchanged = set(before) - set(changes.renewal)
    assert all(before[u] == account.customer_subscriptions[u] for u in unchanged)


def test_invariants_and_api_order_hold_over_days():
    account = FakeAccount(customers=500, seed=9)
    for k in range(4):
        account.advance_day(AT + k * DAY, rates=DayRates.total(0.08))
    for customer in account.customers:
        assert customer["mrr"] == active_mrr(account, customer["uuid"])
        assert customer["arr"] == customer["mrr"] * 12
    for attr, key in SORT_KEYS.items():
        keys = [key(r) for r in getattr(account, attr)]
        assert keys == sorted(keys), attr
    ids = [e["id"] for e in account.subscription_events]
    assert len(ids) == len(set(ids))
    # the metrics follow the account: today's MRR and customers are the customers' own
    today = account.metrics.point(account.today)
    assert account.today == datetime.fromtimestamp(AT + 3 * DAY, tz=UTC).date()
    assert today["mrr"] == sum(c["mrr"] for c in account.customers)
    assert today["customers"] == sum(1 for c in account.customers if c["mrr"] > 0)


# -- time -------------------------------------------------------------------------------------
def test_days_are_stamped_by_the_clock_unless_told():
    account = FakeAccount(customers=200, seed=4)
    timeline = Timeline(account, rates=DayRates.total(0.1), clock=lambda: AT + 0.75)
    assert timeline.today.isoformat() == "2026-01-01"  # the build's AS_OF
    first = timeline.advance()
    assert first.at == AT
    assert {a["date"] for a in first.activities} == {iso_offset(AT)}
    later = datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
    assert timeline.advance(later).at == int(later.timestamp())
    assert timeline.today.isoformat() == "2026-10-01"
    assert timeline.advance(later.replace(tzinfo=None)).at == int(later.timestamp())  # naive=UTC
    assert timeline.day == 3


def test_advance_days_spaces_days_a_day_apart_ending_now():
    account = FakeAccount(customers=200, seed=4)
    timeline = Timeline(account, clock=lambda: AT)
    days = timeline.advance_days(3)
    assert [d.at for d in days] == [AT - 2 * DAY, AT - DAY, AT]
    assert [d.day for d in days] == [1, 2, 3]
    assert timeline.advance_days(0) == []


# -- indexes and HTTP -------------------------------------------------------------------------
def test_index_absorbs_journaled_records_without_resorting():
    account = FakeAccount(customers=120, seed=2)
    calls = []
    base_key = newest_first_codec(created_at_ns, "id", int_id=True).key

    def key(record: dict[str, Any]) -> Any:
        calls.append(record["id"])
        return base_key(record)

    collection = SortedCollection(
        lambda: account.subscription_events,
        lambda: account.version,
        key,
        lambda old, new: account.added_since("subscription_events", old, new),
    )
    collection.index("customer_external_id")
    assert len(calls) == len(account.subscription_events)
    calls.clear()

    changes = account.advance_day(AT, rates=DayRates.total(0.2))
    view = collection.view()

    assert sorted(calls) == sorted(e["id"] for e in changes.subscription_events)
    assert view.records == account.subscription_events  # same order as a full sort
    assert view.keys == [base_key(e) for e in account.subscription_events]
    grouped = collection.index("customer_external_id")
    for event in changes.subscription_events:
        assert event in grouped[event["customer_external_id"]].records

    calls.clear()
    account.subscription_events.append(dict(account.subscription_events[-1], id=1))
    collection.view()  # an append nobody journaled: a full re-sort, still correct
    assert len(calls) == len(account.subscription_events)


def test_served_endpoints_show_the_day():
    account = FakeAccount(customers=150, seed=6)
    with FakeChartMogul(account, api_key=KEY) as fake:
        fake.api.warm()
        changes = account.advance_day(AT, rates=DayRates.total(0.1))
        assert changes.new
        assert changes.activities

        reply = get(fake, "/v1/activities", {"start-date": iso_offset(AT), "per_page": 200})
        served = reply.json["entries"]
        ordered = sorted(changes.activities, key=activity_key)
        assert [a["uuid"] for a in served] == [a["uuid"] for a in ordered]

        count = len(changes.subscription_events)
        events = get(fake, "/v1/subscription_events", {"per_page": count}).json
        made = {e["id"] for e in changes.subscription_events}
        assert {e["id"] for e in events["subscription_events"]} == made

        first = get(fake, "/v1/customers", {"per_page": 50}).json
        pages = [first, *walk(fake, "/v1/customers", "entries", 50, cursor=first["cursor"])]
        listed = [c["uuid"] for page in pages for c in page["entries"]]
        assert listed == [c["uuid"] for c in account.customers]
        assert set(changes.new) <= set(listed)

        for uuid in (*changes.new, *changes.renewal, *changes.churn):
            reply = get(fake, f"/v1/customers/{uuid}/subscriptions")
            assert reply.status == 200
            assert reply.json["entries"] == account.customer_subscriptions[uuid]


def post(fake: FakeChartMogul, path: str, params: dict[str, Any] | None = None) -> Any:
    url = path + ("?" + urlencode(params) if params else "")
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=10)
    try:
        conn.request("POST", url)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_harness_endpoint_advances_days_unlogged_and_unlimited():
    account = FakeAccount(customers=150, seed=6)
    account.timeline.rates = DayRates.total(0.1)
    with FakeChartMogul(account, api_key=KEY, rate_limit_rps=1) as fake:
        at = "2026-09-21T14:13:20Z"
        status, body = post(fake, ADVANCE_DAY_PATH, {"days": 2, "at": at})
        assert status == 200, body
        assert body["day"] == 2
        assert body["today"] == "2026-09-21"
        assert [d["at"] for d in body["days"]] == [iso_offset(AT - DAY), iso_offset(AT)]
        assert set(body["days"][0]["changes"]) == set(KINDS)
        new = body["days"][1]["changes"]["new"]
        assert new
        assert all(account.customer_subscriptions[u] for u in new)
        for _ in range(3):  # the rate limit (1/s) does not apply to the harness
            assert post(fake, ADVANCE_DAY_PATH)[0] == 200
        assert account.timeline.day == 5
        assert fake.requests == []
        reply = get(fake, f"/v1/customers/{new[0]}/subscriptions")
        assert reply.status == 200

        assert post(fake, ADVANCE_DAY_PATH, {"days": 0})[0] == 400
        assert post(fake, ADVANCE_DAY_PATH, {"at": "yesterday"})[0] == 400
        assert post(fake, ADVANCE_DAY_PATH, {"seed": 1})[0] == 400
        assert get(fake, ADVANCE_DAY_PATH).status == 405
        assert account.timeline.day == 5


@pytest.mark.slow
def test_cli_serves_an_account_after_days(tmp_path: Path):
    ready = tmp_path / "ready"
    command = [
        sys.executable, "-m", "fake_chartmogul", "--port", "0", "--customers", "300",
        "--api-key", KEY, "--ready-file", str(ready), "--days", "3", "--changes-per-day", "0.1",
    ]  # fmt: skip
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            readable, _, _ = select.select([proc.stdout], [], [], 60)
            assert readable, "no listening line"
            assert proc.stdout.readline()
            host, port = ready.read_text().strip().removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                conn.request("POST", ADVANCE_DAY_PATH)
                answer = json.loads(conn.getresponse().read())
                since = iso_offset(to_ns(answer["days"][0]["at"]) // 10**9 - 3 * DAY)
                query = urlencode({"start-date": since, "per_page": 200})
                conn.request("GET", f"/v1/activities?{query}", headers={"Authorization": AUTH})
                recent = json.loads(conn.getresponse().read())
            finally:
                conn.close()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0
    assert "3 days of changes (0.1 a day)" in err
    assert answer["day"] == 4  # three days before serving, one on request
    # days 1-3 were stamped a day apart ending at start-up; day 4 at the request
    # (within the same second, days 3 and 4 share a stamp)
    stamps = sorted({to_ns(a["date"]) // 10**9 for a in recent["entries"]})
    assert iso_offset(stamps[-1]) == answer["days"][0]["at"]
    assert stamps[1] - stamps[0] == stamps[2] - stamps[1] == DAY
    assert len(stamps) == 4 or iso_offset(stamps[2]) == answer["days"][0]["at"]


def test_knobs_can_be_changed_from_another_process():
    account = FakeAccount(customers=10, seed=1)
    with FakeChartMogul(account, api_key=KEY) as fake:
        knobs_query = {"latency": "0.01", "rate_limit": "40", "max_connections": ""}
        status, knobs = post(fake, KNOBS_PATH, knobs_query)
        assert status == 200
        assert knobs == {"latency": 0.01, "rate_limit": 40, "max_connections": None}
        assert fake.rate_limit_rps == 40
        assert fake.latency == 0.01
        status, _ = post(fake, KNOBS_PATH, {"speed": "9"})
        assert status == 400
        assert fake.requests == []  # harness calls are not logged
