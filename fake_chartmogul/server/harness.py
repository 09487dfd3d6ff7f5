"""The ``/_fake/`` harness: what a benchmark in another process asks of a running fake.

``GET /_fake/stats`` (request counters), ``POST /_fake/knobs`` (latency, rate limit,
connection cap) and ``POST /_fake/advance-day`` (simulated days, days/). None of them is
logged, limited or faulted: they are not ChartMogul's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fake_chartmogul.days import ADVANCE_DAY_PATH, advance_from_query

from .scripts import Scripts
from .wire import send_json

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from fake_chartmogul.account import FakeAccount

    from .wire import Handler

#: Counters for a benchmark harness running the fake as a separate process.
STATS_PATH = "/_fake/stats"
#: Harness endpoint (POST ``?latency=0.05&rate_limit=40&max_connections=20``): change the
#: knobs of a running fake from another process (an empty value switches a limit off).
KNOBS_PATH = "/_fake/knobs"


class Harness(Scripts):
    """Answers the harness paths; everything else is the API's."""

    _account: FakeAccount

    def stats(self) -> dict[str, Any]:
        """Counters for a harness in another process (served at ``STATS_PATH``)."""
        with self._lock:
            log = list(self._log)
        by_status: dict[str, int] = {}
        for record in log:
            by_status[str(record.status)] = by_status.get(str(record.status), 0) + 1
        return {"requests": len(log), "by_status": by_status, "peak_in_flight": self.peak_in_flight}

    def _harness(self, h: Handler, split: SplitResult) -> bool:
        """Answer a harness path; False for any other path."""
        if split.path == STATS_PATH:
            send_json(h, 200, self.stats())
        elif split.path == ADVANCE_DAY_PATH:
            self._advance_day(h, split.query)
        elif split.path == KNOBS_PATH:
            self._set_knobs(h, split.query)
        else:
            return False
        return True

    def _advance_day(self, h: Handler, raw_query: str) -> None:
        """POST ``ADVANCE_DAY_PATH``: apply simulated days (days/) and answer what changed.

        The indexes are brought up to date before answering, so the next API request does not
        pay for it.
        """
        self._drain_body(h)
        headers = {}
        if h.command != "POST":
            status, payload = 405, {"error": "Method not allowed"}
            headers["Allow"] = "POST"
        else:
            try:
                payload = advance_from_query(self._account, raw_query)
                status = 200
            except ValueError as exc:
                status, payload = 400, {"error": str(exc)}
            self.api.warm()
        send_json(h, status, payload, headers)

    def _set_knobs(self, h: Handler, raw_query: str) -> None:
        """POST ``KNOBS_PATH``: set latency, rate limit and connection cap; answer them all."""
        self._drain_body(h)
        status, payload = 200, self._apply_knobs(raw_query)
        if h.command != "POST":
            status, payload = 405, {"error": "Method not allowed"}
        elif "error" in payload:
            status = 400
        send_json(h, status, payload)

    def _apply_knobs(self, raw_query: str) -> dict[str, Any]:
        knobs = dict(parse_qsl(raw_query, keep_blank_values=True))
        unknown = sorted(set(knobs) - {"latency", "rate_limit", "max_connections"})
        if unknown:
            return {"error": f"unknown knobs {unknown}"}
        try:
            if "latency" in knobs:
                self.latency = float(knobs["latency"] or 0)
            if "rate_limit" in knobs:
                self.rate_limit_rps = int(knobs["rate_limit"]) if knobs["rate_limit"] else None
            if "max_connections" in knobs:
                value = knobs["max_connections"]
                self.max_connections = int(value) if value else None
        except ValueError as exc:
            return {"error": str(exc)}
        return {
            "latency": self.latency,
            "rate_limit": self.rate_limit_rps,
            "max_connections": self.max_connections,
        }
