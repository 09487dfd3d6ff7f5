"""``subscriptions_refresh: changed`` over a sequence of simulated days, state carried over.

The fake's timeline changes a share of customers each day (new customers, plan changes,
same-price plan swaps, churns, renewals that move ``end-date`` without any trace). Each test
day is a run of the tap one simulated day after the previous one: the tap's clock
(``run.context.utc_now``) and the fake's change stamps are both set to that day.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from fake_chartmogul import DayRates, FakeAccount, FakeChartMogul, revisions
from tap_chartmogul.refresh import RefreshPlan, phase
from tap_chartmogul.run import context
from tests.helpers import API_KEY, fake_config, records, run_sync

pytestmark = pytest.mark.slow

DAY0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
STREAMS = ["customers", "customer_subscriptions"]
#: Columns that a day's change can move.
COMPARED = ("plan", "quantity", "mrr", "arr", "status", "end_date", "start_date")


def wire_to_row(sub: dict) -> dict:
    return {key.replace("-", "_"): value for key, value in sub.items()}


def truth(account: FakeAccount) -> dict[str, dict]:
    """subscription uuid -> the fake's current subscription, in the tap's column names."""
    return {
        sub["uuid"]: {**wire_to_row(sub), "customer_uuid": customer}
        for customer, subs in account.customer_subscriptions.items()
        for sub in subs
    }


class Days:
    """Runs of the tap on consecutive simulated days, with a warehouse that upserts rows."""

    def __init__(self, fake: FakeChartMogul, monkeypatch: pytest.MonkeyPatch, **settings):
        self.fake = fake
        self.monkeypatch = monkeypatch
        self.config = fake_config(fake, subscriptions_refresh="changed", **settings)
        self.state: dict | None = None
        self.warehouse: dict[str, dict] = {}
        self.day = 0

    def run(self, streams: list[str] = STREAMS) -> list[dict]:
        now = DAY0 + timedelta(days=self.day)
        self.monkeypatch.setattr(context, "utc_now", lambda: now)
        self.fake.reset_log()
        messages = run_sync(self.config, streams=streams, state=self.state)
        self.state = [m for m in messages if m["type"] == "STATE"][-1]["value"]
        for row in records(messages, "customer_subscriptions"):
            self.warehouse[row["uuid"]] = row
        return messages

    def next_day(self, rates: DayRates | None = None):
        """Changes happen during the day, an hour before the next run."""
        self.day += 1
        at = DAY0 + timedelta(days=self.day) - timedelta(hours=1)
        return self.fake.account.advance_day(at=at, rates=rates)

    def stale(self, account: FakeAccount) -> list[str]:
        """Subscriptions whose latest row in the warehouse is not the fake's truth."""
        return [
            uuid
            for uuid, sub in truth(account).items()
            if uuid not in self.warehouse
            or any(self.warehouse[uuid].get(c) != sub.get(c) for c in COMPARED)
        ]


def subscription_requests(fake: FakeChartMogul) -> set[str]:
    return {r.path.split("/")[3] for r in fake.requests if r.path.endswith("/subscriptions")}


@pytest.fixture
def account() -> FakeAccount:
    return FakeAccount(customers=400, seed=13)


@pytest.fixture
def fake(account):
    with FakeChartMogul(account, api_key=API_KEY) as server:
        yield server


def test_every_customer_that_changed_is_re_read_the_same_day(fake, account, monkeypatch):
    days = Days(fake, monkeypatch)
    first = days.run()
    assert subscription_requests(fake) == {c["uuid"] for c in account.customers}  # no state
    assert "subscriptions_refresh" in json.dumps(days.state)
    assert first  # the first run is complete
    for _ in range(3):
        changes = days.next_day(DayRates().total(0.03))
        messages = days.run()
        visible = set(changes.customers()) - set(changes.renewal)
        assert visible, "the day should change someone"
        read = subscription_requests(fake)
        assert visible <= read, visible - read
        current = truth(account)
        emitted = {r["uuid"]: r for r in records(messages, "customer_subscriptions")}
        for sub_uuid, sub in current.items():
            if sub["customer_uuid"] in visible:
                assert sub_uuid in emitted
                assert {c: emitted[sub_uuid].get(c) for c in COMPARED} == {
                    c: sub.get(c) for c in COMPARED
                }
        # Same-price swaps leave no activity: only the subscription events name them.
        assert set(changes.swap) <= read
        # A daily run reads far fewer customers than the account has.
        assert len(read) < len(account.customers) / 2


def test_once_changes_stop_max_age_days_of_runs_bring_every_row_to_the_truth(
    fake, account, monkeypatch
):
    days = Days(fake, monkeypatch, subscriptions_max_age_days=7)
    days.run()
    for _ in range(2):
        days.next_day(DayRates().total(0.05))
        days.run()
    # The last day of changes: renewals only, which nothing but the rotation catches.
    renewed = days.next_day(DayRates().only("renewal", 0.1))
    assert renewed.renewal
    days.run()
    stale_after = [len(days.stale(account))]
    for _ in range(7):
        days.next_day(DayRates().total(0.0))
        days.run()
        stale_after.append(len(days.stale(account)))
    assert stale_after[0] > 0, "the renewals should be stale before the rotation reaches them"
    assert stale_after[-1] == 0, stale_after
    assert stale_after == sorted(stale_after, reverse=True)


def test_the_rotation_reads_each_customer_once_per_cycle_spread_over_the_runs(
    fake, account, monkeypatch
):
    days = Days(fake, monkeypatch, subscriptions_max_age_days=4)
    days.run()
    seen: list[set[str]] = []
    for _ in range(4):
        days.next_day(DayRates().total(0.0))
        days.run()
        seen.append(subscription_requests(fake))
    everyone = {c["uuid"] for c in account.customers}
    assert set().union(*seen) == everyone
    assert sum(len(s) for s in seen) == len(everyone)  # each exactly once in the cycle
    assert all(len(s) < len(everyone) / 2 for s in seen)  # spread, not all at once


def test_the_state_does_not_grow_with_the_account(monkeypatch):
    sizes = {}
    for customers in (50, 800):
        with FakeChartMogul(FakeAccount(customers=customers, seed=2), api_key=API_KEY) as fake:
            days = Days(fake, monkeypatch)
            days.run()
            days.next_day()
            days.run()
            bookmark = days.state["bookmarks"]["customer_subscriptions"]
            sizes[customers] = (sorted(bookmark), len(json.dumps(bookmark)))
    assert sizes[50][0] == sizes[800][0]
    # Only the digits of a count differ ("50" against "800").
    assert abs(sizes[800][1] - sizes[50][1]) <= 2


def test_activities_and_events_listings_are_reused_when_their_streams_run(
    fake, account, monkeypatch
):
    days = Days(fake, monkeypatch)
    everything = ["customers", "customer_subscriptions", "activities", "subscription_events"]
    days.run(everything)
    changes = days.next_day(DayRates().total(0.03))
    messages = days.run(everything)
    activity_requests = [r for r in fake.requests if r.path == "/v1/activities"]
    # One window (the activities stream's own, bookmark minus the lookback), no second one.
    assert len({r.query.get("start-date") for r in activity_requests}) == 1
    event_pages = [r for r in fake.requests if r.path == "/v1/subscription_events"]
    assert len({r.query.get("cursor") for r in event_pages}) == len(event_pages)
    visible = set(changes.customers()) - set(changes.renewal)
    assert visible <= subscription_requests(fake)
    assert records(messages, "activities")


def test_no_activate_version_for_a_partial_run(fake, monkeypatch):
    days = Days(fake, monkeypatch, emit_activate_version_messages=True)
    first = days.run()
    assert [
        m
        for m in first
        if m["type"] == "ACTIVATE_VERSION" and m["stream"] == "customer_subscriptions"
    ]  # everyone was read
    days.next_day()
    second = days.run()
    assert not [
        m
        for m in second
        if m["type"] == "ACTIVATE_VERSION" and m["stream"] == "customer_subscriptions"
    ]
    assert [m for m in second if m["type"] == "ACTIVATE_VERSION" and m["stream"] == "customers"]


def test_rotation_due_times_tile_the_cycle():
    """Unit check of the rule: over consecutive runs each phase falls due exactly once."""
    start = DAY0
    cycle = timedelta(days=7)
    uuids = [f"cus_{i:04d}" for i in range(500)]
    hits = dict.fromkeys(uuids, 0)
    previous = start
    for hours in (5, 19, 24, 24, 30, 18, 48):  # irregular runs covering exactly 7 days
        now = previous + timedelta(hours=hours)
        plan = RefreshPlan("changed", now, previous, cycle)
        for uuid in uuids:
            hits[uuid] += plan.rotation_due(uuid)
        previous = now
    assert set(hits.values()) == {1}
    assert 0 <= min(phase(u) for u in uuids) < max(phase(u) for u in uuids) < 1


def test_a_customer_whose_invoice_was_edited_in_chartmogul_is_re_read(fake, account, monkeypatch):
    """An edited service period moves ``end-date`` with no activity and no event."""
    days = Days(fake, monkeypatch)
    with_invoices = [*STREAMS, "invoices"]
    days.run(with_invoices)

    def quiet_customer_invoice(run_at: datetime, taken: set[str]) -> dict:
        """An invoice of a customer the next run re-reads for no other reason."""
        plan = RefreshPlan("changed", run_at, run_at - timedelta(days=1), timedelta(days=7))
        return next(
            invoice
            for invoice in account.invoices
            if invoice["customer_uuid"] not in taken
            and not plan.rotation_due(invoice["customer_uuid"])
            and invoice["line_items"][0]["type"] == "subscription"
        )

    days.day += 1  # a day with no change but the edit
    edited = quiet_customer_invoice(DAY0 + timedelta(days=1), set())
    at = DAY0 + timedelta(days=1, hours=-1)
    revisions.edit(
        edited["line_items"][0],
        {"service_period_end": "2027-01-01T00:00:00.000Z"},
        author="finance@example.com",
        at=at,
    )
    days.run(with_invoices)
    assert edited["customer_uuid"] in subscription_requests(fake)

    # Without the invoices stream the tap does not read them for this: the rotation will.
    days.day += 1
    unseen = quiet_customer_invoice(DAY0 + timedelta(days=2), {edited["customer_uuid"]})
    revisions.disable(unseen, by="finance@example.com", at=at + timedelta(days=1))
    days.run()
    assert unseen["customer_uuid"] not in subscription_requests(fake)
    assert not [r for r in fake.requests if r.path == "/v1/invoices"]
