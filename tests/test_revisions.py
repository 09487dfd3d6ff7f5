"""Disabled and edited records (2026): asked for, emitted as rows, with what was edited.

A disabled invoice, line item, transaction or subscription event is kept by ChartMogul but
left out of its listings unless asked; the tap asks, so they stay rows with ``disabled``.
Edit summaries come only when asked too; the tap asks, and ``changed_at`` says when an
invoice last changed in ChartMogul.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, revisions
from tests.helpers import API_KEY, fake_config, records, run_sync

DISABLED_AT = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
EDITED_AT = datetime(2026, 2, 10, 11, 0, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)


@pytest.fixture
def account() -> FakeAccount:
    """An account with one of each change (the fixture is fresh per test: it is mutated)."""
    account = FakeAccount(customers=40, seed=12)
    invoices = account.invoices
    assert invoices[1]["currency"] == "EUR"  # the edits below change it twice
    revisions.disable(invoices[0], by="finance@example.com", at=DISABLED_AT)
    revisions.edit(invoices[1], {"currency": "USD"}, author="ed@example.com", at=EDITED_AT)
    revisions.edit(invoices[1], {"currency": "GBP"}, author="al@example.com", at=LATER)
    revisions.disable(invoices[2]["line_items"][0], by="ops@example.com", at=LATER)
    revisions.disable(account.subscription_events[0], by="ops@example.com", at=DISABLED_AT)
    return account


@pytest.fixture
def server(account):
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        yield fake


def test_disabled_and_edited_records_are_rows_with_what_changed(server, account, caplog):
    streams = ["invoices", "invoice_line_items", "invoice_transactions", "subscription_events"]
    with caplog.at_level(logging.WARNING):
        messages = run_sync(fake_config(server), streams=streams)
    assert not [r.getMessage() for r in caplog.records if "Ignoring" in r.getMessage()]
    invoices = {r["uuid"]: r for r in records(messages, "invoices")}
    assert set(invoices) == {i["uuid"] for i in account.invoices}

    disabled = invoices[account.invoices[0]["uuid"]]
    assert (disabled["disabled"], disabled["disabled_by"]) == (True, "finance@example.com")
    assert disabled["changed_at"] == "2026-02-03T04:05:06.000Z"
    edited = invoices[account.invoices[1]["uuid"]]
    assert edited["disabled"] is False
    assert edited["currency"] == "GBP"
    assert edited["edit_history_summary"]["values_changed"]["currency"]["original_value"] == "EUR"
    assert edited["edit_history_summary"]["latest_edit_author"] == "al@example.com"
    assert edited["changed_at"] == "2026-03-01T09:30:00.000Z"
    # An item's change is its invoice's change too; an invoice never changed has none.
    assert invoices[account.invoices[2]["uuid"]]["changed_at"] == "2026-03-01T09:30:00.000Z"
    assert invoices[account.invoices[3]["uuid"]]["changed_at"] is None

    items = {r["uuid"]: r for r in records(messages, "invoice_line_items")}
    assert len(items) == sum(len(i["line_items"]) for i in account.invoices)
    assert items[account.invoices[2]["line_items"][0]["uuid"]]["disabled"] is True
    of_disabled = [items[li["uuid"]] for li in account.invoices[0]["line_items"]]
    assert all(row["invoice_disabled"] is True and row["disabled"] is False for row in of_disabled)
    transactions = records(messages, "invoice_transactions")
    assert {r["invoice_disabled"] for r in transactions} == {True, False}

    events = {r["id"]: r for r in records(messages, "subscription_events")}
    assert len(events) == len(account.subscription_events)
    assert events[account.subscription_events[0]["id"]]["disabled"] is True

    for path in ("/v1/invoices", "/v1/subscription_events"):
        sent = [r.query for r in server.requests if r.path == path]
        assert sent, path
        assert all(q["with_disabled"] == q["include_edit_histories"] == "true" for q in sent)
