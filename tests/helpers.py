"""Shared helpers for tests: run the tap in-process and collect its Singer messages."""

from __future__ import annotations

import contextlib
import io
import json
import typing as t

from tap_chartmogul.tap import TapChartMogul

#: A deliberately distinctive fake key, so a leak is easy to spot in any output.
API_KEY = "cm_test_KEY_d0e5_not_real_7f3a"


def run_sync(
    config: dict, streams: t.Iterable[str] | None = None, state: dict | None = None
) -> list[dict]:
    """Run a full sync in-process and return every Singer message written to stdout."""
    tap = TapChartMogul(config=config, state=state, parse_env_config=False)
    if streams is not None:
        wanted = set(streams)
        for name, stream in tap.streams.items():
            stream.selected = name in wanted
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def records(messages: list[dict], stream: str) -> list[dict]:
    """The RECORD payloads of one stream."""
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def stream_requests(tap: TapChartMogul, stream: str) -> list[dict]:
    """Records of one stream straight from the stream object (post-processed)."""
    target = tap.streams[stream]
    return [t.cast("dict", target.post_process(r)) for r in target.get_records(None)]
