"""The dbt models of transform/ on the warehouses users load: DuckDB and PostgreSQL.

Real processes throughout: the tap syncs the fake ChartMogul over HTTP, target-jsonl and
``scripts/load_duckdb.py`` (or target-postgres) load it, and ``.tools/dbt``'s ``dbt build``
runs every model, snapshot and test. Expected figures come from the fake's own records
(customers, subscriptions, activities), never from the models. dbt writes only to temporary
folders (DBT_TARGET_PATH, DBT_LOG_PATH); transform/ is read, not written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from playwright.sync_api import sync_playwright

from fake_chartmogul import DayRates, FakeAccount, FakeChartMogul
from fake_chartmogul.formats import to_ns
from tests.checkout import make_checkout
from tests.helpers import API_KEY, fake_config
from tests.postgres import clean_env as pg_env
from tests.test_e2e import TAP, TARGET, clean_env
from tests.test_postgres import TARGET as TARGET_POSTGRES
from tests.test_postgres import load as load_postgres
from tests.test_postgres import postgres  # noqa: F401 - the session's PostgreSQL server

ROOT = Path(__file__).resolve().parents[1]
DBT = ROOT / ".tools" / "dbt" / "bin" / "dbt"
TRANSFORM = ROOT / "transform"
LOADER = ROOT / "scripts" / "load_duckdb.py"
REPORT = ROOT / "scripts" / "report.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The tests whose failure means "the activities do not add up to ChartMogul's metrics".
RECONCILIATION = "chartmogul_reconciles"
BRIDGE_TEST = "bridge_matches_chartmogul_monthly_metrics"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def need(tool: Path, install: str) -> str:
    """A tool bootstrap installs; its absence fails (never skips) with what to run."""
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `bash scripts/bootstrap.sh {install}`")
    return str(tool)


@dataclass
class DbtRun:
    """One dbt invocation: its exit code, output and each node's status by name."""

    returncode: int
    output: str
    statuses: dict[str, str]
    relations: dict[str, str]
    """Where ``--store-failures`` put each test's failing rows."""

    def failed(self) -> set[str]:
        return {name for name, status in self.statuses.items() if status in ("fail", "error")}


def run_dbt(
    work: Path, *args: str, env: dict[str, str], command: str = "", cwd: Path = ROOT
) -> DbtRun:
    """``dbt ARGS`` on transform/ (or a shell ``command``), its files in ``work`` only."""
    target = work / "target"  # kept between runs of a test: dbt parses only what changed
    (target / "run_results.json").unlink(missing_ok=True)
    argv = ["bash", "-c", command] if command else [need(DBT, "dbt"), *args]
    if not command:
        argv += ["--project-dir", str(TRANSFORM)]
    result = subprocess.run(
        argv,
        cwd=cwd,
        env={
            **env,
            "DBT_PROFILES_DIR": str(TRANSFORM),
            "DBT_TARGET_PATH": str(target),
            "DBT_LOG_PATH": str(work / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    statuses: dict[str, str] = {}
    relations: dict[str, str] = {}
    results = target / "run_results.json"
    if results.exists():
        for node in json.loads(results.read_text())["results"]:
            name = node["unique_id"].split(".")[2]
            statuses[name] = node["status"]
            if node.get("relation_name"):
                relations[name] = node["relation_name"]
    return DbtRun(result.returncode, result.stdout + result.stderr, statuses, relations)


def duckdb_env(database: Path, **extra: str) -> dict[str, str]:
    return clean_env(CHARTMOGUL_DUCKDB=str(database), DBT_TARGET="duckdb", **extra)


def sync_to_duckdb(server: FakeChartMogul, work: Path, database: Path) -> None:
    """tap | target-jsonl into ``work``, then the quick start's loader into ``database``."""
    work.mkdir(parents=True)
    config = work / "tap.json"
    config.write_text(json.dumps(fake_config(server, metrics_interval="month")))
    schemas = work / "schemas.singer"
    with schemas.open("wb") as out:
        subprocess.run(
            [TAP, "--config", str(config), "--test=schema"],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=clean_env(),
            timeout=120,
            check=True,
        )
    (work / "target.json").write_text(
        json.dumps({"destination_path": str(work / "out"), "do_timestamp_file": False})
    )
    tap = subprocess.Popen(
        [TAP, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    with tap.stdout:  # closed here too, once the target has it
        target = subprocess.run(
            [need(Path(TARGET), "target"), "--config", str(work / "target.json")],
            stdin=tap.stdout,
            capture_output=True,
            timeout=300,
            check=False,
        )
    assert tap.wait(timeout=60) == 0
    assert target.returncode == 0, target.stderr.decode()[-3000:]
    loaded = subprocess.run(
        [
            *(sys.executable, str(LOADER), "--schemas", str(schemas)),
            *("--jsonl-dir", str(work / "out"), "--database", str(database)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr


# -- the fake's truth, computed here from its records ------------------------------------------
def day_of(activity: dict) -> date:
    return datetime.fromtimestamp(to_ns(activity["date"]) // 10**9, tz=UTC).date()


def truth(account: FakeAccount) -> dict[str, Any]:
    """What the marts must say, from the fake's customers, subscriptions and activities."""
    per_plan: Counter[str] = Counter()
    for subs in account.customer_subscriptions.values():
        for sub in subs:
            per_plan[sub["plan"]] += sub["mrr"]
    monthly: dict[tuple[date, str], int] = defaultdict(int)
    customer_months: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for activity in account.activities:
        month = day_of(activity).replace(day=1)
        monthly[month, activity["type"]] += activity["activity-mrr-movement"]
        customer_months[activity["customer-uuid"]][month] += activity["activity-mrr-movement"]
    cohorts: dict[date, set[str]] = defaultdict(set)
    for customer, months in customer_months.items():
        level = 0
        for month in sorted(months):
            level += months[month]
            if level > 0:
                cohorts[month].add(customer)
                break
    return {
        "mrr": sum(c["mrr"] for c in account.customers),
        "customers": sum(1 for c in account.customers if c["mrr"] > 0),
        "customer_mrr": {c["uuid"]: c["mrr"] for c in account.customers},
        "plan_mrr": {plan: mrr for plan, mrr in per_plan.items() if mrr},
        "monthly": dict(monthly),
        "cohorts": {month: len(members) for month, members in cohorts.items()},
        "activities": len(account.activities),
    }


def rows(database: Path, sql: str, *params: Any) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


@dataclass
class Warehouse:
    """A DuckDB file synced from the fake and built by dbt, plus what the fake held then."""

    account: FakeAccount
    server: FakeChartMogul
    database: Path
    work: Path
    build: DbtRun
    truth: dict[str, Any]

    def copy(self, tmp_path: Path) -> Path:
        copy = tmp_path / "copy.duckdb"
        shutil.copy(self.database, copy)
        return copy


def documented_build() -> str:
    """The by-hand ``dbt build`` command of docs/models.md (its first code block)."""
    text = (ROOT / "docs" / "models.md").read_text()
    block = text.split("## Running it", 1)[1].split("```", 2)[1]
    return block.replace("\\\n", " ").strip()


def repository_files(folder: Path) -> str:
    """What git sees in ``folder``: new, changed and ignored files alike."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """200 customers and 40 simulated days up to now, synced, loaded and built once.

    The build is the command docs/models.md gives, run from a folder laid out like the
    repository (its transform/ and .tools/, the database in output/).
    """
    need(DBT, "dbt")
    untouched = repository_files(TRANSFORM)
    work = tmp_path_factory.mktemp("dbt")
    checkout = work / "checkout"
    (checkout / "output").mkdir(parents=True)
    for name in ("transform", ".tools"):
        (checkout / name).symlink_to(ROOT / name)
    account = FakeAccount(customers=200, seed=61)
    account.timeline.advance_days(40, rates=DayRates.total(0.02))
    database = checkout / "output" / "chartmogul.duckdb"
    with FakeChartMogul(account, api_key=API_KEY) as server:
        sync_to_duckdb(server, work / "sync-1", database)
        build = run_dbt(work, command=documented_build(), cwd=checkout, env=clean_env())
        yield Warehouse(account, server, database, work, build, truth(account))
    assert repository_files(TRANSFORM) == untouched, "dbt wrote into the repository"


# -- DuckDB ------------------------------------------------------------------------------------
def test_dbt_build_passes_every_model_snapshot_and_test_on_duckdb(warehouse):
    build = warehouse.build
    assert build.returncode == 0, build.output[-5000:]
    statuses = Counter(build.statuses.values())
    assert set(statuses) == {"success", "pass"}, build.failed()
    assert statuses["pass"] > 150  # every model's tests ran
    names = set(build.statuses)
    assert {"mrr_bridge_monthly", "customers_snapshot", "customer_subscriptions_snapshot"} <= names
    reconciling = {n for n in names if n.startswith(RECONCILIATION)}
    assert len(reconciling) == 8  # 7 in mrr_reconciliation, 1 in customers_current
    assert BRIDGE_TEST in names


def test_marts_hold_what_the_fake_holds(warehouse):
    expected, database = warehouse.truth, warehouse.database
    (last,) = rows(
        database,
        "SELECT closing_mrr, closing_customers FROM analytics.mrr_bridge_monthly "
        'ORDER BY "month" DESC LIMIT 1',
    )
    assert last == (expected["mrr"], expected["customers"])
    bridge = rows(
        database,
        'SELECT "month", mrr_new_business, mrr_expansion, mrr_contraction, mrr_churn, '
        "mrr_reactivation FROM analytics.mrr_bridge_monthly",
    )
    types = ("new_biz", "expansion", "contraction", "churn", "reactivation")
    for month, *movements in bridge:
        assert movements == [expected["monthly"].get((month, kind), 0) for kind in types], month
    assert {m for m, _ in expected["monthly"]} <= {row[0] for row in bridge}
    # MRR per plan from the activities = the subscriptions' MRR per plan (another record)
    plans = rows(
        database,
        "SELECT plan_name, mrr FROM analytics.plan_mrr_monthly WHERE mrr > 0 AND "
        '"month" = (SELECT max("month") FROM analytics.plan_mrr_monthly)',
    )
    assert dict(plans) == expected["plan_mrr"]
    customers = dict(rows(database, "SELECT customer_uuid, mrr FROM analytics.customers_current"))
    assert customers == expected["customer_mrr"]
    cohorts = dict(
        rows(
            database,
            "SELECT cohort_month, cohort_customers FROM analytics.cohort_retention_monthly "
            "WHERE months_since_cohort = 0",
        )
    )
    assert cohorts == expected["cohorts"]
    # every monthly metrics row of the sync was compared, and they all agreed
    compared = rows(
        database,
        "SELECT count(*), count(*) FILTER (WHERE mrr = mrr_from_activities "
        "AND customers = customers_from_activities) FROM analytics.mrr_reconciliation",
    )
    assert compared == [(13, 13)]


def test_staging_keeps_the_latest_load_of_each_key_and_drops_deleted_rows(warehouse, tmp_path):
    """A target that appends (no primary key) keeps every copy: the newest one wins."""
    database = warehouse.copy(tmp_path)
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE keyless AS SELECT * FROM main.customers")
        con.execute("DROP TABLE main.customers")
        con.execute("ALTER TABLE keyless RENAME TO customers")
        con.execute("ALTER TABLE main.customers ADD COLUMN _sdc_deleted_at TIMESTAMPTZ")
        (newer, gone) = con.execute(
            "SELECT uuid FROM main.customers WHERE mrr > 0 ORDER BY uuid LIMIT 2"
        ).fetchall()
        con.execute(
            "INSERT INTO main.customers SELECT * REPLACE (mrr + 1 AS mrr, "
            "_sdc_batched_at + INTERVAL 1 HOUR AS _sdc_batched_at) FROM main.customers "
            "WHERE uuid = ?",
            [newer[0]],
        )
        con.execute("UPDATE main.customers SET _sdc_deleted_at = now() WHERE uuid = ?", [gone[0]])
    run = run_dbt(
        tmp_path, "build", "--select", "stg_chartmogul__customers", "--indirect-selection",
        "cautious", env=duckdb_env(database),
    )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    staged = dict(rows(database, "SELECT uuid, mrr FROM staging.stg_chartmogul__customers"))
    assert staged[newer[0]] == warehouse.truth["customer_mrr"][newer[0]] + 1
    assert gone[0] not in staged
    assert len(staged) == len(warehouse.truth["customer_mrr"]) - 1


def latest_contraction(database: Path) -> tuple[str, str, date]:
    """A customer's last activity, a contraction inside the metrics window: safe to drop."""
    ((uuid, customer, day),) = rows(
        database,
        """
        SELECT uuid, customer_uuid, cast(timezone('UTC', "date") AS date)
        FROM main.activities AS a
        WHERE type = 'contraction'
          AND "date" = (
              SELECT max("date") FROM main.activities WHERE customer_uuid = a.customer_uuid
          )
          AND "date" >= (SELECT min("date") FROM main.metrics_mrr)
        ORDER BY "date" DESC, uuid
        LIMIT 1
        """,
    )
    return uuid, customer, day


def test_reconciliation_fails_where_an_activity_is_dropped_or_a_metric_altered(warehouse, tmp_path):
    """Each tampering fails exactly the tests of what it touched, in the period it touched."""
    database = warehouse.copy(tmp_path)
    uuid, owner, day = latest_contraction(database)
    with duckdb.connect(str(database)) as con:
        con.execute("DELETE FROM main.activities WHERE uuid = ?", [uuid])
        (altered,) = con.execute(
            "UPDATE main.metrics_mrr SET mrr_expansion = mrr_expansion + 1 "
            "WHERE segment = 'all' AND \"interval\" = 'month' AND "
            '"date" = (SELECT min("date") FROM main.metrics_mrr) RETURNING "date"'
        ).fetchone()
    assert altered.replace(day=1) != day.replace(day=1)  # two periods, told apart below
    selection = ["--select", "stg_chartmogul__activities+ stg_chartmogul__metrics_mrr+"]
    selection += ["--exclude", "resource_type:snapshot"]
    run = run_dbt(tmp_path, "build", *selection, "--store-failures", env=duckdb_env(database))
    assert run.returncode != 0
    mrr = f"{RECONCILIATION}_mrr_reconciliation_mrr_from_activities__mrr"
    contraction = (
        f"{RECONCILIATION}_mrr_reconciliation_mrr_contraction_from_activities__mrr_contraction"
    )
    expansion = f"{RECONCILIATION}_mrr_reconciliation_mrr_expansion_from_activities__mrr_expansion"
    customer = f"{RECONCILIATION}_customers_current_mrr_from_activities__mrr"
    assert run.failed() == {mrr, contraction, expansion, customer, BRIDGE_TEST}, run.output[-3000:]

    def failing(test: str, column: str = '"date"') -> list:
        relation = run.relations[test]  # the table dbt stored the test's failing rows in
        return sorted(r[0] for r in rows(database, f"SELECT {column} FROM {relation}"))  # noqa: S608

    assert failing(expansion) == [altered]  # the altered metric's month, and only it
    (month_end,) = failing(contraction)  # the dropped activity's month, and only it
    assert month_end.replace(day=1) == day.replace(day=1)
    assert failing(mrr)[0] == month_end  # MRR is off from that month on
    assert failing(customer, "customer_uuid") == [owner]
    # A tolerance of one cent absorbs the altered cent, not the dropped activity.
    tolerant = run_dbt(
        tmp_path, "test", "--select", "mrr_reconciliation", "--vars",
        "{reconciliation_tolerance_cents: 1}", env=duckdb_env(database),
    )  # fmt: skip
    assert tolerant.failed() == {mrr, contraction}, tolerant.output[-3000:]


def test_every_model_snapshot_and_column_is_described(warehouse):
    """Each model and snapshot, and each column it really has, carries a description."""
    manifest = json.loads((warehouse.work / "target" / "manifest.json").read_text())
    nodes = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot") and node["package_name"] == "chartmogul"
    ]
    assert len(nodes) == 26 + 3 + 6 + 2  # staging, intermediate, marts, snapshots
    with duckdb.connect(str(warehouse.database), read_only=True) as con:
        for node in nodes:
            assert node["description"].strip(), node["name"]
            built = {
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ?",
                    [node["schema"], node["alias"]],
                ).fetchall()
            }
            assert built, node["name"]
            documented = {name: c["description"] for name, c in node["columns"].items()}
            snapshot_only = {"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"}
            if node["resource_type"] == "snapshot":  # its other columns are its model's
                source = next(
                    n
                    for n in nodes
                    if n["name"] == node["name"].replace("_snapshot", "")
                    or n["name"] == "stg_chartmogul__" + node["name"].removesuffix("_snapshot")
                )
                documented |= {n: c["description"] for n, c in source["columns"].items()}
                assert snapshot_only <= set(node["columns"]), node["name"]
            assert set(documented) >= built, (node["name"], built - set(documented))
            assert not set(node["columns"]) - built, (node["name"], "documents columns it lacks")
            empty = [name for name, text in documented.items() if not text.strip()]
            assert not empty, (node["name"], empty)


def test_snapshots_keep_both_versions_of_a_plan_change(warehouse, tmp_path):
    """Sync, load, snapshot; a day with a plan change; sync, load, snapshot again."""
    database = warehouse.copy(tmp_path)
    before = {
        uuid: (plan, quantity, mrr)
        for uuid, plan, quantity, mrr in rows(
            database, "SELECT uuid, plan, quantity, mrr FROM main.customer_subscriptions"
        )
    }
    changes = warehouse.account.advance_day(rates=DayRates.only("plan_change", 0.02))
    assert changes.plan_change
    customer = changes.plan_change[0]
    (activity,) = [a for a in changes.activities if a["customer-uuid"] == customer]
    (sub,) = [
        s
        for s in warehouse.account.customer_subscriptions[customer]
        if s["external_id"] == activity["subscription-external-id"]
    ]
    sync_to_duckdb(warehouse.server, tmp_path / "sync-2", database)
    second = run_dbt(tmp_path, "snapshot", env=duckdb_env(database))
    assert second.returncode == 0, second.output[-5000:]

    versions = rows(
        database,
        "SELECT plan, quantity, mrr, dbt_valid_from, dbt_valid_to "
        "FROM snapshots.customer_subscriptions_snapshot WHERE uuid = ? ORDER BY dbt_valid_from",
        sub["uuid"],
    )
    assert len(versions) == 2
    (old_plan, old_quantity, old_mrr, old_from, old_to), (plan, quantity, mrr, new_from, new_to) = (
        versions
    )
    assert (old_plan, old_quantity, old_mrr) == before[sub["uuid"]]
    assert (plan, quantity, mrr) == (sub["plan"], sub["quantity"], sub["mrr"])
    assert old_from < old_to == new_from
    assert new_to is None
    # "what was the plan at a given time" has one answer on each side of the change
    asked = (
        "SELECT plan FROM snapshots.customer_subscriptions_snapshot WHERE uuid = ? AND "
        "dbt_valid_from <= ? AND (dbt_valid_to IS NULL OR dbt_valid_to > ?)"
    )
    assert rows(database, asked, sub["uuid"], old_from, old_from) == [(old_plan,)]
    assert rows(database, asked, sub["uuid"], new_from, new_from) == [(plan,)]
    customers = rows(
        database,
        "SELECT mrr, dbt_valid_to IS NULL FROM snapshots.customers_snapshot WHERE uuid = ? "
        "ORDER BY dbt_valid_from",
        customer,
    )
    assert [current for _, current in customers] == [False, True]
    assert customers[1][0] == customers[0][0] + activity["activity-mrr-movement"]
    # a customer nothing happened to keeps one version
    (untouched,) = rows(
        database,
        "SELECT count(*) FROM snapshots.customers_snapshot WHERE uuid = ?",
        next(
            c["uuid"] for c in warehouse.account.customers if c["uuid"] not in changes.customers()
        ),
    )
    assert untouched == (1,)


# -- the HTML report ---------------------------------------------------------------------------
def artifacts_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TAP_CHARTMOGUL_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_html_report_draws_every_chart_in_chromium(warehouse, tmp_path):
    """The page opened by headless Chromium from a file: four charts drawn, no error, offline."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/bootstrap.sh chromium`")

    page_file = tmp_path / "report.html"
    made = subprocess.run(
        [sys.executable, str(REPORT), str(warehouse.database), "--html", str(page_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    months = len(rows(warehouse.database, "SELECT 1 FROM analytics.mrr_bridge_monthly"))
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri(), wait_until="load")
            page.wait_for_function(
                "document.querySelectorAll('section.chart .main-svg').length >= 4"
            )
            counted = page.evaluate(
                """() => [...document.querySelectorAll('section.chart')].map(s => ({
                    name: s.dataset.chart,
                    svgs: s.querySelectorAll('svg.main-svg').length,
                    bars: s.querySelectorAll('g.trace.bars g.point path').length,
                    lines: s.querySelectorAll('g.trace.scatter path.js-line').length,
                    markers: s.querySelectorAll('g.trace.scatter g.points path.point').length,
                    heatmap: s.querySelectorAll('g.hm image').length,
                }))"""
            )
            shot = artifacts_dir(tmp_path) / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the HTML report: {shot}")
        finally:
            browser.close()
    by_name = {chart["name"]: chart for chart in counted}
    assert list(by_name) == ["bridge", "mrr", "retention", "net-retention"]
    assert all(chart["svgs"] >= 1 for chart in counted)
    assert by_name["bridge"]["bars"] >= months  # five movements a month, zeros not drawn
    assert by_name["bridge"]["lines"] == 1
    assert by_name["bridge"]["markers"] == months
    assert by_name["mrr"]["lines"] == 2
    assert by_name["mrr"]["markers"] == 2 * months
    assert by_name["retention"]["heatmap"] == 1
    assert by_name["net-retention"]["heatmap"] == 1
    assert not problems, problems
    assert all(url.startswith(("file:", "data:", "blob:")) for url in requests), requests


# -- PostgreSQL --------------------------------------------------------------------------------
def test_dbt_build_on_postgres_after_target_postgres(request, tmp_path):
    """target-postgres loads, dbt builds every model, snapshot and test (jsonb, arrays...)."""
    need(DBT, "dbt")
    need(TARGET_POSTGRES, "postgres")
    server = request.getfixturevalue("postgres")
    database = server.create_database("dbt_models")
    account = FakeAccount(customers=150, seed=62)
    account.timeline.advance_days(20, rates=DayRates.total(0.02))
    target = server.target_config(database)  # schema melty: target-postgres' default
    env = pg_env(
        PGHOST="127.0.0.1", PGPORT=str(server.port), PGUSER="postgres", PGDATABASE=database,
        CHARTMOGUL_SCHEMA="melty", DBT_TARGET="postgres", PATH=os.environ["PATH"],
    )  # fmt: skip
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        config = fake_config(fake, metrics_interval="month")
        loaded = load_postgres(tmp_path / "load", config, target, env={"PGTZ": "UTC"})
    assert loaded.tap_returncode == 0
    build = run_dbt(tmp_path, "build", env=env)
    assert build.returncode == 0, build.output[-5000:]
    assert set(build.statuses.values()) == {"success", "pass"}
    assert len(build.statuses) > 180
    expected = truth(account)
    (closing,) = server.query(
        "SELECT closing_mrr, closing_customers FROM analytics.mrr_bridge_monthly "
        'ORDER BY "month" DESC LIMIT 1',
        database,
    )
    assert [int(v) for v in closing] == [expected["mrr"], expected["customers"]]
    (compared,) = server.query(
        "SELECT count(*) FILTER (WHERE mrr = mrr_from_activities) "
        "FROM analytics.mrr_reconciliation",
        database,
    )
    assert compared == ["13"]
    for snapshot in ("customers_snapshot", "customer_subscriptions_snapshot"):
        (counts,) = server.query(
            'SELECT count(*), count(DISTINCT uuid) FROM snapshots.:"snapshot"',
            database,
            snapshot=snapshot,
        )
        assert counts[0] == counts[1] != "0", snapshot


def test_meltano_runs_tap_target_postgres_and_dbt_postgres_build(request, tmp_path):
    """The README's Meltano pipeline, as a user runs it in a checkout: load, then build."""
    meltano = ROOT / ".tools" / "meltano" / "bin" / "meltano"
    need(meltano, "meltano")
    server = request.getfixturevalue("postgres")
    database = server.create_database("meltano_dbt")
    checkout = make_checkout(tmp_path / "checkout")
    account = FakeAccount(customers=120, seed=63)
    env = {
        **{k: v for k, v in clean_env().items() if not k.startswith(("PG", "DBT_", "TARGET_"))},
        "PATH": os.pathsep.join([str(meltano.parent), os.environ["PATH"]]),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_CHARTMOGUL_API_KEY": API_KEY,
        "TAP_CHARTMOGUL_REQUESTS_PER_SECOND": "5000",
        "TAP_CHARTMOGUL_METRICS_INTERVAL": "month",
        "TARGET_POSTGRES_HOST": "127.0.0.1",
        "TARGET_POSTGRES_PORT": str(server.port),
        "TARGET_POSTGRES_USER": "postgres",
        "TARGET_POSTGRES_PASSWORD": "",
        "TARGET_POSTGRES_DATABASE": database,
    }

    def meltano_run(line: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", line],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    installed = meltano_run("meltano install")
    assert installed.returncode == 0, installed.stderr[-3000:]
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        env["TAP_CHARTMOGUL_API_URL"] = fake.base_url
        result = meltano_run("meltano run tap-chartmogul target-postgres dbt-postgres:build")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert API_KEY not in output
    tables = server.query(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'tap_chartmogul'",
        database,
    )
    assert int(tables[0][0]) == 25
    (compared,) = server.query(
        "SELECT count(*), count(*) FILTER (WHERE mrr = mrr_from_activities) "
        "FROM analytics.mrr_reconciliation",
        database,
    )
    assert compared[0] == compared[1] != "0"
    assert (checkout / ".meltano" / "utilities" / "dbt-postgres" / "target").is_dir()
