"""ChartMogul's limits (docs/chartmogul-api.md §1.3): 40 requests/s, 20 connections, latency.

A request arriving while ``max_connections`` are in flight gets a plain-text 503 at once;
more than ``rate_limit_rps`` requests in the trailing second get 429s (rejected requests
count too: "all requests count"); ``latency`` is slept while holding the connection slot.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from .wire import Wire

#: Arrivals kept: a request is seen at most this late after it arrived (GIL, latency).
_WINDOW_KEPT_SECONDS = 30.0

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable


class Limits(Wire):
    """In-flight accounting, the connection cap, the rate window and the waits."""

    _idle: threading.Condition
    _window: list[float]
    max_connections: int | None
    rate_limit_rps: int | None
    latency: float
    sleep: Callable[[float], object]

    def _enter(self, *, limited: bool) -> bool:
        with self._lock:
            cap = self.max_connections
            if limited and cap is not None and self._in_flight >= cap:
                return False
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            return True

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.notify_all()

    @property
    def in_flight(self) -> int:
        """Requests currently being handled (for assertions on client concurrency)."""
        return self._in_flight

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no request is being handled; False if ``timeout`` passed first.

        Answers a client gave up on (timeouts) are logged only when they finish; waiting for
        idleness is how a test sees them in :attr:`requests` without sleeping.
        """
        with self._idle:
            return self._idle.wait_for(lambda: not self._in_flight, timeout)

    def _rate_limited(self, now: float) -> bool:
        """More than the limit arrived in the second up to ``now`` (this one included).

        Arrivals are kernel receive times, and threads can see them out of order (one
        waits for the GIL while a later arrival is handled), so the window is kept sorted
        and counted between two bounds: a deque popped from the left miscounted a late
        early arrival as in the window for as long as a newer one stood before it.
        """
        limit = self.rate_limit_rps
        if not limit:
            return False
        with self._lock:
            window = self._window
            bisect.insort(window, now)
            if window[0] < window[-1] - _WINDOW_KEPT_SECONDS:
                del window[: bisect.bisect_left(window, window[-1] - _WINDOW_KEPT_SECONDS)]
            count = bisect.bisect_right(window, now) - bisect.bisect_right(window, now - 1.0)
            return count > limit

    def _sleep(self, seconds: float) -> None:
        if seconds and seconds > 0:
            self.sleep(seconds)
