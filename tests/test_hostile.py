"""Trustworthy in a hostile world: whatever the network or a local file throws at the tap.

Everything that arrives over the network or from local files is untrusted. For each
class of misbehaviour, a real server on 127.0.0.1 (the fake ChartMogul with scripted
answers, or a purpose-built one from ``tests/hostile_servers.py``) or a broken file
makes the tap meet it, and the installed command must: end in bounded time, print
exactly one ERROR line that names the endpoint, stream, setting or file at fault, exit
non-zero, show no traceback at the default log level, never print the key in any form,
and pass nothing wrong on to the target.

Subprocess timeouts below are hang detectors only; no test asserts on a duration. Most
tests run the installed command, so the module is ``slow`` (CI runs it; the quick loop
does not).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import jsonschema
import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault
from tap_chartmogul.errors import InputFileError
from tap_chartmogul.input_files import checked_config_files
from tap_chartmogul.tap import STREAM_TYPES, stream_name
from tests.cli import TAP, assert_no_secret, error_lines, parse_messages, tap_env, write_json
from tests.helpers import API_KEY, UNTHROTTLED, fake_config, records, run_sync
from tests.hostile_servers import (
    DripServer,
    EndlessServer,
    PlainHttpServer,
    RecordingProxy,
    self_signed_certificate,
)

pytestmark = pytest.mark.slow

#: The key's Basic token, as a client sends it and a careless proxy echoes it.
TOKEN = base64.b64encode(f"{API_KEY}:".encode()).decode()
#: Every spelling of the key that must never be printed.
SECRET_FORMS = {
    API_KEY,
    quote(API_KEY, safe=""),
    *(
        encode(raw.encode()).decode().rstrip("=")
        for raw in (API_KEY, f"{API_KEY}:")
        for encode in (base64.b64encode, base64.urlsafe_b64encode)
    ),
}
#: Environment that would change where requests go or which certificates are trusted;
#: removed from every run so the machine's settings cannot make a test pass or fail.
NETWORK_ENV = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)
#: Hang detector for a run (a healthy one here takes a second or two).
HANG = 60


# --- running the tap -------------------------------------------------------------------


def tap_command_env(*, debug: bool = False, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in tap_env().items() if k not in NETWORK_ENV}
    if debug:
        env["TAP_CHARTMOGUL_LOGLEVEL"] = "DEBUG"
    return {**env, **extra}


def run_tap(
    args: list[str], *, debug: bool = False, env: dict[str, str] | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """Run the installed command; ``env`` adds variables to a network-neutral environment."""
    return subprocess.run(
        [TAP, *args],
        capture_output=True,
        text=True,
        timeout=HANG,
        env=tap_command_env(debug=debug, **(env or {})),
        check=False,
        **kwargs,
    )


def assert_no_secret_form(*outputs: str) -> None:
    assert_no_secret(*outputs)
    for output in outputs:
        for form in SECRET_FORMS:
            assert form not in output, f"a form of the key ({form[:6]}...) was printed"


def one_error(result: subprocess.CompletedProcess, *expected: str, debug: bool = False) -> str:
    """The run failed with exactly one ERROR line holding ``expected``; return that line."""
    assert result.returncode != 0, result.stderr[-3000:]
    lines = error_lines(result.stderr)
    assert len(lines) == 1, "\n".join(lines) or result.stderr[-3000:]
    for text in expected:
        assert text in lines[0], lines[0]
    if not debug:
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert_no_secret_form(result.stdout, result.stderr)
    return lines[0]


def succeeded(result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0, result.stderr[-3000:]
    assert error_lines(result.stderr) == []
    assert_no_secret_form(result.stdout, result.stderr)
    return parse_messages(result.stdout)


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| WARNING" in line]


def config_file(tmp_path: Path, api_url: str, **settings) -> str:
    config = {"api_key": API_KEY, "api_url": api_url, **UNTHROTTLED, **settings}
    return write_json(tmp_path / "config.json", config)


@functools.cache
def discovered() -> dict:
    """The catalog ``--discover`` prints (every stream selected), made once per session."""
    result = run_tap(["--discover"])
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def catalog_file(tmp_path: Path, *streams: str) -> str:
    """The discovered catalog with only ``streams`` selected."""
    catalog = copy.deepcopy(discovered())
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return write_json(tmp_path / "catalog.json", catalog)


def sync_args(tmp_path: Path, server: FakeChartMogul, *streams: str, **settings) -> list[str]:
    args = ["--config", config_file(tmp_path, server.base_url, **settings)]
    return [*args, "--catalog", catalog_file(tmp_path, *streams)] if streams else args


def page(entries, *, key: str = "entries", has_more: bool = False, cursor=None, **extra) -> Fault:
    """A scripted 200 list page (cursor paging, plus any legacy keys in ``extra``)."""
    body = {key: entries, "has_more": has_more, "cursor": cursor, **extra}
    return Fault(status=200, body=body, content_type="application/json")


def raw_json(text: str) -> Fault:
    return Fault(status=200, body=text.encode(), content_type="application/json")


def customer(uuid: str | None, **fields) -> dict:
    return {"uuid": uuid, "name": f"Customer {uuid}", "mrr": 1000, **fields}


def states(messages: list[dict]) -> list[dict]:
    return [m["value"] for m in messages if m["type"] == "STATE"]


def activities_bookmark(state: dict) -> str | None:
    return state.get("bookmarks", {}).get("activities", {}).get("replication_key_value")


def utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def server():
    with FakeChartMogul(FakeAccount(customers=20, seed=31), api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(autouse=True)
def fresh(server):
    server.reset_log()
    server.clear_script()


# --- 1. secrets ---------------------------------------------------------------------------

ECHOING_ANSWERS = {
    "400 JSON quoting the key": (
        [Fault(status=400, body={"code": 400, "message": f"Bad key {API_KEY}", "param": API_KEY})],
        "HTTP 400",
    ),
    "502 text with the Basic token": (
        [Fault(status=502, body=f"502 Bad Gateway: upstream refused Basic {TOKEN}")] * 2,
        "HTTP 502",
    ),
    "200 HTML page with the key": (
        [
            Fault(
                status=200,
                body=f"<html><body>Signed in as {API_KEY} ({TOKEN})</body></html>",
                content_type="text/html",
            )
        ],
        "text/html",
    ),
}


@pytest.mark.parametrize("debug", [False, True], ids=["info", "debug"])
@pytest.mark.parametrize("answer", ECHOING_ANSWERS, ids=list(ECHOING_ANSWERS))
def test_a_server_echoing_the_key_never_gets_it_printed(server, tmp_path, answer, debug):
    faults, expected = ECHOING_ANSWERS[answer]
    server.script(r"^/v1/account$", faults)
    result = run_tap(sync_args(tmp_path, server, "account", max_retries=1), debug=debug)
    one_error(result, "/v1/account", expected, debug=debug)


@pytest.mark.parametrize("debug", [False, True], ids=["info", "debug"])
def test_a_record_holding_the_key_is_emitted_masked(server, tmp_path, debug):
    leaky = customer("cus_leaky", name=f"Owner {API_KEY}", email=f"{TOKEN}@example.com")
    server.script(r"^/v1/customers$", [page([leaky, customer("cus_plain")])])
    result = run_tap(sync_args(tmp_path, server, "customers"), debug=debug)
    rows = records(succeeded(result), "customers")
    assert [r["uuid"] for r in rows] == ["cus_leaky", "cus_plain"]
    assert rows[0]["name"] == "Owner <redacted>"
    assert rows[0]["email"] == "<redacted>@example.com"


@pytest.mark.parametrize(
    "api_url",
    ["https://user:Pw-s3cret-9971@api.chartmogul.com/", "ftp://user:Pw-s3cret-9971@127.0.0.1/"],
    ids=["https", "ftp"],
)
def test_an_api_url_with_credentials_is_refused_without_quoting_them(tmp_path, api_url):
    result = run_tap(["--config", config_file(tmp_path, api_url)], debug=True)
    one_error(result, "'api_url'", debug=True)
    assert "Pw-s3cret-9971" not in result.stdout + result.stderr


def test_plain_http_never_goes_through_a_proxy(server, tmp_path):
    """The Authorization header would reach the proxy in clear text."""
    with RecordingProxy() as proxy:
        env = dict.fromkeys(("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"), proxy.url)
        result = run_tap(sync_args(tmp_path, server, "account", "customers"), env=env)
    assert proxy.connections == 0, proxy.received[:300]
    assert records(succeeded(result), "account")
    assert server.count("/v1/account") == 1


# --- 2. paging that loops -------------------------------------------------------------------

LOOPS = {
    "A, B, A": [
        page([customer("cus_1")], has_more=True, cursor="A"),
        page([customer("cus_2")], has_more=True, cursor="B"),
        page([customer("cus_3")], has_more=True, cursor="A"),
        page([customer("cus_4")], has_more=True, cursor="B"),
    ],
    "same cursor again": [
        page([customer("cus_1")], has_more=True, cursor="A"),
        page([customer("cus_2")], has_more=True, cursor="A"),
    ],
}


@pytest.mark.parametrize("loop", LOOPS, ids=list(LOOPS))
def test_a_looping_cursor_stops_the_run(server, tmp_path, loop):
    # Enough repeats that a tap following the loop would visibly go round several times.
    server.script(r"^/v1/customers$", LOOPS[loop] * 10)
    result = run_tap(sync_args(tmp_path, server, "customers"))
    one_error(result, "looping", "/v1/customers")
    assert server.count("/v1/customers") <= len(LOOPS[loop]) + 1
    uuids = [r["uuid"] for r in records(parse_messages(result.stdout), "customers")]
    assert len(uuids) == len(set(uuids))


# --- 3. silent truncation -------------------------------------------------------------------

LEGACY_EVENT = {
    "id": 73966836,
    "data_source_uuid": "ds_1",
    "customer_external_id": "cus_1",
    "subscription_external_id": "sub_1",
    "event_type": "subscription_start_scheduled",
    "event_date": "2022-04-09T11:17:14Z",
    "effective_date": "2022-04-09T11:17:14Z",
}
TRUNCATIONS = {
    "has_more without cursor": (
        r"^/v1/customers$",
        "customers",
        page([customer("cus_1")], has_more=True, cursor=None),
        ("no usable cursor", "/v1/customers"),
    ),
    "legacy meta with 427 pages": (
        r"^/v1/subscription_events$",
        "subscription_events",
        Fault(
            status=200,
            body={
                "subscription_events": [LEGACY_EVENT],
                "meta": {
                    "next_key": 73966835,
                    "prev_key": None,
                    "before_key": "2022-04-10T22:27:35.834Z",
                    "page": 1,
                    "total_pages": 427,
                },
            },
        ),
        ("/v1/subscription_events",),
    ),
    "total_pages beyond current_page": (
        r"^/v1/customers$",
        "customers",
        Fault(
            status=200,
            body={
                "entries": [customer("cus_1")],
                "current_page": 1,
                "total_pages": 3,
                "per_page": 200,
            },
        ),
        ("/v1/customers",),
    ),
}


@pytest.mark.parametrize("case", TRUNCATIONS, ids=list(TRUNCATIONS))
def test_a_listing_that_would_be_cut_short_fails(server, tmp_path, case):
    path, stream, answer, expected = TRUNCATIONS[case]
    server.script(path, [answer])
    one_error(run_tap(sync_args(tmp_path, server, stream)), *expected)


# --- 4. hangs, interruptions, TLS -----------------------------------------------------------


@pytest.mark.parametrize("headers", [False, True], ids=["body", "status line and headers"])
def test_a_dripping_response_ends_at_the_deadline_and_gives_up(tmp_path, headers):
    with DripServer(interval=0.2, headers=headers) as drip:
        args = ["--config", config_file(tmp_path, drip.url, request_timeout=1, max_retries=1)]
        result = run_tap([*args, "--catalog", catalog_file(tmp_path, "account")])
    one_error(result, "/v1/account", "2 attempts")
    assert drip.connections == 2  # the first attempt and max_retries=1 retry, then no more


#: Runs a command and reports its peak resident memory, measured as the peak of this small
#: launcher's children: a child forked straight from pytest would count pytest's pages too.
MEASURING_LAUNCHER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:], check=False, timeout=float(sys.argv[1])).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"\\npeak_rss_kb={peak}\\n")
sys.exit(code)
"""


def run_measured(args: list[str]) -> tuple[subprocess.CompletedProcess, int]:
    """``run_tap``, plus the command's own peak resident memory in bytes."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURING_LAUNCHER, str(HANG), TAP, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=tap_command_env(),
        timeout=HANG + 30,
        check=False,
    )
    stderr, _, peak = result.stderr.rpartition("peak_rss_kb=")
    return subprocess.CompletedProcess(args, result.returncode, "", stderr), int(peak) * 1024


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_an_endless_body_ends_in_one_line_with_bounded_memory(tmp_path, gzip):
    """A body without end (or a gzip one expanding without end) stops at max_response_mb."""
    with EndlessServer(gzip=gzip) as endless:
        settings = {"max_response_mb": 16, "request_timeout": 30, "max_retries": 0}
        args = ["--config", config_file(tmp_path, endless.url, **settings)]
        result, peak = run_measured([*args, "--catalog", catalog_file(tmp_path, "customers")])
    one_error(result, "/v1/customers", "16 MB", "max_response_mb")
    assert endless.connections == 1  # not retried: the same page would be as long again
    # The tap alone is about 80 MB; the body may add its 16 MB and one chunk of reading.
    assert peak < 200 * 2**20, f"peak memory {peak / 2**20:.0f} MB"


def test_sigterm_during_a_stalled_fan_out_exits_143_with_valid_state(tmp_path):
    # Subscriptions requests are never answered while the tap runs; stop() wakes them.
    with FakeChartMogul(
        FakeAccount(customers=20, seed=33), api_key=API_KEY, fault_slow_seconds=600
    ) as stalled:
        stalled.script(r"^/v1/customers/[^/]+/subscriptions", [Fault(kind="slow")] * 200)
        args = sync_args(
            tmp_path, stalled, "customers", "customer_subscriptions", request_timeout=300
        )
        with (tmp_path / "out").open("w+") as out, (tmp_path / "err").open("w+") as err:
            process = subprocess.Popen([TAP, *args], stdout=out, stderr=err, env=tap_command_env())
            try:
                for _ in range(600):  # until a subscriptions request is stuck at the fake
                    if stalled.in_flight and stalled.count("/v1/customers"):
                        break
                    if process.poll() is not None:
                        break
                    time.sleep(0.05)
                assert process.poll() is None, "the tap ended before the fan-out stalled"
                assert stalled.in_flight > 0
                process.send_signal(signal.SIGTERM)
                returncode = process.wait(timeout=10)  # the spec: out within 10 s of SIGTERM
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            out.seek(0)
            stdout = out.read()
            err.seek(0)
            stderr = err.read()
    assert returncode == 128 + signal.SIGTERM, stderr[-3000:]
    state_lines = [line for line in stdout.splitlines() if line.startswith('{"type":"STATE"')]
    assert state_lines, stdout[-2000:]
    assert json.loads(state_lines[-1])["type"] == "STATE"
    assert len(error_lines(stderr)) == 1, stderr[-3000:]
    assert_no_secret_form(stdout, stderr)


def test_https_to_a_plain_http_port_fails_once_without_retrying(tmp_path):
    with PlainHttpServer() as plain:
        api_url = f"https://127.0.0.1:{plain.port}"
        result = run_tap(["--config", config_file(tmp_path, api_url, max_retries=3)])
    one_error(result, "TLS", "/v1/account")
    assert plain.connections == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Path:
    cert, _ = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    return cert


@pytest.fixture
def tls_server(certificate):
    import ssl  # noqa: PLC0415 - only these tests serve TLS

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, certificate.with_name("key.pem"))
    account = FakeAccount(customers=5, seed=32)
    with FakeChartMogul(account, api_key=API_KEY, ssl_context=context) as fake:
        yield fake


def test_a_self_signed_certificate_is_refused_in_one_line(tls_server, tmp_path):
    result = run_tap(sync_args(tmp_path, tls_server, "account", max_retries=3))
    one_error(result, "TLS", "/v1/account")
    assert tls_server.requests == []


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_ca_bundle_from_the_environment_is_trusted(tls_server, certificate, tmp_path, variable):
    result = run_tap(
        sync_args(tmp_path, tls_server, "account", "customers"),
        env={variable: str(certificate)},
    )
    messages = succeeded(result)
    assert len(records(messages, "customers")) == 5
    assert tls_server.count("/v1/account") == 1


# --- 5. malformed answers, settings and files -------------------------------------------------

REDIRECTS = {
    "to itself": "/v1/account",
    "to ftp": "ftp://files.example.com/v1/account",
    "malformed": "http://[::1/v1/account",
}


@pytest.mark.parametrize("location", REDIRECTS.values(), ids=list(REDIRECTS))
def test_a_redirect_is_not_followed(server, tmp_path, location):
    server.script(r"^/v1/account$", [Fault(status=302, headers={"Location": location})] * 5)
    one_error(run_tap(sync_args(tmp_path, server, "account")), "/v1/account", "redirect")
    assert server.count("/v1/account") == 1


BAD_ENTRIES = {
    "a string": '{"entries": "oops", "has_more": false, "cursor": null}',
    "an object": '{"entries": {"uuid": "cus_1"}, "has_more": false, "cursor": null}',
    "not records": '{"entries": [1, null, "x"], "has_more": false, "cursor": null}',
    "100,000 deep": '{"entries": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "NaN": '{"entries": [{"uuid": "cus_1", "mrr": NaN}], "has_more": false, "cursor": null}',
    "Infinity": (
        '{"entries": [{"uuid": "cus_1", "mrr": Infinity}], "has_more": false, "cursor": null}'
    ),
}


@pytest.mark.parametrize("body", BAD_ENTRIES.values(), ids=list(BAD_ENTRIES))
def test_a_malformed_list_fails_naming_the_endpoint(server, tmp_path, body):
    server.script(r"^/v1/customers$", [raw_json(body)])
    result = run_tap(sync_args(tmp_path, server, "customers"))
    one_error(result, "/v1/customers")
    assert records(parse_messages(result.stdout), "customers") == []


def test_a_customer_without_uuid_stops_its_subscriptions(server, tmp_path):
    server.script(r"^/v1/customers$", [page([customer("cus_1"), {"name": "no uuid"}])])
    result = run_tap(sync_args(tmp_path, server, "customer_subscriptions"))
    one_error(result, "customer_subscriptions")


def test_line_items_that_are_not_a_list_stop_the_stream(server, tmp_path):
    invoice = {"uuid": "inv_1", "customer_uuid": "cus_1", "line_items": "oops", "transactions": []}
    server.script(r"^/v1/invoices$", [page([invoice], key="invoices")])
    result = run_tap(sync_args(tmp_path, server, "invoice_line_items"))
    one_error(result, "invoice_line_items")
    assert records(parse_messages(result.stdout), "invoice_line_items") == []


def test_a_hand_written_catalog_selecting_a_full_table_stream_works(server, tmp_path):
    """The README's minimal catalog: stream names and ``selected``, the rest left out."""
    entry = {
        "tap_stream_id": "customers",
        "stream": "customers",
        "schema": {},
        "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
    }
    catalog = write_json(tmp_path / "catalog.json", {"streams": [entry]})
    args = ["--config", config_file(tmp_path, server.base_url), "--catalog", catalog]
    assert len(records(succeeded(run_tap(args)), "customers")) == 20


def test_an_api_url_with_surrounding_spaces_works(server, tmp_path):
    args = ["--config", config_file(tmp_path, f"  {server.base_url}/  ")]
    result = run_tap([*args, "--catalog", catalog_file(tmp_path, "account")])
    assert len(records(succeeded(result), "account")) == 1


BAD_SETTINGS = {
    "api_url with CR/LF": ("api_url", "http://127.0.0.1:8080\r\nX-Injected: 1"),
    "api_url port 99999": ("api_url", "http://127.0.0.1:99999"),
    "request_timeout 10**12": ("request_timeout", 10**12),
    "activities_lookback_days 10**9": ("activities_lookback_days", 10**9),
}


@pytest.mark.parametrize("case", BAD_SETTINGS, ids=list(BAD_SETTINGS))
def test_an_impossible_setting_is_refused_in_one_line(server, tmp_path, case):
    name, value = BAD_SETTINGS[case]
    settings = {"api_url": server.base_url, name: value}
    config = write_json(tmp_path / "config.json", {"api_key": API_KEY, **settings})
    one_error(run_tap(["--config", config]), f"'{name}'")
    assert server.requests == []


BAD_STATES = {
    "a list": [{"bookmarks": {}}],
    "bookmarks a list": {"bookmarks": [{"activities": {}}]},
    "partitions not objects": {"bookmarks": {"customers": {"partitions": [1, "x"]}}},
}


@pytest.mark.parametrize("state", BAD_STATES.values(), ids=list(BAD_STATES))
def test_a_malformed_state_file_is_refused(server, tmp_path, state):
    args = sync_args(tmp_path, server, "customers")
    result = run_tap([*args, "--state", write_json(tmp_path / "state.json", state)])
    one_error(result, "--state")
    assert server.requests == []


BAD_CATALOGS = {
    "streams not objects": ({"streams": [1, "customers"]}, "--catalog"),
    "metadata not a list": (
        {"streams": [{"tap_stream_id": "customers", "metadata": {"selected": True}}]},
        "--catalog",
    ),
    "replication key not in the schema": (
        {
            "streams": [
                {
                    "tap_stream_id": "customers",
                    "stream": "customers",
                    "replication_method": "INCREMENTAL",
                    "replication_key": "no_such_field",
                    "schema": {},
                    "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
                }
            ]
        },
        "customers",
    ),
}


@pytest.mark.parametrize(("catalog", "names"), BAD_CATALOGS.values(), ids=list(BAD_CATALOGS))
def test_a_malformed_catalog_is_refused(server, tmp_path, catalog, names):
    args = ["--config", config_file(tmp_path, server.base_url)]
    result = run_tap([*args, "--catalog", write_json(tmp_path / "catalog.json", catalog)])
    one_error(result, names)
    assert server.requests == []


BAD_CONFIGS = {"missing": None, "empty": "", "not JSON": "{api_key: nope"}


@pytest.mark.parametrize("content", BAD_CONFIGS.values(), ids=list(BAD_CONFIGS))
def test_an_unusable_config_file_is_refused(tmp_path, content):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    one_error(run_tap(["--config", str(path)]), "--config")


def test_an_unreadable_config_file_is_refused(tmp_path, monkeypatch):
    """What the tap says when reading --config fails with "permission denied".

    chmod 000 does not stop root (CI runs as root), so the refusal is simulated where the
    file is read; ``test_an_unreadable_config_file_is_refused_for_real`` uses chmod 000.
    """
    path = tmp_path / "config.json"
    config_file(tmp_path, "http://127.0.0.1:9")

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(InputFileError) as refused:
        checked_config_files([str(path)])
    assert "config.json" in str(refused.value)
    assert "permission denied" in str(refused.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="chmod 000 does not stop root")
def test_an_unreadable_config_file_is_refused_for_real(tmp_path):
    path = tmp_path / "config.json"
    config_file(tmp_path, "http://127.0.0.1:9")
    path.chmod(0)
    one_error(run_tap(["--config", str(path)]), "--config", "permission denied")


def test_connection_test_with_a_wrong_key(server, tmp_path):
    config = write_json(
        tmp_path / "config.json", {"api_key": "cm_wrong_key_1234", "api_url": server.base_url}
    )
    result = run_tap(["--config", config, "--test"])
    one_error(result, "HTTP 401")
    assert "cm_wrong_key_1234" not in result.stdout + result.stderr


# --- 6. values of the wrong type ------------------------------------------------------------


def test_values_of_the_wrong_type_are_emitted_as_null_with_a_warning(server, tmp_path):
    server.script(r"^/v1/customers$", [page([customer("cus_rich", mrr="lots")])])
    event = {**LEGACY_EVENT, "id": 7, "quantity": "several"}
    server.script(r"^/v1/subscription_events$", [page([event], key="subscription_events")])
    result = run_tap(sync_args(tmp_path, server, "customers", "subscription_events"))
    messages = succeeded(result)
    assert records(messages, "customers")[0]["mrr"] is None
    assert records(messages, "subscription_events")[0]["quantity"] is None
    said = warnings(result.stderr)
    assert any("customers" in w and "uuid=cus_rich" in w and "mrr" in w for w in said), said
    assert any("subscription_events" in w and "id=7" in w and "quantity" in w for w in said), said


def test_a_subscription_event_id_that_is_not_a_number_is_never_passed_on(server, tmp_path):
    """``id`` is the stream's key: as null it could not be loaded, so the run stops."""
    events = [{**LEGACY_EVENT, "id": 8}, {**LEGACY_EVENT, "id": "not-a-number"}]
    server.script(r"^/v1/subscription_events$", [page(events, key="subscription_events")])
    result = run_tap(sync_args(tmp_path, server, "subscription_events"))
    one_error(result, "subscription_events")
    said = warnings(result.stderr)
    assert any("id=not-a-number" in w and "field id" in w for w in said), said
    ids = [r["id"] for r in records(parse_messages(result.stdout), "subscription_events")]
    assert all(isinstance(i, int) for i in ids), ids


def test_a_record_without_its_primary_key_fails_the_run(server, tmp_path):
    server.script(r"^/v1/customers$", [page([customer("cus_1"), customer(None)])])
    result = run_tap(sync_args(tmp_path, server, "customers"))
    one_error(result, "customers", "uuid")
    assert [r["uuid"] for r in records(parse_messages(result.stdout), "customers")] in (
        [],
        ["cus_1"],
    )


# --- 7. bookmarks ---------------------------------------------------------------------------


def activity(uuid: str, date: str) -> dict:
    return {"uuid": uuid, "date": date, "type": "new_biz", "activity-mrr": 100, "currency": "USD"}


@pytest.fixture
def undated_activity_run(server, tmp_path):
    dated = activity("act_dated", "2025-06-01T00:00:00Z")
    server.script(r"^/v1/activities$", [page([dated, activity("act_undated", "not-a-date")])])
    result = run_tap(sync_args(tmp_path, server, "activities"))
    return result, succeeded(result)


def test_an_activity_with_a_bad_date_keeps_a_valid_bookmark(undated_activity_run):
    result, messages = undated_activity_run
    rows = {r["uuid"]: r for r in records(messages, "activities")}
    assert rows["act_undated"]["date"] is None
    assert rows["act_dated"]["date"] == "2025-06-01T00:00:00Z"
    said = warnings(result.stderr)
    assert any("activities" in w and "act_undated" in w and "date" in w for w in said), said
    bookmark = activities_bookmark(states(messages)[-1])
    assert bookmark is not None
    assert utc(bookmark) == utc("2025-06-01T00:00:00Z")


def test_emitted_records_match_the_schema_the_tap_declared(undated_activity_run):
    """Nothing wrong passed on: a target validating against the SCHEMA accepts every record."""
    _, messages = undated_activity_run
    schema = next(m["schema"] for m in messages if m["type"] == "SCHEMA")
    for row in records(messages, "activities"):
        jsonschema.validate(row, schema)


def test_a_bookmark_in_the_future_is_clamped(server, tmp_path):
    future = {"replication_key": "date", "replication_key_value": "2099-01-01T00:00:00+00:00"}
    state = write_json(tmp_path / "state.json", {"bookmarks": {"activities": future}})
    args = sync_args(tmp_path, server, "activities")
    result = run_tap([*args, "--state", state])
    messages = succeeded(result)
    windows = {
        (r.query.get("start-date"), r.query["end-date"])
        for r in server.requests
        if r.path == "/v1/activities"
    }
    assert len(windows) == 1
    ((start, end),) = windows
    assert start is not None
    assert utc(start) == utc(end) - timedelta(days=30)
    assert any("future" in w for w in warnings(result.stderr)), result.stderr[-2000:]
    bookmark = activities_bookmark(states(messages)[-1])
    assert bookmark is not None
    assert utc(bookmark) <= utc(end)
    assert utc(bookmark) <= datetime.now(UTC)


# --- 8. ACTIVATE_VERSION --------------------------------------------------------------------


def full_table_streams() -> list[str]:
    """What discovery calls FULL_TABLE (a stream class's ``replication_key`` is a property)."""
    return [
        entry["tap_stream_id"]
        for entry in discovered()["streams"]
        if entry["replication_method"] == "FULL_TABLE"
    ]


def test_activate_version_follows_each_streams_schema_and_last_record(server):
    full_table = full_table_streams()
    assert sorted(full_table) == sorted(
        stream_name(s) for s in STREAM_TYPES if stream_name(s) != "activities"
    )
    messages = run_sync(fake_config(server, emit_activate_version_messages=True))
    for stream in full_table:
        positions = {
            kind: [
                i for i, m in enumerate(messages) if m.get("stream") == stream and m["type"] == kind
            ]
            for kind in ("SCHEMA", "RECORD", "ACTIVATE_VERSION")
        }
        assert len(positions["ACTIVATE_VERSION"]) == 1, stream
        activation = positions["ACTIVATE_VERSION"][0]
        assert positions["RECORD"], stream
        assert activation > max(positions["RECORD"]), stream
        assert activation > min(positions["SCHEMA"]), stream


def test_a_stream_failing_mid_way_sends_no_activate_version(server, tmp_path):
    first = page([customer("cus_1"), customer("cus_2")], has_more=True, cursor="next")
    server.script(r"^/v1/customers$", [first, 500, 500])
    args = sync_args(
        tmp_path, server, "customers", max_retries=0, emit_activate_version_messages=True
    )
    result = run_tap(args)
    one_error(result, "/v1/customers")
    messages = parse_messages(result.stdout)
    customer_types = [m["type"] for m in messages if m.get("stream") == "customers"]
    assert "ACTIVATE_VERSION" not in customer_types, customer_types


# --- 9. the account as recorded in 2021 and 2023 --------------------------------------------


def test_an_account_without_id_is_keyed_by_its_name(server):
    account = {
        "name": "Example Ltd",
        "currency": "USD",
        "time_zone": "Europe/Berlin",
        "week_start_on": "sunday",
    }
    server.script(r"^/v1/account$", [Fault(status=200, body=account)])
    messages = run_sync(fake_config(server), streams=["account"])
    (row,) = records(messages, "account")
    assert row["account_key"] == "Example Ltd"
    assert row["id"] is None
    assert row["name"] == "Example Ltd"
