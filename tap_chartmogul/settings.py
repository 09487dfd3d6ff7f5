"""Checks on the tap's settings that JSON Schema cannot express, with clear messages.

Each problem is reported as one line that names the setting. The SDK's schema check
runs first; its messages are rewritten for ``api_key`` so the value never appears.
"""

from __future__ import annotations

import ipaddress
import typing as t
from datetime import datetime
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: traffic that never leaves the machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_url_problem(url: object) -> str | None:
    """Explain what is wrong with ``api_url``, or None if it is usable."""
    if not isinstance(url, str) or not url.strip():
        return "Setting 'api_url' must be a URL such as https://api.chartmogul.com"
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return f"Setting 'api_url' must be an http(s) URL with a host, got {url!r}"
    if parts.query or parts.fragment or parts.username or parts.password:
        return "Setting 'api_url' must not contain credentials, a query or a fragment"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            f"Setting 'api_url' uses plain http:// to {parts.hostname}: the API key would "
            "travel in clear text; use https:// (http is allowed only for localhost)"
        )
    if parts.path.rstrip("/").endswith("/v1"):
        return "Setting 'api_url' must not include /v1 (the tap adds it), e.g. https://api.chartmogul.com"
    return None


def start_date_problem(value: object) -> str | None:
    """Explain what is wrong with ``start_date``, or None if absent or valid."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return None
    return (
        f"Setting 'start_date' must be an ISO 8601 date or date-time such as "
        f"2024-01-01 or 2024-01-01T00:00:00Z, got {value!r}"
    )


def positive_number_problem(name: str, value: object) -> str | None:
    """Explain why ``value`` is not a positive number, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return f"Setting {name!r} must be a positive number, got {value!r}"
    return None


def api_key_problem(value: object) -> str | None:
    """Explain what is wrong with ``api_key`` without ever quoting it."""
    if value is None:
        return "Setting 'api_key' is required: set it to a ChartMogul API key (Profile > API keys)"
    if not isinstance(value, str) or not value.strip():
        return "Setting 'api_key' must be a non-empty string"
    if value != value.strip():
        return "Setting 'api_key' has leading or trailing whitespace: paste the key without it"
    return None


def settings_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every problem with the tap's own settings, one message each."""
    checks = [
        api_key_problem(config.get("api_key")),
        api_url_problem(config.get("api_url")),
        start_date_problem(config.get("start_date")),
        positive_number_problem("request_timeout", config.get("request_timeout")),
    ]
    retries = config.get("max_retries")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        checks.append(f"Setting 'max_retries' must be a whole number >= 0, got {retries!r}")
    return [problem for problem in checks if problem]
