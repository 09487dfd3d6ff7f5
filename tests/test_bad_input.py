"""Bad input: one clear line naming the problem, a non-zero exit, and no request where
the problem is local. Every case runs at DEBUG level and checks the key never shows."""

from __future__ import annotations

import json

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault
from tests.cli import assert_no_secret, error_lines, run_cli, write_json
from tests.helpers import API_KEY


@pytest.fixture(scope="module")
def server():
    with FakeChartMogul(FakeAccount(customers=20, seed=2), api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(autouse=True)
def fresh_log(server):
    server.reset_log()
    server.clear_script()


def check(result, *expected: str):
    assert result.returncode != 0
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr[-2000:]
    for text in expected:
        assert text in lines[0], lines[0]
    assert_no_secret(result.stdout, result.stderr)
    return lines[0]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"api_key": ""}, "'api_key'"),
        ({"api_key": None}, "'api_key' is required"),
        ({"start_date": "2024-02-30"}, "'start_date'"),
        ({"metrics_interval": "fortnight"}, "'metrics_interval'"),
        ({"activities_lookback_days": -7}, "'activities_lookback_days'"),
        ({"api_url": "http://chartmogul.internal.example"}, "clear text"),
        ({"metrics_segments": [{"name": "all", "geo": "US"}]}, "reserved"),
    ],
)
def test_local_setting_problems_send_no_request(server, tmp_path, settings, expected):
    config = {"api_key": API_KEY, "api_url": server.base_url, **settings}
    config = {k: v for k, v in config.items() if v is not None}
    result = run_cli(["--config", write_json(tmp_path / "c.json", config)], debug=True)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secret(result.stdout, result.stderr)
    assert server.requests == []


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("{not json", "The --state file is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"cursor": "abc"}', "unknown keys ['cursor']"),
        ('{"bookmarks": {"activities": {"replication_key_value": "soon"}}}', "not an ISO 8601"),
    ],
)
def test_bad_state_file(server, tmp_path, state, expected):
    config = write_json(tmp_path / "c.json", {"api_key": API_KEY, "api_url": server.base_url})
    result = run_cli(
        ["--config", config, "--state", write_json(tmp_path / "s.json", state)], debug=True
    )
    check(result, expected)
    assert server.requests == []


def test_a_state_message_line_is_accepted_as_state(server, tmp_path):
    config = write_json(tmp_path / "c.json", {"api_key": API_KEY, "api_url": server.base_url})
    bookmark = {"replication_key": "date", "replication_key_value": "2025-12-01T00:00:00+00:00"}
    line = json.dumps({"type": "STATE", "value": {"bookmarks": {"activities": bookmark}}})
    catalog = write_json(
        tmp_path / "cat.json",
        {
            "streams": [
                {
                    "tap_stream_id": "activities",
                    "stream": "activities",
                    "schema": {},
                    "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
                }
            ]
        },
    )
    result = run_cli(
        ["--config", config, "--state", write_json(tmp_path / "s.json", line), "--catalog", catalog]
    )
    assert result.returncode == 0, result.stderr
    starts = {r.query.get("start-date") for r in server.requests if r.path == "/v1/activities"}
    assert starts == {"2025-11-01T00:00:00Z"}


def test_catalog_naming_an_unknown_stream(server, tmp_path):
    config = write_json(tmp_path / "c.json", {"api_key": API_KEY, "api_url": server.base_url})
    catalog = write_json(
        tmp_path / "cat.json", {"streams": [{"tap_stream_id": "refunds", "stream": "refunds"}]}
    )
    check(run_cli(["--config", config, "--catalog", catalog], debug=True), "refunds", "--discover")
    assert server.requests == []


def test_catalog_that_is_not_a_catalog(server, tmp_path):
    config = write_json(tmp_path / "c.json", {"api_key": API_KEY, "api_url": server.base_url})
    catalog = write_json(tmp_path / "cat.json", {"stream": "customers"})
    check(run_cli(["--config", config, "--catalog", catalog], debug=True), '"streams" list')


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Fault(
                status=401,
                body='{"code": 401, "message": "No valid API key provided", "param": null}',
            ),
            "HTTP 401",
        ),
        (
            Fault(status=403, body='{"code":403,"message":"Your trial has expired","param":null}'),
            "HTTP 403",
        ),
        (Fault(kind="html"), "text/html"),
    ],
)
def test_refusals_and_foreign_pages_fail_at_once(server, tmp_path, fault, expected):
    server.script(r"^/v1/account$", [fault])
    config = write_json(tmp_path / "c.json", {"api_key": API_KEY, "api_url": server.base_url})
    check(run_cli(["--config", config], debug=True), expected, "/v1/account")
    assert len(server.requests) == 1


def test_unreachable_api_url(tmp_path):
    config = write_json(
        tmp_path / "c.json", {"api_key": API_KEY, "api_url": "http://127.0.0.1:9", "max_retries": 1}
    )
    line = check(
        run_cli(["--config", config], debug=True), "Gave up on /v1/account after 2 attempts"
    )
    assert "connection failed" in line
    assert "check api_url" in line
