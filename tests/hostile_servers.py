"""Small misbehaving servers on 127.0.0.1 that the fake ChartMogul cannot play.

The fake answers HTTP correctly, however wrong its bodies are. These speak raw TCP, so
they can do what no well-behaved HTTP server does: drip a body one byte at a time, answer
a TLS handshake in plain text, or stand in as a proxy that records whatever reaches it.
Each counts the connections it accepted, which is how a test sees retries (or their
absence) without timing anything. A self-signed certificate for the fake's HTTPS mode is
made here too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import ipaddress
import json
import shutil
import socket
import subprocess
import threading
import typing as t
import urllib.error
import urllib.parse
import urllib.request
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

#: How long a handler waits for a client's request head before giving up on it.
READ_TIMEOUT_SECONDS = 10.0


class RawServer:
    """A threaded TCP server; subclasses say what to do with each connection in ``serve``."""

    def __init__(self) -> None:
        """Bind any free loopback port; nothing is accepted until ``start``."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0
        self.received = b""
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Accept connections on a background thread."""
        self._acceptor.start()

    def stop(self) -> None:
        """Stop accepting, wake every handler and close the listener."""
        self.stopping.set()
        self._acceptor.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> RawServer:  # noqa: PYI034 - typing.Self needs 3.11
        """Start; the ``with`` block gets the running server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop, also when the block raised."""
        self.stop()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(READ_TIMEOUT_SECONDS)
            self.serve(conn)

    def read_head(self, conn: socket.socket) -> bytes:
        """Whatever the client sends first (an HTTP request head, or a TLS ClientHello)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            if not data[:1].isalpha():  # not HTTP: one read is all a handshake sends
                break
        with self._lock:
            self.received += data
        return data

    def serve(self, conn: socket.socket) -> None:
        """Answer one connection (override)."""
        raise NotImplementedError


class DripServer(RawServer):
    """Promises a JSON body and sends it one byte every ``interval`` seconds.

    Each socket read gets a byte long before any read timeout, so only a deadline on the
    whole response ends the wait. With ``headers=True`` the status line and headers drip
    too (a slowloris in reverse: the client never even learns the status).
    """

    def __init__(
        self, interval: float = 0.2, length: int = 100_000, *, headers: bool = False
    ) -> None:
        """Drip ``length`` body bytes (and the head if ``headers``), one per ``interval`` s."""
        super().__init__()
        self.interval = interval
        self.length = length
        self.headers = headers

    def serve(self, conn: socket.socket) -> None:
        """Send the head (at once, or dripped), then the body a byte at a time."""
        self.read_head(conn)
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {self.length}\r\n\r\n"
        ).encode()
        body = (b'{"entries": [' + b" " * self.length)[: self.length]
        if not self.headers:
            conn.sendall(head)
        for byte in head + body if self.headers else body:
            if self.stopping.wait(self.interval):
                return
            conn.sendall(bytes([byte]))


class EndlessServer(RawServer):
    """Answers 200 with a JSON body that never ends, as fast as the client reads it.

    ``gzip=True`` sends it compressed (``Content-Encoding: gzip``): a few KB on the wire
    expand to megabytes, so only a limit on the decoded bytes can stop it. No
    ``Content-Length`` and no chunking: the body ends when the connection does, never.
    """

    def __init__(self, *, gzip: bool = False) -> None:
        """Serve plain (or gzip-compressed) JSON without end."""
        super().__init__()
        self.gzip = gzip
        self.sent = 0

    def serve(self, conn: socket.socket) -> None:
        """Send the head, then the start of a list and blanks until the client hangs up."""
        self.read_head(conn)
        encoding = "Content-Encoding: gzip\r\n" if self.gzip else ""
        conn.sendall(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"{encoding}Connection: close\r\n\r\n".encode()
        )
        filler = b'{"entries": [' + b" " * (1024 * 1024 - 13)
        if self.gzip:
            compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
            first = compressor.compress(filler) + compressor.flush(zlib.Z_SYNC_FLUSH)
            block = compressor.compress(b" " * (1024 * 1024)) + compressor.flush(zlib.Z_SYNC_FLUSH)
            chunks = [first]
        else:
            block, chunks = b" " * (1024 * 1024), [filler]
        while not self.stopping.is_set():
            data = chunks.pop() if chunks else block
            conn.sendall(data)
            self.sent += len(data)


class PlainHttpServer(RawServer):
    """Answers anything, a TLS ClientHello included, with a plain-text HTTP 400."""

    def serve(self, conn: socket.socket) -> None:
        """Read what the client sent and answer in plain HTTP, as a non-TLS port would."""
        self.read_head(conn)
        body = b"400 The plain HTTP request was sent to HTTPS port"
        conn.sendall(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )


class RecordingProxy(RawServer):
    """A would-be proxy: keeps every byte a client sends it and answers 502."""

    def serve(self, conn: socket.socket) -> None:
        """Record the request (an Authorization header would be in it) and refuse it."""
        self.read_head(conn)
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (subjectAltName IP) and its key, as PEM files.

    Made with the ``cryptography`` package when it is installed, else with the
    ``openssl`` command. The certificate is its own CA, so it can be the whole bundle
    that ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` points at.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            msg = "neither the cryptography package nor the openssl command is available"
            raise RuntimeError(msg) from None
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    return cert, key


def _with_cryptography(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509  # noqa: PLC0415 - optional: openssl is the fallback
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class CursorProxy:
    """An HTTP proxy in front of the fake that mistreats the cursors a tap makes up.

    The tap may start a chain at a cursor it made from a creation time (``split``): one this
    server never gave out. ChartMogul could ignore such a cursor, refuse it, or use cursors
    of another form altogether; ``mode`` plays one of those:

    - ``ignore``: a made-up cursor is dropped, so the page is the listing's first;
    - ``refuse``: a made-up cursor is answered 400, as ChartMogul answers a bad parameter;
    - ``fail``: a made-up cursor is answered 500, every time (retries cannot help);
    - ``refuse-later``: the first three made-up cursors pass, later ones are answered 400
      (the split has begun and chains have been written when it must fall back);
    - ``opaque``: every cursor in an answer is replaced by an opaque token (and mapped back
      on the way in), as if ChartMogul's cursors no longer carried a creation time;
    - ``miscount``: first pages report one more ``total_pages`` than they have;
    - ``vanish``: the first record of the first made-up cursor's page is deleted once that
      page is served (as ChartMogul deletes records while a run reads): no later answer
      holds it, so the chain above never meets the seeded chain's first record.
    """

    def __init__(self, upstream: str, mode: str) -> None:
        """Forward to ``upstream`` (the fake's base URL); nothing is served until ``start``."""
        self.upstream = upstream
        self.mode = mode
        self.made_up_sent = 0
        self._given: set[str] = set()
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        #: ``vanish``: the record deleted, once chosen (its ``uuid``).
        self.vanished: str | None = None
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.forward(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CursorProxy:  # noqa: PYI034 - typing.Self needs 3.11
        """Serve on a background thread."""
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def made_up(self, cursor: str) -> bool:
        """Whether ``cursor`` is not one this server gave out."""
        with self._lock:
            return cursor not in self._given and cursor not in self._tokens

    def forward(self, handler: t.Any) -> None:
        """Pass one GET on (mistreated as ``mode`` says) and its answer back."""
        parts = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        cursor = dict(query).get("cursor")
        made_up = bool(cursor) and self.made_up(t.cast("str", cursor))
        if made_up:
            with self._lock:
                self.made_up_sent += 1
                refused = self.mode in {"refuse", "fail"}
                refused = refused or (self.mode == "refuse-later" and self.made_up_sent > 3)
            if refused:
                status = 500 if self.mode == "fail" else 400
                self._answer(handler, status, {"code": status, "message": "No", "param": "cursor"})
                return
            if self.mode == "ignore":
                query = [(k, v) for k, v in query if k != "cursor"]
        elif self.mode == "opaque" and cursor:
            query = [(k, self._tokens.get(v, v) if k == "cursor" else v) for k, v in query]
        status, body = self._upstream(parts.path, query, handler.headers["Authorization"])
        if isinstance(body, dict):
            self._rewrite(body, first="cursor" not in dict(query))
            if self.mode == "vanish":
                self._vanish(body, chosen_here=made_up)
        self._answer(handler, status, body)

    def _vanish(self, body: dict[str, t.Any], *, chosen_here: bool) -> None:
        """Delete the first made-up page's first record from this and every later answer."""
        key = next((k for k, v in body.items() if isinstance(v, list)), None)  # "invoices"...
        if key is None:
            return
        entries = body[key]
        with self._lock:
            if self.vanished is None and chosen_here and entries:
                self.vanished = entries[0]["uuid"]  # served this once, then gone
                return
            gone = self.vanished
        body[key] = [e for e in entries if e.get("uuid") != gone]

    def _upstream(self, path: str, query: list[tuple[str, str]], auth: str) -> tuple[int, t.Any]:
        url = f"{self.upstream}{path}?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url, headers={"Authorization": auth})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def _rewrite(self, body: dict[str, t.Any], *, first: bool) -> None:
        """Remember (or disguise) the answer's cursor; miscount a first page."""
        if isinstance(body.get("cursor"), str):
            with self._lock:
                self._given.add(body["cursor"])
                if self.mode == "opaque":
                    token = f"opaque-{len(self._tokens)}"
                    self._tokens[token] = body["cursor"]
                    body["cursor"] = token
        if self.mode == "miscount" and first:
            if isinstance(body.get("total_pages"), int):
                body["total_pages"] += 1
            meta = body.get("meta")
            if isinstance(meta, dict) and isinstance(meta.get("total_pages"), int):
                meta["total_pages"] += 1

    @staticmethod
    def _answer(handler: t.Any, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
