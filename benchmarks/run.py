"""Measure tap-chartmogul against the fake ChartMogul API and print the figures.

    .venv/bin/python -m benchmarks.run            # everything (about 25 minutes)
    .venv/bin/python -m benchmarks.run --smoke    # tiny sizes, to check it still runs
    .venv/bin/python -m benchmarks.run --only latency   # one measurement: latency, cpu, memory

Each measurement runs the tap and the fake API in separate processes:

1. Latency: every stream at 2,000 and 10,000 customers, at 50, 300 and 600 ms per
   request, the fake enforcing ChartMogul's 40 requests/s and 20 connections (it
   answers 429/503 above them). Ratio: wall time over the bound, where
   bound = max(requests / min(40, 20 / latency), longest chain x latency) and the
   longest chain is the requests that must run one after another: the account request
   (the read-ahead starts once the key is proven), the pages of the longest listing, and
   one fan-out request after its parent's last page. Target <= 1.10 with zero 429s and
   503s. The 2,000-customer, 50 ms run also counts the log lines of a default run
   (target: about 100 at most).
2. CPU-bound: customers, activities and invoices at 10,000 customers, no latency, no
   limits. Ratio: the tap's records/s over a bare client's (requests.Session + json
   parse + one JSON line written per record, sequential) measured in the same run.
3. Memory: peak RSS of the tap for customers, invoices and activities at 2,000 and
   at 50,000 customers. Ratio: the larger over the smaller.
4. Daily run: 100,000 customers, ``subscriptions_refresh: changed``, every stream. A first
   run (no state: everyone is read; the fake's limits lifted to keep it short) leaves its
   state; the fake then applies one simulated day (about 1% of customers change), the state
   is dated as if that first run had started a day earlier, and a second run, against
   ChartMogul's limits at 50 ms, starts from it. Reported: its requests and wall time, its
   bound, and the first run's request count (what an ``all`` run costs every day).
   Target: requests <= (changed customers + customers / 7) x 1.2 + the list pages, and
   wall <= 1.10 x bound.

Wall, CPU and peak RSS are the tap process's own (``os.wait4`` rusage).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
TAP = str(Path(sys.executable).with_name("tap-chartmogul"))
KEY = "bench-key"
CPU_STREAMS = ("customers", "activities", "invoices")
ROOTS = {"customers": "entries", "activities": "entries", "invoices": "invoices"}


API_RATE = 40
API_CONNECTIONS = 20
#: Lines of the tap's run summary: "<stream> <records> <requests> <retries> <seconds> ...".
SUMMARY_ROW = re.compile(r"\| (\w+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+[\d.]+\s+\w+")


@dataclass
class Run:
    """What one tap run did."""

    wall: float
    cpu: float
    peak_rss_mb: float
    records: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    log_lines: int = 0
    requests_by_stream: dict[str, int] = field(default_factory=dict)
    state: dict[str, Any] | None = None

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    def longest_chain(self) -> int:
        """Requests that must run one after another (see the module docstring)."""
        fan_outs = {"customer_subscriptions", "plan_group_plans"}
        pages = [n for name, n in self.requests_by_stream.items() if name not in fan_outs]
        return 1 + max(pages, default=0) + 1

    def bound(self, latency: float) -> float:
        """The shortest wall time ChartMogul's limits allow for this run's requests."""
        rate = min(API_RATE, API_CONNECTIONS / latency) if latency else API_RATE
        return max(self.requests / rate, self.longest_chain() * latency)


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

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_fake/stats", timeout=10) as answer:  # noqa: S310
            stats: dict[str, Any] = json.loads(answer.read())
        return stats

    def post(self, path: str) -> dict[str, Any]:
        """A harness call (``/_fake/advance-day``, ``/_fake/knobs``)."""
        request = urllib.request.Request(f"{self.url}{path}", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310
            answer_body: dict[str, Any] = json.loads(answer.read())
        return answer_body

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


def run_tap(
    fake: Fake,
    settings: dict[str, Any],
    streams: tuple[str, ...] | None = None,
    state: dict[str, Any] | None = None,
) -> Run:
    """Run the tap once against ``fake``, counting records per stream from its output."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        config = folder / "config.json"
        config.write_text(json.dumps({"api_key": KEY, "api_url": fake.url, **settings}))
        args = [TAP, "--config", str(config), *catalog_for(streams, folder)]
        if state is not None:
            (folder / "state.json").write_text(json.dumps(state))
            args += ["--state", str(folder / "state.json")]
        before = fake.stats()["requests"]
        statuses_before = fake.stats()["by_status"]
        with (folder / "stderr").open("w") as stderr:
            started = time.monotonic()
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr)
            records: dict[str, int] = {}
            prefix = b'{"type":"RECORD","stream":"'
            last_state = b""
            if process.stdout is None:  # pragma: no cover - PIPE always gives one
                raise SystemExit(1)
            for line in process.stdout:
                if line.startswith(prefix):
                    stream = line[len(prefix) : line.index(b'"', len(prefix))].decode()
                    records[stream] = records.get(stream, 0) + 1
                elif line.startswith(b'{"type":"STATE"'):
                    last_state = line
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.monotonic() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            process.stdout.close()
        if process.returncode != 0:
            message = f"tap-chartmogul failed:\n{(folder / 'stderr').read_text()[-3000:]}"
            raise SystemExit(message)
        log = (folder / "stderr").read_text()
        requests_by_stream = {
            match.group(1): int(match.group(3).replace(",", ""))
            for match in SUMMARY_ROW.finditer(log)
            if match.group(1) != "total"
        }
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
            log_lines=len(log.splitlines()),
            requests_by_stream=requests_by_stream,
            state=json.loads(last_state)["value"] if last_state else None,
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


def row(label: str, customers: int, run: Run, bound: float | None = None) -> str:
    ratio = f"{run.wall / bound:.3f}" if bound else "-"
    bound_text = f"{bound:.1f}" if bound else "-"
    return (
        f"| {label} | {customers:,} | {run.total_records:,} | {run.requests:,} | "
        f"{run.by_status.get('429', 0)} | {run.by_status.get('503', 0)} | {run.wall:.1f} | "
        f"{bound_text} | {ratio} | {run.cpu:.1f} | {run.peak_rss_mb:.0f} |"
    )


HEADER = [
    (
        "| run | customers | records | requests | 429 | 503 | wall s | bound s | ratio | CPU s "
        "| peak RSS MB |"
    ),
    "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
]


def latency_matrix(sizes: tuple[int, ...], latencies: tuple[float, ...]) -> list[str]:
    """Measurement 1: every stream at each size and latency, against ChartMogul's limits."""
    lines = []
    worst = 0.0
    errors = 0
    log_lines = None
    for size in sizes:
        for latency in latencies:
            limits = ("--rate-limit", str(API_RATE), "--max-connections", str(API_CONNECTIONS))
            with Fake(size, "--latency", str(latency), *limits) as fake:
                run = run_tap(fake, {})
            bound = run.bound(latency)
            worst = max(worst, run.wall / bound)
            errors += run.by_status.get("429", 0) + run.by_status.get("503", 0)
            label = f"1. all streams, {latency * 1000:.0f} ms"
            lines.append(row(label, size, run, bound))
            if log_lines is None:
                log_lines = (size, run.log_lines)
            print(lines[-1], flush=True)
    summary = [
        f"1. Latency: worst wall/bound {worst:.3f} (target <= 1.10), 429s+503s {errors} (target 0)",
    ]
    if log_lines:
        summary.append(
            f"   Log lines of a default run at {log_lines[0]:,} customers: {log_lines[1]} "
            "(target: about 100 at most)"
        )
    return summary


def daily_run(customers: int, latency: float) -> list[str]:
    """Measurement 4: the second of two daily runs in ``changed`` mode."""
    changed_mode = {"subscriptions_refresh": "changed"}
    with Fake(customers) as fake:
        first = run_tap(fake, {**changed_mode, "requests_per_second": 100_000})
        day = fake.post("/_fake/advance-day")["days"][-1]
        visible = sum(len(v) for k, v in day["changes"].items() if k != "renewal")
        renewals = len(day["changes"].get("renewal", ()))
        fake.post(f"/_fake/knobs?latency={latency}&rate_limit={API_RATE}&max_connections=20")
        state = first.state or {}
        refresh = state["bookmarks"]["customer_subscriptions"]["subscriptions_refresh"]
        started = datetime.fromisoformat(refresh["last_run_started"])
        refresh["last_run_started"] = (started - timedelta(days=1)).isoformat()
        second = run_tap(fake, changed_mode, state=state)
    bound = second.bound(latency)
    fan_out = second.requests_by_stream.get("customer_subscriptions", 0)
    pages = second.requests - fan_out
    budget = (visible + customers / 7) * 1.2 + pages
    print(row(f"4. daily run (changed), {latency * 1000:.0f} ms", customers, second, bound))
    summary = (
        f"4. Daily run at {customers:,} customers ({visible:,} changed visibly, {renewals:,} "
        f"renewals): {second.requests:,} requests ({fan_out:,} for subscriptions, {pages:,} "
        f"list pages) in {second.wall:.1f} s; bound {bound:.1f} s = {second.wall / bound:.3f} "
        f"(target <= 1.10); budget {budget:,.0f} requests (target: at most that); "
        f"429s+503s {second.by_status.get('429', 0) + second.by_status.get('503', 0)}. "
        f"An `all` run makes {first.requests:,} requests: {first.requests / API_RATE / 60:.0f} "
        "min at 40/s."
    )
    return [summary]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument(
        "--only",
        choices=("latency", "cpu", "memory", "daily"),
        help="run only this measurement",
    )
    parser.add_argument("--sizes", type=int, nargs="+", help="customers, for the latency runs")
    parser.add_argument("--latencies", type=float, nargs="+", help="seconds, for the latency runs")
    args = parser.parse_args()
    sizes, latencies, cpu_size, small, large, daily = (
        ((150,), (0.01, 0.05), 400, 200, 1000, 300)
        if args.smoke
        else ((2_000, 10_000), (0.05, 0.3, 0.6), 10_000, 2_000, 50_000, 100_000)
    )
    sizes = tuple(args.sizes) if args.sizes else sizes
    latencies = tuple(args.latencies) if args.latencies else latencies
    unthrottled = {"requests_per_second": 100_000}
    wanted = {args.only} if args.only else {"latency", "cpu", "memory", "daily"}

    print(
        f"tap-chartmogul benchmark on {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    )
    print("\n".join(HEADER), flush=True)
    results: list[str] = []
    if "latency" in wanted:
        results += latency_matrix(sizes, latencies)

    if "cpu" in wanted:
        with Fake(cpu_size) as fake:
            bare_records, bare_wall = bare_client(fake)
            cpu_run = run_tap(fake, unthrottled, CPU_STREAMS)
        print(row("2. CPU: customers+activities+invoices", cpu_size, cpu_run), flush=True)
        tap_rate = cpu_run.total_records / cpu_run.wall
        bare_rate = bare_records / bare_wall
        results.append(
            f"2. CPU-bound: tap {tap_rate:,.0f} records/s, bare client {bare_rate:,.0f} "
            f"records/s = {tap_rate / bare_rate:.3f} (was 0.472); "
            f"tap CPU {1000 * cpu_run.cpu / cpu_run.total_records:.3f} ms/record"
        )

    if "memory" in wanted:
        memory = {}
        for size in (small, large):
            with Fake(size) as fake:
                memory[size] = run_tap(fake, unthrottled, CPU_STREAMS)
            print(row("3. Memory: customers+invoices+activities", size, memory[size]), flush=True)
        memory_ratio = memory[large].peak_rss_mb / memory[small].peak_rss_mb
        results.append(
            f"3. Memory: peak RSS {memory[small].peak_rss_mb:.0f} MB at {small:,} customers, "
            f"{memory[large].peak_rss_mb:.0f} MB at {large:,} = {memory_ratio:.3f} (was 1.083)"
        )

    if "daily" in wanted:
        results += daily_run(daily, 0.05)

    print()
    print("\n".join(results))


if __name__ == "__main__":
    main()
