"""Notes: ``notes`` from ``/v1/notes`` (customers and contacts), ``customer_notes`` kept from it.

``customer_notes`` is what existing users load: it keeps its columns and its rows while the
deprecated ``/v1/customer_notes`` is no longer asked, and ``/v1/notes`` is read once for both.
An account without ``/v1/notes`` (404) is read from ``/v1/customer_notes``, with one warning.
"""

from __future__ import annotations

import json
import logging
from importlib import resources

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault
from fake_chartmogul.notes import notes_of
from tap_chartmogul import schemas
from tests.helpers import API_KEY, fake_config, records, run_sync

#: The columns ``customer_notes`` had before ``notes`` existed: a loaded table's, unchanged.
CUSTOMER_NOTES_COLUMNS = [
    "uuid",
    "customer_uuid",
    "type",
    "text",
    "call_duration",
    "author",
    "created_at",
    "updated_at",
    "associated_object",
    "associated_object_uuid",
]


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    return FakeAccount(customers=120, seed=21)


@pytest.fixture
def server(account):
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        yield fake


def note_requests(server: FakeChartMogul) -> dict[str, int]:
    paths = [r.path for r in server.requests if r.path.endswith("notes")]
    return {path: paths.count(path) for path in paths}


def test_notes_hold_customer_and_contact_notes_and_customer_notes_keeps_its_rows(server, account):
    messages = run_sync(fake_config(server), streams=["notes", "customer_notes"])
    notes = {r["uuid"]: r for r in records(messages, "notes")}
    assert set(notes) == {n["uuid"] for n in notes_of(account)}
    on_contacts = [n for n in notes.values() if n["associated_object"] == "contact"]
    contacts = {c["uuid"] for c in account.contacts}
    assert on_contacts
    assert all(n["customer_uuid"] is None for n in on_contacts)
    assert {n["associated_object_uuid"] for n in on_contacts} <= contacts

    kept = records(messages, "customer_notes")
    assert [r["uuid"] for r in kept] == [n["uuid"] for n in account.customer_notes]
    for row, source in zip(kept, account.customer_notes, strict=True):
        assert list(row) == CUSTOMER_NOTES_COLUMNS
        assert {k: row[k] for k in source} == source
        assert (row["associated_object"], row["associated_object_uuid"]) == (
            "customer",
            source["customer_uuid"],
        )
    # One listing for both streams; the deprecated endpoint is not asked.
    assert note_requests(server) == {"/v1/notes": 1}


def test_customer_notes_alone_still_fills_from_the_notes_listing(server, account):
    messages = run_sync(fake_config(server), streams=["customer_notes"])
    assert len(records(messages, "customer_notes")) == len(account.customer_notes)
    assert records(messages, "notes") == []
    assert note_requests(server) == {"/v1/notes": 1}


def test_customer_notes_schema_keeps_its_columns():
    text = resources.files(schemas).joinpath("customer_notes.json").read_text()
    assert list(json.loads(text)["properties"]) == CUSTOMER_NOTES_COLUMNS


def test_without_v1_notes_both_streams_read_v1_customer_notes(server, account, caplog):
    server.script(r"^/v1/notes$", [Fault(status=404, body={"error": "Not found"})])
    with caplog.at_level(logging.WARNING):
        messages = run_sync(fake_config(server), streams=["notes", "customer_notes"])
    said = [r.getMessage() for r in caplog.records if "/v1/notes" in r.getMessage()]
    assert len(said) == 1, said
    assert "reading /v1/customer_notes instead" in said[0]
    expected = [n["uuid"] for n in account.customer_notes]
    for stream in ("notes", "customer_notes"):
        rows = records(messages, stream)
        assert [r["uuid"] for r in rows] == expected, stream
        assert {r["associated_object"] for r in rows} == {"customer"}, stream
    assert note_requests(server) == {"/v1/notes": 1, "/v1/customer_notes": 1}
