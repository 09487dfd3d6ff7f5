"""The one HTTP session every request of a run goes through.

ChartMogul allows 40 requests per second per account and 20 parallel connections;
above them it answers 429 and 503. Instead of provoking those and backing off, the tap
stays under both limits on its own side:

- a ``Pacer`` gives every request, retries included, across every stream and thread of
  the run, its own send time, ``1 / requests_per_second`` apart, listings' pages before
  fan-out requests and otherwise in arrival order. Evenly spaced requests never put more
  than ``requests_per_second`` into any one-second window, and the ordered queue means no
  thread waits behind luckier ones (a sliding-window limiter whose waiters poll, like
  pyrate-limiter's, let some requests wait seconds, which stalled the in-order fan-out and
  cost 10% of the rate at 300 ms).
  A 429 (another tool sharing the key) pauses the pacer for a second;
- the connection pool holds at most ``max_connections`` connections and blocks further
  requests until one is free (``pool_block``).

It also bounds every response in time and follows requests' environment conventions,
which ``Session.send`` (what the SDK calls) does not apply by itself:

- every body is read in chunks, decompressed, against ``max_bytes``: an endless or
  expanding (gzip) body ends the run in one line with bounded memory, instead of growing
  until the machine runs out (requests reads a whole body into memory, without a limit);
- a watchdog ends any response whose headers and body have not fully arrived
  ``deadline`` seconds after the request was sent (``request_timeout`` bounds each
  socket read only, so a server dripping a byte a second would hold the tap for ever);
- ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and ``SSL_CERT_FILE`` choose the CA
  bundle, and ``HTTPS_PROXY``/``NO_PROXY`` are honoured for https. A plain-http URL
  (only loopback is allowed, see ``settings``) never goes through a proxy: the key
  would travel to it in clear text.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
import typing as t

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tap_chartmogul.errors import ResponseTooLargeError

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

#: How long a 429 pauses every request of the run (ChartMogul's window is one second).
RATE_LIMITED_PAUSE_SECONDS = 1.0
#: The window the rate is counted over (the default rate leaves room for jitter).
WINDOW_SECONDS = 1.0
#: (0 for a listing's page / 1 for a fan-out request, the stream's place in the SDK's order)
Priority = tuple[int, int]
#: Bytes read (after decompression) per step of a body: bounds what a step can add.
BODY_CHUNK_BYTES = 256 * 1024
#: No proxy at all, whatever the environment says (for plain-http loopback URLs).
NO_PROXIES: dict[str, str | None] = {"http": None, "https": None, "all": None}


class ResponseDeadlineError(requests.exceptions.ReadTimeout):
    """The whole response did not arrive within the deadline (a retriable timeout)."""


class _Guard:
    """One request's deadline: the sockets it uses, and whether the watchdog fired."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.finished = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            if self.expired:
                _shutdown(sock)
            else:
                self.sockets.append(sock)

    def expire(self) -> None:
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
    disarming are a heap push and a flag under a lock.
    """

    def __init__(self) -> None:
        """Start with nothing to watch; the thread starts with the first request."""
        self._heap: list[tuple[float, int, _Guard]] = []
        self._counter = 0
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    @contextlib.contextmanager
    def guard(self, seconds: float) -> Iterator[_Guard]:
        """Watch the request made inside the block; it ends ``seconds`` after it starts."""
        guard = _Guard(time.monotonic() + seconds)
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

    def current(self) -> _Guard | None:
        """The guard of the request running on this thread, if any."""
        return t.cast("_Guard | None", getattr(self._local, "guard", None))

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


_POOL_CLASSES = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class Pacer:
    """Gives requests their send times: ``rate`` per second at most, in priority order.

    - Spacing: sends leave ``1 / rate`` seconds apart on a fixed grid; a thread that wakes
      up late (a busy CPU) cannot make several leave together, because each send is also
      admitted against the actual send times of the last second (never more than
      ``rate`` in any one-second window).
    - Priority: waiting requests are served in priority order, then in arrival order. A
      priority is (0 for a listing's page or 1 for a fan-out request, when the SDK writes
      the stream the request is for). A listing is a chain (each page needs the previous
      page's cursor), so at most one of its requests waits at a time and it can only go as
      fast as the latency allows: its pages go first, and the fan-out, with dozens of
      requests waiting, takes the rest of the rate. With plain first-come order, each page
      of a chain queued behind some 80 fan-out requests (2 s at 38/s): a 600-page invoice
      listing took 20 minutes while the fan-out needed 7. Among pages (and among fan-out
      requests), the stream the SDK writes sooner goes first.
    """

    URGENT: t.ClassVar[Priority] = (0, 0)

    def __init__(self, rate: int, clock: t.Callable[[], float] = time.monotonic) -> None:
        """``rate`` requests per second at most; ``clock`` is injectable for tests."""
        self.rate = rate
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

        Otherwise: how long until its time if it is first, or None if others come first.
        """
        with self._condition:
            if self._queue[0] != entry:
                return None
            now = self._clock()
            wait = self._next - now
            if len(self._sent) == self.rate:
                wait = max(wait, self._sent[0] + WINDOW_SECONDS - now)
            if wait > 0:
                return wait
            heapq.heappop(self._queue)
            self._sent.append(now)
            # Keep to the grid (a send a little late makes up for it with a shorter gap),
            # but after a longer delay start afresh: lost slots are never made up in a burst.
            scheduled = self._next
            self._next = (scheduled if now - scheduled <= self.interval else now) + self.interval
            self._condition.notify_all()
            return 0.0

    def withdraw(self, entry: tuple[Priority, int]) -> None:
        """Leave the queue without sending (the waiting thread was interrupted)."""
        with self._condition:
            if entry in self._queue:
                self._queue.remove(entry)
                heapq.heapify(self._queue)
                self._condition.notify_all()

    def wait_turn(self, priority: Priority | None = None) -> None:
        """Block until this request may be sent.

        The check and the wait happen under one hold of the lock (a ``Condition`` over a
        re-entrant lock), so a send that frees the head cannot slip between them unseen.
        """
        with self._condition:
            entry = self.register(self.URGENT if priority is None else priority)
            try:
                while (wait := self.try_send(entry)) != 0.0:
                    self._condition.wait(timeout=wait)
            except BaseException:
                self.withdraw(entry)
                raise

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (after a 429)."""
        with self._condition:
            self._next = max(self._next, self._clock() + seconds)
            self._condition.notify_all()


_PRIORITY = threading.local()


@contextlib.contextmanager
def request_priority(priority: Priority) -> Iterator[None]:
    """Requests made on this thread inside the block wait with ``priority`` (see ``Pacer``)."""
    previous = getattr(_PRIORITY, "level", None)
    _PRIORITY.level = priority
    try:
        yield
    finally:
        _PRIORITY.level = previous


class _PacedDeadlineAdapter(HTTPAdapter):
    """Sends each request at its paced time, on connections the watchdog can end."""

    def __init__(self, pacer: Pacer, max_connections: int) -> None:
        self.pacer = pacer
        super().__init__(pool_connections=1, pool_maxsize=max_connections, pool_block=True)

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:  # type: ignore[override]
        self.pacer.wait_turn(getattr(_PRIORITY, "level", None))
        response = super().send(request, **kwargs)
        if response.status_code == 429:  # noqa: PLR2004 - Too Many Requests
            self.pacer.pause(RATE_LIMITED_PAUSE_SECONDS)
        return response

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


class ChartMogulSession(requests.Session):
    """Rate limit, connection cap, response deadline and environment settings in one place."""

    def __init__(
        self,
        *,
        requests_per_second: int,
        max_connections: int,
        deadline_seconds: float,
        max_bytes: int,
    ) -> None:
        """Build the pacer and the pool.

        ``deadline_seconds`` bounds each whole response in time, ``max_bytes`` its body in
        size (decompressed).
        """
        super().__init__()
        self.max_bytes = max_bytes
        self.pacer = Pacer(requests_per_second)
        adapter = _PacedDeadlineAdapter(self.pacer, max_connections)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.deadline_seconds = deadline_seconds

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        """Send with the environment's CA bundle and proxies, within the deadline."""
        kwargs.update(self.environment_for(request.url or "", kwargs))
        kwargs["stream"] = True  # the body is read here, within the size limit
        with WATCHDOG.guard(self.deadline_seconds) as guard:
            try:
                response = super().send(request, **kwargs)
                read_body(response, self.max_bytes)
            except requests.exceptions.RequestException as error:
                if guard.expired:
                    msg = f"the response did not complete within {self.deadline_seconds:g}s"
                    raise ResponseDeadlineError(msg) from error
                raise
            return response

    def get_redirect_target(self, resp: requests.Response) -> str | None:  # noqa: ARG002
        """No redirect is ever followed (or even parsed: a malformed Location must not crash).

        ChartMogul's API does not redirect; ``responses.check_status`` reports a redirect
        as a wrong ``api_url`` in one line. ``Session.send`` asks this even when redirects
        are off, to prepare the next request, and urlparse raises on a malformed Location.
        """
        return None

    def environment_for(self, url: str, given: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """``verify`` and ``proxies`` as ``Session.request`` would set them, and then some.

        ``SSL_CERT_FILE`` is honoured too (requests itself only reads it through
        OpenSSL when no bundle is given, and it always gives certifi's).
        """
        settings = self.merge_environment_settings(
            url, {}, given.get("stream"), given.get("verify"), given.get("cert")
        )
        verify = settings["verify"]
        if verify is True and os.environ.get("SSL_CERT_FILE"):
            verify = os.environ["SSL_CERT_FILE"]
        proxies = settings["proxies"] if url.lower().startswith("https://") else NO_PROXIES
        return {"verify": verify, "proxies": proxies}


def read_body(response: requests.Response, max_bytes: int) -> None:
    """Read the body of a streamed response, decompressed, refusing more than ``max_bytes``.

    ``requests`` offers no size limit (``Response.content`` reads to the end, however long
    that is), so the body is read the way ``Response.content`` reads it, in chunks, and
    kept where ``Response.content`` keeps it (``_content``, requests/models.py): the SDK
    and the rest of the tap then read ``response.content`` as usual.

    Raises:
        ResponseTooLargeError: the body passed the limit; the connection is closed.
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(BODY_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            response.close()
            endpoint = (response.request.path_url or "").split("?", 1)[0]
            msg = (
                f"ChartMogul's response for {endpoint} passed {max_bytes / 2**20:g} MB "
                "(decompressed) before it ended; stopping (a larger page than ChartMogul "
                "sends, or a server that does not end its answer; see max_response_mb)"
            )
            raise ResponseTooLargeError(msg, status=response.status_code)
        chunks.append(chunk)
    response._content = b"".join(chunks)  # noqa: SLF001 - see the docstring
