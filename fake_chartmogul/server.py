"""HTTP front of the fake: auth, knobs, fault injection, scripted answers and a request log.

The knobs are latency, a rate limit and a parallel-connection cap.

ChartMogul's side of this is docs/chartmogul-api.md §1.1 (auth, the exact 401 body), §1.3
(40 requests/s, 20 parallel connections) and §1.4 (plain-text 5xx bodies).

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

import contextlib
import itertools
import json
import random
import re
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from base64 import b64decode
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .data import FakeAccount
from .days import ADVANCE_DAY_PATH, advance_from_query
from .faults import (
    FAULT_KINDS,
    HTML_LOGIN,
    NORMAL,
    PLAIN_TEXT_ERRORS,
    RATE_LIMIT_BODY,
    REASONS,
    TOO_MANY_CONNECTIONS,
    Fault,
)
from .routes import JSON, Api

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

#: Counters for a benchmark harness running the fake as a separate process.
STATS_PATH = "/_fake/stats"
#: Harness endpoint (POST ``?latency=0.05&rate_limit=40&max_connections=20``): change the
#: knobs of a running fake from another process (an empty value switches a limit off).
KNOBS_PATH = "/_fake/knobs"
UNAUTHORIZED = {"code": 401, "message": "No valid API key provided", "param": None}
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_TEXT = "text/plain"


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


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class FakeChartMogul:
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
        self._scripts: list[tuple[re.Pattern[str], deque[Fault]]] = []
        self._window: deque[float] = deque()
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
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- configuration -------------------------------------------------------------------
    @property
    def account(self) -> FakeAccount:
        """The served dataset; assign another to swap it without restarting the server."""
        return self._account

    @account.setter
    def account(self, account: FakeAccount) -> None:
        self._account = account
        self.api = Api(account)

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

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Bind (port 0 = any free port; a restart reuses the port) and serve in a thread."""
        if self._server is not None:
            msg = "already started"
            raise RuntimeError(msg)
        self._stopping.clear()
        server = _Server((self.host, self._port), _Handler)
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
            _shutdown(conn)
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

    # -- log and scripts -----------------------------------------------------------------
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

    # -- connection tracking (so stop() can cut keep-alive sockets) ----------------------
    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    # -- request pipeline ----------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counters for a harness in another process (served at ``STATS_PATH``)."""
        with self._lock:
            log = list(self._log)
        by_status: dict[str, int] = {}
        for record in log:
            by_status[str(record.status)] = by_status.get(str(record.status), 0) + 1
        return {"requests": len(log), "by_status": by_status, "peak_in_flight": self.peak_in_flight}

    def _dispatch(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        if split.path == STATS_PATH:  # harness-only: not logged, limited or faulted
            body = _json(self.stats())
            h.send_response(200)
            h.send_header("Content-Type", JSON)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        if split.path == ADVANCE_DAY_PATH:  # harness-only as well
            self._advance_day(h, split.query)
            return
        if split.path == KNOBS_PATH:  # harness-only as well
            self._set_knobs(h, split.query)
            return
        req = _Request(
            handler=h,
            path=unquote(split.path),
            raw_query=split.query,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            auth=h.headers.get("Authorization"),
            started=self.clock(),
        )
        self._drain_body(h)
        try:
            self._respond(req)
        except OSError:
            h.close_connection = True
            raise
        finally:
            self._log_request(req)

    def _advance_day(self, h: _Handler, raw_query: str) -> None:
        """POST ``ADVANCE_DAY_PATH``: apply simulated days (days.py) and answer what changed.

        The indexes are brought up to date before answering, so the next API request does not
        pay for it. Not logged, limited or faulted, like the stats.
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
        body = _json(payload)
        h.send_response(status)
        h.send_header("Content-Type", JSON)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)

    def _set_knobs(self, h: _Handler, raw_query: str) -> None:
        """POST ``KNOBS_PATH``: set latency, rate limit and connection cap; answer them all."""
        self._drain_body(h)
        status, payload = 200, self._apply_knobs(raw_query)
        if h.command != "POST":
            status, payload = 405, {"error": "Method not allowed"}
        elif "error" in payload:
            status = 400
        body = _json(payload)
        h.send_response(status)
        h.send_header("Content-Type", JSON)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

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

    def _log_request(self, req: _Request) -> None:
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

    def _respond(self, req: _Request) -> None:
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
            self._send(req, _Reply(503, TOO_MANY_CONNECTIONS.encode(), _TEXT))
            return
        try:
            limited = self._rate_limited(req.started)
            self._sleep(self.latency)
            if limited:
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                req.fault = "rate-limit"
                self._send(req, _Reply(429, _json(RATE_LIMIT_BODY), JSON, headers))
                return
            kind = self._random_fault()
            if kind is not None:
                self._answer_fault(req, Fault(kind=kind), kind)
                return
            self._send(req, self._normal(req))
        finally:
            self._leave()

    def _normal(self, req: _Request) -> _Reply:
        if not self._authorized(req.auth):
            return _Reply(401, _json(UNAUTHORIZED), JSON)
        if req.handler.command != "GET":
            return _Reply(405, _json({"error": "Method not allowed"}), JSON, {"Allow": "GET"})
        try:
            response = self.api.handle(req.path, req.query)
        except Exception:  # noqa: BLE001 - a bug in the fake must be a 500, not a hung client
            traceback.print_exc(file=sys.stderr)
            return _Reply(500, PLAIN_TEXT_ERRORS[500].encode(), _TEXT)
        payload = response.payload
        body = payload if isinstance(payload, bytes) else _json(payload)
        return _Reply(response.status, body, response.content_type, response.headers)

    def _answer_fault(self, req: _Request, fault: Fault, label: str) -> None:
        req.fault = label
        kind = fault.kind
        if kind is None:
            status, body, content_type, headers = fault.rendered()
            self._send(req, _Reply(status, body, content_type, headers))
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

    # -- knobs -----------------------------------------------------------------------------
    def _authorized(self, header: str | None) -> bool:
        """Basic auth: ``key:`` or ``anything:key`` (docs/chartmogul-api.md §1.1)."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, sep, password = b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeError):
            return False
        if not sep:
            return False
        return (user == self.api_key and password == "") or password == self.api_key

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
        limit = self.rate_limit_rps
        if not limit:
            return False
        with self._lock:
            window = self._window
            while window and window[0] <= now - 1.0:
                window.popleft()
            window.append(now)
            return len(window) > limit

    def _random_fault(self) -> str | None:
        rate = self.fault_rate
        if rate <= 0:
            return None
        with self._lock:
            if self._fault_rng.random() >= rate:
                return None
            kinds = self._fault_kinds
            return kinds[int(self._fault_rng.random() * len(kinds))]

    def _sleep(self, seconds: float) -> None:
        if seconds and seconds > 0:
            self.sleep(seconds)

    # -- wire ------------------------------------------------------------------------------
    @staticmethod
    def _drain_body(h: _Handler) -> None:
        """Read (and ignore) a request body so a keep-alive connection stays in sync."""
        length = h.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > 0:
            h.rfile.read(int(length))
        elif h.headers.get("Transfer-Encoding"):
            h.close_connection = True

    def _send(self, req: _Request, reply: _Reply, *, cut: bool = False) -> None:
        req.status = reply.status
        h = req.handler
        lines = [
            f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Unknown')}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
            f"X-Request-Id: {next(self._request_ids):08x}-fake",
            "Cache-Control: max-age=0, private, must-revalidate",
        ]
        lines.extend(f"{k}: {v}" for k, v in reply.headers.items())
        if h.close_connection:
            lines.append("Connection: close")
        if cut:  # a dropped connection does not announce itself
            h.close_connection = True
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._log_request(req)
        if h.command == "HEAD":
            h.wfile.write(head)
        elif not cut:
            h.wfile.write(head + reply.body)
        else:
            h.wfile.write(head + reply.body[: len(reply.body) // 2])
            _abort(h.connection)


@dataclass
class _Request:
    """One request in flight; ``status``/``fault`` are filled in while answering."""

    handler: _Handler
    path: str
    raw_query: str
    query: dict[str, str]
    auth: str | None
    started: float
    status: int = 0
    fault: str | None = None
    logged: bool = False


def _plain(code: int) -> Callable[[], _Reply]:
    return lambda: _Reply(code, PLAIN_TEXT_ERRORS[code].encode(), _TEXT)


_CANNED: dict[str, Callable[[], _Reply]] = {
    **{str(code): _plain(code) for code in PLAIN_TEXT_ERRORS},
    "429": lambda: _Reply(429, _json(RATE_LIMIT_BODY), JSON),
    "429-retry-after": lambda: _Reply(429, _json(RATE_LIMIT_BODY), JSON, {"Retry-After": "1"}),
    "html": lambda: _Reply(200, HTML_LOGIN.encode(), "text/html"),
    "empty-500": lambda: _Reply(500, b"", _TEXT),
}
"""Fault kinds whose answer does not depend on the request."""


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def _json(payload: Any) -> bytes:
    return _ENCODER.encode(payload).encode()


def _abort(conn: socket.socket) -> None:
    """Close with SO_LINGER 0 so the peer gets a TCP RST mid-body (the fd closes at finish)."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    # Set by FakeChartMogul.start(): the handler reports to these instead of reaching into it.
    on_request: Callable[[_Handler], None]
    on_connect: Callable[[socket.socket], None]
    on_disconnect: Callable[[socket.socket], None]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (timeouts, resets) are normal here; only print real bugs."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-chartmogul/1.0"
    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):  # HTTPS: handshake on this thread
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.on_connect(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.on_disconnect(self.connection)

    def do_GET(self) -> None:
        self.server.on_request(self)

    def do_HEAD(self) -> None:
        self.server.on_request(self)

    def do_POST(self) -> None:
        self.server.on_request(self)

    def do_PUT(self) -> None:
        self.server.on_request(self)

    def do_PATCH(self) -> None:
        self.server.on_request(self)

    def do_DELETE(self) -> None:
        self.server.on_request(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence per-request stderr logging (the fake keeps its own log)."""
