"""HTTP plumbing: the socket server, its handler, auth, and the bytes of every answer.

ChartMogul's side of this is docs/chartmogul-api.md §1.1 (auth, the exact 401 body) and §1.4
(plain-text 5xx bodies). Answers are written as one ``write`` of head and body, with the
headers ChartMogul sends (``X-Request-Id``, ``Cache-Control``).
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import ssl
import struct
import sys
import time
import traceback
from base64 import b64decode
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from fake_chartmogul.faults import PLAIN_TEXT_ERRORS, REASONS
from fake_chartmogul.routes import JSON

from .log import RequestLog

if TYPE_CHECKING:
    import itertools
    from collections.abc import Callable

    from fake_chartmogul.routes import Api

UNAUTHORIZED = {"code": 401, "message": "No valid API key provided", "param": None}
_SO_TIMESTAMPNS = 35 if sys.platform == "linux" else None
"""Linux's socket option for the kernel's receive time of each packet (not in ``socket``)."""
_TIMESPEC = struct.Struct("qq")
TEXT = "text/plain"
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


@dataclass
class Reply:
    """A whole answer: status, body bytes, content type, extra headers."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """One request in flight; ``status``/``fault`` are filled in while answering."""

    handler: Handler
    path: str
    raw_query: str
    query: dict[str, str]
    auth: str | None
    started: float
    status: int = 0
    fault: str | None = None
    logged: bool = False


class ArrivalReader(io.RawIOBase):
    """A connection's bytes, and when the kernel received the latest of them.

    The rate limit counts requests by arrival. A request waits for the GIL (or a CPU) before
    the fake's Python sees it, so when the fake is busy (a page of thick invoices is 14 ms
    of Python) requests the client spaced out are seen together and trip the window; the
    kernel's receive time is when ChartMogul would have seen them.
    """

    def __init__(self, sock: socket.socket) -> None:
        """Read ``sock``, whose kernel timestamps ``Handler.setup`` switched on."""
        super().__init__()
        self.sock = sock
        self.arrived_ns: int | None = None

    def readable(self) -> bool:
        """A reader."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Receive into ``buffer``, keeping the kernel's receive time of what came."""
        nbytes, ancillary, _, _ = self.sock.recvmsg_into([buffer], 64)
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                seconds, nanos = _TIMESPEC.unpack_from(data)
                self.arrived_ns = seconds * 1_000_000_000 + nanos
        return nbytes


class Wire(RequestLog):
    """Authenticates, answers from the API and writes the bytes (the fake's normal path)."""

    api: Api
    api_key: str
    _request_ids: itertools.count[int]
    _connections: set[socket.socket]

    def _normal(self, req: Request) -> Reply:
        if not self._authorized(req.auth):
            return Reply(401, json_bytes(UNAUTHORIZED), JSON)
        if req.handler.command != "GET":
            return Reply(405, json_bytes({"error": "Method not allowed"}), JSON, {"Allow": "GET"})
        try:
            response = self.api.handle(req.path, req.query)
        except Exception:  # noqa: BLE001 - a bug in the fake must be a 500, not a hung client
            traceback.print_exc(file=sys.stderr)
            return Reply(500, PLAIN_TEXT_ERRORS[500].encode(), TEXT)
        payload = response.payload
        body = payload if isinstance(payload, bytes) else json_bytes(payload)
        return Reply(response.status, body, response.content_type, response.headers)

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

    @staticmethod
    def _drain_body(h: Handler) -> None:
        """Read (and ignore) a request body so a keep-alive connection stays in sync."""
        length = h.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > 0:
            h.rfile.read(int(length))
        elif h.headers.get("Transfer-Encoding"):
            h.close_connection = True

    def _send(self, req: Request, reply: Reply, *, cut: bool = False) -> None:
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
            abort(h.connection)

    # -- connection tracking (so stop() can cut keep-alive sockets) ----------------------
    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)


def send_json(h: Handler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    """A harness answer: JSON, outside the request log, limits and faults."""
    body = json_bytes(payload)
    h.send_response(status)
    h.send_header("Content-Type", JSON)
    h.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)


def json_bytes(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as ChartMogul sends it."""
    return _ENCODER.encode(payload).encode()


def shutdown(conn: socket.socket) -> None:
    """Cut a keep-alive connection (the client then sees a reset)."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def abort(conn: socket.socket) -> None:
    """Close with SO_LINGER 0 so the peer gets a TCP RST mid-body (the fd closes at finish)."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


class HttpServer(ThreadingHTTPServer):
    """A thread per connection; the fake's callbacks see requests and connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    # Set by FakeChartMogul.start(): the handler reports to these instead of reaching into it.
    on_request: Callable[[Handler], None]
    on_connect: Callable[[socket.socket], None]
    on_disconnect: Callable[[socket.socket], None]

    def server_activate(self) -> None:
        """Listen with kernel receive times on (accepted connections inherit them).

        So even a connection's first request, queued before its thread starts, has one.
        """
        if _SO_TIMESTAMPNS is not None:
            with contextlib.suppress(OSError):
                self.socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        super().server_activate()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (timeouts, resets) are normal here; only print real bugs."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Every method goes to the fake's dispatcher, which answers 405 where ChartMogul would."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-chartmogul/1.0"
    server: HttpServer

    arrivals: ArrivalReader | None = None

    def setup(self) -> None:
        """TLS handshake on this connection's own thread, Nagle off, arrival times on."""
        if isinstance(self.request, ssl.SSLSocket):  # HTTPS: handshake on this thread
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if _SO_TIMESTAMPNS is not None and not isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            except OSError:
                pass
            else:
                self.arrivals = ArrivalReader(self.connection)
                self.rfile = io.BufferedReader(self.arrivals)
        self.server.on_connect(self.connection)

    def handle_one_request(self) -> None:
        """Forget the previous request's arrival before reading the next request."""
        if self.arrivals is not None:
            self.arrivals.arrived_ns = None
        super().handle_one_request()

    def waited(self) -> float | None:
        """Seconds since the kernel received this request (None: unknown, e.g. TLS)."""
        if self.arrivals is None or self.arrivals.arrived_ns is None:
            return None
        return max(0, time.time_ns() - self.arrivals.arrived_ns) / 1e9

    def finish(self) -> None:
        """A client that hung up is not an error."""
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.on_disconnect(self.connection)

    def do_GET(self) -> None:
        """Dispatch."""
        self.server.on_request(self)

    def do_HEAD(self) -> None:
        """Dispatch."""
        self.server.on_request(self)

    def do_POST(self) -> None:
        """Dispatch."""
        self.server.on_request(self)

    def do_PUT(self) -> None:
        """Dispatch."""
        self.server.on_request(self)

    def do_PATCH(self) -> None:
        """Dispatch."""
        self.server.on_request(self)

    def do_DELETE(self) -> None:
        """Dispatch."""
        self.server.on_request(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence per-request stderr logging (the fake keeps its own log)."""
