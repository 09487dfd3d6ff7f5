"""Measure tap-chartmogul against the fake ChartMogul API and print the figures.

    .venv/bin/python -m benchmarks.run            # the full benchmark (about 7 minutes)
    .venv/bin/python -m benchmarks.run --smoke    # tiny sizes, to check it still runs

Three measurements, each with the tap and the fake API in separate processes:

1. I/O-bound: every stream at 10,000 customers, 50 ms latency per request, the fake
   enforcing ChartMogul's 40 requests/s and 20 connections. Ratio: wall time divided
   by the floor the rate limit allows (requests made / 40). Target <= 1.15 with zero
   429s and 503s.
2. CPU-bound: customers, activities and invoices at 10,000 customers, no latency, no
   limits. Ratio: the tap's records/s over a bare client's (requests.Session + json
   parse + one JSON line written per record, sequential) measured in the same run.
   Target >= 0.20.
3. Memory: peak RSS of the tap for customers, invoices and activities at 2,000 and
   at 50,000 customers. Target: the larger below 1.3 times the smaller.

Wall, CPU and peak RSS are the tap process's own (``os.wait4`` rusage).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
TAP = str(Path(sys.executable).with_name("tap-chartmogul"))
KEY = "bench-key"
CPU_STREAMS = ("customers", "activities", "invoices")
ROOTS = {"customers": "entries", "activities": "entries", "invoices": "invoices"}


@dataclass
class Run:
    """What one tap run did."""

    wall: float
    cpu: float
    peak_rss_mb: float
    records: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


class Fake:
    """The fake API in its own process."""

    def __init__(self, customers: int, *args: str) -> None:
        self.folder = tempfile.TemporaryDirectory()
        ready = Path(self.folder.name) / "url"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fake_chartmogul",
                "--port",
                "0",
                "--customers",
                str(customers),
                "--api-key",
                KEY,
                "--ready-file",
                str(ready),
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while not (ready.exists() and ready.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                message = "the fake API did not start"
                raise SystemExit(message)
            time.sleep(0.1)
        self.url = ready.read_text().strip()

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/_fake/stats", timeout=10) as answer:  # noqa: S310
            return json.loads(answer.read())

    def __enter__(self) -> Fake:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.folder.cleanup()


def catalog_for(streams: tuple[str, ...] | None, folder: Path) -> list[str]:
    if streams is None:
        return []
    found = subprocess.run([TAP, "--discover"], capture_output=True, text=True, check=True).stdout
    catalog = json.loads(found)
    for entry in catalog["streams"]:
        selected = entry["tap_stream_id"] in streams
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = selected
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog))
    return ["--catalog", str(path)]


def run_tap(fake: Fake, settings: dict, streams: tuple[str, ...] | None = None) -> Run:
    """Run the tap once against ``fake``, counting records per stream from its output."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        config = folder / "config.json"
        config.write_text(json.dumps({"api_key": KEY, "api_url": fake.url, **settings}))
        args = [TAP, "--config", str(config), *catalog_for(streams, folder)]
        before = fake.stats()["requests"]
        statuses_before = fake.stats()["by_status"]
        with (folder / "stderr").open("w") as stderr:
            started = time.monotonic()
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr)
            records: dict[str, int] = {}
            prefix = b'{"type":"RECORD","stream":"'
            if process.stdout is None:  # pragma: no cover - PIPE always gives one
                raise SystemExit(1)
            for line in process.stdout:
                if line.startswith(prefix):
                    stream = line[len(prefix) : line.index(b'"', len(prefix))].decode()
                    records[stream] = records.get(stream, 0) + 1
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.monotonic() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            process.stdout.close()
        if process.returncode != 0:
            message = f"tap-chartmogul failed:\n{(folder / 'stderr').read_text()[-3000:]}"
            raise SystemExit(message)
        after = fake.stats()
        by_status = {
            k: v - statuses_before.get(k, 0)
            for k, v in after["by_status"].items()
            if v - statuses_before.get(k, 0)
        }
        return Run(
            wall,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024,
            records,
            after["requests"] - before,
            by_status,
        )


def bare_client(fake: Fake) -> tuple[int, float]:
    """Records/s of the simplest possible client: sequential, parse, one line each."""
    session = requests.Session()
    session.auth = (KEY, "")
    count = 0
    started = time.monotonic()
    with open(os.devnull, "w") as sink:  # noqa: PTH123
        for stream in CPU_STREAMS:
            cursor = None
            while True:
                params = {"per_page": 200, **({"cursor": cursor} if cursor else {})}
                body = json.loads(
                    session.get(f"{fake.url}/v1/{stream}", params=params, timeout=60).content
                )
                for record in body[ROOTS[stream]]:
                    sink.write(json.dumps(record) + "\n")
                    count += 1
                if not body.get("has_more"):
                    break
                cursor = body["cursor"]
    return count, time.monotonic() - started


def row(label: str, customers: int, run: Run) -> str:
    return (
        f"| {label} | {customers:,} | {run.total_records:,} | {run.requests:,} | "
        f"{run.by_status.get('429', 0)} | {run.by_status.get('503', 0)} | {run.wall:.1f} | "
        f"{run.cpu:.1f} | {run.peak_rss_mb:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--io-only", action="store_true", help="run only measurement 1")
    args = parser.parse_args()
    io_size, cpu_size, small, large = (
        (150, 400, 200, 1000) if args.smoke else (10_000, 10_000, 2_000, 50_000)
    )
    latency = "0.01" if args.smoke else "0.05"
    unthrottled = {"requests_per_second": 100_000}

    print(
        f"tap-chartmogul benchmark on {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    )
    lines = [
        "| run | customers | records | requests | 429 | 503 | wall s | CPU s | peak RSS MB |",
        "|:--|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]

    with Fake(
        io_size, "--latency", latency, "--rate-limit", "40", "--max-connections", "20"
    ) as fake:
        io_run = run_tap(fake, {})
    lines.append(row("1. I/O: all streams, 50 ms, 40 rps / 20 conns", io_size, io_run))
    floor = io_run.requests / 40
    io_ratio = io_run.wall / floor
    if args.io_only:
        print("\n".join(lines))
        print(
            f"1. I/O-bound: wall {io_run.wall:.1f} s / floor {floor:.1f} s = {io_ratio:.3f}, "
            f"429s {io_run.by_status.get('429', 0)}, 503s {io_run.by_status.get('503', 0)}"
        )
        return

    with Fake(cpu_size) as fake:
        bare_records, bare_wall = bare_client(fake)
        cpu_run = run_tap(fake, unthrottled, CPU_STREAMS)
    lines.append(row("2. CPU: customers+activities+invoices", cpu_size, cpu_run))
    tap_rate = cpu_run.total_records / cpu_run.wall
    bare_rate = bare_records / bare_wall
    cpu_ratio = tap_rate / bare_rate

    memory = {}
    for size in (small, large):
        with Fake(size) as fake:
            memory[size] = run_tap(fake, unthrottled, CPU_STREAMS)
        lines.append(row("3. Memory: customers+invoices+activities", size, memory[size]))
    memory_ratio = memory[large].peak_rss_mb / memory[small].peak_rss_mb

    print("\n".join(lines))
    print("\nRecords per stream (run 1):", json.dumps(dict(sorted(io_run.records.items()))))
    print(
        f"\n1. I/O-bound: wall {io_run.wall:.1f} s / floor {floor:.1f} s "
        f"({io_run.requests:,} requests at 40/s) "
        f"= {io_ratio:.3f} (target <= 1.15), 429s {io_run.by_status.get('429', 0)}, "
        f"503s {io_run.by_status.get('503', 0)} (target 0)"
    )
    print(
        f"2. CPU-bound: tap {tap_rate:,.0f} records/s, bare client {bare_rate:,.0f} records/s "
        f"= {cpu_ratio:.3f} (target >= 0.20); "
        f"tap CPU {1000 * cpu_run.cpu / cpu_run.total_records:.3f} ms/record"
    )
    print(
        f"3. Memory: peak RSS {memory[small].peak_rss_mb:.0f} MB at {small:,} customers, "
        f"{memory[large].peak_rss_mb:.0f} MB at {large:,} = {memory_ratio:.3f} (target < 1.3)"
    )


if __name__ == "__main__":
    main()
