"""Metric series: segments, intervals, windows and restatement."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from singer_sdk.exceptions import ConfigValidationError

from fake_chartmogul import Fault
from tap_chartmogul.metrics_plan import Window, coarsest, windows
from tap_chartmogul.tap import TapChartMogul
from tests.helpers import API_KEY, records, run_sync

TODAY = datetime.now(UTC).date()


def calls(fake, path):
    return [r.query for r in fake.requests if r.path == path]


def test_windows_split_daily_series_with_one_day_overlap():
    start = date(2023, 1, 1)
    plan = windows(start, start + timedelta(days=800), "day")
    assert plan[0] == Window(start, start + timedelta(days=365))
    assert len(plan) == 3  # every later window starts on its predecessor's last day:
    for earlier, later in itertools.pairwise(plan):
        assert later.start == earlier.end
    assert plan[-1].end == start + timedelta(days=800)
    assert windows(start, start + timedelta(days=365), "day") == [
        Window(start, start + timedelta(days=365))
    ]
    assert len(windows(start, start + timedelta(days=3000), "week")) == 1


def test_coarsest_interval():
    assert coarsest("day", ("month", "quarter", "year")) == "month"
    assert coarsest("quarter", ("month", "quarter", "year")) == "quarter"
    assert coarsest("week", ("day", "week")) == "week"


def test_one_series_per_segment_with_unique_keys(fake, config):
    config = {
        **config,
        "start_date": "2025-06-01",
        "metrics_segments": [
            {"name": "eu", "geo": "DE,FR"},
            {"name": "pro", "plans": "Pro,Pro Annual"},
        ],
    }
    messages = run_sync(config, streams=["metrics_mrr"])
    rows = records(messages, "metrics_mrr")
    days = (TODAY - date(2025, 6, 1)).days + 1
    by_segment = {}
    for row in rows:
        by_segment.setdefault(row["segment"], []).append(row)
    assert {k: len(v) for k, v in by_segment.items()} == {"all": days, "eu": days, "pro": days}
    assert len({(r["segment"], r["date"], r["interval"]) for r in rows}) == len(rows)
    queries = calls(fake, "/v1/metrics/mrr")
    assert {(q.get("geo"), q.get("plans")) for q in queries} == {
        (None, None),
        ("DE,FR", None),
        (None, "Pro,Pro Annual"),
    }
    assert by_segment["eu"][0]["mrr"] != by_segment["all"][0]["mrr"]  # the filter mattered
    for key in (
        "mrr_new_business",
        "mrr_expansion",
        "mrr_contraction",
        "mrr_churn",
        "mrr_reactivation",
    ):
        assert key in rows[0]


def test_global_filters_apply_to_every_series(fake, config):
    config = {
        **config,
        "metrics_interval": "month",
        "metrics_geo": "US",
        "metrics_filters": "customer-country~IS~US",
        "metrics_segments": [{"name": "gold", "plans": "Gold"}],
    }
    run_sync(config, streams=["metrics_arr"])
    queries = calls(fake, "/v1/metrics/arr")
    assert [(q.get("geo"), q.get("plans"), q.get("filters")) for q in queries] == [
        ("US", None, "customer-country~IS~US"),
        ("US", "Gold", "customer-country~IS~US"),
    ]
    assert {q["interval"] for q in queries} == {"month"}


def test_asp_is_clamped_to_month_without_a_400(fake, config, caplog):
    with caplog.at_level(logging.INFO):
        messages = run_sync({**config, "metrics_interval": "day"}, streams=["metrics_asp"])
    queries = calls(fake, "/v1/metrics/asp")
    assert [q["interval"] for q in queries] == ["month"]
    assert all(r.status == 200 for r in fake.requests)
    rows = records(messages, "metrics_asp")
    assert rows
    assert {r["interval"] for r in rows} == {"month"}
    (said,) = [r for r in caplog.records if "metrics_interval" in r.message]
    assert "metrics_asp" in said.message
    assert said.levelno == logging.INFO  # expected with the default interval: no warning


def test_refused_interval_falls_back_to_a_coarser_one(fake, config, caplog):
    fake.script(
        r"^/v1/metrics/ltv$",
        [
            Fault(
                status=400,
                body='{"code":400,"message":"Interval not supported","param":"interval"}',
            )
        ],
    )
    with caplog.at_level(logging.WARNING):
        messages = run_sync({**config, "metrics_interval": "day"}, streams=["metrics_ltv"])
    queries = calls(fake, "/v1/metrics/ltv")
    assert [q["interval"] for q in queries] == ["day", "week"]
    assert {r["interval"] for r in records(messages, "metrics_ltv")} == {"week"}
    assert any("refused interval=day" in m for m in caplog.messages)


def test_other_400s_still_fail_clearly(fake, config):
    fake.script(
        r"^/v1/metrics/arr$",
        [Fault(status=400, body='{"code":400,"message":"Invalid filter","param":"filters"}')],
    )
    with pytest.raises(Exception, match="Invalid filter"):
        run_sync({**config, "metrics_filters": "bogus"}, streams=["metrics_arr"])


def test_long_daily_window_is_chunked_and_percentages_match_one_big_request(
    fake, config, small_account
):
    start = TODAY - timedelta(days=900)
    messages = run_sync({**config, "start_date": start.isoformat()}, streams=["metrics_mrr"])
    rows = records(messages, "metrics_mrr")
    assert len(calls(fake, "/v1/metrics/mrr")) == 3
    whole = small_account.metrics_entries("mrr", start, TODAY, "day")
    assert [r["date"] for r in rows] == [e["date"] for e in whole]
    assert [r["percentage_change"] for r in rows] == [e["percentage-change"] for e in whole]
    assert [r["mrr"] for r in rows] == [e["mrr"] for e in whole]


def test_all_nine_metric_streams_are_restated_over_the_whole_window(fake, config):
    names = [
        "metrics",
        "metrics_mrr",
        "metrics_arr",
        "metrics_arpa",
        "metrics_asp",
        "metrics_customer_count",
        "metrics_customer_churn_rate",
        "metrics_mrr_churn_rate",
        "metrics_ltv",
    ]
    messages = run_sync(
        {**config, "start_date": "2026-01-01", "metrics_interval": "month"}, streams=names
    )
    months = TODAY.month + (TODAY.year - 2026) * 12
    for name in names:
        rows = records(messages, name)
        assert len(rows) == months, name
        assert rows[0]["date"] == "2026-01-31", name
    # One request per stream, and the data sources' listing once (is ChartMogul processing?).
    assert fake.count("/v1/data_sources") == 1
    assert len(fake.requests) == len(names) + 1


@pytest.mark.parametrize(
    ("extra", "setting"),
    [
        ({"metrics_interval": "hourly"}, "metrics_interval"),
        ({"metrics_geo": "Germany"}, "metrics_geo"),
        ({"metrics_segments": [{"name": "all", "geo": "DE"}]}, "metrics_segments"),
        (
            {"metrics_segments": [{"name": "a", "geo": "DE"}, {"name": "a", "geo": "FR"}]},
            "metrics_segments",
        ),
        ({"metrics_segments": [{"name": "x"}]}, "metrics_segments"),
        ({"metrics_segments": [{"name": "x", "region": "EU"}]}, "metrics_segments"),
        ({"activities_lookback_days": -1}, "activities_lookback_days"),
    ],
)
def test_bad_metrics_settings_fail_before_any_request(extra, setting):
    with pytest.raises(ConfigValidationError) as caught:
        TapChartMogul(config={"api_key": API_KEY, **extra}, parse_env_config=False)
    assert any(f"'{setting}'" in error for error in caught.value.errors), caught.value.errors
