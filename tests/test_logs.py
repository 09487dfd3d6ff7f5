"""A daily run's log: short, with progress for long streams and a summary at the end."""

from __future__ import annotations

import itertools
import re

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tap_chartmogul.run.progress import (
    FIRST_PROGRESS_SECONDS,
    PROGRESS_INTERVAL_SECONDS,
    RunProgress,
)
from tests.cli import run_cli, write_json
from tests.helpers import API_KEY


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_come_soon_then_at_most_every_interval_with_rate_and_time_left(caplog):
    clock = Clock()
    progress = RunProgress(clock=clock)
    progress.register("customer_subscriptions")
    caplog.set_level("INFO", logger="tap-chartmogul")
    for _ in range(100):
        progress.request("customer_subscriptions")
    progress.parents("customer_subscriptions", done=100, total=1000)
    progress.records("customer_subscriptions", 0)  # the SDK starts writing the stream
    clock.now += FIRST_PROGRESS_SECONDS - 1
    progress.records("customer_subscriptions", 150)
    assert caplog.messages == []  # not yet due
    clock.now += 1
    progress.records("customer_subscriptions", 50)
    (line,) = caplog.messages
    assert line.startswith("customer_subscriptions: 200 records, 100 requests (20.0/s) in 5s")
    # 100 of 1,000 parents in 5 s: 900 more take 45 s.
    assert "100 of 1,000 parents, about 1 min left" in line
    # Then the gaps double (10 s, 20 s) up to the interval, and stay there.
    reported_at = [clock.now]
    for _ in range(120):
        clock.now += 1
        before = len(caplog.messages)
        progress.records("customer_subscriptions", 1)
        if len(caplog.messages) > before:
            reported_at.append(clock.now)
    gaps = [later - earlier for earlier, later in itertools.pairwise(reported_at)]
    assert gaps[:4] == [10, 20, PROGRESS_INTERVAL_SECONDS, PROGRESS_INTERVAL_SECONDS]


def test_summary_has_a_row_per_stream_that_ran_and_a_total():
    clock = Clock()
    progress = RunProgress(clock=clock)
    for name in ("account", "customers", "plans"):
        progress.register(name)
    progress.request("account")
    progress.records("account", 1)
    progress.finish("account", "completed")
    for _ in range(3):
        progress.request("customers")
    progress.retry("customers")
    clock.now += 2.5
    progress.records("customers", 450)
    progress.fetched("customers")
    progress.finish("customers", "failed", invalid_values=2)
    lines = progress.summary_lines()
    assert lines[0].startswith("Run summary (2.5s)")
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {"account", "customers", "total"}  # plans never ran
    assert rows["customers"][1:5] == ["450", "3", "1", "2.5"]
    assert "failed, 2 values nulled" in lines[3]
    assert rows["total"][1:4] == ["451", "4", "1"]


@pytest.mark.slow
def test_a_default_run_of_2000_customers_writes_about_100_lines_at_most(tmp_path):
    with FakeChartMogul(FakeAccount(customers=2000, seed=8), api_key=API_KEY) as fake:
        config = {"api_key": API_KEY, "api_url": fake.base_url, "requests_per_second": 2000}
        result = run_cli(["--config", write_json(tmp_path / "c.json", config)])
        metrics = run_cli(
            ["--config", write_json(tmp_path / "m.json", {**config, "log_metrics": True})]
        )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    print(f"{len(lines)} log lines for 2,000 customers")
    assert len(lines) <= 100
    assert not [line for line in lines if "METRIC" in line]
    assert not [line for line in lines if "Pagination stopped" in line]
    summary = lines.index(next(line for line in lines if "Run summary" in line))
    rows = [re.split(r"\s+\|\s+", line)[-1].split()[0] for line in lines[summary + 2 :]]
    assert len(rows) == 27  # 26 streams and the total
    assert rows[-1] == "total"
    # The SDK's metric lines are still there for whoever asks.
    assert metrics.returncode == 0
    assert sum("METRIC" in line for line in metrics.stderr.splitlines()) > 2000
