"""``FakeChartMogul``: the server's lifecycle and the order every request goes through.

Order applied to each request (documented because tests depend on it):

1. a matching ``script()`` entry wins outright (after ``latency``; not rate limited);
2. ``max_connections``: a request arriving while that many are in flight gets a plain-text 503
   immediately (it never occupies a slot, is not rate-counted);
3. ``rate_limit_rps``: more than N requests in the trailing second -> 429 (+ ``Retry-After``
   if ``retry_after`` is set). Rejected requests count toward the window too, as ChartMogul
   says "all requests count";
4. ``latency`` sleep (the request holds its connection slot meanwhile);
5. random fault with probability ``fault_rate`` drawn from ``fault_kinds`` (seeded);
6. auth (HTTP Basic), then GET-only routing (``routes.Api``).

Timestamps in :class:`RequestRecord` come from ``FakeChartMogul.clock`` (``time.monotonic``
unless a test swaps in its own), and every wait (latency, slow faults) goes through
``FakeChartMogul.sleep``: tests control time through those two instead of sleeping.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from fake_chartmogul.account import FakeAccount
from fake_chartmogul.faults import NORMAL, RATE_LIMIT_BODY, TOO_MANY_CONNECTIONS, Fault
from fake_chartmogul.routes import JSON, Api

from .harness import Harness
from .wire import TEXT, Handler, HttpServer, Reply, Request, json_bytes, shutdown

if TYPE_CHECKING:
    import socket
    import ssl
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from .log import RequestRecord


class FakeChartMogul(Harness):
    """A local ChartMogul REST API (``/v1/...``) serving a :class:`FakeAccount`.

    Use as a context manager or call :meth:`start`/:meth:`stop`. All knobs are plain
    attributes that may be changed while running (``fake.latency = 0.05``).
    """

    def __init__(  # noqa: PLR0913 - the knob set is the documented interface
        self,
        account: FakeAccount | None = None,
        *,
        api_key: str = "test-key",
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        rate_limit_rps: int | None = None,
        max_connections: int | None = None,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[str] = ("500", "502", "503", "504"),
        fault_seed: int = 0,
        retry_after: str | None = None,
        fault_slow_seconds: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Configure the server (see the module docstring for the order knobs apply in).

        ``port=0`` binds any free port at :meth:`start`. ``fault_seed`` makes random faults
        reproducible for a sequential client. ``ssl_context`` (a server-side context with
        its certificate loaded) serves HTTPS instead of plain HTTP; the TLS handshake runs
        on each connection's own thread, so a client that rejects the certificate never
        stalls the others.
        """
        self._account = account if account is not None else FakeAccount()
        self.api = Api(self._account)
        self.api_key = api_key
        self.host = host
        self._port = port
        self.latency = latency
        self.rate_limit_rps = rate_limit_rps
        self.max_connections = max_connections
        self.fault_rate = fault_rate
        self.fault_kinds = fault_kinds
        self.retry_after = retry_after
        self.fault_slow_seconds = fault_slow_seconds
        self.ssl_context = ssl_context
        self._fault_rng = random.Random(fault_seed)  # noqa: S311 - reproducible faults
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._log: list[RequestRecord] = []
        self._scripts = []
        self._window = []
        self._in_flight = 0
        self.peak_in_flight = 0
        """Most requests handled at once since start / :meth:`reset_log` (client concurrency)."""
        self._connections: set[socket.socket] = set()
        self._request_ids = itertools.count(1)
        self._stopping = threading.Event()
        self.clock: Callable[[], float] = time.monotonic
        """Time source of request stamps and the rate-limit window."""
        self.sleep: Callable[[float], object] = self._stopping.wait
        """How latency and slow faults wait; the default wakes up early when the server stops."""
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def account(self) -> FakeAccount:
        """The served dataset; assign another to swap it without restarting the server."""
        return self._account

    @account.setter
    def account(self, account: FakeAccount) -> None:
        self._account = account
        self.api = Api(account)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Bind (port 0 = any free port; a restart reuses the port) and serve in a thread."""
        if self._server is not None:
            msg = "already started"
            raise RuntimeError(msg)
        self._stopping.clear()
        server = HttpServer((self.host, self._port), Handler)
        server.on_request = self._dispatch
        server.on_connect = self._track
        server.on_disconnect = self._untrack
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-chartmogul-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and cut open keep-alive connections (clients then see resets)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            shutdown(conn)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeChartMogul:  # noqa: PYI034 - typing.Self needs 3.11
        """Start serving; the ``with`` block gets the running server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving, also when the block raised."""
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the chosen one once a ``port=0`` server has started)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` with TLS) — no ``/v1``; clients append it."""
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{self.host}:{self._port}"

    # -- request pipeline ----------------------------------------------------------------
    def _dispatch(self, h: Handler) -> None:
        split = urlsplit(h.path)
        if self._harness(h, split):  # harness-only: not logged, limited or faulted
            return
        req = Request(
            handler=h,
            path=unquote(split.path),
            raw_query=split.query,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            auth=h.headers.get("Authorization"),
            started=self._arrival(h),
        )
        self._drain_body(h)
        try:
            self._respond(req)
        except OSError:
            h.close_connection = True
            raise
        finally:
            self._log_request(req)

    def _arrival(self, h: Handler) -> float:
        """When the request arrived: the kernel's receive time on the default clock.

        A test that swaps :attr:`clock` controls time itself: its clock is taken as is.
        """
        now = self.clock()
        waited = h.waited() if self.clock is time.monotonic else None
        return now - waited if waited is not None else now

    def _respond(self, req: Request) -> None:
        scripted = self._pop_script(req.path, req.raw_query)
        if scripted is not None and scripted.kind != NORMAL:
            self._enter(limited=False)
            try:
                self._sleep(self.latency)
                self._answer_fault(req, scripted, f"script:{scripted.kind or scripted.status}")
            finally:
                self._leave()
            return
        if not self._enter(limited=True):
            req.fault = "connections"
            self._send(req, Reply(503, TOO_MANY_CONNECTIONS.encode(), TEXT))
            return
        try:
            limited = self._rate_limited(req.started)
            self._sleep(self.latency)
            if limited:
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                req.fault = "rate-limit"
                self._send(req, Reply(429, json_bytes(RATE_LIMIT_BODY), JSON, headers))
                return
            kind = self._random_fault()
            if kind is not None:
                self._answer_fault(req, Fault(kind=kind), kind)
                return
            self._send(req, self._normal(req))
        finally:
            self._leave()
