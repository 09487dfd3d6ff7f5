"""Settings are checked before any request, with one message that names the setting."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_chartmogul.errors import one_line
from tap_chartmogul.settings import api_url_problem, is_loopback, start_date_problem
from tap_chartmogul.tap import TapChartMogul

SECRET = "sk_live_SETTINGS_SECRET_123"


def build(**config):
    return TapChartMogul(config={"api_key": SECRET, **config}, parse_env_config=False)


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1"],
)
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["api.chartmogul.com", "10.0.0.1", "128.0.0.1", "localhost.evil"])
def test_non_loopback_hosts(host):
    assert not is_loopback(host)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.chartmogul.com",
        "https://api.chartmogul.com/",
        "http://127.0.0.1:8765",
        "http://localhost:1",
        "http://[::1]:9000",
    ],
)
def test_usable_api_urls(url):
    assert api_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://api.chartmogul.com", "clear text"),
        ("http://10.1.1.1:80", "clear text"),
        ("ftp://api.chartmogul.com", "http(s) URL"),
        ("api.chartmogul.com", "http(s) URL"),
        ("https://api.chartmogul.com/v1", "must not include /v1"),
        ("https://user:pw@api.chartmogul.com", "must not contain credentials"),
        ("", "must be a URL"),
    ],
)
def test_bad_api_urls_name_the_setting(url, expected):
    problem = api_url_problem(url)
    assert problem is not None
    assert "'api_url'" in problem
    assert expected in problem


@pytest.mark.parametrize(
    "value", ["2024-01-01", "2024-01-01T00:00:00Z", "2024-01-01T10:00:00+02:00"]
)
def test_valid_start_dates(value):
    assert start_date_problem(value) is None


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "01/02/2024", 20240101])
def test_invalid_start_dates(value):
    problem = start_date_problem(value)
    assert problem is not None
    assert "'start_date'" in problem


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        ({"api_url": "http://api.chartmogul.com"}, "api_url"),
        ({"start_date": "not a date"}, "start_date"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_tap_refuses_bad_settings_before_any_request(config, setting):
    with pytest.raises(ConfigValidationError) as caught:
        build(**config)
    assert any(f"'{setting}'" in error for error in caught.value.errors)


@pytest.mark.parametrize("key", ["", "   ", 12345, None])
def test_bad_api_key_is_reported_without_its_value(key):
    with pytest.raises(ConfigValidationError) as caught:
        TapChartMogul(config={"api_key": key}, parse_env_config=False)
    assert any("'api_key'" in error for error in caught.value.errors)
    assert not any("12345" in error for error in caught.value.errors)


def test_missing_api_key():
    with pytest.raises(ConfigValidationError) as caught:
        TapChartMogul(config={}, parse_env_config=False)
    assert any("'api_key' is required" in error for error in caught.value.errors)


def test_defaults_apply():
    tap = build()
    assert tap.config["api_url"] == "https://api.chartmogul.com"
    assert tap.config["request_timeout"] == 60
    assert tap.config["max_retries"] == 10


def test_error_details_lose_emails_and_stay_on_one_line():

    body = 'Can\'t find any customers with email: "jane.doe+vip@example.co.uk"\n  (param: email)'
    assert one_line(body) == 'Can\'t find any customers with email: "<email>" (param: email)'
    assert len(one_line("x" * 500)) == 200
