"""Send times for every request of a run: ChartMogul's rate, fairly, chains first.

ChartMogul answers 429 above 40 requests per second per account. Instead of provoking
that and backing off, every request, retries included, across every stream and thread of
the run, gets its own send time from one ``Pacer``. A sliding-window limiter whose waiters
poll (pyrate-limiter's) let some requests wait seconds while luckier ones went ahead, which
stalled the in-order fan-out and cost 10% of the rate at 300 ms; an ordered queue does not.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterator

#: The window the rate is counted over (the default rate leaves room for jitter).
WINDOW_SECONDS = 1.0
#: How long a 429 pauses every request of the run (ChartMogul's window is one second).
RATE_LIMITED_PAUSE_SECONDS = 1.0
#: (0 for a listing's page / 1 for a fan-out request, when the SDK writes the stream).
Priority = tuple[int, int]
#: Requests made before the run knows its listings (the key's first request).
URGENT: Priority = (0, 0)


class Pacer:
    """Gives requests their send times: ``rate`` per second at most, in priority order.

    - Spacing: sends leave ``1 / rate`` seconds apart on a fixed grid; a thread that wakes
      up late (a busy CPU) cannot make several leave together, because each send is also
      admitted against the actual send times of the last second (never more than
      ``rate`` in any one-second window).
    - Connections: a send is admitted only while fewer than ``connections`` requests are
      in flight (``turn`` holds a slot until the response is read). A request admitted
      without a free connection waited in the pool instead; while a slow server held
      every connection, a second of admissions piled up there and left together the
      moment the connections came back, 37 at once in the daily benchmark, which
      ChartMogul's window counts as one second and answers with 429s.
    - Priority: waiting requests are served in priority order, then in arrival order. A
      listing is a chain (each page needs the previous page's cursor), so at most one of
      its requests waits at a time and it can only go as fast as the latency allows: its
      pages go first, and the fan-out, with dozens of requests waiting, takes the rest of
      the rate. With plain first-come order, each page of a chain queued behind some 80
      fan-out requests (2 s at 38/s): a 600-page invoice listing took 20 minutes while the
      fan-out needed 7. Among pages (and among fan-out requests), the stream the SDK
      writes sooner goes first.
    """

    def __init__(
        self,
        rate: int,
        connections: int | None = None,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        """``rate`` per second, ``connections`` in flight at most; ``clock`` for tests."""
        self.rate = rate
        self.connections = connections
        self._in_flight = 0
        self.interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._sent: collections.deque[float] = collections.deque(maxlen=rate)
        self._queue: list[tuple[Priority, int]] = []
        self._tickets = itertools.count()
        self._condition = threading.Condition()

    def register(self, priority: Priority) -> tuple[Priority, int]:
        """Join the queue; the entry is what ``try_send`` serves."""
        entry = (priority, next(self._tickets))
        with self._condition:
            heapq.heappush(self._queue, entry)
        return entry

    def try_send(self, entry: tuple[Priority, int]) -> float | None:
        """Send ``entry`` now if it is first and its time has come (0.0).

        Otherwise: how long until its time if it is first, or None if others come first
        or every connection is taken (``release`` wakes the waiters).
        """
        with self._condition:
            if self._queue[0] != entry:
                return None
            if self.connections is not None and self._in_flight >= self.connections:
                return None
            now = self._clock()
            wait = self._next - now
            if len(self._sent) == self.rate:
                wait = max(wait, self._sent[0] + WINDOW_SECONDS - now)
            if wait > 0:
                return wait
            heapq.heappop(self._queue)
            self._sent.append(now)
            self._in_flight += 1
            # Keep to the grid (a send a little late makes up for it with a shorter gap),
            # but after a longer delay start afresh: lost slots are never made up in a burst.
            scheduled = self._next
            self._next = (scheduled if now - scheduled <= self.interval else now) + self.interval
            self._condition.notify_all()
            return 0.0

    def release(self) -> None:
        """A sent request's response was read (or failed): its connection is free."""
        with self._condition:
            self._in_flight -= 1
            self._condition.notify_all()

    @contextlib.contextmanager
    def turn(self, priority: Priority = URGENT) -> Iterator[None]:
        """Wait for a send time and a free connection; hold the connection in the block."""
        self._wait_turn(priority)
        try:
            yield
        finally:
            self.release()

    def withdraw(self, entry: tuple[Priority, int]) -> None:
        """Leave the queue without sending (the waiting thread was interrupted)."""
        with self._condition:
            if entry in self._queue:
                self._queue.remove(entry)
                heapq.heapify(self._queue)
                self._condition.notify_all()

    def _wait_turn(self, priority: Priority) -> None:
        """Block until this request may be sent (``release`` must follow: ``turn`` does it).

        The check and the wait happen under one hold of the lock (a ``Condition`` over a
        re-entrant lock), so a send that frees the head cannot slip between them unseen.
        """
        with self._condition:
            entry = self.register(priority)
            try:
                while (wait := self.try_send(entry)) != 0.0:
                    self._condition.wait(timeout=wait)
            except BaseException:
                self.withdraw(entry)
                raise

    def pause(self, seconds: float = RATE_LIMITED_PAUSE_SECONDS) -> None:
        """Send nothing for ``seconds`` (after a 429 from another tool sharing the key)."""
        with self._condition:
            self._next = max(self._next, self._clock() + seconds)
            self._condition.notify_all()
