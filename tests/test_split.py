"""Long listings read as several chains at once emit exactly what one chain reads.

Against the fake (which pages creation-ordered lists with keyset cursors in the form
ChartMogul's were recorded in, and honours ``data_source_uuid``): a split read equals the
sequential read record for record, also when records are created while it runs; and when
the made-up cursors are ignored, refused, or the cursors do not decode as recorded, or a
count does not agree, the run goes on as one chain, says so in one INFO line, and still
emits every record once (``tests/hostile_servers.CursorProxy`` plays those servers).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import threading
import time
import typing as t
from datetime import UTC, datetime, timedelta

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from fake_chartmogul.journal import SORT_KEYS
from tap_chartmogul.split import LONG_PAGES, decode_cursor
from tap_chartmogul.tap import TapChartMogul
from tests.helpers import API_KEY, fake_config, made_up_cursors, records, run_sync
from tests.hostile_servers import CursorProxy

pytestmark = pytest.mark.slow

FALLBACK = "read as one chain after all"


def one_source(account: FakeAccount) -> FakeAccount:
    """``account`` with a single data source: the creation-time seeds do all the splitting."""
    first = account.data_sources[0]["uuid"]
    account.data_sources = account.data_sources[:1]
    for customer in account.customers:
        customer["data_source_uuid"] = first
        customer["data_source_uuids"] = [first]
    for event in account.subscription_events:
        event["data_source_uuid"] = first
    account.touch()
    return account


@pytest.fixture(scope="module")
def long_account() -> FakeAccount:
    """Over 30 pages of invoices and subscription events, one data source."""
    return one_source(FakeAccount(customers=5000, seed=17))


@pytest.fixture
def server(long_account):
    with FakeChartMogul(long_account, api_key=API_KEY) as fake:
        yield fake


def seeded(fake: FakeChartMogul, path: str) -> list[str]:
    """The cursors the tap made up (from a creation time) and sent to ``path``."""
    return made_up_cursors(fake.requests, path, fake.account)


def in_order(account_records: list[dict], key: str) -> list[object]:
    """The fake's records in the order one chain reads them (newest created first)."""
    return [record[key] for record in account_records]


def test_a_split_read_equals_the_sequential_read(server, long_account, caplog):
    assert len(long_account.invoices) > LONG_PAGES * 200
    with caplog.at_level(logging.INFO):
        messages = run_sync(fake_config(server), streams=["invoices", "subscription_events"])
    got = [r["uuid"] for r in records(messages, "invoices")]
    assert got == in_order(server.api.collections["invoices"].view().records, "uuid")
    events = [r["id"] for r in records(messages, "subscription_events")]
    assert events == in_order(server.api.collections["subscription_events"].view().records, "id")
    assert len(seeded(server, "/v1/invoices")) >= 2  # read as several chains
    assert len(seeded(server, "/v1/subscription_events")) >= 2
    assert not [m for m in caplog.messages if FALLBACK in m]
    # Every page a chain read was one a sequential read makes too, but for the chains' first
    # pages: the split costs few requests.
    pages = -(-len(long_account.invoices) // 200)
    assert server.count("/v1/invoices") <= pages + 2 * len(seeded(server, "/v1/invoices")) + 1


def test_records_created_during_the_read_are_neither_lost_nor_doubled(long_account):
    """New events land at the top of the creation order while the chains read below."""
    with FakeChartMogul(long_account, api_key=API_KEY, latency=0.02) as fake:
        view = fake.api.collections["subscription_events"].view()
        before = in_order(view.records, "id")

        def create_while_reading() -> None:
            deadline = time.monotonic() + 30
            while fake.count("/v1/subscription_events") < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            top = max(event["id"] for event in long_account.subscription_events)
            template = long_account.subscription_events[0]
            new = [{**template, "id": top + n, "created_at": now} for n in range(1, 6)]
            long_account.insert_records("subscription_events", new)

        creator = threading.Thread(target=create_while_reading)
        creator.start()
        messages = run_sync(fake_config(fake), streams=["subscription_events"])
        creator.join()
    got = [r["id"] for r in records(messages, "subscription_events")]
    assert len(got) == len(set(got))
    assert got == before  # what one chain started at the same moment reads
    assert len(seeded(fake, "/v1/subscription_events")) >= 2


def test_seeds_in_a_gap_of_creation_times_cost_a_request_not_the_split(caplog):
    """A bulk import years before the daily records: halving lands seeds in the gap.

    Two seeds with nothing created between them start at the same record; that is an empty
    range (the upper chain meets the lower one at once), not a seed the server ignored.
    Taken for one, it sent the whole listing back to one chain.
    """
    account = one_source(FakeAccount(customers=5000, seed=17))
    events = account.subscription_events
    imported = datetime(2019, 3, 1, tzinfo=UTC)
    daily = datetime(2026, 11, 1, tzinfo=UTC)
    for n, event in enumerate(reversed(events)):  # oldest first
        old = n < len(events) // 2
        moment = imported + timedelta(milliseconds=n) if old else daily + timedelta(seconds=n)
        event["created_at"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    events.sort(key=SORT_KEYS["subscription_events"])
    account.touch()
    with (
        FakeChartMogul(account, api_key=API_KEY, latency=0.01) as fake,
        caplog.at_level(logging.INFO),
    ):
        messages = run_sync(fake_config(fake), streams=["subscription_events"])
        expected = in_order(fake.api.collections["subscription_events"].view().records, "id")
        made_up = seeded(fake, "/v1/subscription_events")
    assert [r["id"] for r in records(messages, "subscription_events")] == expected
    assert not [m for m in caplog.messages if FALLBACK in m]
    assert len(made_up) >= 3


class CountingBytes(io.BytesIO):
    """The tap's stdout, counting the records written so far."""

    def __init__(self) -> None:
        super().__init__()
        self.records = 0

    def write(self, data: t.Any) -> int:
        self.records += bytes(data).count(b'"type":"RECORD"')
        return super().write(data)


def test_chains_are_written_in_order_while_the_chains_below_still_read(long_account):
    """Each chain's records go out once the chain above has met it, not after the last.

    Chains end in listing order (split a few pages ahead, from the top), so most of a long
    listing is written while its last pages are read. Held until every chain had ended,
    as before, a sixth of it had been written when the last page was asked for.
    """
    with FakeChartMogul(long_account, api_key=API_KEY, latency=0.5) as fake:
        out = CountingBytes()
        written_when_asked: list[int] = []
        dispatch = fake._harness

        def note(handler: t.Any, split: t.Any) -> bool:
            if handler.path.startswith("/v1/invoices"):
                written_when_asked.append(out.records)
            return dispatch(handler, split)

        fake._harness = note  # type: ignore[method-assign]
        tap = TapChartMogul(config=fake_config(fake), parse_env_config=False)
        for name, stream in tap.streams.items():
            stream.selected = name == "invoices"
        wrapper = io.TextIOWrapper(out, encoding="utf-8")  # the writer uses stdout.buffer
        with contextlib.redirect_stdout(wrapper):
            tap.sync_all()
        wrapper.flush()
        text = out.getvalue().decode()
        expected = in_order(fake.api.collections["invoices"].view().records, "uuid")
        made_up = seeded(fake, "/v1/invoices")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [m["record"]["uuid"] for m in lines if m["type"] == "RECORD"] == expected
    assert len(made_up) >= 3
    assert written_when_asked[-1] > len(expected) / 3


def test_parts_per_data_source_hold_every_record_once():
    account = FakeAccount(customers=4000, seed=19)
    assert len(account.data_sources) > 1
    # A customer of two data sources is listed under each: it must be emitted once.
    both = [source["uuid"] for source in account.data_sources[:2]]
    for customer in account.customers[:25]:
        customer["data_source_uuids"] = both
    account.touch()
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        messages = run_sync(
            fake_config(fake), streams=["customers", "invoices", "subscription_events"]
        )
        filtered = {r.query.get("data_source_uuid") for r in fake.requests if r.path != "/v1/"}
    assert set(both) <= filtered  # the documented filter was used
    for stream, key, expected in (
        ("customers", "uuid", account.customers),
        ("invoices", "uuid", account.invoices),
        ("subscription_events", "id", account.subscription_events),
    ):
        got = [r[key] for r in records(messages, stream)]
        assert len(got) == len(set(got)), stream
        assert set(got) == {record[key] for record in expected}, stream


def test_activities_in_windows_stay_in_date_order_and_whole(server, long_account):
    messages = run_sync(fake_config(server), streams=["activities"])
    got = records(messages, "activities")
    assert [r["uuid"] for r in got] == [a["uuid"] for a in long_account.activities]
    dates = [r["date"] for r in got]
    assert dates == sorted(dates)
    windows = {r.query.get("start-date") for r in server.requests if r.path == "/v1/activities"}
    assert len(windows) >= 2  # read in several windows at once


CHEATS = {
    "made-up cursors ignored": ("ignore", "seed"),
    "made-up cursors refused": ("refuse", "HTTP 400"),
    "later made-up cursors refused": ("refuse-later", "HTTP 400"),
    "made-up cursors failing": ("fail", "a seeded chain failed"),
    "cursors opaque": ("opaque", "do not decode as recorded"),
    "first page's count off by one": ("miscount", "do not make the first page's"),
}


@pytest.mark.parametrize("case", CHEATS, ids=list(CHEATS))
def test_a_server_that_does_not_play_along_costs_time_never_a_record(
    server, long_account, caplog, case
):
    mode, reason = CHEATS[case]
    with CursorProxy(server.base_url, mode) as proxy, caplog.at_level(logging.INFO):
        config = {**fake_config(server), "api_url": proxy.url, "max_retries": 1}
        messages = run_sync(config, streams=["invoices"])
    got = [r["uuid"] for r in records(messages, "invoices")]
    assert got == in_order(server.api.collections["invoices"].view().records, "uuid")
    said = [m for m in caplog.messages if FALLBACK in m]
    assert len(said) == 1, caplog.messages[-20:]
    assert reason in said[0]
    if mode in {"ignore", "refuse", "refuse-later", "fail", "miscount"}:
        assert proxy.made_up_sent >= 1  # it tried, was caught, and went on as one chain


def test_a_record_deleted_during_the_read_costs_the_split_never_another_record(
    server, long_account, caplog
):
    """A seeded chain's first record is deleted once read: the chain above cannot meet it.

    Only the meeting check sees this (every seed was honoured, every cursor descends): the
    chain above reads on past the seeded chain's range, and trusting the seeded chain would
    write that range twice.
    """
    with CursorProxy(server.base_url, "vanish") as proxy, caplog.at_level(logging.INFO):
        config = {**fake_config(server), "api_url": proxy.url, "max_retries": 1}
        messages = run_sync(config, streams=["invoices"])
    assert proxy.vanished is not None, f"made-up cursors sent: {proxy.made_up_sent}"
    every = in_order(server.api.collections["invoices"].view().records, "uuid")
    got = [r["uuid"] for r in records(messages, "invoices")]
    assert got == [uuid for uuid in every if uuid != proxy.vanished]
    said = [m for m in caplog.messages if FALLBACK in m]
    assert len(said) == 1, caplog.messages[-20:]
    assert "did not meet" in said[0]


def test_cursors_decode_as_recorded():
    text = "2023-10-30T03:16:56.035017000Z&inv_6897d700-993e-41b5-bee6-f1569c92cf1e"
    recorded = base64.b64encode(text.encode()).decode()
    assert recorded.startswith("MjAyMy0xMC0zMFQwMzoxNjo1Ni4wMzUwMTcwMDBaJmludl82ODk3")  # §1.2
    assert decode_cursor(recorded) == (
        1698635816035017000,
        "inv_6897d700-993e-41b5-bee6-f1569c92cf1e",
    )
    assert decode_cursor("not-base64!") is None
    assert decode_cursor(base64.b64encode(b"42&inv_x").decode()) is None
