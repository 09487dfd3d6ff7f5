"""Measure tap-chartmogul against the fake ChartMogul API and print the figures.

    .venv/bin/python -m benchmarks.run            # everything (about 45 minutes)
    .venv/bin/python -m benchmarks.run --smoke    # tiny sizes, to check it still runs
    .venv/bin/python -m benchmarks.run --only latency   # one: latency, cpu, memory, daily

Each measurement runs the tap and the fake API in separate processes. The latency and daily
runs are on thick accounts (fake_chartmogul/README.md): an invoice per billing period of every
subscription, a history bulk-imported when each data source was connected.

1. First syncs: every stream at 10,000 customers (thick: about 163,000 invoices), at 300 and
   600 ms per request, with one data source and with three, the fake enforcing ChartMogul's
   40 requests/s and 20 connections (it answers 429/503 above them). Ratio: wall time over
   the bound, where bound = max(requests / min(40, 20 / latency), longest chain x latency).
   The longest chain is the requests that must run one after another whatever the client
   does: the account request (the read-ahead starts once the key is proven), then the
   longest of: a listing ordered newest created first (its cursors can be seeded anywhere:
   its first page, then the rest over at most 20 connections), the activities (date
   windows: the same), and the customers, which only the ``data_source_uuid`` filter splits
   (the data sources request when there are several, the largest data source's pages, then
   one fan-out request after the last page). Target <= 1.10 with zero 429s and 503s. The
   first run also counts the log lines of a default run (target: about 100 at most).
2. CPU-bound: customers, activities and invoices at 10,000 customers, no latency, no
   limits. Ratio: the tap's records/s over a bare client's (requests.Session + json
   parse + one JSON line written per record, sequential) measured in the same run.
3. Memory: peak RSS of the tap for customers, invoices and activities at 2,000 and
   at 50,000 customers. Ratio: the larger over the smaller.
4. Daily run: 100,000 customers (thick: about 1.66 million invoices, three data sources),
   ``subscriptions_refresh: changed``, every stream, at 300 ms against ChartMogul's limits.
   No first run: the fake brings the account up to date (quiet simulated days, 0.05% of
   customers changing a day, from the build's "today" to a month ago, then 30 days at the
   default 1%, ending three days ago), the benchmark writes the state a run a day ago would
   have left (the activities bookmark at the latest activity then, ``subscriptions_refresh``
   with that start and the customers listed), the fake applies one more day (renewals and
   new subscriptions issue invoices) and the run starts from that state. Reported: its requests
   and wall time and its bound. Target: requests <= (changed customers + customers / 7) x 1.2
   + the list pages, and wall <= 1.10 x bound.

Wall, CPU and peak RSS are the tap process's own (``os.wait4`` rusage).
"""

from __future__ import annotations

import argparse
import base64
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from fake_chartmogul.generate import AS_OF

ROOT = Path(__file__).resolve().parents[1]
TAP = str(Path(sys.executable).with_name("tap-chartmogul"))
KEY = "bench-key"
CPU_STREAMS = ("customers", "activities", "invoices")
ROOTS = {"customers": "entries", "activities": "entries", "invoices": "invoices"}


API_RATE = 40
API_CONNECTIONS = 20
#: Listings the fake can answer a seeded cursor for (newest created first), or date windows.
SPLITTABLE = (
    "activities",
    "contacts",
    "customer_notes",
    "invoices",
    "opportunities",
    "plan_groups",
    "plans",
    "subscription_events",
    "tasks",
)
FAN_OUTS = {"customer_subscriptions": "customers", "plan_group_plans": "plan_groups"}
LOGS: Path | None = None
"""Where ``--logs`` keeps the tap's log of every run (off by default)."""
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
    customer_pages: list[int] = field(default_factory=list)
    """Pages of the customers listing per data source (the fake's own ``total_pages``)."""

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    def longest_chain(self) -> int:
        """Requests that must run one after another (see the module docstring).

        A splittable listing's pages are bounded by its requests (a seeded chain costs a
        page or two more than the pages it reads); the customers' by the fake's own counts.
        """
        chains = [1]
        for name, made in self.requests_by_stream.items():
            fan_out = name in FAN_OUTS.values()
            if name in SPLITTABLE:
                chains.append(1 + -(-(made - 1) // API_CONNECTIONS) + fan_out)
            elif name == "customers":
                pages = self.customer_pages or [made]
                chains.append((len(pages) > 1) + max(pages) + fan_out)
            elif name not in FAN_OUTS:
                chains.append(1)  # unpaginated: one request (a metric: one per segment)
        return 1 + max(chains)

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
        deadline = time.monotonic() + 900  # 100,000 thick customers and 30 days: a minute
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

    def get(self, path: str) -> dict[str, Any]:
        """An API call, as the tap makes it."""
        request = urllib.request.Request(f"{self.url}{path}")  # noqa: S310
        token = base64.b64encode(f"{KEY}:".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            body: dict[str, Any] = json.loads(answer.read())
        return body

    def customer_pages(self) -> list[int]:
        """Pages of 200 customers per data source (a customer may be in several)."""
        sources = self.get("/v1/data_sources")["data_sources"]
        query = "/v1/customers?per_page=200&data_source_uuid="
        return [int(self.get(query + source["uuid"])["total_pages"]) for source in sources]

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
        if LOGS is not None:  # --logs: keep every run's log, numbered in run order
            LOGS.mkdir(parents=True, exist_ok=True)
            (LOGS / f"run-{len(list(LOGS.glob('run-*.log'))) + 1:02d}.log").write_text(log)
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
            customer_pages=fake.customer_pages(),
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


def latency_matrix(specs: list[tuple[int, float, int]]) -> list[str]:
    """Measurement 1: first syncs of thick accounts, against ChartMogul's limits.

    ``specs``: (customers, seconds per request, data sources) of each run.
    """
    lines = []
    worst = 0.0
    errors = 0
    log_lines = None
    for size, latency, sources in specs:
        limits = ("--rate-limit", str(API_RATE), "--max-connections", str(API_CONNECTIONS))
        shape = ("--thick", "--data-sources", str(sources))
        with Fake(size, "--latency", str(latency), *limits, *shape) as fake:
            run = run_tap(fake, {})
        bound = run.bound(latency)
        worst = max(worst, run.wall / bound)
        errors += run.by_status.get("429", 0) + run.by_status.get("503", 0)
        plural = "s" if sources > 1 else ""
        label = f"1. first sync, {sources} data source{plural}, {latency * 1000:.0f} ms"
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
    """Measurement 4: a daily run in ``changed`` mode from the state a day-old run left."""
    changed_mode = {"subscriptions_refresh": "changed"}
    now = datetime.now(UTC).replace(microsecond=0)
    previous = now - timedelta(days=1)
    limits = ("--rate-limit", str(API_RATE), "--max-connections", str(API_CONNECTIONS))
    shape = ("--thick", "--data-sources", "3", "--latency", str(latency))
    with Fake(customers, *shape, *limits) as fake:
        # Quiet days from the build's "today" on, then a month of busy ones: every day has
        # records, as a real account's, and the lookback finds a month of activities.
        quiet_until = now - timedelta(days=33)
        quiet = (quiet_until.date() - AS_OF).days
        if quiet > 0:
            fake.post(f"/_fake/advance-day?days={quiet}&at={_iso(quiet_until)}&share=0.0005")
        fake.post(f"/_fake/advance-day?days=30&at={_iso(now - timedelta(days=3))}")
        day = fake.post("/_fake/advance-day")
        changes = day["days"][-1]["changes"]
        visible = sum(len(v) for k, v in changes.items() if k != "renewal")
        renewals = len(changes.get("renewal", ()))
        latest = fake.get(f"/v1/activities?order=-date&per_page=1&end-date={_iso(previous)}")
        state = {
            "bookmarks": {
                "activities": {
                    "replication_key": "date",
                    "replication_key_value": latest["entries"][0]["date"],
                },
                "customer_subscriptions": {
                    "subscriptions_refresh": {
                        "last_run_started": previous.isoformat(),
                        "customers_listed": day["customers"] - len(changes["new"]),
                    }
                },
            }
        }
        run = run_tap(fake, changed_mode, state=state)
    bound = run.bound(latency)
    fan_out = run.requests_by_stream.get("customer_subscriptions", 0)
    pages = run.requests - fan_out
    budget = (visible + customers / 7) * 1.2 + pages
    print(row(f"4. daily run (changed), {latency * 1000:.0f} ms", customers, run, bound))
    summary = (
        f"4. Daily run at {customers:,} customers ({visible:,} changed visibly, {renewals:,} "
        f"renewals, {day['days'][-1]['invoices']:,} invoices issued): {run.requests:,} requests "
        f"({fan_out:,} for subscriptions, {pages:,} list pages) in {run.wall:.1f} s; bound "
        f"{bound:.1f} s = {run.wall / bound:.3f} (target <= 1.10); budget {budget:,.0f} "
        f"requests (target: at most that); "
        f"429s+503s {run.by_status.get('429', 0) + run.by_status.get('503', 0)}."
    )
    return [summary]


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


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
    parser.add_argument(
        "--data-sources", type=int, nargs="+", help="1, 2 or 3, for the latency runs"
    )
    parser.add_argument("--daily-latency", type=float, help="seconds, for the daily run")
    parser.add_argument("--daily-size", type=int, help="customers, for the daily run")
    parser.add_argument("--logs", type=Path, help="keep the tap's log of every run here")
    args = parser.parse_args()
    global LOGS  # noqa: PLW0603 - one switch for the whole run
    LOGS = args.logs
    cpu_size, small, large, daily = (
        (400, 200, 1000, 300) if args.smoke else (10_000, 2_000, 50_000, 100_000)
    )
    daily_latency = args.daily_latency or (0.05 if args.smoke else 0.3)
    daily = args.daily_size or daily
    # The smoke run pairs its latencies with one and three data sources (two runs, as before).
    specs = (
        [(150, 0.01, 3), (150, 0.05, 1)]
        if args.smoke
        else [(10_000, latency, sources) for latency in (0.3, 0.6) for sources in (1, 3)]
    )
    if args.sizes or args.latencies or args.data_sources:
        sizes = args.sizes or sorted({s for s, _, _ in specs})
        latencies = args.latencies or sorted({lat for _, lat, _ in specs})
        sources = args.data_sources or sorted({d for _, _, d in specs})
        specs = [(s, lat, d) for s in sizes for lat in latencies for d in sources]
    unthrottled = {"requests_per_second": 100_000}
    wanted = {args.only} if args.only else {"latency", "cpu", "memory", "daily"}

    print(
        f"tap-chartmogul benchmark on {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    )
    print("\n".join(HEADER), flush=True)
    results: list[str] = []
    if "latency" in wanted:
        results += latency_matrix(specs)

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
        results += daily_run(daily, daily_latency)

    print()
    print("\n".join(results))


if __name__ == "__main__":
    main()
