"""Activities: incremental on ``date`` with a lookback, resumable, never duplicated."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime, timedelta

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tap_chartmogul.run import context
from tap_chartmogul.tap import TapChartMogul
from tests.helpers import API_KEY, fake_config, records, run_sync


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def last_state(messages):
    return [m for m in messages if m["type"] == "STATE"][-1]["value"]


def activity_calls(fake):
    return [r.query for r in fake.requests if r.path == "/v1/activities"]


@pytest.fixture
def account():
    return FakeAccount(customers=300, seed=13)


@pytest.fixture
def server(account):
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        yield fake


def config_for(server, **extra):
    return fake_config(server, **extra)


def test_first_run_without_start_date_reads_all_history_ascending(server, account):
    messages = run_sync(config_for(server), streams=["activities"])
    rows = records(messages, "activities")
    assert [r["uuid"] for r in rows] == [a["uuid"] for a in account.activities]
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    call = activity_calls(server)[0]
    assert "start-date" not in call
    assert call["order"] == "date"
    assert parse(call["end-date"]) <= datetime.now(UTC)
    state = last_state(messages)["bookmarks"]["activities"]
    assert state["replication_key_value"] == account.activities[-1]["date"]


def test_first_run_starts_at_start_date(server, account):
    messages = run_sync(
        config_for(server, start_date="2024-06-01T00:00:00Z"), streams=["activities"]
    )
    rows = records(messages, "activities")
    expected = [
        a["uuid"] for a in account.activities if parse(a["date"]) >= parse("2024-06-01T00:00:00Z")
    ]
    assert [r["uuid"] for r in rows] == expected
    assert all(call["start-date"] == "2024-06-01T00:00:00Z" for call in activity_calls(server))


def test_second_run_rereads_the_lookback_window_and_catches_backdated_activity(server, account):
    first = run_sync(config_for(server), streams=["activities"])
    state = last_state(first)
    bookmark = parse(state["bookmarks"]["activities"]["replication_key_value"])

    backdated = account.add_activity(date=bookmark - timedelta(days=5), type="contraction")
    newer = account.add_activity(date=bookmark + timedelta(days=2), type="expansion")
    too_old = account.add_activity(date=bookmark - timedelta(days=45), type="churn")
    server.reset_log()

    second = run_sync(config_for(server), streams=["activities"], state=state)
    rows = records(second, "activities")
    uuids = [r["uuid"] for r in rows]
    window_start = bookmark - timedelta(days=30)
    expected = [a["uuid"] for a in account.activities if parse(a["date"]) >= window_start]
    assert uuids == expected
    assert backdated["uuid"] in uuids
    assert newer["uuid"] in uuids
    assert too_old["uuid"] not in uuids  # older than the lookback: the documented limit
    assert len(uuids) == len(set(uuids))
    assert len(uuids) < len(account.activities)
    assert {call["start-date"] for call in activity_calls(server)} == {
        window_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    }
    new_bookmark = last_state(second)["bookmarks"]["activities"]["replication_key_value"]
    assert parse(new_bookmark) == parse(newer["date"])


def test_lookback_is_a_setting(server, account):
    first = run_sync(config_for(server), streams=["activities"])
    state = last_state(first)
    bookmark = parse(state["bookmarks"]["activities"]["replication_key_value"])
    server.reset_log()
    run_sync(config_for(server, activities_lookback_days=0), streams=["activities"], state=state)
    assert activity_calls(server)[0]["start-date"] == bookmark.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_start_date_still_bounds_the_lookback(server, account):
    first = run_sync(config_for(server), streams=["activities"])
    state = last_state(first)
    bookmark = parse(state["bookmarks"]["activities"]["replication_key_value"])
    floor = bookmark - timedelta(days=3)
    server.reset_log()
    run_sync(config_for(server, start_date=floor.isoformat()), streams=["activities"], state=state)
    assert parse(activity_calls(server)[0]["start-date"]) == floor.replace(microsecond=0)


def test_future_dated_activity_waits_and_the_bookmark_never_passes_the_run(server, account):
    future = account.add_activity(date=datetime.now(UTC) + timedelta(days=10))
    messages = run_sync(config_for(server), streams=["activities"])
    assert future["uuid"] not in {r["uuid"] for r in records(messages, "activities")}
    bookmark = last_state(messages)["bookmarks"]["activities"]["replication_key_value"]
    assert parse(bookmark) <= datetime.now(UTC)


def test_an_activity_dated_the_second_the_run_began_is_read(server, account, monkeypatch):
    """``end-date`` is inclusive: the run's own second is in its window (and in the metrics)."""
    now = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setattr(context, "utc_now", lambda: now)
    edge = account.add_activity(date=now)
    messages = run_sync(config_for(server), streams=["activities"])
    assert edge["uuid"] in {r["uuid"] for r in records(messages, "activities")}


def test_no_uuid_twice_in_one_run_even_if_the_api_repeats_one(server, account):
    account.activities.append(dict(account.activities[-1]))  # the API repeats the last one
    account.touch()
    messages = run_sync(config_for(server), streams=["activities"])
    uuids = [r["uuid"] for r in records(messages, "activities")]
    assert len(uuids) == len(set(uuids)) == len(account.activities) - 1


def test_state_is_emitted_while_reading_so_a_run_can_resume(server, account):
    messages = run_sync(config_for(server), streams=["activities"])
    emitted: list[str] = []  # activity uuids written so far
    checkpoints = []  # (uuids written before the STATE, its activities bookmark)
    for message in messages:
        if message["type"] == "RECORD" and message["stream"] == "activities":
            emitted.append(message["record"]["uuid"])
        elif message["type"] == "STATE" and 0 < len(emitted) < len(account.activities):
            checkpoints.append((list(emitted), message["value"]["bookmarks"]["activities"]))
    # 532 activities: a STATE after each of the first two pages, before the run ends.
    assert len(account.activities) > 400
    assert len(checkpoints) >= 2
    dates = {a["uuid"]: a["date"] for a in account.activities}
    for before, bookmark in checkpoints:
        assert "progress_markers" not in bookmark  # sorted stream: a plain, resumable bookmark
        assert bookmark["replication_key_value"] == dates[before[-1]]

    # A run killed after the first checkpoint resumes from it and misses nothing.
    before, bookmark = checkpoints[0]
    state = {"bookmarks": {"activities": bookmark}}
    server.reset_log()
    resumed = run_sync(
        config_for(server, activities_lookback_days=0), streams=["activities"], state=state
    )
    after = [r["uuid"] for r in records(resumed, "activities")]
    assert set(before) | set(after) == set(dates)
    assert activity_calls(server)[0]["start-date"] == parse(dates[before[-1]]).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


STARTS = {
    "first run": ({}, {}),
    "first run with start_date": ({"start_date": "2024-03-01"}, {}),
    "bookmark": ({}, {"replication_key": "date", "replication_key_value": "2025-06-02T10:00:00Z"}),
    "bookmark after start_date": (
        {"start_date": "2024-03-01"},
        {"replication_key": "date", "replication_key_value": "2025-06-02T10:00:00+00:00"},
    ),
    "start_date after bookmark": (
        {"start_date": "2025-09-01T00:00:00Z"},
        {"replication_key": "date", "replication_key_value": "2025-06-02T10:00:00Z"},
    ),
    "bookmark of another key": (
        {"start_date": "2024-03-01"},
        {"replication_key": "updated_at", "replication_key_value": "2025-06-02T10:00:00Z"},
    ),
}


@pytest.mark.parametrize("case", STARTS, ids=list(STARTS))
def test_the_window_known_at_the_runs_begin_is_the_sdks_starting_timestamp(server, case):
    """The listing reads ahead before the SDK syncs the stream, from a start worked out
    from the state: once the SDK has synced, its own starting timestamp must agree."""
    settings, bookmark = STARTS[case]
    state = {"bookmarks": {"activities": bookmark}} if bookmark else None
    tap = TapChartMogul(config=config_for(server, **settings), state=state, parse_env_config=False)
    stream = tap.streams["activities"]
    ours = stream.starting_timestamp  # what the run begins with
    seen = []
    records_of = stream.get_records

    def get_records(context):  # the SDK has recorded its starting value by now
        seen.append(stream.get_starting_timestamp(context))
        return records_of(context)

    stream.get_records = get_records
    for name, other in tap.streams.items():
        other.selected = name == "activities"
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    assert seen == [ours]
