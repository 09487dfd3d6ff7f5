"""Failure modes the fake can inject, randomly (``fault_rate``) or scripted (``script()``).

They mirror what a tap meets in production: ChartMogul's plain-text 5xx pages, Cloudflare's
520/524, 429s with or without ``Retry-After``, connections dropped mid-body, a login page
served with 200 by a misrouted proxy, and an empty 500 body (docs/chartmogul-api.md §1.3-§1.5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

PLAIN_TEXT_ERRORS = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Unavailable",
    504: "504 Gateway Timeout Error",
    520: "520 Web Server Returned an Unknown Error",
    524: "524 A Timeout Occurred",
}
RATE_LIMIT_BODY = {
    "code": 429,
    "message": "Your request rate has exceeded our rate limit.",
    "param": None,
}
TOO_MANY_CONNECTIONS = "503 Service Unavailable: too many parallel connections"
HTML_LOGIN = "<html><body>Login</body></html>"

FAULT_KINDS = (
    *(str(code) for code in PLAIN_TEXT_ERRORS),
    "429",
    "429-retry-after",
    "reset",
    "slow",
    "truncated",
    "html",
    "empty-500",
)
"""Every kind usable in ``fault_kinds`` and ``Fault(kind=...)``."""
NORMAL = "normal"
"""Pseudo-kind for ``script()``: answer this request normally (consumes one queue slot)."""

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    520: "Unknown Error",
    524: "A Timeout Occurred",
}


@dataclass(frozen=True)
class Fault:
    """A scripted answer: either a named ``kind`` or an explicit ``status``/``body``.

    ``Fault(kind="reset")`` etc. use the kinds of :data:`FAULT_KINDS` (``"normal"`` passes the
    request through). ``Fault(status=429, headers={"Retry-After": "1"})`` sends that status with
    a sensible default body (plain text for the 5xx above, the rate-limit JSON for 429,
    ``{"code","message","param"}`` otherwise) unless ``body`` (str, bytes or JSON-able
    value) and ``content_type`` are given.
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    content_type: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        """Reject a fault that says nothing, or names a kind the server cannot produce."""
        if self.kind is None and self.status is None:
            msg = "Fault needs a kind or a status"
            raise ValueError(msg)
        if self.kind is not None and self.kind not in (*FAULT_KINDS, NORMAL):
            msg = f"unknown fault kind {self.kind!r}; known: {FAULT_KINDS}"
            raise ValueError(msg)

    @classmethod
    def of(cls, value: Fault | int | str) -> Fault:
        """Normalise a ``script()`` entry: ints are statuses (200 = answer normally)."""
        if isinstance(value, Fault):
            return value
        if isinstance(value, str):
            return cls(kind=value)
        if value == HTTPStatus.OK:
            return cls(kind=NORMAL)
        if str(value) in FAULT_KINDS:
            return cls(kind=str(value))
        return cls(status=int(value))

    def rendered(self) -> tuple[int, bytes, str, dict[str, str]]:
        """Status, body, content type and headers of an explicit-status fault."""
        status = int(self.status or 500)
        body, content_type = self.body, self.content_type
        if body is None:
            if status in PLAIN_TEXT_ERRORS:
                body, content_type = PLAIN_TEXT_ERRORS[status], content_type or "text/plain"
            elif status == HTTPStatus.TOO_MANY_REQUESTS:
                body = RATE_LIMIT_BODY
            else:
                body = {"code": status, "message": REASONS.get(status, "Error"), "param": None}
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
            content_type = content_type or "text/plain"
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
        return status, data, content_type or "application/json", dict(self.headers)
