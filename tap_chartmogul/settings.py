"""The tap's settings: their JSON schema, and one clear line for each bad value.

Bounds and allowed values live in the schema (``--about`` shows them, Meltano and the
SDK validate against it). The SDK's own messages for a failed check are JSON Schema's
(``'fortnight' is not one of [...]``, and they would quote a mistyped ``api_key``), so
``settings_problems`` re-checks the same schema and words each problem itself: one
line per bad setting, naming it, never quoting the key. What JSON Schema cannot say is
checked by hand: http only for loopback hosts, a parseable URL and date, segment names.
Every numeric setting has a ceiling, so no value can overflow a timer or a date.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import typing as t
from datetime import datetime
from urllib.parse import urlsplit

from jsonschema import Draft7Validator
from singer_sdk import typing as th

from tap_chartmogul.metrics_plan import INTERVALS, UNSEGMENTED

if t.TYPE_CHECKING:
    from jsonschema import ValidationError

#: ChartMogul's documented ceilings, per account.
API_REQUESTS_PER_SECOND = 40
API_MAX_CONNECTIONS = 20

DEFAULT_API_URL = "https://api.chartmogul.com"
#: How far before the bookmark ``activities`` re-reads by default.
DEFAULT_ACTIVITIES_LOOKBACK_DAYS = 30
#: Period of each metrics row when ``metrics_interval`` is not set.
DEFAULT_INTERVAL = "day"
#: How far back metrics reach when ``start_date`` is not set.
DEFAULT_METRICS_LOOKBACK_DAYS = 365
REFRESH_MODES = ("all", "changed")
DEFAULT_REFRESH = "all"
DEFAULT_MAX_AGE_DAYS = 7
#: Two requests/s under ChartMogul's 40, as headroom for network jitter and other tools
#: sharing the key (their 429s are still handled).
DEFAULT_REQUESTS_PER_SECOND = 38
#: ChartMogul's 20: at 600 ms per request that many in flight are needed to reach the rate
#: limit. The rate limiter, not this cap, sets the pace: at 50 ms only 2 are ever busy.
DEFAULT_MAX_CONNECTIONS = API_MAX_CONNECTIONS
DEFAULT_REQUEST_TIMEOUT = 60
DEFAULT_MAX_RETRIES = 10
#: Far above ChartMogul's largest page (200 invoices with their line items and
#: transactions: about 1 MB), far below what would strain the machine.
DEFAULT_MAX_RESPONSE_MB = 64
MAX_RESPONSE_MB = 4096
#: Ceilings that keep every derived duration and date inside what the clock can hold.
MAX_REQUEST_TIMEOUT = 3600
MAX_RETRIES = 100
MAX_LOOKBACK_DAYS = 36500
MAX_REQUESTS_PER_SECOND = 100_000
MAX_AGE_DAYS = 365

LOOPBACK_NAMES = frozenset({"localhost"})
_COUNTRY_LIST = re.compile(r"^[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*$")

#: The tap's own settings. ``config_jsonschema`` is built from it; the SDK later adds
#: its built-in settings to that dict in place, so this object is the pristine list.
SETTINGS = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType(nullable=False, min_length=1),
        required=True,
        secret=True,
        title="API key",
        description=(
            "ChartMogul API key (a read-only key is enough). Sent as the HTTP Basic "
            "username with an empty password; never logged."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType(nullable=False),
        default=DEFAULT_API_URL,
        title="API URL",
        description=(
            "Base URL of the API, without /v1. Must be https:// unless the host is "
            "loopback (localhost, 127.0.0.0/8, ::1), e.g. a local test server."
        ),
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description=(
            "Earliest date of time-based data: the metrics window (default: 365 days "
            "before the run) and the first activities run (default: all history)."
        ),
    ),
    th.Property(
        "activities_lookback_days",
        th.IntegerType(nullable=False, minimum=0, maximum=MAX_LOOKBACK_DAYS),
        default=DEFAULT_ACTIVITIES_LOOKBACK_DAYS,
        title="Activities lookback (days)",
        description=(
            "Days before the bookmark that each incremental run of activities re-reads, "
            "to catch activities ChartMogul back-dated or recomputed since the last run "
            f"(0 to {MAX_LOOKBACK_DAYS})."
        ),
    ),
    th.Property(
        "metrics_interval",
        th.StringType(nullable=False),
        default=DEFAULT_INTERVAL,
        allowed_values=list(INTERVALS),
        title="Metrics interval",
        description=(
            "Period of each metrics row: day, week, month, quarter or year. metrics_asp is "
            "at least monthly (ChartMogul computes ASP per month at the finest)."
        ),
    ),
    th.Property(
        "metrics_geo",
        th.StringType,
        title="Metrics countries",
        description=(
            "Comma-separated ISO 3166 alpha-2 country codes that every metric series is limited to."
        ),
    ),
    th.Property(
        "metrics_plans",
        th.StringType,
        title="Metrics plans",
        description=(
            "Comma-separated plan names, uuids or external ids that every metric series "
            "is limited to."
        ),
    ),
    th.Property(
        "metrics_filters",
        th.StringType,
        title="Metrics filters",
        description=(
            "A ChartMogul Filter Language expression applied to every metric series, "
            "passed through as is."
        ),
    ),
    th.Property(
        "metrics_segments",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType(nullable=False), required=True),
                th.Property("geo", th.StringType),
                th.Property("plans", th.StringType),
                th.Property("filters", th.StringType),
            )
        ),
        title="Metrics segments",
        description=(
            "Extra named series for every metric stream, each with its own geo, plans and/or "
            "filters (unset ones inherit metrics_geo/metrics_plans/metrics_filters). Rows carry "
            "the segment name; the unsegmented series is named 'all'."
        ),
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType(nullable=False),
        default=False,
        title="Emit ACTIVATE_VERSION messages",
        description=(
            "Send ACTIVATE_VERSION for every full-table stream after its last record, and "
            "only when the stream completed, so targets that honour it drop records deleted "
            "or merged in ChartMogul since the previous run, and a failed run deletes nothing."
        ),
    ),
    th.Property(
        "requests_per_second",
        th.IntegerType(nullable=False, minimum=1, maximum=MAX_REQUESTS_PER_SECOND),
        default=DEFAULT_REQUESTS_PER_SECOND,
        title="Requests per second",
        description=(
            "Most requests the tap sends in any second, retries included, across all streams. "
            f"ChartMogul allows {API_REQUESTS_PER_SECOND} per account, shared with other tools "
            "using it; a higher value (for a raised account limit) is allowed with a warning."
        ),
    ),
    th.Property(
        "max_connections",
        th.IntegerType(nullable=False, minimum=1, maximum=API_MAX_CONNECTIONS),
        default=DEFAULT_MAX_CONNECTIONS,
        title="Maximum parallel connections",
        description=(
            "Most HTTP connections open at once, across all streams. ChartMogul allows "
            f"{API_MAX_CONNECTIONS} per account (the default); lower it if other tools use the "
            "key at the same time."
        ),
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(nullable=False, minimum=1, maximum=MAX_REQUEST_TIMEOUT),
        default=DEFAULT_REQUEST_TIMEOUT,
        title="Request timeout",
        description=(
            "Seconds to wait for each read from the network before retrying; a whole "
            f"response may take at most twice this (1 to {MAX_REQUEST_TIMEOUT})."
        ),
    ),
    th.Property(
        "max_retries",
        th.IntegerType(nullable=False, minimum=0, maximum=MAX_RETRIES),
        default=DEFAULT_MAX_RETRIES,
        title="Maximum retries",
        description=(
            "Retries of a request after a 429, 5xx, timeout or connection error, with "
            "exponential backoff from 0.5 s capped at 60 s (Retry-After honoured up to 5 "
            f"minutes); the default gives up after 2 to 4 minutes (0 to {MAX_RETRIES})."
        ),
    ),
    th.Property(
        "max_response_mb",
        th.IntegerType(nullable=False, minimum=1, maximum=MAX_RESPONSE_MB),
        default=DEFAULT_MAX_RESPONSE_MB,
        title="Maximum response size (MB)",
        description=(
            "Most megabytes one response body may have, decompressed; a larger one stops the "
            "run with one line naming the endpoint (ChartMogul's largest pages are about 1 MB; "
            f"1 to {MAX_RESPONSE_MB})."
        ),
    ),
    th.Property(
        "subscriptions_refresh",
        th.StringType(nullable=False),
        default=DEFAULT_REFRESH,
        allowed_values=list(REFRESH_MODES),
        title="Subscriptions refresh",
        description=(
            "all: request every customer's subscriptions on every run. changed: only "
            "customers with activities or subscription events since the previous run (or "
            "invoices edited or disabled in ChartMogul, when invoices are synced), new "
            "customers, and a rotating share so each is re-read at least every "
            "subscriptions_max_age_days (no ACTIVATE_VERSION for customer_subscriptions then)."
        ),
    ),
    th.Property(
        "subscriptions_max_age_days",
        th.IntegerType(nullable=False, minimum=1, maximum=MAX_AGE_DAYS),
        default=DEFAULT_MAX_AGE_DAYS,
        title="Subscriptions max age (days)",
        description=(
            "With subscriptions_refresh=changed: every customer's subscriptions are re-read "
            f"at least once in this many days, spread evenly over the runs (1 to {MAX_AGE_DAYS})."
        ),
    ),
    th.Property(
        "log_metrics",
        th.BooleanType(nullable=False),
        default=False,
        title="Log SDK metrics",
        description=(
            "Also log the Singer SDK's METRIC lines (a timing line per HTTP request, record "
            "counts, sync durations). Off by default: the run summary reports the same counts."
        ),
    ),
)


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: traffic that never leaves the machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_url_problem(url: object) -> str | None:  # noqa: PLR0911 - one return per problem
    """Explain what is wrong with ``api_url``, or None if it is usable.

    The URL is quoted only when it holds no credentials, and without control
    characters, so the message is one safe line.
    """
    if not isinstance(url, str) or not url.strip():
        return "Setting 'api_url' must be a URL such as https://api.chartmogul.com"
    if any(ord(char) < 0x20 or char == "\x7f" for char in url):  # noqa: PLR2004 - ASCII controls
        return "Setting 'api_url' contains a line break or control character"
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return "Setting 'api_url' is not a valid URL (check the host and the port, 1 to 65535)"
    if parts.username or parts.password or "@" in parts.netloc:
        return "Setting 'api_url' must not contain credentials, a query or a fragment"
    if parts.scheme not in {"http", "https"} or not host:
        return f"Setting 'api_url' must be an http(s) URL with a host, got {url.strip()!r}"
    if parts.query or parts.fragment:
        return "Setting 'api_url' must not contain credentials, a query or a fragment"
    if port == 0:
        return "Setting 'api_url' has port 0; use a port from 1 to 65535"
    if parts.scheme == "http" and not is_loopback(host):
        return (
            f"Setting 'api_url' uses plain http:// to {host}: the API key would "
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


def api_key_problem(value: object) -> str | None:
    """Explain what is wrong with ``api_key`` without ever quoting it."""
    if value is None:
        return "Setting 'api_key' is required: set it to a ChartMogul API key (Profile > API keys)"
    if not isinstance(value, str) or not value.strip():
        return "Setting 'api_key' must be a non-empty string"
    if value != value.strip():
        return "Setting 'api_key' has leading or trailing whitespace: paste the key without it"
    return None


def _schema_problem(error: ValidationError) -> tuple[str, str]:  # noqa: PLR0911 - one per kind
    """The setting at fault and one line about ``error``, never quoting ``api_key``."""
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and not path:
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        return missing, f"Setting {missing!r} is required"
    name = path[0] if path else "?"
    where = f"Setting {name!r}" + (f" item {int(path[1]) + 1}" if len(path) > 1 else "")
    value = "" if name == "api_key" else f", got {error.instance!r:.80}"
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if kind == "minLength":
        return name, f"{where} must not be empty"
    if kind == "enum":
        allowed = ", ".join(str(v) for v in schema.get("enum", []))
        return name, f"{where} must be one of {allowed}{value}"
    if kind == "minimum":
        return name, f"{where} must be at least {schema.get('minimum')}{value}"
    if kind == "maximum":
        return name, f"{where} must be at most {schema.get('maximum')}{value}"
    if kind == "type":
        wanted = schema.get("type")
        wanted = [wanted] if isinstance(wanted, str) else list(wanted or [])
        words = {
            "integer": "a whole number",
            "number": "a number",
            "string": "a string",
            "boolean": "true or false",
            "array": "a list",
            "object": "an object",
        }
        described = " or ".join(words.get(w, w) for w in wanted if w != "null")
        return name, f"{where} must be {described}{value}"
    return name, f"{where} is invalid ({kind}){value}"


def _segment_problems(where: str, segment: t.Mapping[str, t.Any], seen: set[str]) -> list[str]:
    """Problems with one configured segment that the schema cannot express."""
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


def _hand_checks(config: t.Mapping[str, t.Any]) -> list[tuple[str, str | None]]:
    checks: list[tuple[str, str | None]] = [
        ("api_key", api_key_problem(config.get("api_key"))),
        ("api_url", api_url_problem(config.get("api_url"))),
        ("start_date", start_date_problem(config.get("start_date"))),
    ]
    geo = config.get("metrics_geo")
    if geo and not (isinstance(geo, str) and _COUNTRY_LIST.match(geo.strip())):
        checks.append(
            (
                "metrics_geo",
                (
                    "Setting 'metrics_geo' must be comma-separated 2-letter country codes, "
                    f"got {geo!r}"
                ),
            )
        )
    segments = config.get("metrics_segments")
    if isinstance(segments, list):
        seen: set[str] = set()
        for index, segment in enumerate(segments):
            if isinstance(segment, dict):
                where = f"Setting 'metrics_segments' item {index + 1}"
                checks.extend(
                    ("metrics_segments", problem)
                    for problem in _segment_problems(where, segment, seen)
                )
    return checks


def settings_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every problem with the tap's own settings: one line per bad setting.

    The hand checks word the common mistakes best (a missing key, a URL in clear text);
    the JSON schema's verdicts (bounds, types, allowed values) cover the rest, worded
    here; a setting that already has a line gets no second one.
    """
    faulted: dict[str, list[str]] = {}
    for name, line in _hand_checks(config):
        if line and (name == "metrics_segments" or name not in faulted):
            faulted.setdefault(name, []).append(line)
    validator = Draft7Validator(SETTINGS.to_dict())
    for error in sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.path)):
        name, line = _schema_problem(error)
        faulted.setdefault(name, [line])
    return [line for lines in faulted.values() for line in lines]


def without_blanks(config: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """``config`` without empty or blank strings: an empty value means "not set".

    A copied ``.env.example`` and Meltano (for a variable left empty in ``.env``) pass
    ``""``; unset, the setting takes its default, where ``""`` would be refused as a
    date or a URL. An empty ``api_key`` is still reported: it is required.
    """
    return {
        key: value
        for key, value in config.items()
        if not (isinstance(value, str) and not value.strip())
    }


def closest(name: str, known: t.Iterable[str]) -> str | None:
    """The known name ``name`` was most likely meant to be, if any is close."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_setting_lines(config: t.Mapping[str, t.Any], known: t.Collection[str]) -> list[str]:
    """One warning per setting name the tap does not have, naming the closest known one.

    A warning, not an error: Meltano passes the extra settings a project defines (custom
    settings, or one a newer or older tap version had) and orchestrators add their own
    keys, so refusing them would stop scheduled pipelines over harmless keys. A misspelt
    setting is not harmless (``start_dat`` runs a full history), hence the hint.
    """
    lines = []
    for name in sorted(set(config) - set(known)):
        hint = closest(name, known)
        lines.append(
            f"Setting {name!r} is not a tap-chartmogul setting and is ignored"
            + (f": did you mean {hint!r}?" if hint else " (see tap-chartmogul --about)")
        )
    return lines
