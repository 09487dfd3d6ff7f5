"""The quick start's DuckDB warehouse: every record loaded, typed and keyed, and the report.

Real processes throughout: the tap against a fake ChartMogul on 127.0.0.1, target-jsonl,
``scripts/load_duckdb.py`` and, last, ``bash scripts/quickstart.sh`` exactly as a newcomer runs
it. Expected figures come from the Singer messages the tap emitted or from the fake's data.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tests.checkout import make_checkout
from tests.helpers import API_KEY, fake_config
from tests.test_e2e import TAP, TARGET, clean_env, require

ROOT = Path(__file__).resolve().parents[1]
LOADER = str(ROOT / "scripts" / "load_duckdb.py")

pytestmark = pytest.mark.e2e


def messages_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def schema_messages(messages: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for m in messages:
        if m["type"] == "SCHEMA":
            found[m["stream"]].append({"schema": m["schema"], "key": m["key_properties"]})
    return found


def count_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608


def run_loader(schemas: Path, jsonl_dir: Path, database: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            *(sys.executable, LOADER, "--schemas", str(schemas)),
            *("--jsonl-dir", str(jsonl_dir), "--database", str(database)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """One real sync (with a segment, so keys span segments) loaded the quick start's way.

    The tap's stdout is kept whole, so the test can count the RECORD messages it emitted.
    """
    target = require(TARGET)
    work = tmp_path_factory.mktemp("warehouse")
    account = FakeAccount(customers=150, seed=11)
    with FakeChartMogul(account, api_key=API_KEY) as server:
        config = work / "tap.json"
        settings = fake_config(server, metrics_segments=[{"name": "eu", "geo": "DE,FR"}])
        config.write_text(json.dumps(settings))
        stream_file = work / "sync.singer"
        with stream_file.open("wb") as out:
            tap = subprocess.run(
                [TAP, "--config", str(config)],
                stdout=out,
                stderr=subprocess.PIPE,
                env=clean_env(),
                timeout=300,
                check=False,
            )
        assert tap.returncode == 0, tap.stderr.decode()[-3000:]
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
    with stream_file.open("rb") as stream:
        loaded = subprocess.run(
            [target, "--config", str(work / "target.json")],
            stdin=stream,
            capture_output=True,
            timeout=300,
            check=False,
        )
    assert loaded.returncode == 0, loaded.stderr.decode()[-3000:]
    database = work / "out" / "chartmogul.duckdb"
    result = run_loader(schemas, work / "out", database)
    assert result.returncode == 0, result.stderr
    return {
        "work": work,
        "messages": messages_of(stream_file),
        "schemas": schemas,
        "database": database,
    }


def test_schema_only_run_sends_the_sync_schemas(synced):
    """The quick start types its tables from ``--test=schema``: it must match a real sync."""
    from_sync = schema_messages(synced["messages"])
    from_test = schema_messages(messages_of(synced["schemas"]))
    assert set(from_test) == set(from_sync)
    for stream, sent in from_sync.items():
        assert all(message == from_test[stream][0] for message in sent), stream


def test_every_record_the_tap_emitted_is_a_row(synced):
    emitted = Counter(m["stream"] for m in synced["messages"] if m["type"] == "RECORD")
    streams = set(schema_messages(synced["messages"]))
    with duckdb.connect(str(synced["database"]), read_only=True) as con:
        tables = {
            name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        assert tables == streams
        for stream in sorted(streams):
            assert emitted[stream] > 0, f"the fake sent no {stream}: the test proves nothing"
            assert count_rows(con, stream) == emitted[stream], stream


def test_primary_keys_are_declared_and_hold_the_emitted_keys(synced):
    keys = {s: sent[-1]["key"] for s, sent in schema_messages(synced["messages"]).items()}
    wanted: dict[str, set] = defaultdict(set)
    for m in synced["messages"]:
        if m["type"] == "RECORD":
            wanted[m["stream"]].add(tuple(str(m["record"][k]) for k in keys[m["stream"]]))
    with duckdb.connect(str(synced["database"]), read_only=True) as con:
        declared = dict(
            con.execute(
                "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                "WHERE constraint_type = 'PRIMARY KEY'"
            ).fetchall()
        )
        assert declared == {s: k for s, k in keys.items() if k}
        assert declared["metrics"] == ["segment", "date", "interval"]
        for stream, key in keys.items():
            columns = ", ".join(f'CAST("{k}" AS VARCHAR)' for k in key)
            got = set(con.execute(f'SELECT {columns} FROM "{stream}"').fetchall())  # noqa: S608
            assert got == wanted[stream], stream
        segments = {s for (s,) in con.execute("SELECT DISTINCT segment FROM metrics").fetchall()}
        assert segments == {"all", "eu"}


@pytest.mark.parametrize(
    ("table", "column", "expected"),
    [
        ("customers", "mrr", "BIGINT"),
        ("customers", "customer_since", "TIMESTAMP WITH TIME ZONE"),
        ("customers", "attributes", "JSON"),
        ("customers", "external_ids", "JSON"),
        ("account", "churn_when_zero_mrr", "BOOLEAN"),
        ("plans", "interval_count", "BIGINT"),
        ("customer_subscriptions", "mrr", "DECIMAL(38,9)"),
        ("metrics", "date", "DATE"),
        ("metrics", "mrr", "DECIMAL(38,9)"),
        ("metrics_customer_churn_rate", "customer_churn_rate", "DECIMAL(38,9)"),
        ("invoices", "date", "TIMESTAMP WITH TIME ZONE"),
    ],
)
def test_column_types_follow_the_schema(synced, table, column, expected):
    with duckdb.connect(str(synced["database"]), read_only=True) as con:
        (kind,) = con.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = ? AND column_name = ?",
            [table, column],
        ).fetchone()
    assert kind == expected


def test_values_survive_the_load(synced):
    """Timestamps keep their instant (offsets and ``Z`` alike), numbers their exact value."""
    records = defaultdict(list)
    for m in synced["messages"]:
        if m["type"] == "RECORD":
            records[m["stream"]].append(m["record"])
    with duckdb.connect(str(synced["database"]), read_only=True) as con:
        customers = {
            uuid: (mrr, since)
            for uuid, mrr, since in con.execute(
                "SELECT uuid, mrr, customer_since FROM customers"
            ).fetchall()
        }
        invoices = dict(con.execute("SELECT uuid, date FROM invoices").fetchall())
        metrics = con.execute(
            "SELECT sum(mrr), sum(customer_churn_rate), sum(mrr_churn_rate) FROM metrics"
        ).fetchone()
        sub_mrr = con.execute("SELECT sum(mrr) FROM customer_subscriptions").fetchone()[0]
    for row in records["customers"]:
        since = row["customer_since"] and datetime.fromisoformat(row["customer_since"])
        assert customers[row["uuid"]] == (row["mrr"], since)
    for row in records["invoices"]:
        assert invoices[row["uuid"]] == datetime.fromisoformat(row["date"])
    exact = [
        sum(Decimal(str(r[name])) for r in records["metrics"] if r[name] is not None)
        for name in ("mrr", "customer_churn_rate", "mrr_churn_rate")
    ]
    assert list(metrics) == exact
    assert sub_mrr == sum(Decimal(str(r["mrr"])) for r in records["customer_subscriptions"])


def copy_output(synced, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(synced["work"] / "out", out, ignore=shutil.ignore_patterns("*.duckdb*"))
    return out


def test_duplicate_key_fails_loudly_and_leaves_no_database(synced, tmp_path):
    out = copy_output(synced, tmp_path)
    customers = out / "customers.jsonl"
    first = customers.read_text().splitlines()[0]
    with customers.open("a") as f:
        f.write(first + "\n")
    database = out / "chartmogul.duckdb"
    result = run_loader(synced["schemas"], out, database)
    assert result.returncode == 1
    assert "stream customers" in result.stderr
    assert "duplicate key" in result.stderr.lower()
    assert json.loads(first)["uuid"] in result.stderr
    assert not list(out.glob("chartmogul.duckdb*"))


def test_value_that_does_not_fit_its_type_fails_the_load(synced, tmp_path):
    out = copy_output(synced, tmp_path)
    invoices = out / "invoices.jsonl"
    rows = invoices.read_text().splitlines()
    broken = {**json.loads(rows[-1]), "date": "yesterday"}
    invoices.write_text("\n".join([*rows[:-1], json.dumps(broken)]) + "\n")
    result = run_loader(synced["schemas"], out, out / "chartmogul.duckdb")
    assert result.returncode == 1
    assert "stream invoices" in result.stderr
    assert "yesterday" in result.stderr


def test_records_without_a_schema_fail_the_load(synced, tmp_path):
    out = copy_output(synced, tmp_path)
    (out / "refunds.jsonl").write_text('{"uuid": "r1"}\n')
    result = run_loader(synced["schemas"], out, out / "chartmogul.duckdb")
    assert result.returncode == 1
    assert "no SCHEMA for refunds.jsonl" in result.stderr


def tree_of(folder: Path) -> list[tuple[str, int, int]]:
    """Every file under ``folder``: its path, size and modification time."""
    return sorted(
        (str(path.relative_to(folder)), path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    )


def run_quickstart(
    checkout: Path, out: Path, customers: int, days: int
) -> subprocess.CompletedProcess:
    """The quick start in a user's checkout (never this one), writing to ``out``."""
    env = clean_env(OUTPUT_DIR=str(out), FAKE_CUSTOMERS=str(customers), FAKE_DAYS=str(days))
    return subprocess.run(
        ["bash", "scripts/quickstart.sh"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def quickstart_account(customers: int, days: int) -> FakeAccount:
    """The quick start's fake: the same seed (the fake's default), so the same data."""
    account = FakeAccount(customers=customers, seed=42)
    today = datetime.now(UTC).date()
    end = datetime(today.year, today.month, today.day, tzinfo=UTC)
    account.timeline.advance_days(days, end=end)
    return account


@pytest.mark.slow
def test_quickstart_builds_the_warehouse_the_models_and_the_report(tmp_path):
    """``bash scripts/quickstart.sh`` as in the README (fewer fake customers, own folder).

    Its folder already holds a database from an earlier run, as a returning user's does: the
    quick start replaces its raw tables and keeps the rest (the snapshots that accumulate).
    """
    customers, days = 120, 30
    out = tmp_path / "output"
    out.mkdir()
    database = out / "chartmogul.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA snapshots")
        con.execute("CREATE TABLE snapshots.earlier (version INTEGER)")
        con.execute("INSERT INTO snapshots.earlier VALUES (1)")
        con.execute("CREATE TABLE main.refunds (uuid VARCHAR)")  # a raw table of old
        con.execute("CREATE TABLE main.customers (uuid VARCHAR)")
    (out / "stale.jsonl").write_text('{"uuid": "r1"}\n')  # target-jsonl would append to it
    checkout = make_checkout(tmp_path / "checkout")
    transform = tree_of(checkout / "transform")
    result = run_quickstart(checkout, out, customers, days)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "using the bundled fake ChartMogul API" in result.stderr
    assert tree_of(checkout / "transform") == transform  # dbt wrote only to out/dbt
    assert (out / "dbt" / "target" / "run_results.json").exists()
    report = result.stdout
    account = quickstart_account(customers, days)
    with duckdb.connect(str(database), read_only=True) as con:
        for path in out.glob("*.jsonl"):
            assert count_rows(con, path.stem) == len(path.read_text().splitlines()), path.stem
        subscriptions = count_rows(con, "customer_subscriptions")
        intervals = con.execute("SELECT DISTINCT interval FROM metrics").fetchall()
        (latest,) = con.execute("SELECT max(date) FROM metrics").fetchone()
        assert con.execute("SELECT * FROM snapshots.earlier").fetchall() == [(1,)]
        raw = {n for (n,) in con.execute("SELECT table_name FROM duckdb_tables() "
                                         "WHERE schema_name = 'main'").fetchall()}  # fmt: skip
        (snapshot,) = con.execute("SELECT count(*) FROM snapshots.customers_snapshot").fetchone()
    assert "refunds" not in raw
    assert snapshot == len(account.customers)
    assert not (out / "stale.jsonl").exists()
    assert subscriptions == sum(len(s) for s in account.customer_subscriptions.values())
    assert intervals == [("month",)]
    assert "Done. PASS=" in result.stderr
    assert " ERROR=0 " in result.stderr
    assert " WARN=0 " in result.stderr

    assert f"amounts in {account.account['currency']}" in report
    # The last month of the bridge: MRR and customers as the fake's customers hold them.
    mrr = sum(c["mrr"] for c in account.customers)
    paying = sum(1 for c in account.customers if c["mrr"] > 0)
    last = next(line for line in report.splitlines() if line.startswith(f"{latest:%Y-%m}"))
    assert last.split()[-2:] == [f"{Decimal(mrr) / 100:,.2f}", f"{paying:,}"]
    assert "Reconciliation: MRR and its movements equal ChartMogul's metrics in all 13" in report
    # The top plan: subscription MRR summed per plan name in the fake's data.
    per_plan: Counter[str] = Counter()
    for subs in account.customer_subscriptions.values():
        for sub in subs:
            per_plan[sub["plan"]] += sub["mrr"]
    (plan, cents), *_ = per_plan.most_common(1)
    plans = report.split("Top plans by MRR", 1)[1].splitlines()
    assert plans[2].startswith(plan)
    assert f"{Decimal(cents) / 100:,.2f}" in plans[2]


@pytest.mark.slow
def test_quickstart_takes_the_key_from_dotenv_as_the_tap_does(tmp_path):
    """After ``meltano config set ... api_key`` (a key in .env), the quick start syncs that
    account, with that key: the decision and the key come from the same place."""
    checkout = make_checkout(tmp_path / "checkout")
    with FakeChartMogul(FakeAccount(customers=40, seed=3), api_key=API_KEY) as server:
        (checkout / ".env").write_text(
            f"TAP_CHARTMOGUL_API_KEY='{API_KEY}'\nTAP_CHARTMOGUL_API_URL={server.base_url}\n"
            "TAP_CHARTMOGUL_REQUESTS_PER_SECOND=5000\n"
        )
        result = subprocess.run(
            ["bash", "scripts/quickstart.sh"],
            cwd=checkout,
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=600,
            check=False,
        )
        requests = server.count()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "TAP_CHARTMOGUL_API_KEY from .env (API URL from .env)" in result.stderr
    assert "bundled fake" not in result.stderr
    assert requests > 40  # every stream of that account was read with the .env key
    assert API_KEY not in result.stdout + result.stderr
