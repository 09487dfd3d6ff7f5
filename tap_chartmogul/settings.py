"""Checks on the tap's settings that JSON Schema cannot express, with clear messages.

Each problem is reported as one line that names the setting. The SDK's schema check
runs first; its messages are rewritten for ``api_key`` so the value never appears.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
from datetime import datetime
from urllib.parse import urlsplit

from tap_chartmogul.http_session import API_MAX_CONNECTIONS
from tap_chartmogul.metrics_plan import INTERVALS, UNSEGMENTED

LOOPBACK_NAMES = frozenset({"localhost"})
_COUNTRY_LIST = re.compile(r"^[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*$")


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


def limit_problem(name: str, value: object, ceiling: float) -> str | None:
    """Explain why ``value`` is not a positive number up to ChartMogul's ``ceiling``."""
    problem = positive_number_problem(name, value)
    if problem:
        return problem
    if t.cast("float", value) > ceiling:
        return f"Setting {name!r} must be at most {ceiling:g} (ChartMogul's limit), got {value!r}"
    return None


def whole_number_problem(name: str, value: object) -> str | None:
    """Explain why ``value`` is not a whole number >= 0, or None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"Setting {name!r} must be a whole number >= 0, got {value!r}"
    return None


def _segment_problems(where: str, segment: object, seen: set[str]) -> list[str]:
    """Problems with one configured segment (``seen`` collects the names so far)."""
    if not isinstance(segment, dict):
        return [f"{where} must be an object with a name"]
    name = segment.get("name")
    if not isinstance(name, str) or not name.strip():
        return [f"{where} needs a non-empty 'name'"]
    problems: list[str] = []
    if name == UNSEGMENTED:
        problems.append(f"{where}: the name {UNSEGMENTED!r} is reserved for the unsegmented series")
    if name in seen:
        problems.append(f"{where}: the name {name!r} is used twice")
    seen.add(name)
    unknown = sorted(set(segment) - {"name", "geo", "plans", "filters"})
    if unknown:
        problems.append(f"{where} has unknown keys {unknown}: use geo, plans, filters")
    if not any(segment.get(key) for key in ("geo", "plans", "filters")):
        problems.append(f"{where} ({name!r}) sets none of geo, plans, filters")
    geo = segment.get("geo")
    if geo and not (isinstance(geo, str) and _COUNTRY_LIST.match(geo.strip())):
        problems.append(f"{where} ({name!r}): geo must be 2-letter country codes, got {geo!r}")
    return problems


def metrics_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    """Problems with the ``metrics_*`` settings, found before any request."""
    problems: list[str] = []
    interval = config.get("metrics_interval")
    if interval is not None and interval not in INTERVALS:
        problems.append(
            f"Setting 'metrics_interval' must be one of {', '.join(INTERVALS)}, got {interval!r}"
        )
    geo = config.get("metrics_geo")
    if geo and not (isinstance(geo, str) and _COUNTRY_LIST.match(geo.strip())):
        problems.append(
            f"Setting 'metrics_geo' must be comma-separated 2-letter country codes, got {geo!r}"
        )
    segments = config.get("metrics_segments") or []
    if not isinstance(segments, list):
        return [
            *problems,
            "Setting 'metrics_segments' must be a list of {name, geo, plans, filters}",
        ]
    seen: set[str] = set()
    for index, segment in enumerate(segments):
        problems.extend(
            _segment_problems(f"Setting 'metrics_segments' item {index + 1}", segment, seen)
        )
    return problems


def settings_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every problem with the tap's own settings, one message each."""
    checks = [
        api_key_problem(config.get("api_key")),
        api_url_problem(config.get("api_url")),
        start_date_problem(config.get("start_date")),
        positive_number_problem("request_timeout", config.get("request_timeout")),
    ]
    checks.append(whole_number_problem("max_retries", config.get("max_retries")))
    requests_per_second = config.get("requests_per_second")
    checks.append(
        whole_number_problem("requests_per_second", requests_per_second)
        or positive_number_problem("requests_per_second", requests_per_second)
    )
    connections = config.get("max_connections")
    checks.append(
        whole_number_problem("max_connections", connections)
        or limit_problem("max_connections", connections, API_MAX_CONNECTIONS)
    )
    checks.append(
        whole_number_problem("activities_lookback_days", config.get("activities_lookback_days"))
    )
    checks.extend(metrics_problems(config))
    return [problem for problem in checks if problem]
