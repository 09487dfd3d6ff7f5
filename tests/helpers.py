"""Shared helpers for tests: run the tap in-process and collect its Singer messages."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import typing as t
from datetime import UTC, datetime

from fake_chartmogul.notes import notes_of
from tap_chartmogul.tap import STREAM_TYPES, TapChartMogul

if t.TYPE_CHECKING:
    from fake_chartmogul import FakeAccount

#: A deliberately distinctive fake key, so a leak is easy to spot in any output.
API_KEY = "cm_test_KEY_d0e5_not_real_7f3a"
#: Raises the client-side rate limit for tests against the fake, which has no limit
#: unless a test sets one (the limiter itself is tested in test_concurrency.py).
UNTHROTTLED = {"requests_per_second": 5000}


def fake_config(server: t.Any, **extra: t.Any) -> dict[str, t.Any]:
    """Settings for a sync against ``server`` (a FakeChartMogul) without client throttling."""
    return {"api_key": API_KEY, "api_url": server.base_url, **UNTHROTTLED, **extra}


class _Collector(logging.Handler):
    """Keeps every formatted log line of a run."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def run_sync(
    config: dict,
    streams: t.Iterable[str] | None = None,
    state: dict | None = None,
    *,
    audit_secrets: bool = False,
) -> list[dict]:
    """Run a full sync in-process and return every Singer message written to stdout.

    With ``audit_secrets`` every logger (urllib3's included) runs at DEBUG for the sync,
    and the test fails if the key, its Basic-auth encoding or an Authorization header
    shows up in any log line or message.
    """
    if audit_secrets:
        return _audited_sync(config, streams, state)
    tap = TapChartMogul(config=config, state=state, parse_env_config=False)
    if streams is not None:
        wanted = set(streams)
        for name, stream in tap.streams.items():
            stream.selected = name in wanted
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # the writer uses stdout.buffer
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    out.flush()
    text = out.buffer.getvalue().decode()  # type: ignore[attr-defined]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _audited_sync(config: dict, streams: t.Iterable[str] | None, state: dict | None) -> list[dict]:
    collector = _Collector()
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(collector)
    try:
        messages = run_sync(config, streams, state)
    finally:
        root.removeHandler(collector)
        root.setLevel(previous)
    key = config["api_key"]
    encoded = base64.b64encode(f"{key}:".encode()).decode()
    text = "\n".join(collector.lines) + json.dumps(messages)
    assert any("HTTP/1.1" in line for line in collector.lines), "urllib3 DEBUG was not on"
    for secret in (key, encoded, "Authorization"):
        assert secret not in text, f"{secret[:6]}... leaked into logs or output"
    return messages


def records(messages: list[dict], stream: str) -> list[dict]:
    """The RECORD payloads of one stream."""
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


METRIC_STREAMS = [s.name for s in STREAM_TYPES if s.name.startswith("metrics")]


def expected_keys(account: FakeAccount, start: str | None = None) -> dict[str, set]:
    """Primary-key sets per stream, computed from the fake's own data.

    ``start`` is the tap's ``start_date``: it bounds the first run of activities.
    """
    invoices = account.invoices
    return {
        "account": {account.account["id"]},
        "data_sources": {d["uuid"] for d in account.data_sources},
        "customers": {c["uuid"] for c in account.customers},
        "customer_subscriptions": {
            s["uuid"] for subs in account.customer_subscriptions.values() for s in subs
        },
        "plans": {p["uuid"] for p in account.plans},
        "plan_groups": {g["uuid"] for g in account.plan_groups},
        "plan_group_plans": {
            (g, p["uuid"]) for g, plans in account.plan_group_plans.items() for p in plans
        },
        "invoices": {i["uuid"] for i in invoices},
        "invoice_line_items": {li["uuid"] for i in invoices for li in i["line_items"]},
        "invoice_transactions": {tr["uuid"] for i in invoices for tr in i["transactions"]},
        "subscription_events": {e["id"] for e in account.subscription_events},
        "activities": {
            a["uuid"]
            for a in account.activities
            if start is None or datetime.fromisoformat(a["date"]) >= _utc(start)
        },
        "contacts": {c["uuid"] for c in account.contacts},
        "notes": {n["uuid"] for n in notes_of(account)},
        "customer_notes": {n["uuid"] for n in account.customer_notes},
        "tasks": {t["task_uuid"] for t in account.tasks},
        "opportunities": {o["uuid"] for o in account.opportunities},
    }


def key_of(stream: str, row: dict):
    if stream == "plan_group_plans":
        return (row["plan_group_uuid"], row["uuid"])
    if stream in METRIC_STREAMS:
        return (row["segment"], row["date"], row["interval"])
    primary = next(s for s in STREAM_TYPES if s.name == stream).primary_keys
    return row[primary[0]]


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def made_up_cursors(requests: t.Iterable[t.Any], path: str, account: FakeAccount) -> list[str]:
    """The cursors a tap sent to ``path`` that the fake never gave out (made from a time).

    A cursor the fake gives out names one of its records (``fake_chartmogul.routes.LISTS``'
    codecs); a tap splitting a long listing starts chains at cursors of its own making.
    """
    from fake_chartmogul.routes import LISTS  # noqa: PLC0415 - the fake's internals, for tests

    name = path.removeprefix("/v1/")
    codec = LISTS[name].codec
    given = {codec.encode(record) for record in getattr(account, name)}
    sent = [request.query.get("cursor") for request in requests if request.path == path]
    return [cursor for cursor in sent if cursor and cursor not in given]
