"""The request log: one record per answered request, for tests' assertions and the harness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from .wire import Request


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake saw it.

    ``started`` is its arrival and ``ended`` the moment its answer was committed (just before
    the bytes are written), both ``FakeChartMogul.clock`` seconds. ``status`` is what the status
    line said (also for ``reset`` faults, whose body is then cut off).
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    authorization: str | None
    started: float
    ended: float
    fault: str | None = None
    """Why the answer was not the normal one: a fault kind, "rate-limit", "connections",
    "script:<kind|status>"; ``None`` for normal answers."""


class RequestLog:
    """Every request answered since start or :meth:`reset_log` (oldest first)."""

    _lock: threading.Lock
    _log: list[RequestRecord]
    _in_flight: int
    peak_in_flight: int
    clock: Callable[[], float]

    @property
    def requests(self) -> list[RequestRecord]:
        """Snapshot of every request answered so far (oldest first)."""
        with self._lock:
            return list(self._log)

    def count(self, path_prefix: str | None = None, status: int | None = None) -> int:
        """Requests whose path starts with ``path_prefix`` and/or got ``status``."""
        with self._lock:
            return sum(
                1
                for r in self._log
                if (path_prefix is None or r.path.startswith(path_prefix))
                and (status is None or r.status == status)
            )

    def reset_log(self) -> None:
        """Forget logged requests and the concurrency peak."""
        with self._lock:
            self._log.clear()
            self.peak_in_flight = self._in_flight

    def _log_request(self, req: Request) -> None:
        """Append the record once, just before the answer goes out.

        Logging before the write means a client that has read the answer always finds its
        request in ``fake.requests`` (logging afterwards raced with the client's next request).
        """
        if req.logged:
            return
        req.logged = True
        record = RequestRecord(
            req.handler.command,
            req.path,
            req.query,
            req.status,
            req.auth,
            req.started,
            self.clock(),
            req.fault,
        )
        with self._lock:
            self._log.append(record)
