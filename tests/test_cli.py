"""The installed ``tap-chartmogul`` command: one-line errors, exit codes, no leaked secrets."""

from __future__ import annotations

import json

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tests.cli import assert_no_secret, error_lines, run_cli, write_json
from tests.helpers import API_KEY


@pytest.fixture(scope="module")
def failing_fake():
    """Every data request fails with a plain-text 500; the key is right."""
    with FakeChartMogul(FakeAccount(customers=20, seed=3), api_key=API_KEY) as server:
        yield server


@pytest.mark.slow
def test_key_never_appears_at_debug_level(failing_fake, tmp_path):
    failing_fake.script(r"^/v1/", [500] * 50)
    config = {"api_key": API_KEY, "api_url": failing_fake.base_url, "max_retries": 2}
    result = run_cli(["--config", write_json(tmp_path / "config.json", config)], debug=True)
    assert result.returncode != 0
    # DEBUG really was on, including urllib3's connection logs...
    assert "DEBUG" in result.stderr
    assert "urllib3" in result.stderr or "Starting new HTTP connection" in result.stderr
    # ...and still no trace of the key in any encoding, nor of the header.
    assert_no_secret(result.stdout, result.stderr)
    assert "Gave up on /v1/account after 3 attempts" in result.stderr


def test_wrong_key_one_clear_line_no_traceback_no_retry(tmp_path):
    with FakeChartMogul(FakeAccount(customers=5, seed=1), api_key=API_KEY) as server:
        wrong = "cm_wrong_KEY_should_not_print_42"
        config = {"api_key": wrong, "api_url": server.base_url}
        result = run_cli(["--config", write_json(tmp_path / "config.json", config)], debug=True)
        assert len(server.requests) == 1
    assert result.returncode != 0
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert "ChartMogul rejected the API key (HTTP 401" in errors[0]
    assert "check api_key" in errors[0]
    assert wrong not in result.stdout + result.stderr
    assert not any(m for m in result.stdout.splitlines() if '"RECORD"' in m)


def test_wrong_key_at_info_has_no_traceback(tmp_path):
    with FakeChartMogul(FakeAccount(customers=5, seed=1), api_key=API_KEY) as server:
        config = {"api_key": "nope", "api_url": server.base_url}
        result = run_cli(["--config", write_json(tmp_path / "config.json", config)])
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(error_lines(result.stderr)) == 1


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        ({"api_key": API_KEY, "api_url": "http://api.chartmogul.example"}, "api_url"),
        ({"api_key": API_KEY, "start_date": "last tuesday"}, "start_date"),
        ({"api_key": ""}, "api_key"),
        ({}, "api_key"),
    ],
)
def test_invalid_settings_fail_before_any_request(config, setting, tmp_path):
    with FakeChartMogul(FakeAccount(customers=5, seed=1), api_key=API_KEY) as server:
        config = {"api_url": server.base_url, **config}
        result = run_cli(["--config", write_json(tmp_path / "config.json", config)])
        assert server.requests == []
    assert result.returncode != 0
    assert f"'{setting}'" in result.stderr
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stderr


def test_discover_needs_no_config():
    result = run_cli(["--discover"])
    assert result.returncode == 0, result.stderr
    catalog = json.loads(result.stdout)
    keys = {s["tap_stream_id"]: s["key_properties"] for s in catalog["streams"]}
    metric_key = ["segment", "date", "interval"]
    assert keys == {
        "account": ["account_key"],
        "data_sources": ["uuid"],
        "customers": ["uuid"],
        "customer_subscriptions": ["uuid"],
        "plans": ["uuid"],
        "plan_groups": ["uuid"],
        "plan_group_plans": ["plan_group_uuid", "uuid"],
        "invoices": ["uuid"],
        "invoice_line_items": ["uuid"],
        "invoice_transactions": ["uuid"],
        "subscription_events": ["id"],
        "activities": ["uuid"],
        "contacts": ["uuid"],
        "notes": ["uuid"],
        "customer_notes": ["uuid"],
        "tasks": ["task_uuid"],
        "opportunities": ["uuid"],
        "metrics": metric_key,
        "metrics_mrr": metric_key,
        "metrics_arr": metric_key,
        "metrics_arpa": metric_key,
        "metrics_asp": metric_key,
        "metrics_customer_count": metric_key,
        "metrics_customer_churn_rate": metric_key,
        "metrics_mrr_churn_rate": metric_key,
        "metrics_ltv": metric_key,
    }
    activities = next(s for s in catalog["streams"] if s["tap_stream_id"] == "activities")
    assert activities["replication_key"] == "date"
    assert activities["replication_method"] == "INCREMENTAL"


@pytest.mark.slow
def test_test_mode_syncs_one_record_per_stream_without_error_lines(tmp_path):
    with FakeChartMogul(FakeAccount(customers=30, seed=4), api_key=API_KEY) as server:
        config = {"api_key": API_KEY, "api_url": server.base_url}
        result = run_cli(["--config", write_json(tmp_path / "config.json", config), "--test"])
    assert result.returncode == 0, result.stderr
    streams = [
        json.loads(line)["stream"] for line in result.stdout.splitlines() if '"RECORD"' in line
    ]
    assert len(streams) == len(set(streams)) == 26
    assert error_lines(result.stderr) == []
