"""Faults and scripted answers: random ones at ``fault_rate``, queued ones per path pattern.

A matching ``script()`` entry wins outright (after ``latency``; not rate limited); random
faults are drawn after the limits and the latency, from ``fault_kinds`` with a seeded RNG
(fake_chartmogul/faults.py lists the kinds and what each sends).
"""

from __future__ import annotations

import random
import re
from collections import deque
from typing import TYPE_CHECKING

from fake_chartmogul.faults import (
    FAULT_KINDS,
    HTML_LOGIN,
    PLAIN_TEXT_ERRORS,
    RATE_LIMIT_BODY,
    Fault,
)
from fake_chartmogul.routes import JSON

from .limits import Limits
from .wire import TEXT, Reply, Request, json_bytes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


class Scripts(Limits):
    """Which answer a request gets instead of the normal one, if any."""

    fault_rate: float
    fault_slow_seconds: float
    _fault_rng: random.Random
    _fault_kinds: tuple[str, ...]
    _scripts: list[tuple[re.Pattern[str], deque[Fault]]]

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        """Kinds random faults are drawn from; assigning an unknown kind raises ValueError."""
        return self._fault_kinds

    @fault_kinds.setter
    def fault_kinds(self, kinds: Sequence[str]) -> None:
        kinds = tuple([kinds] if isinstance(kinds, str) else kinds)
        unknown = [k for k in kinds if k not in FAULT_KINDS]
        if unknown or not kinds:
            msg = f"unknown fault kinds {unknown}; known: {FAULT_KINDS}"
            raise ValueError(msg)
        self._fault_kinds = kinds

    def reseed_faults(self, seed: int) -> None:
        """Restart the random-fault sequence (deterministic for sequential clients)."""
        with self._lock:
            self._fault_rng = random.Random(seed)  # noqa: S311 - reproducible faults

    def script(self, path_regex: str, responses: Sequence[Fault | int | str]) -> None:
        """Queue answers for requests matching ``path_regex``.

        The regex is ``re.search``-ed against the path (``/v1/customers``) and, failing that,
        against ``path?query`` so a pattern can also target e.g. ``cursor=`` requests.

        Each entry is used once, in order; ints are statuses (200 = answer normally), strings
        are fault kinds. Once the queue is empty the endpoint behaves normally again.
        """
        queue = deque(Fault.of(r) for r in responses)
        with self._lock:
            self._scripts.append((re.compile(path_regex), queue))

    def clear_script(self) -> None:
        """Drop every queued scripted answer."""
        with self._lock:
            self._scripts.clear()

    def pending_script(self) -> int:
        """How many scripted answers are still queued."""
        with self._lock:
            return sum(len(q) for _, q in self._scripts)

    def _pop_script(self, path: str, raw_query: str) -> Fault | None:
        """First non-empty queue whose regex matches the path, or ``path?query``."""
        full = f"{path}?{raw_query}" if raw_query else path
        with self._lock:
            for pattern, queue in self._scripts:
                if queue and (pattern.search(path) or pattern.search(full)):
                    return queue.popleft()
        return None

    def _random_fault(self) -> str | None:
        rate = self.fault_rate
        if rate <= 0:
            return None
        with self._lock:
            if self._fault_rng.random() >= rate:
                return None
            kinds = self._fault_kinds
            return kinds[int(self._fault_rng.random() * len(kinds))]

    def _answer_fault(self, req: Request, fault: Fault, label: str) -> None:
        req.fault = label
        kind = fault.kind
        if kind is None:
            status, body, content_type, headers = fault.rendered()
            self._send(req, Reply(status, body, content_type, headers))
        elif kind in _CANNED:
            self._send(req, _CANNED[kind]())
        elif kind == "slow":
            self._sleep(self.fault_slow_seconds)
            self._send(req, self._normal(req))
        elif kind == "truncated":
            reply = self._normal(req)
            reply.status, reply.body = 200, reply.body[: len(reply.body) // 2]
            self._send(req, reply)
        else:  # "reset": promise the whole body, send half, then RST
            self._send(req, self._normal(req), cut=True)


def _plain(code: int) -> Callable[[], Reply]:
    return lambda: Reply(code, PLAIN_TEXT_ERRORS[code].encode(), TEXT)


_CANNED: dict[str, Callable[[], Reply]] = {
    **{str(code): _plain(code) for code in PLAIN_TEXT_ERRORS},
    "429": lambda: Reply(429, json_bytes(RATE_LIMIT_BODY), JSON),
    "429-retry-after": lambda: Reply(429, json_bytes(RATE_LIMIT_BODY), JSON, {"Retry-After": "1"}),
    "html": lambda: Reply(200, HTML_LOGIN.encode(), "text/html"),
    "empty-500": lambda: Reply(500, b"", TEXT),
}
"""Fault kinds whose answer does not depend on the request."""
