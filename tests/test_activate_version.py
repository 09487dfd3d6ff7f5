"""Deletes: full-table streams send ACTIVATE_VERSION so targets can drop vanished records."""

from __future__ import annotations

import time

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tap_chartmogul.tap import STREAM_TYPES, replication_key, stream_name
from tests.helpers import API_KEY, fake_config, run_sync

FULL_TABLE = [stream_name(s) for s in STREAM_TYPES if replication_key(s) is None]


def test_the_full_table_streams_are_all_but_activities():
    assert len(FULL_TABLE) == len(STREAM_TYPES) - 1
    assert "activities" not in FULL_TABLE


def apply_like_a_versioning_target(
    table: dict, messages: list[dict], stream: str, key: str
) -> None:
    """What a target honouring ACTIVATE_VERSION does: rows of older versions disappear."""
    for message in messages:
        if message.get("stream") != stream:
            continue
        if message["type"] == "ACTIVATE_VERSION":
            version = message["version"]
            for pk in [pk for pk, (_, v) in table.items() if v < version]:
                del table[pk]
        elif message["type"] == "RECORD":
            table[message["record"][key]] = (message["record"], message["version"])


def test_every_full_table_stream_activates_one_version(fake, config):
    messages = run_sync({**config, "emit_activate_version_messages": True})
    for stream in FULL_TABLE:
        mine = [m for m in messages if m.get("stream") == stream]
        activations = [m for m in mine if m["type"] == "ACTIVATE_VERSION"]
        assert len(activations) == 1, stream
        version = activations[0]["version"]
        rows = [m for m in mine if m["type"] == "RECORD"]
        assert rows, stream
        assert {m.get("version") for m in rows} == {version}, stream
    incremental = [m for m in messages if m.get("stream") == "activities"]
    assert not any(m["type"] == "ACTIVATE_VERSION" for m in incremental)


def test_no_activate_version_unless_asked(fake, config):
    messages = run_sync(config, streams=["customers", "plans"])
    assert not any(m["type"] == "ACTIVATE_VERSION" for m in messages)


@pytest.mark.slow
def test_a_customer_deleted_in_chartmogul_disappears_downstream():
    account = FakeAccount(customers=60, seed=17)
    with FakeChartMogul(account, api_key=API_KEY) as server:
        config = fake_config(server, emit_activate_version_messages=True)
        table: dict = {}
        apply_like_a_versioning_target(
            table, run_sync(config, streams=["customers"]), "customers", "uuid"
        )
        assert len(table) == 60
        removed = account.customers[10]["uuid"]
        account.remove_customer(removed)
        time.sleep(1.1)  # versions are the run's start time in seconds
        apply_like_a_versioning_target(
            table, run_sync(config, streams=["customers"]), "customers", "uuid"
        )
    assert removed not in table
    assert len(table) == 59
