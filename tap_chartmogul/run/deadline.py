"""A deadline on each whole response, which requests does not have.

``requests``' ``timeout`` bounds each socket read, not the response: a server that drips
a byte every few seconds keeps a request alive for ever (psf/requests#4276, closed
without a total timeout). A ``Watchdog`` thread shuts down the sockets of any request
whose headers and body have not fully arrived ``seconds`` after it was sent; the
connection classes below tell the watchdog which sockets a request uses. The request
then fails as a ``ResponseDeadlineError``, a read timeout, which the tap retries.
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import threading
import time
import typing as t

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if t.TYPE_CHECKING:
    from collections.abc import Iterator


class ResponseDeadlineError(requests.exceptions.ReadTimeout):
    """The whole response did not arrive within the deadline (a retriable timeout)."""


class Guard:
    """One request's deadline: the sockets it uses, and whether the watchdog fired."""

    def __init__(self, deadline: float) -> None:
        """Watch nothing yet; ``deadline`` is a ``time.monotonic`` instant."""
        self.deadline = deadline
        self.expired = False
        self.finished = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def watch(self, sock: socket.socket | None) -> None:
        """End ``sock`` with the request (at once if the deadline passed already)."""
        if sock is None:
            return
        with self.lock:
            if self.expired:
                _shutdown(sock)
            else:
                self.sockets.append(sock)

    def expire(self) -> None:
        """The deadline passed: end every socket of the request, unless it finished."""
        with self.lock:
            if self.finished:
                return
            self.expired = True
            for sock in self.sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """One daemon thread that ends requests that outlive their deadline.

    Cheaper than a timer thread per request, and it never blocks a request: arming and
    disarming are a heap push and a flag under a lock. The request running on a thread
    is found through a thread-local: urllib3 creates the connection deep inside
    ``Session.send``, with no argument through which a guard could be handed down.
    """

    def __init__(self) -> None:
        """Start with nothing to watch; the thread starts with the first request."""
        self._heap: list[tuple[float, int, Guard]] = []
        self._counter = 0
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    @contextlib.contextmanager
    def guard(self, seconds: float) -> Iterator[Guard]:
        """Watch the request made inside the block; it ends ``seconds`` after it starts."""
        guard = Guard(time.monotonic() + seconds)
        with self._condition:
            self._counter += 1
            heapq.heappush(self._heap, (guard.deadline, self._counter, guard))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tap-chartmogul-watchdog", daemon=True
                )
                self._thread.start()
            self._condition.notify()
        self._local.guard = guard
        try:
            yield guard
        finally:
            self._local.guard = None
            with guard.lock:
                guard.finished = True
                guard.sockets.clear()

    def current(self) -> Guard | None:
        """The guard of the request running on this thread, if any."""
        return t.cast("Guard | None", getattr(self._local, "guard", None))

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._heap:
                    self._condition.wait()
                deadline, _, guard = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._condition.wait(timeout=delay)
                    continue
                heapq.heappop(self._heap)
            guard.expire()


#: The watchdog of this process (one thread serves every session).
WATCHDOG = Watchdog()


class _DeadlineHTTPConnection(HTTPConnection):
    """Registers its socket with the current request's deadline once the request is sent."""

    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().request(*args, **kwargs)
        guard = WATCHDOG.current()
        if guard is not None:
            guard.watch(self.sock)


class _DeadlineHTTPSConnection(HTTPSConnection, _DeadlineHTTPConnection):
    """The https variant: TLS from ``HTTPSConnection``, ``request`` from the one above."""


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


#: urllib3's pool classes by scheme, for connections the watchdog can end.
POOL_CLASSES = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}
