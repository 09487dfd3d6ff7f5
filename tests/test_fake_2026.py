"""The fake's 2026 surface (docs/chartmogul-api.md §8), over HTTP: what the tap's tests rely on.

Disabled records are left out unless asked and edit summaries come only when asked
(``fake_chartmogul/revisions.py``); ``/v1/notes`` lists customer and contact notes
(``notes.py``); a data source can be caught processing an import (``imports.py``); and the
new parameters are refused where the fake does not implement them, as every other one is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import requests

from fake_chartmogul import FakeAccount, FakeChartMogul, imports, revisions
from fake_chartmogul.notes import notes_of

KEY = "fake-2026-key"
DISABLED_AT = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
EDITED_AT = datetime(2026, 2, 10, 11, 0, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)


@pytest.fixture
def account() -> FakeAccount:
    """A fresh account per test (they change it)."""
    return FakeAccount(customers=40, seed=12)


@pytest.fixture
def server(account):
    with FakeChartMogul(account, api_key=KEY) as fake:
        yield fake


def get(server: FakeChartMogul, path: str, status: int = 200, **query: str) -> dict:
    reply = requests.get(f"{server.base_url}{path}?{urlencode(query)}", auth=(KEY, ""), timeout=10)
    assert reply.status_code == status, reply.text
    return reply.json()


def walk(server: FakeChartMogul, path: str, root: str, per_page: int, **query: str) -> list:
    """Every record of a listing, following its cursors."""
    found, cursor = [], None
    while True:
        page = get(
            server, path, per_page=str(per_page), **query, **({"cursor": cursor} if cursor else {})
        )
        found += page[root]
        if not page["has_more"]:
            return found
        cursor = page["cursor"]


def test_disabled_records_are_left_out_unless_asked(server, account):
    invoices = account.invoices
    revisions.disable(invoices[0], by="finance@example.com", at=DISABLED_AT)
    revisions.disable(invoices[2]["line_items"][0], by="ops@example.com", at=LATER)
    revisions.disable(account.subscription_events[0], by="ops@example.com", at=DISABLED_AT)

    plain = get(server, "/v1/invoices", per_page="7")
    assert plain["total_pages"] == -(-(len(invoices) - 1) // 7)
    listed = walk(server, "/v1/invoices", "invoices", 7)
    assert [i["uuid"] for i in listed] == [i["uuid"] for i in invoices[1:]]
    assert all(i["disabled"] is False and i["disabled_at"] is None for i in listed)
    assert all(
        li["disabled"] is False and li["errors"] == {} for i in listed for li in i["line_items"]
    )
    item = invoices[2]["line_items"][0]["uuid"]
    assert item not in {li["uuid"] for i in listed for li in i["line_items"]}

    asked = walk(server, "/v1/invoices", "invoices", 7, with_disabled="true")
    assert [i["uuid"] for i in asked] == [i["uuid"] for i in invoices]
    assert (asked[0]["disabled"], asked[0]["disabled_at"], asked[0]["disabled_by"]) == (
        True,
        "2026-02-03T04:05:06.000Z",
        "finance@example.com",
    )
    assert asked[2]["line_items"][0]["disabled"] is True

    events = walk(server, "/v1/subscription_events", "subscription_events", 50)
    assert [e["id"] for e in events] == [e["id"] for e in account.subscription_events[1:]]
    events = walk(
        server, "/v1/subscription_events", "subscription_events", 50, with_disabled="true"
    )
    assert events[0]["disabled"] is True

    revisions.enable(invoices[0])
    again = walk(server, "/v1/invoices", "invoices", 7)
    assert again[0] == {**asked[0], "disabled": False, "disabled_at": None, "disabled_by": None}


def test_edit_summaries_come_only_when_asked(server, account):
    invoice = account.invoices[1]
    assert invoice["currency"] == "EUR"
    revisions.edit(invoice, {"currency": "USD"}, author="ed@example.com", at=EDITED_AT)
    revisions.edit(invoice, {"currency": "GBP"}, author="al@example.com", at=LATER)
    revisions.edit(
        account.subscription_events[3], {"quantity": 9}, author="al@example.com", at=LATER
    )

    plain = get(server, "/v1/invoices", per_page="5")["invoices"]
    assert plain[1]["currency"] == "GBP"
    assert not [i for i in plain if "edit_history_summary" in i]
    asked = get(server, "/v1/invoices", per_page="5", include_edit_histories="true")["invoices"]
    assert asked[1]["edit_history_summary"] == {
        "values_changed": {"currency": {"original_value": "EUR", "edited_value": "GBP"}},
        "latest_edit_author": "al@example.com",
        "latest_edit_performed_at": "2026-03-01T09:30:00.000Z",
    }
    assert asked[0]["edit_history_summary"] is None
    assert asked[0]["line_items"][0]["edit_history_summary"] is None
    events = get(server, "/v1/subscription_events", per_page="5", include_edit_histories="true")
    summary = events["subscription_events"][3]["edit_history_summary"]
    assert summary["values_changed"]["quantity"]["edited_value"] == 9


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/customers", "with_disabled"),
        ("/v1/plans", "include_edit_histories"),
        ("/v1/notes", "customer_uuid"),
        ("/v1/notes", "contact_uuid"),
    ],
)
def test_parameters_the_fake_does_not_implement_are_refused(server, path, param):
    body = get(server, path, 400, **{param: "true"})
    assert body["param"] == param


def test_notes_list_customer_and_contact_notes(server, account):
    notes = walk(server, "/v1/notes", "entries", 9)
    assert len(notes) == len(notes_of(account)) > len(account.customer_notes)
    assert [n["created_at"] for n in notes] == sorted(
        (n["created_at"] for n in notes), reverse=True
    )
    on_contacts = [n for n in notes if n["associated_object"] == "contact"]
    assert on_contacts
    contacts = {c["uuid"] for c in account.contacts}
    assert all(
        n["customer_uuid"] is None and n["associated_object_uuid"] in contacts for n in on_contacts
    )
    on_customers = {n["uuid"]: n for n in notes if n["associated_object"] == "customer"}
    assert set(on_customers) == {n["uuid"] for n in account.customer_notes}
    assert all(n["associated_object_uuid"] == n["customer_uuid"] for n in on_customers.values())
    first = get(server, "/v1/notes", per_page="9")
    assert set(first) == {"entries", "cursor", "has_more"}  # no legacy keys, ever
    # A contact's notes go with it; the same account builds the same notes.
    assert notes_of(FakeAccount(customers=40, seed=12)) == notes_of(account)
    gone = on_contacts[0]["associated_object_uuid"]
    account.contacts[:] = [c for c in account.contacts if c["uuid"] != gone]
    assert gone not in {
        n["associated_object_uuid"] for n in walk(server, "/v1/notes", "entries", 200)
    }


def test_a_data_source_processing_an_import_says_so(server, account):
    source = account.data_sources[0]["uuid"]
    imports.start_import(account, source, pending=37, failed=2)
    sources = get(server, "/v1/data_sources", with_processing_status="true")["data_sources"]
    status = {s["uuid"]: s["processing_status"] for s in sources}
    assert status[source]["pending"] == 37
    assert status[source]["failed"] == 2
    assert all(s["pending"] == 0 for uuid, s in status.items() if uuid != source)
    assert {s["status"] for s in sources} == {d["status"] for d in account.data_sources}
    imports.finish_import(account, source)
    sources = get(server, "/v1/data_sources", with_processing_status="true")["data_sources"]
    assert all(s["processing_status"]["pending"] == 0 for s in sources)
    with pytest.raises(KeyError):
        imports.start_import(account, "ds_nope", pending=1)
