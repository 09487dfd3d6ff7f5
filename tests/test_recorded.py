"""Replay: ChartMogul's recorded and documented answers, 2026 fields included, emitted whole.

Every endpoint the tap reads answers once with a body of ``tests/recorded.py`` (served by the
fake's scripting, over HTTP). Every record must come out: every field declared (no
"ChartMogul sent a field the schema does not know yet" warning, no column missing), no value
nulled (no "emitted as null" warning, nothing null that ChartMogul sent, except the ``""`` the
schemas turn into null), and every value of its declared type.
"""

from __future__ import annotations

import json
import logging
import typing as t
from importlib import resources

import jsonschema
import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault
from tap_chartmogul import schemas
from tap_chartmogul.shaping import snake_case
from tap_chartmogul.tap import STREAM_TYPES
from tests import recorded
from tests.helpers import API_KEY, fake_config, records, run_sync

ANSWERS: dict[str, dict[str, t.Any]] = {
    "account": recorded.ACCOUNT,
    "data_sources": recorded.DATA_SOURCES,
    "customers": recorded.CUSTOMERS,
    f"customers/{recorded.CUSTOMER}/subscriptions": recorded.SUBSCRIPTIONS,
    "activities": recorded.ACTIVITIES,
    "plans": recorded.PLANS,
    "plan_groups": recorded.PLAN_GROUPS,
    f"plan_groups/{recorded.GROUP}/plans": recorded.PLAN_GROUP_PLANS,
    "invoices": recorded.INVOICES,
    "subscription_events": recorded.SUBSCRIPTION_EVENTS,
    "contacts": recorded.CONTACTS,
    "notes": recorded.NOTES,
    "tasks": recorded.TASKS,
    "opportunities": recorded.OPPORTUNITIES,
    **{f"metrics/{name}": body for name, body in recorded.METRICS.items()},
}
METRIC_PATHS = {
    "metrics": "all",
    "metrics_mrr": "mrr",
    "metrics_arr": "arr",
    "metrics_arpa": "arpa",
    "metrics_asp": "asp",
    "metrics_customer_count": "customer-count",
    "metrics_customer_churn_rate": "customer-churn-rate",
    "metrics_mrr_churn_rate": "mrr-churn-rate",
    "metrics_ltv": "ltv",
}
#: Stream -> (the records ChartMogul sent for it, the field that names one).
SENT: dict[str, tuple[list[dict[str, t.Any]], str]] = {
    "account": ([recorded.ACCOUNT], "id"),
    "data_sources": (recorded.DATA_SOURCES["data_sources"], "uuid"),
    "customers": (recorded.CUSTOMERS["entries"], "uuid"),
    "customer_subscriptions": (recorded.SUBSCRIPTIONS["entries"], "uuid"),
    "activities": (recorded.ACTIVITIES["entries"], "uuid"),
    "plans": (recorded.PLANS["plans"], "uuid"),
    "plan_groups": (recorded.PLAN_GROUPS["plan_groups"], "uuid"),
    "plan_group_plans": (recorded.PLAN_GROUP_PLANS["plans"], "uuid"),
    "invoices": (recorded.INVOICES["invoices"], "uuid"),
    "invoice_line_items": (recorded.LINE_ITEMS, "uuid"),
    "invoice_transactions": (recorded.TRANSACTIONS, "uuid"),
    "subscription_events": (recorded.SUBSCRIPTION_EVENTS["subscription_events"], "id"),
    "contacts": (recorded.CONTACTS["entries"], "uuid"),
    "notes": (recorded.NOTES["entries"], "uuid"),
    "customer_notes": (
        [n for n in recorded.NOTES["entries"] if n.get("associated_object") != "contact"],
        "uuid",
    ),
    "tasks": (recorded.TASKS["entries"], "task_uuid"),
    "opportunities": (recorded.OPPORTUNITIES["entries"], "uuid"),
    **{
        stream: (recorded.METRICS[path]["entries"], "date") for stream, path in METRIC_PATHS.items()
    },
}


def schema_of(stream: str) -> dict[str, t.Any]:
    return json.loads(resources.files(schemas).joinpath(f"{stream}.json").read_text())


@pytest.fixture(scope="module")
def replay():
    """One run of every stream against the recorded answers; its messages, log and requests."""
    with FakeChartMogul(FakeAccount(customers=0, seed=1), api_key=API_KEY) as fake:
        for path, body in ANSWERS.items():
            fake.script(rf"^/v1/{path}$", [Fault(status=200, body=body)])
        handler = _Lines()
        logger = logging.getLogger()
        logger.addHandler(handler)
        try:
            config = fake_config(fake, start_date="2026-01-01", metrics_interval="month")
            messages = run_sync(config)
        finally:
            logger.removeHandler(handler)
        yield messages, handler.lines, fake.requests, fake.pending_script()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_every_recorded_answer_was_served_once_and_nothing_else(replay):
    _, _, requests, pending = replay
    assert pending == 0
    paths = [r.path.removeprefix("/v1/") for r in requests]
    assert sorted(paths) == sorted(ANSWERS)


def test_no_field_is_unknown_and_no_value_is_nulled(replay):
    _, lines, _, _ = replay
    assert not [line for line in lines if "Ignoring" in line or "emitted as null" in line]


def test_every_stream_was_replayed():
    assert set(SENT) == {stream_type.name for stream_type in STREAM_TYPES}


@pytest.mark.parametrize("stream", sorted(SENT))
def test_every_record_is_emitted_whole_and_typed(replay, stream):
    messages, _, _, _ = replay
    sent, ident = SENT[stream]
    emitted = records(messages, stream)
    assert len(emitted) == len(sent), stream
    schema = schema_of(stream)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    by_ident = {row[snake_case(ident)]: row for row in emitted}
    for record in sent:
        row = by_ident[record[ident]]
        validator.validate(row)
        assert_whole(record, row, schema, f"{stream}.")


def assert_whole(sent: dict, row: dict, schema: dict, path: str) -> None:
    """Every field ChartMogul sent is a column of ``row``, not null unless it was null or ``""``."""
    properties = schema.get("properties") or {}
    for key, value in sent.items():
        column = snake_case(key)
        where = f"{path}{column}"
        assert column in row, f"{where} was dropped"
        if value is None or value == "":
            continue
        got = row[column]
        assert got is not None, f"{where} was nulled"
        prop = properties.get(column, {})
        if isinstance(value, dict) and prop.get("properties"):
            assert_whole(value, got, prop, f"{where}.")
        elif isinstance(value, list) and (prop.get("items") or {}).get("properties"):
            for index, (one, out) in enumerate(zip(value, got, strict=True)):
                assert_whole(one, out, prop["items"], f"{where}[{index}].")
        elif "object" not in prop.get("type", []) or isinstance(value, dict):
            assert got == value, where  # free-form objects keep ChartMogul's own keys


def test_what_the_2026_fields_say_reaches_the_rows(replay):
    messages, lines, _, _ = replay
    (invoice,) = records(messages, "invoices")
    assert invoice["disabled"] is True
    assert invoice["edit_history_summary"]["latest_edit_author"] == "user@example.com"
    assert invoice["changed_at"] == "2026-04-02T08:00:00.000Z"  # its disabled line item's
    items = {r["uuid"]: r for r in records(messages, "invoice_line_items")}
    assert {r["invoice_disabled"] for r in items.values()} == {True}
    assert items[recorded.LINE_ITEMS[1]["uuid"]]["errors"] == {
        "amount_in_cents": ["Amount is invalid"]
    }
    tasks = {r["task_uuid"]: r["contact_uuid"] for r in records(messages, "tasks")}
    assert list(tasks.values()) == [None, recorded.CONTACT, recorded.CONTACT]
    notes = {r["uuid"]: r for r in records(messages, "notes")}
    old_shape = notes[recorded.NOTES["entries"][2]["uuid"]]
    assert (old_shape["associated_object"], old_shape["associated_object_uuid"]) == (
        "customer",
        recorded.CUSTOMER,
    )
    assert [r["uuid"] for r in records(messages, "customer_notes")] == [
        recorded.NOTES["entries"][0]["uuid"],
        recorded.NOTES["entries"][2]["uuid"],
    ]
    sources = {r["uuid"]: r for r in records(messages, "data_sources")}
    assert sources[recorded.DS_OLD]["auto_churn_subscription_setting"] == {
        "enabled": False,
        "interval": None,
    }
    # A data source has 37 records pending: the metrics are provisional, said once.
    for stream in METRIC_PATHS:
        assert {r["provisional"] for r in records(messages, stream)} == {True}, stream
    assert len([line for line in lines if "still processing" in line]) == 1
