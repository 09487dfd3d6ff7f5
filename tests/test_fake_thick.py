"""Thick accounts of the fake (fake_chartmogul/generate/billing.py, book.py) over real HTTP.

A thick account bills every subscription every period, with what the activities say it costs,
and its creation-ordered lists look like a real account's: a dense bulk-import block at each
data source's connection, then records created as they happen, newest first. The tap's
parallel chains (tap_chartmogul/split.py) trust its cursors: recorded form, keyset paging, a
seed made of a time alone starting below that time, exact legacy ``total_pages``.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import select
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fake_chartmogul import DayRates, FakeAccount, FakeChartMogul
from fake_chartmogul.formats import parse_iso_ns, to_ns, uuid_millis
from fake_chartmogul.generate import plan_cycle
from fake_chartmogul.generate.base import IMPORT_SECONDS
from tests.test_fake_api import KEY, get, walk

ROOT = Path(__file__).resolve().parents[1]
AT = 1_790_000_000  # 2026-09-21T14:13:20Z
NS = 10**9

#: Creation-ordered lists: path, root key, account attribute, id field.
CREATION_ORDERED = [
    ("/v1/invoices", "invoices", "invoices", "uuid"),
    ("/v1/subscription_events", "subscription_events", "subscription_events", "id"),
    ("/v1/contacts", "entries", "contacts", "uuid"),
    ("/v1/customer_notes", "entries", "customer_notes", "uuid"),
    ("/v1/tasks", "entries", "tasks", "task_uuid"),
    ("/v1/opportunities", "entries", "opportunities", "uuid"),
    ("/v1/plans", "plans", "plans", "uuid"),
    ("/v1/plan_groups", "plan_groups", "plan_groups", "uuid"),
]


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    """A thick account of three data sources (read-only)."""
    return FakeAccount(customers=300, seed=11, thick=True, data_sources=3)


@pytest.fixture(scope="module")
def server(account: FakeAccount):
    with FakeChartMogul(account, api_key=KEY) as fake:
        yield fake


def seconds(text: str) -> int:
    return to_ns(text) // NS


def created_ns(account: FakeAccount, attr: str, index: int) -> int:
    """Creation time of the ``index``-th record of a creation-ordered list, as the API has it."""
    records = getattr(account, attr)
    if attr == "invoices":
        return records.created_ns(index)
    record = records[index]
    if "created_at" in record:
        return to_ns(record["created_at"])
    return uuid_millis(record["uuid"]) * 10**6


def decoded(cursor: str) -> tuple[int, str]:
    """A recorded-form cursor: (creation ns, id)."""
    stamp, sep, ident = base64.b64decode(cursor).decode().partition("&")
    assert sep
    return parse_iso_ns(stamp), ident


def seed(ns: int) -> str:
    """A cursor made of a time alone, as the tap's seeds are (split.seed_cursor)."""
    whole, fraction = divmod(ns, NS)
    stamp = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=whole)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    return base64.b64encode(f"{stamp}.{fraction:09d}Z&".encode()).decode()


def subscription_levels(account: FakeAccount) -> dict[str, list[tuple[int, int]]]:
    """Per subscription external id: (time, MRR after) of each of its activities, in order."""
    levels: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for activity in account.activities:
        levels[activity["subscription-external-id"]].append(
            (seconds(activity["date"]), activity["activity-mrr"])
        )
    return levels


def level_at(moves: list[tuple[int, int]], at: int) -> int:
    found = 0
    for when, level in moves:
        if when > at:
            break
        found = level
    return found


# -- billing --------------------------------------------------------------------------------
def test_one_invoice_per_billing_period_priced_as_the_activities_say(account: FakeAccount):
    plans = {p["name"]: p for p in account.plans}
    levels = subscription_levels(account)
    billed: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for invoice in account.invoices:
        for item in invoice["line_items"]:
            if item["type"] == "subscription" and not item["prorated"]:
                start = seconds(item["service_period_start"])
                assert start not in billed[item["subscription_external_id"]], "billed twice"
                billed[item["subscription_external_id"]][start] = item
    units, quantities, checked = Counter(), Counter(), 0
    for subs in account.customer_subscriptions.values():
        for sub in subs:
            months, cycle = plan_cycle(plans[sub["plan"]])
            moves = levels[sub["external_id"]]
            starts = range(seconds(sub["start-date"]), seconds(sub["end-date"]), cycle)
            expected = [at for at in starts if level_at(moves, at) > 0]
            assert sorted(billed[sub["external_id"]]) == expected, sub["external_id"]
            for at in expected:
                item = billed[sub["external_id"]][at]
                assert item["amount_in_cents"] == int(level_at(moves, at) * months)
                assert item["quantity"] == sub["quantity"]
                assert seconds(item["service_period_end"]) == at + cycle
                checked += 1
            units[plans[sub["plan"]]["interval_unit"]] += 1
            quantities[sub["quantity"] > 1] += 1
    assert checked == sum(len(v) for v in billed.values())  # nothing billed beyond that
    assert units["month"]
    assert units["year"]
    assert quantities[True]
    assert quantities[False]
    lapsed = [s for s in levels.values() if any(level == 0 for _, level in s[:-1])]
    assert lapsed  # churned and reactivated: the lapse was not billed (checked above)


def test_upgrades_are_billed_pro_rata_at_once(account: FakeAccount):
    levels = subscription_levels(account)
    cycles = {p["uuid"]: plan_cycle(p) for p in account.plans}
    prorated = [
        item
        for invoice in account.invoices
        for item in invoice["line_items"]
        if item.get("prorated")
    ]
    assert prorated
    for item in prorated:
        assert item["proration_type"] == "differential"
        moves = levels[item["subscription_external_id"]]
        at, end = seconds(item["service_period_start"]), seconds(item["service_period_end"])
        before = level_at(moves, at - 1)
        after = level_at(moves, at)
        assert after > before > 0
        months, cycle = cycles[item["plan_uuid"]]
        assert item["amount_in_cents"] == int((after - before) * months * (end - at) // cycle)
    upgrades = sum(
        1
        for moves in levels.values()
        for (_, before), (_, after) in itertools.pairwise(moves)
        if after > before > 0
    )
    assert upgrades == len(prorated)


def test_totals_match_their_items_and_payments_mix_as_in_real_accounts(account: FakeAccount):
    outcomes = Counter()
    items = Counter()
    for invoice in account.invoices:
        total = sum(
            li["amount_in_cents"] + li["tax_amount_in_cents"] for li in invoice["line_items"]
        )
        assert total >= 0
        for li in invoice["line_items"]:
            assert isinstance(li["amount_in_cents"], int)
            items["discounted"] += bool(li["discount_amount_in_cents"])
            items["taxed"] += bool(li["tax_amount_in_cents"])
            items[li["type"]] += 1
        shape = []
        dates = [t["date"] for t in invoice["transactions"]]
        assert dates == sorted(dates)
        assert all(d >= invoice["date"] for d in dates)
        for tr in invoice["transactions"]:
            if tr["type"] == "payment":
                assert tr["amount_in_cents"] in (total, None)
                shape.append(tr["result"])
            else:
                assert tr["result"] == "successful"
                assert tr["amount_in_cents"] in (total, total // 2)
                shape.append("refund" if tr["amount_in_cents"] == total else "half refund")
        outcomes[tuple(shape)] += 1
        assert shape.count("successful") <= 1
        if "refund" in shape or "half refund" in shape:
            assert shape[0] == "successful"
    assert outcomes[("successful",)] > 0.75 * sum(outcomes.values())
    for shape in (
        ("failed", "successful"),
        ("failed", "failed", "successful"),
        ("successful", "refund"),
        ("successful", "half refund"),
        ("failed",),
        (),
    ):
        assert outcomes[shape], shape
    assert items["discounted"]
    assert items["taxed"]
    assert items["one_time"]
    assert items["subscription"] > items["one_time"]


def test_past_due_customers_last_invoice_failed(account: FakeAccount):
    past_due = {c["uuid"] for c in account.customers if c["status"] == "Past Due"}
    assert past_due
    latest: dict[str, dict[str, Any]] = {}
    for invoice in account.invoices:  # newest created first: the first seen is the latest
        latest.setdefault(invoice["customer_uuid"], invoice)
    for uuid in past_due:
        if uuid in latest and not any(li.get("prorated") for li in latest[uuid]["line_items"]):
            assert [t["result"] for t in latest[uuid]["transactions"]][-1:] == ["failed"]


def test_thick_is_the_thin_account_with_invoices_and_creation_times_of_its_own():
    thin = FakeAccount(customers=200, seed=4, data_sources=2)
    thick = FakeAccount(customers=200, seed=4, thick=True, data_sources=2)
    for name in ("customers", "customer_subscriptions", "activities"):
        assert getattr(thin, name) == getattr(thick, name), name
    prices = [{p["name"]: a.plan_prices[p["uuid"]] for p in a.plans} for a in (thin, thick)]
    assert prices[0] == prices[1]  # the same plans, created (uuids) at import times
    assert thin.metrics.point(thin.today) == thick.metrics.point(thick.today)
    assert len(thick.invoices) > 8 * len(thin.invoices)
    again = FakeAccount(customers=200, seed=4, thick=True, data_sources=2)
    assert thick.invoices == list(again.invoices)  # drawn afresh, the same records


# -- creation times ---------------------------------------------------------------------------
def source_of(account: FakeAccount, attr: str, record: dict[str, Any]) -> str:
    """The data source a record was imported with (plan groups: the first source)."""
    if attr == "plan_groups":
        return account.data_sources[0]["uuid"]
    if "data_source_uuid" in record:
        return record["data_source_uuid"]
    customer = account.find_customer(record["customer_uuid"])
    assert customer is not None
    return customer["data_source_uuid"]


@pytest.mark.parametrize("attr", [case[2] for case in CREATION_ORDERED])
def test_history_before_a_connection_was_imported_in_minutes_then_created_as_it_happened(
    account: FakeAccount, attr: str
):
    connected = {d["uuid"]: to_ns(d["created_at"]) for d in account.data_sources}
    records = getattr(account, attr)
    blocks = Counter()
    for index, record in enumerate(records):
        created = created_ns(account, attr, index)
        connect = connected[source_of(account, attr, record)]
        assert created >= connect - NS, (attr, index)  # nothing before its data source (ms)
        blocks[created < connect + (IMPORT_SECONDS + 1) * NS] += 1
    assert blocks[True], attr  # a dense import block at the bottom...
    if attr not in ("plans", "plan_groups"):
        assert blocks[False], attr  # ... then what happened after the connection


def test_invoices_are_created_when_issued_unless_imported(account: FakeAccount):
    connected = {d["uuid"]: to_ns(d["created_at"]) // NS for d in account.data_sources}
    imported = Counter()
    for index, invoice in enumerate(account.invoices):
        created = account.invoices.created_ns(index) // NS
        issued, connect = seconds(invoice["date"]), connected[invoice["data_source_uuid"]]
        if issued < connect:
            assert connect <= created <= connect + IMPORT_SECONDS
            imported[invoice["data_source_uuid"]] += 1
        else:
            assert issued <= created <= issued + 3600
    assert len(imported) == len(account.data_sources)
    assert sum(imported.values()) > len(account.invoices) // 5  # a large block, in minutes
    times = [account.invoices.created_ns(k) for k in range(len(account.invoices))]
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == len(times)  # no two invoices created in the same µs


# -- days -------------------------------------------------------------------------------------
def test_a_day_issues_its_invoices_at_the_top_of_the_creation_order():
    account = FakeAccount(customers=300, seed=12, thick=True)
    plans = {p["name"]: p for p in account.plans}
    before = {i["uuid"] for i in account.invoices}
    with FakeChartMogul(account, api_key=KEY) as fake:
        fake.api.warm()
        rates = DayRates(new=0.02, plan_change=0.0, swap=0.0, churn=0.0, renewal=0.03)
        changes = account.advance_day(AT, rates=rates)
        assert changes.new
        assert changes.renewal
        body = get(fake, "/v1/invoices", {"per_page": 200, "validation_type": "all"}).json
    top = body["invoices"][: changes.invoices]
    assert changes.invoices == len(account.invoices) - len(before)
    assert not {i["uuid"] for i in top} & before
    assert {i["uuid"] for i in body["invoices"][changes.invoices :]} <= before
    assert [uuid_millis(i["uuid"]) // 1000 for i in top] == [AT] * len(top)
    by_sub = defaultdict(list)
    for invoice in top:
        (item,) = invoice["line_items"][:1]
        by_sub[item["subscription_external_id"]].append(seconds(item["service_period_start"]))
    for uuid in changes.renewal + changes.new:
        for sub in account.customer_subscriptions[uuid]:
            starts = sorted(by_sub.pop(sub["external_id"], []))
            if uuid in changes.new:
                assert starts == [AT]
            elif starts:  # the renewed one of the customer's subscriptions
                cycle = plan_cycle(plans[sub["plan"]])[1]
                assert starts[-1] + cycle == seconds(sub["end-date"])
                assert starts[0] <= AT < starts[-1] + cycle
    assert not by_sub  # nothing else was invoiced


# -- cursors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CREATION_ORDERED, ids=[c[2] for c in CREATION_ORDERED])
def test_walking_from_the_top_reads_the_records_newest_created_first(
    server: FakeChartMogul, account: FakeAccount, case: tuple[str, str, str, str]
):
    path, root, attr, ident = case
    records = getattr(account, attr)
    expected = [(-created_ns(account, attr, k), r[ident]) for k, r in enumerate(records)]
    tie = (lambda key: (key[0], -key[1])) if ident == "id" else (lambda key: key)
    assert expected == sorted(expected, key=tie)  # creation desc, ties by id
    per_page = max(7, len(records) // 9)
    extra = {"validation_type": "all"} if attr == "invoices" else {}
    bodies = walk(server, path, root, per_page, **extra)
    served = [r[ident] for body in bodies for r in body[root]]
    assert served == [r[ident] for r in records]
    for body in bodies[:-1]:  # each cursor is the recorded form naming the page's last record
        last = body[root][-1]
        k = served.index(last[ident])
        assert decoded(body["cursor"]) == (created_ns(account, attr, k), str(last[ident]))


@pytest.mark.parametrize("case", CREATION_ORDERED, ids=[c[2] for c in CREATION_ORDERED])
def test_a_seed_made_of_any_time_starts_below_it(
    server: FakeChartMogul, account: FakeAccount, case: tuple[str, str, str, str]
):
    path, root, attr, ident = case
    ids = [r[ident] for r in getattr(account, attr)]
    times = [created_ns(account, attr, k) for k in range(len(ids))]
    rng = random.Random(attr)  # noqa: S311 - reproducible seeds
    seeds = {times[0] + 1, times[-1], times[-1] - 1, times[len(times) // 2]}
    seeds |= {rng.randrange(times[-1] - NS, times[0] + NS) for _ in range(6)}
    seeds |= {times[-1] + rng.randrange(IMPORT_SECONDS * NS) for _ in range(3)}
    extra = {"validation_type": "all"} if attr == "invoices" else {}
    for ns in sorted(seeds):
        below = [i for i, t in zip(ids, times, strict=True) if t < ns]
        body = get(server, path, {"per_page": 25, "cursor": seed(ns), **extra}).json
        assert [r[ident] for r in body[root]] == below[:25], ns
        assert body["has_more"] is (len(below) > 25)
        assert "total_pages" not in body  # legacy keys only on first pages
        if body["has_more"]:
            assert decoded(body["cursor"])[0] < ns


@pytest.mark.parametrize("cursor", ["MjAyNC0wMS0wMVQwMDowMDowMFomYQ==", "JiY=", "bm9wZQ=="])
def test_malformed_creation_cursors_are_400(server: FakeChartMogul, cursor: str):
    # a time without ns digits, "&&", "nope"
    reply = get(server, "/v1/invoices", {"cursor": cursor, "validation_type": "all"})
    assert reply.status == 400
    assert reply.json == {"code": 400, "message": "Invalid cursor", "param": "cursor"}


def test_legacy_total_pages_are_exact_for_the_filters_sent(
    server: FakeChartMogul, account: FakeAccount
):
    def pages(path: str, count: int, **params: Any) -> None:
        for per_page in (7, 200):
            body = get(server, path, {"per_page": per_page, **params}).json
            total = body["meta"]["total_pages"] if "meta" in body else body["total_pages"]
            assert total == -(-count // per_page), (path, params, per_page)

    invoices = list(account.invoices)
    for source in [d["uuid"] for d in account.data_sources]:
        mine = sum(1 for i in invoices if i["data_source_uuid"] == source)
        assert 0 < mine < len(invoices)
        for kind in ("all", "valid"):
            pages("/v1/invoices", mine, data_source_uuid=source, validation_type=kind)
        pages("/v1/invoices", 0, data_source_uuid=source, validation_type="invalid")
        events = sum(1 for e in account.subscription_events if e["data_source_uuid"] == source)
        pages("/v1/subscription_events", events, data_source_uuid=source)
        members = sum(1 for c in account.customers if source in c["data_source_uuids"])
        pages("/v1/customers", members, data_source_uuid=source)
    pages("/v1/invoices", len(invoices), validation_type="all")
    pages("/v1/invoices", 0, data_source_uuid="ds_nope", validation_type="all")
    pages("/v1/plans", len(account.plans))
    pages("/v1/plan_groups", len(account.plan_groups))
    merged = [c for c in account.customers if len(set(c["data_source_uuids"])) > 1]
    assert merged  # a customer of two sources counts in both


def test_filtered_walks_partition_the_lists(server: FakeChartMogul, account: FakeAccount):
    for path, root, attr, ident in CREATION_ORDERED[:2]:
        extra = {"validation_type": "all"} if attr == "invoices" else {}
        parts = []
        for source in account.data_sources:
            bodies = walk(server, path, root, 60, data_source_uuid=source["uuid"], **extra)
            parts.append([r[ident] for body in bodies for r in body[root]])
            assert all(r["data_source_uuid"] == source["uuid"] for b in bodies for r in b[root])
        every = [r[ident] for r in getattr(account, attr)]
        assert sorted(x for part in parts for x in part) == sorted(every)
        for part in parts:  # each part keeps the list's order
            kept = set(part)
            assert part == [x for x in every if x in kept]


def test_one_data_source_account():
    account = FakeAccount(customers=120, seed=13, thick=True, data_sources=1)
    (source,) = account.data_sources
    assert {i["data_source_uuid"] for i in account.invoices} == {source["uuid"]}
    assert all(c["data_source_uuids"] == [source["uuid"]] * len(c["data_source_uuids"])
               for c in account.customers)  # fmt: skip
    with FakeChartMogul(account, api_key=KEY) as fake:
        params = {"per_page": 200, "validation_type": "all", "data_source_uuid": source["uuid"]}
        body = get(fake, "/v1/invoices", params).json
        assert body["total_pages"] == -(-len(account.invoices) // 200)
        assert [i["uuid"] for i in body["invoices"]] == [i["uuid"] for i in account.invoices[:200]]
    with pytest.raises(ValueError, match="data_sources"):
        FakeAccount(customers=1, thick=True, data_sources=4)


@pytest.mark.slow
def test_cli_serves_a_thick_account(tmp_path: Path):
    ready = tmp_path / "ready"
    command = [
        sys.executable, "-m", "fake_chartmogul", "--port", "0", "--customers", "150",
        "--api-key", KEY, "--ready-file", str(ready), "--thick", "--data-sources", "1",
    ]  # fmt: skip
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            readable, _, _ = select.select([proc.stdout], [], [], 60)
            assert readable, "no listening line"
            assert proc.stdout.readline()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0
    expected = FakeAccount(customers=150, seed=42, thick=True, data_sources=1)
    assert f"150 customers, thick, 1 data sources, {len(expected.invoices)} invoices" in err
    assert json.dumps(expected.invoices[0])  # the CLI's account is the library's
