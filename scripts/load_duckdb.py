"""Load target-jsonl's ``<stream>.jsonl`` files into one DuckDB file, typed from the tap's SCHEMAs.

Usage::

    python scripts/load_duckdb.py --schemas SINGER_FILE --jsonl-dir DIR --database FILE

``SINGER_FILE`` is any file of Singer messages; only its SCHEMA messages are read (the quick
start passes ``tap-chartmogul --test=schema``, which writes exactly the SCHEMA messages a sync
sends, without a request). Each stream becomes one table of schema ``main`` whose columns come
from the JSON schema and whose PRIMARY KEY is the stream's ``key_properties``, plus
``_sdc_batched_at``, the load's time, as target-postgres stamps its rows (the dbt staging
models keep the newest row of a key by it, on either warehouse).

Why this path and not a Singer target for DuckDB: target-duckdb 0.8.0 silently drops the first
row of each batch with DuckDB >= 1.3. Here no row is handled by our code at all:
target-jsonl (which validates every record against its schema) writes the files, and DuckDB's
own ``read_json`` reads them with explicit column types and ``ignore_errors`` off, so a value
that does not fit its type stops the load. The PRIMARY KEY makes a duplicate key fail loudly,
and each table's row count is checked against its file's line count.

Only the raw tables are replaced: a new database is built under a temporary name and renamed
at the end; in an existing one (the quick start keeps it, so the dbt snapshots in its other
schemas accumulate history run after run) every table of ``main`` is dropped and rebuilt in
one transaction. Either way a failed load leaves the database as it was.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

#: Every ``number`` in tap-chartmogul is money in cents (fractional for subscriptions and
#: metrics), a percentage or a count. DECIMAL sums exactly (no float noise in reports), its 29
#: integer digits fit any account in any currency, 9 decimals keep more than ChartMogul sends,
#: and a value out of range stops the load instead of being rounded into something else.
NUMBER = "DECIMAL(38, 9)"
JSON_TYPES = {
    "integer": "BIGINT",
    "number": NUMBER,
    "boolean": "BOOLEAN",
    "string": "VARCHAR",
    "object": "JSON",
    "array": "JSON",
}
STRING_FORMATS = {"date-time": "TIMESTAMPTZ", "date": "DATE"}
BATCHED_AT = "_sdc_batched_at"
"""The column with each row's load time (target-postgres' name for it)."""


class LoadError(Exception):
    """A load that must stop: the message names the stream or file and the cause."""


@dataclass(frozen=True)
class Stream:
    """One stream's table: column name -> DuckDB type, and its primary key."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]


def column_type(prop: dict[str, Any]) -> str:
    """DuckDB type of one JSON-schema property.

    A property with no type, or more than one non-null type, keeps its JSON value as is
    (``JSON``) rather than being forced into one type that some values would not fit.
    """
    declared = prop.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    concrete = [t for t in types if t != "null"]
    if len(concrete) != 1:
        return "JSON"
    if concrete[0] == "string":
        return STRING_FORMATS.get(prop.get("format", ""), "VARCHAR")
    return JSON_TYPES.get(concrete[0], "JSON")


def read_schemas(path: Path) -> dict[str, Stream]:
    """The streams declared by the SCHEMA messages in ``path`` (other messages are ignored).

    A stream may repeat its SCHEMA message, but not change it: one table cannot hold rows of
    two shapes, so a changed schema stops the load.
    """
    streams: dict[str, Stream] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{path}:{number}: not a Singer message ({exc})"
                raise LoadError(msg) from exc
            if message.get("type") != "SCHEMA":
                continue
            properties = message["schema"].get("properties", {})
            stream = Stream(
                name=message["stream"],
                columns={name: column_type(prop) for name, prop in properties.items()},
                key=tuple(message.get("key_properties") or ()),
            )
            if streams.get(stream.name, stream) != stream:
                msg = f"{path}:{number}: stream {stream.name} changed its schema mid-run"
                raise LoadError(msg)
            streams[stream.name] = stream
    if not streams:
        msg = f"{path}: no SCHEMA message"
        raise LoadError(msg)
    return streams


def quote(identifier: str) -> str:
    """A DuckDB identifier, quoted so any stream or property name is safe."""
    return '"' + identifier.replace('"', '""') + '"'


def create_table_sql(stream: Stream) -> str:
    """``CREATE TABLE`` with the schema's columns, the load time and the stream's primary key."""
    parts = [f"{quote(name)} {kind}" for name, kind in stream.columns.items()]
    parts.append(f"{quote(BATCHED_AT)} TIMESTAMPTZ NOT NULL")
    if stream.key:
        parts.append(f"PRIMARY KEY ({', '.join(quote(k) for k in stream.key)})")
    return f"CREATE TABLE {quote(stream.name)} ({', '.join(parts)})"


def count_lines(path: Path) -> int:
    """Records in a target-jsonl file: one per line."""
    with path.open("rb") as data:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: data.read(1 << 20), b""))


def load_stream(
    con: duckdb.DuckDBPyConnection, stream: Stream, jsonl: Path, batched_at: datetime
) -> int:
    """Create the stream's table and insert every record of ``jsonl`` (if the file exists)."""
    table = quote(stream.name)
    try:
        con.execute(create_table_sql(stream))
        if not jsonl.exists():  # target-jsonl writes no file for a stream without records
            return 0
        con.execute(
            f"INSERT INTO {table} BY NAME "  # noqa: S608 - the identifier is quoted
            f"SELECT *, ? AS {quote(BATCHED_AT)} "
            "FROM read_json(?, format = 'newline_delimited', columns = ?)",
            [batched_at, str(jsonl), stream.columns],
        )
        counted = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    except duckdb.Error as exc:
        msg = f"stream {stream.name}: {exc}"
        raise LoadError(msg) from exc
    rows = int(counted[0]) if counted else 0
    expected = count_lines(jsonl)
    if rows != expected:
        msg = f"{jsonl} has {expected} records but {rows} rows were loaded"
        raise LoadError(msg)
    return rows


def remove_database(path: Path) -> None:
    """Delete a DuckDB file and its write-ahead log (a stale log is replayed onto a new file)."""
    for part in (path, path.with_name(path.name + ".wal")):
        part.unlink(missing_ok=True)


def load_tables(
    con: duckdb.DuckDBPyConnection, streams: dict[str, Stream], jsonl_dir: Path
) -> dict[str, int]:
    """Drop every table of ``main`` and load each stream's; return rows per table."""
    batched_at = datetime.now(UTC)
    existing = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database()"
    ).fetchall()
    for (name,) in existing:
        con.execute(f"DROP TABLE main.{quote(name)}")
    return {
        stream.name: load_stream(con, stream, jsonl_dir / f"{stream.name}.jsonl", batched_at)
        for stream in streams.values()
    }


def load(schemas: Path, jsonl_dir: Path, database: Path) -> dict[str, int]:
    """Replace the raw tables of ``database`` (built if new): one per stream; rows per table."""
    streams = read_schemas(schemas)
    strays = sorted(p.name for p in jsonl_dir.glob("*.jsonl") if p.stem not in streams)
    if strays:
        msg = f"{jsonl_dir}: no SCHEMA for {', '.join(strays)}; refusing to leave records out"
        raise LoadError(msg)
    if database.exists():
        with duckdb.connect(str(database)) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                counts = load_tables(con, streams, jsonl_dir)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        return counts
    building = database.with_name(database.name + ".tmp")
    remove_database(building)
    try:
        with duckdb.connect(str(building)) as con:
            counts = load_tables(con, streams, jsonl_dir)
            con.execute("CHECKPOINT")
    except BaseException:
        remove_database(building)
        raise
    remove_database(database)
    building.replace(database)
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line: load, then one summary line on stderr; exit 1 with the cause on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", type=Path, required=True, help="file of Singer messages")
    parser.add_argument("--jsonl-dir", type=Path, required=True, help="target-jsonl's folder")
    parser.add_argument(
        "--database", type=Path, required=True, help="DuckDB file whose raw tables to replace"
    )
    args = parser.parse_args(argv)
    try:
        counts = load(args.schemas, args.jsonl_dir, args.database)
    except LoadError as exc:
        print(f"load_duckdb: {exc}", file=sys.stderr)
        return 1
    print(
        f"load_duckdb: {sum(counts.values()):,} rows in {len(counts)} tables of {args.database}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
