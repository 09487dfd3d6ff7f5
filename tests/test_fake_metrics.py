"""The fake's metrics follow from its own activities, customers and plans, day by day.

What a warehouse rebuilds from ``/activities`` (MRR, movements by type, customers with MRR)
must be what ``/metrics/*`` answers, on the built account and after simulated days; segments
are real filters of the same data. Expected figures are recomputed here from the records, by
a plain per-customer walk independent of the fake's cumulative arrays.
"""

from __future__ import annotations

import base64
import calendar
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from fake_chartmogul import DayRates, FakeAccount, FakeChartMogul
from fake_chartmogul.formats import to_ns
from fake_chartmogul.metrics import Segment, parse_segment
from tests.test_fake_api import get

TYPES = {
    "new_biz": "mrr-new-business",
    "expansion": "mrr-expansion",
    "contraction": "mrr-contraction",
    "churn": "mrr-churn",
    "reactivation": "mrr-reactivation",
}
AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    return FakeAccount(customers=400, seed=21)


def day_of(activity: dict) -> date:
    return datetime.fromtimestamp(to_ns(activity["date"]) // 10**9, tz=UTC).date()


def walk(account: FakeAccount, until: date) -> dict[str, int]:
    """Each customer's MRR at the end of ``until``: its activities' movements summed."""
    mrr: Counter[str] = Counter()
    for activity in account.activities:
        if day_of(activity) <= until:
            mrr[activity["customer-uuid"]] += activity["activity-mrr-movement"]
    return mrr


def month_ends(first: date, last: date) -> list[date]:
    ends, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        ends.append(date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ends


def test_mrr_and_customers_are_the_activities_summed(account):
    for day in (date(2022, 6, 30), date(2024, 2, 29), date(2025, 12, 31)):
        (entry,) = account.metrics_entries("all", day, day)
        per_customer = walk(account, day)
        assert entry["mrr"] == sum(per_customer.values()) > 0
        assert entry["customers"] == sum(1 for v in per_customer.values() if v > 0)
        assert entry["arr"] == entry["mrr"] * 12
        assert entry["arpa"] == round(entry["mrr"] / entry["customers"])
    # and today's figures are the customers' and subscriptions' own (one truth, not two)
    point = account.metrics.point(account.today)
    assert point["mrr"] == sum(c["mrr"] for c in account.customers)
    assert point["mrr"] == sum(s["mrr"] for subs in account.customer_subscriptions.values()
                               for s in subs)  # fmt: skip
    assert point["customers"] == sum(1 for c in account.customers if c["mrr"] > 0)


def test_monthly_movements_are_the_activities_by_type(account):
    entries = account.metrics_entries("mrr", date(2022, 1, 1), date(2025, 12, 31), "month")
    expected: dict[date, Counter[str]] = defaultdict(Counter)
    for activity in account.activities:
        day = day_of(activity)
        end = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        expected[end][TYPES[activity["type"]]] += activity["activity-mrr-movement"]
    assert [e["date"] for e in entries] == [
        d.isoformat() for d in month_ends(date(2022, 1, 1), date(2025, 12, 31))
    ]
    opening = 0
    for entry in entries:
        moved = expected[date.fromisoformat(entry["date"])]
        assert {name: entry[name] for name in TYPES.values()} == {
            n: moved[n] for n in TYPES.values()
        }
        assert opening + sum(moved.values()) == entry["mrr"]  # the bridge closes
        opening = entry["mrr"]
    assert all(e["mrr-churn"] <= 0 and e["mrr-contraction"] <= 0 for e in entries)
    assert sum(e["mrr-reactivation"] for e in entries) > 0  # every type occurs


def test_activity_types_are_customer_level(account):
    """A customer's first MRR is new business; churn and reactivation mean MRR 0 before/after."""
    mrr: Counter[str] = Counter()
    paid: set[str] = set()
    for activity in account.activities:
        customer, delta = activity["customer-uuid"], activity["activity-mrr-movement"]
        before, after = mrr[customer], mrr[customer] + delta
        kind = activity["type"]
        if kind in ("new_biz", "reactivation"):
            assert before == 0
            assert (customer in paid) == (kind == "reactivation")
        elif kind == "churn":
            assert after == 0 < before
        else:
            assert before > 0
            assert after > 0
            assert (delta > 0) == (kind == "expansion")
        mrr[customer] = after
        paid.add(customer)
    types = Counter(a["type"] for a in account.activities)
    assert set(types) == set(TYPES)


def test_churn_rates_asp_and_ltv_follow_the_same_customers(account):
    month = date(2024, 5, 31)
    (entry,) = account.metrics_entries("all", month, month, "month")
    (movements,) = account.metrics_entries("mrr", month, month, "month")
    start, end = walk(account, date(2024, 4, 30)), walk(account, month)
    in_month = [a for a in account.activities if day_of(a).replace(day=1) == date(2024, 5, 1)]
    churned = {a["customer-uuid"] for a in in_month if a["type"] == "churn"}
    new = {a["customer-uuid"] for a in in_month if a["type"] == "new_biz"}
    at_start = sum(1 for v in start.values() if v > 0)
    assert churned
    assert new
    assert entry["customer-churn-rate"] == round(len(churned) / at_start * 100, 2)
    lost = -(movements["mrr-churn"] + movements["mrr-contraction"] + movements["mrr-expansion"])
    assert entry["mrr-churn-rate"] == round(lost / sum(start.values()) * 100, 2)
    assert entry["asp"] == round(movements["mrr-new-business"] / len(new))
    assert entry["ltv"] == round(entry["arpa"] * 100 / entry["customer-churn-rate"])
    assert entry["mrr"] == sum(end.values())


def test_segments_are_real_filters_of_customers_and_plans(account):
    day = date(2025, 6, 30)
    whole = account.metrics.point(day, "month")
    countries = {c["uuid"]: c["country"] for c in account.customers}
    per_customer = walk(account, day)
    german = sum(v for uuid, v in per_customer.items() if countries[uuid] in ("DE", "FR"))
    (eu,) = account.metrics_entries("mrr", day, day, "month", geo="de,FR")
    assert eu["mrr"] == german
    assert 0 < eu["mrr"] < whole["mrr"]
    (not_eu,) = account.metrics_entries(
        "mrr", day, day, "month", filters="customer-country~IS_NOT~DE,FR"
    )
    assert eu["mrr"] + not_eu["mrr"] == whole["mrr"]
    # a plan segment and its complement split every figure, movements included
    plan = account.plans[0]
    on = account.metrics_entries("mrr", date(2022, 1, 1), day, "month", plans=plan["name"])
    off = account.metrics_entries(
        "mrr", date(2022, 1, 1), day, "month", filters=f"plan~IS_NOT~{plan['name']}"
    )
    everything = account.metrics_entries("mrr", date(2022, 1, 1), day, "month")
    assert on[-1]["mrr"] > 0
    for a, b, c in zip(on, off, everything, strict=True):
        assert a["mrr"] + b["mrr"] == c["mrr"]
    by_uuid = account.metrics_entries("mrr", day, day, "month", plans=plan["uuid"])
    assert by_uuid == account.metrics_entries("mrr", day, day, "month", plans=plan["name"])
    current = sum(
        s["mrr"]
        for subs in account.customer_subscriptions.values()
        for s in subs
        if s["plan"] == plan["name"]
    )
    segment = parse_segment(None, plan["name"], None)
    assert account.metrics.point(account.today, segment=segment)["mrr"] == current


def test_metrics_follow_simulated_days_and_edits():
    account = FakeAccount(customers=300, seed=22)
    changes = account.advance_day(AT, rates=DayRates.total(0.1))
    assert changes.activities
    today = account.today
    assert today == AT.date()
    (entry,) = account.metrics_entries("mrr", today, today)
    made = Counter()
    for activity in changes.activities:
        made[TYPES[activity["type"]]] += activity["activity-mrr-movement"]
    assert {n: entry[n] for n in TYPES.values()} == {n: made[n] for n in TYPES.values()}
    assert entry["mrr"] == sum(c["mrr"] for c in account.customers)
    assert account.summary("mrr")["current"] == entry["mrr"]
    assert account.summary("customer-count")["current"] == sum(
        1 for c in account.customers if c["mrr"] > 0
    )
    # a back-dated activity (tests add them) changes the series from its day on
    before = account.metrics.point(date(2025, 3, 1))["mrr"]
    earlier = account.metrics.point(date(2025, 1, 31))["mrr"]
    account.add_activity(date=date(2025, 2, 1), activity_mrr_movement=1234, type="expansion")
    assert account.metrics.point(date(2025, 3, 1))["mrr"] == before + 1234
    assert account.metrics.point(date(2025, 1, 31))["mrr"] == earlier


def test_days_only_churn_a_customer_when_nothing_is_left():
    account = FakeAccount(customers=400, seed=23)
    changes = account.advance_day(AT, rates=DayRates.only("churn", 0.05))
    by_type = Counter(a["type"] for a in changes.activities)
    assert by_type["churn"]
    assert by_type["contraction"]
    (entry,) = account.metrics_entries("all", AT.date(), AT.date(), "day")
    before = account.metrics.point(AT.date() - timedelta(days=1))
    assert before["customers"] - entry["customers"] == by_type["churn"]


def test_unsupported_filters_are_400_over_http(account):
    with FakeChartMogul(account, api_key="k") as server:
        auth = "Basic " + base64.b64encode(b"k:").decode()
        dates = {"start-date": "2025-01-01", "end-date": "2025-02-01"}
        bad = get(server, "/v1/metrics/mrr", {**dates, "filters": "mrr~GT~100"}, auth=auth)
        good = get(
            server, "/v1/metrics/mrr", {**dates, "filters": "customer-country~IS~US"}, auth=auth
        )
    assert bad.status == 400
    assert bad.json["param"] == "filters"
    assert good.status == 200
    us = account.metrics_entries("mrr", date(2025, 1, 1), date(2025, 2, 1), geo="US")
    assert good.json["entries"] == us


def test_a_large_account_answers_requests_from_its_cache():
    """100,000-customer benchmark accounts: one pass per account state, then O(entries)."""
    account = FakeAccount(customers=2000, seed=24)
    series = account.metrics.series(Segment())
    account.metrics_entries("all", date(2022, 1, 1), date(2025, 12, 31))
    assert account.metrics.series(Segment()) is series  # not rebuilt per request
    account.advance_day(AT)
    assert account.metrics.series(Segment()) is not series  # rebuilt after a day
