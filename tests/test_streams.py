"""What each core stream emits: keys, column names, types and windows."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources

import jsonschema
import pytest

from fake_chartmogul import FakeChartMogul
from tap_chartmogul import schemas
from tap_chartmogul.tap import STREAM_TYPES
from tests.helpers import API_KEY, fake_config, records, run_sync

ALL_STREAMS = [stream_type.name for stream_type in STREAM_TYPES]


@pytest.fixture(scope="module")
def synced(small_account):
    with FakeChartMogul(small_account, api_key=API_KEY) as server:
        config = fake_config(server, start_date="2025-01-01")
        yield run_sync(config), server


def schema_of(stream):
    text = resources.files(schemas).joinpath(f"{stream}.json").read_text()
    return json.loads(text)


def test_schema_messages_precede_records_and_declare_keys(synced):
    messages, _ = synced
    seen_schema = set()
    for message in messages:
        if message["type"] == "SCHEMA":
            seen_schema.add(message["stream"])
            assert message["key_properties"], message["stream"]
        elif message["type"] == "RECORD":
            assert message["stream"] in seen_schema
    assert seen_schema == set(ALL_STREAMS)


def test_account_is_synced_first(synced):
    messages, _ = synced
    first_record = next(m for m in messages if m["type"] == "RECORD")
    assert first_record["stream"] == "account"


@pytest.mark.parametrize("stream", ALL_STREAMS)
def test_records_validate_against_their_schema(synced, stream):
    messages, _ = synced
    rows = records(messages, stream)
    assert rows, stream
    validator = jsonschema.Draft7Validator(
        schema_of(stream), format_checker=jsonschema.FormatChecker()
    )
    for row in rows:
        validator.validate(row)


@pytest.mark.parametrize("stream", ALL_STREAMS)
def test_column_names_are_snake_case(synced, stream):
    messages, _ = synced
    for row in records(messages, stream)[:50]:
        stack = [row]
        while stack:
            current = stack.pop()
            for key, value in current.items():
                assert "-" not in key, (stream, key)
                assert key == key.lower(), (stream, key)
                if isinstance(value, dict) and key not in {
                    "custom",
                    "errors",
                    "stripe",
                    "clearbit",
                }:
                    stack.append(value)
                if isinstance(value, list):
                    stack.extend(v for v in value if isinstance(v, dict))


def test_customer_fields_are_renamed_and_typed(synced, small_account):
    messages, _ = synced
    by_uuid = {r["uuid"]: r for r in records(messages, "customers")}
    for source in small_account.customers[:100]:
        row = by_uuid[source["uuid"]]
        assert row["customer_since"] == source["customer-since"]
        assert row["billing_system_type"] == source["billing-system-type"]
        assert row["mrr"] == source["mrr"]
        assert row["attributes"]["custom"] == source["attributes"]["custom"]


def test_invoices_keep_line_items_and_transactions_nested(synced, small_account):
    messages, _ = synced
    by_uuid = {r["uuid"]: r for r in records(messages, "invoices")}
    for source in small_account.invoices:
        row = by_uuid[source["uuid"]]
        assert [li["uuid"] for li in row["line_items"]] == [
            li["uuid"] for li in source["line_items"]
        ]
        assert [tr["uuid"] for tr in row["transactions"]] == [
            tr["uuid"] for tr in source["transactions"]
        ]
        for item in row["line_items"]:
            assert isinstance(item["amount_in_cents"], int)


def test_metrics_cover_start_date_to_today_one_row_per_day(synced):
    messages, server = synced
    rows = records(messages, "metrics")
    today = datetime.now(UTC).date()
    expected_days = (today - date(2025, 1, 1)).days + 1
    assert len(rows) == expected_days
    assert rows[0]["date"] == "2025-01-01"
    assert rows[-1]["date"] == today.isoformat()
    assert {(r["segment"], r["interval"]) for r in rows} == {("all", "day")}
    assert len({r["date"] for r in rows}) == len(rows)
    for key in (
        "mrr",
        "arr",
        "arpa",
        "asp",
        "customers",
        "customer_churn_rate",
        "mrr_churn_rate",
        "ltv",
    ):
        assert key in rows[0]
        assert f"{key}_percentage_change" in rows[0]
    calls = [r.query for r in server.requests if r.path == "/v1/metrics/all"]
    # More than 366 days: daily windows of at most 366 days, overlapping by one day.
    assert calls[0]["start-date"] == "2025-01-01"
    assert calls[-1]["end-date"] == today.isoformat()
    assert all(call["interval"] == "day" for call in calls)
    for earlier, later in itertools.pairwise(calls):
        assert later["start-date"] == earlier["end-date"]


def test_metrics_default_window_is_365_days(fake, config):
    messages = run_sync(config, streams=["metrics"])
    call = next(r for r in fake.requests if r.path == "/v1/metrics/all")
    today = datetime.now(UTC).date()
    assert call.query["start-date"] == (today - timedelta(days=365)).isoformat()
    assert len(records(messages, "metrics")) == 366
