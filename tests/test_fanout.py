"""Per-parent fan-outs and invoice-derived streams: complete, keyed, and frugal with requests."""

from __future__ import annotations

import logging

from fake_chartmogul import Fault
from tests.helpers import records, run_sync


def count(fake, prefix):
    return sum(1 for r in fake.requests if r.path.startswith(prefix))


def subscription_requests(fake):
    return [r for r in fake.requests if r.path.endswith("/subscriptions")]


def test_subscriptions_of_every_customer_reuse_the_customer_listing(fake, config, small_account):
    messages = run_sync(config, streams=["customers", "customer_subscriptions"])
    rows = records(messages, "customer_subscriptions")
    expected = {
        (customer, sub["uuid"])
        for customer, subs in small_account.customer_subscriptions.items()
        for sub in subs
    }
    assert {(r["customer_uuid"], r["uuid"]) for r in rows} == expected
    assert len(rows) == len(expected)
    # Customers were listed once (3 pages) by the customers stream, not again.
    assert sum(1 for r in fake.requests if r.path == "/v1/customers") == 3
    # One request per customer: the final page's cursor is never followed.
    assert len(subscription_requests(fake)) == len(small_account.customers)
    assert all("cursor" not in r.query for r in subscription_requests(fake))


def test_subscriptions_list_customers_themselves_when_customers_is_not_selected(
    fake, config, small_account
):
    messages = run_sync(config, streams=["customer_subscriptions"])
    assert records(messages, "customers") == []
    total = sum(len(s) for s in small_account.customer_subscriptions.values())
    assert len(records(messages, "customer_subscriptions")) == total
    assert sum(1 for r in fake.requests if r.path == "/v1/customers") == 3


def test_customer_that_vanished_before_fan_out_is_skipped_with_a_warning(
    fake, config, small_account, caplog
):
    victim = next(uuid for uuid, subs in small_account.customer_subscriptions.items() if subs)
    fake.script(
        rf"^/v1/customers/{victim}/subscriptions$",
        [
            Fault(
                status=404,
                body='{"code":404,"message":"Customer not found","param":"customer_uuid"}',
            )
        ],
    )
    with caplog.at_level(logging.WARNING):
        messages = run_sync(config, streams=["customers", "customer_subscriptions"])
    rows = records(messages, "customer_subscriptions")
    assert victim not in {r["customer_uuid"] for r in rows}
    others = sum(len(s) for c, s in small_account.customer_subscriptions.items() if c != victim)
    assert len(rows) == others
    assert any("HTTP 404" in m and victim in m for m in caplog.messages)


def test_plan_group_plans_carry_their_group(fake, config, small_account):
    messages = run_sync(config, streams=["plan_groups", "plan_group_plans"])
    rows = records(messages, "plan_group_plans")
    expected = {
        (g, p["uuid"]) for g, plans in small_account.plan_group_plans.items() for p in plans
    }
    assert {(r["plan_group_uuid"], r["uuid"]) for r in rows} == expected
    assert sum(1 for r in fake.requests if r.path == "/v1/plan_groups") == 1


def test_line_items_and_transactions_cost_no_request(fake, config, small_account):
    pages = -(-len(small_account.invoices) // 200)
    messages = run_sync(config, streams=["invoices", "invoice_line_items", "invoice_transactions"])
    assert count(fake, "/v1/invoices") == pages
    assert len(fake.requests) == pages
    items = records(messages, "invoice_line_items")
    transactions = records(messages, "invoice_transactions")
    expected_items = {
        (i["uuid"], li["uuid"]) for i in small_account.invoices for li in i["line_items"]
    }
    expected_tx = {
        (i["uuid"], tr["uuid"]) for i in small_account.invoices for tr in i["transactions"]
    }
    assert {(r["invoice_uuid"], r["uuid"]) for r in items} == expected_items
    assert {(r["invoice_uuid"], r["uuid"]) for r in transactions} == expected_tx
    assert len(items) == len(expected_items)
    assert len(transactions) == len(expected_tx)
    customers = {i["uuid"]: i["customer_uuid"] for i in small_account.invoices}
    assert all(r["customer_uuid"] == customers[r["invoice_uuid"]] for r in items)


def test_derived_streams_read_invoices_once_even_without_the_invoices_stream(
    fake, config, small_account
):
    pages = -(-len(small_account.invoices) // 200)
    messages = run_sync(config, streams=["invoice_line_items", "invoice_transactions"])
    assert records(messages, "invoices") == []
    assert count(fake, "/v1/invoices") == pages
    assert len(records(messages, "invoice_transactions")) == sum(
        len(i["transactions"]) for i in small_account.invoices
    )


def test_subscription_events_blank_strings_and_numbers_become_null(fake, config, small_account):
    messages = run_sync(config, streams=["subscription_events"])
    rows = {r["id"]: r for r in records(messages, "subscription_events")}
    assert len(rows) == len(small_account.subscription_events)
    blanks = [e for e in small_account.subscription_events if e["quantity"] == ""]
    assert blanks, "the fake should reproduce the blank-value trap"
    for event in blanks:
        row = rows[event["id"]]
        assert row["quantity"] is None
        assert row["currency"] is None
        assert row["amount_in_cents"] is None
        assert row["plan_external_id"] is None
    assert all(r["quantity"] is None or isinstance(r["quantity"], int) for r in rows.values())
