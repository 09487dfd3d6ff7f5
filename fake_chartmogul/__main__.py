"""Command line: ``python -m fake_chartmogul --port 8765 --customers 100 ...``.

Benchmarks and manual tap runs need the fake in its own process; ``--ready-file`` lets a
script wait until the port is bound instead of sleeping. ``--days N`` serves the account after
N simulated days of changes (days/), the last one stamped now or at ``--days-end``; while it
runs, a harness applies further days with ``POST /_fake/advance-day`` (``?days=N``,
``?at=<ISO datetime>``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .account import FakeAccount
from .days import DayRates
from .faults import FAULT_KINDS
from .formats import parse_datetime
from .server import FakeChartMogul

if TYPE_CHECKING:
    from types import FrameType


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fake_chartmogul",
        description="Serve a fake ChartMogul REST API on 127.0.0.1.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--customers", type=int, default=100)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--thick",
        action="store_true",
        help="an invoice per billing period of every subscription, a bulk-imported history",
    )
    p.add_argument(
        "--data-sources", type=int, default=None, help="1, 2 or 3 (default: two or three)"
    )
    p.add_argument("--api-key", default="test-key")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    p.add_argument("--rate-limit", type=int, default=None, help="max requests per second")
    p.add_argument("--retry-after", default=None, help="Retry-After value on rate-limit 429s")
    p.add_argument(
        "--max-connections", type=int, default=None, help="requests in flight above this get 503"
    )
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument(
        "--fault-kinds", default="500,502,503,504", help=f"comma list of: {','.join(FAULT_KINDS)}"
    )
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--fault-slow-seconds", type=float, default=5.0)
    p.add_argument(
        "--ready-file", type=Path, default=None, help="write the base URL here once listening"
    )
    p.add_argument(
        "--days", type=int, default=0, help="simulated days of changes applied before serving"
    )
    p.add_argument(
        "--days-end",
        type=parse_datetime,
        default=None,
        help="ISO date-time the last simulated day is stamped at (default: now)",
    )
    p.add_argument(
        "--changes-per-day",
        type=float,
        default=DayRates().sum(),
        help="share of the customers changed per simulated day (default mix of kinds)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; scripts wait for the ready file or the stdout line."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.days < 0 or not 0.0 <= args.changes_per_day <= 1.0:
        parser.error("--days must be >= 0 and --changes-per-day between 0 and 1")
    if args.data_sources is not None and not 1 <= args.data_sources <= 3:  # noqa: PLR2004
        parser.error("--data-sources must be 1, 2 or 3")
    kinds = [k.strip() for k in args.fault_kinds.split(",") if k.strip()]
    built = time.perf_counter()
    account = FakeAccount(
        customers=args.customers,
        seed=args.seed,
        thick=args.thick,
        data_sources=args.data_sources,
    )
    built = time.perf_counter() - built
    account.timeline.rates = DayRates.total(args.changes_per_day)
    aged = time.perf_counter()
    account.timeline.advance_days(args.days, end=args.days_end)
    aged = time.perf_counter() - aged
    fake = FakeChartMogul(
        account,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        latency=args.latency,
        rate_limit_rps=args.rate_limit,
        max_connections=args.max_connections,
        fault_rate=args.fault_rate,
        fault_kinds=kinds,
        fault_seed=args.fault_seed,
        retry_after=args.retry_after,
        fault_slow_seconds=args.fault_slow_seconds,
    )
    fake.api.warm()  # index now, so benchmarks don't time the first requests' sorting
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        fake.start()
    except OSError as error:
        print(  # noqa: T201 - the CLI's one line of error
            f"fake ChartMogul: cannot listen on {args.host}:{args.port} "
            f"({error.strerror or error}): is the port in use? --port 0 picks a free one",
            file=sys.stderr,
        )
        return 1
    if args.ready_file is not None:  # before the stdout line, so either one signals readiness
        tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
        tmp.write_text(fake.base_url + "\n")
        tmp.replace(args.ready_file)  # atomic: waiters never read a half-written file
    listening = f"fake ChartMogul listening on {fake.base_url} (api key: {args.api_key})"
    print(listening, flush=True)  # noqa: T201 - the CLI's one line of output
    print(  # noqa: T201 - progress goes to stderr
        f"dataset: {args.customers} customers{', thick' if args.thick else ''}, "
        f"{len(account.data_sources)} data sources, {len(account.invoices)} invoices, "
        f"seed {args.seed}, built in {built:.2f}s; "
        f"{args.days} days of changes ({args.changes_per_day:g} a day) in {aged:.2f}s",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: freeing a 50k-customer dataset object by object takes seconds
    # and scripts that SIGTERM the fake should not wait for it. The server is already stopped.
    os._exit(code)
