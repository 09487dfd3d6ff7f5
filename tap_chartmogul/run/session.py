"""The HTTP sessions of a run: one per stream, over one shared transport.

ChartMogul allows 40 requests per second and 20 parallel connections per account and
answers 429 and 503 above them, so the run shares one ``Transport`` (pacer, connection
pool, limits) among all its streams. Each stream sends through a ``ChartMogulSession`` of
its own that carries the stream's priority in the pacer's queue, so the priority travels
with the session the SDK already uses (``RESTStream.requests_session``), not on a
thread-local. A session also does what ``Session.send`` (what the SDK calls) does not:

- it reads every body in chunks, decompressed, against ``max_bytes``: an endless or
  expanding (gzip) body ends the run in one line with bounded memory; ``requests`` reads
  whole bodies without a limit (psf/requests#4276);
- a deadline ends any response not complete within ``deadline_seconds`` (``deadline``);
- ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and ``SSL_CERT_FILE`` choose the CA bundle,
  and ``HTTPS_PROXY``/``NO_PROXY`` are honoured for https. A plain-http URL (only loopback
  is allowed, see ``settings``) never goes through a proxy: the key would travel to it in
  clear text;
- no redirect is followed, nor even parsed (the key would go along).
"""

from __future__ import annotations

import os
import typing as t
from http import HTTPStatus

import requests
from requests.adapters import HTTPAdapter

from tap_chartmogul.errors import ResponseTooLargeError
from tap_chartmogul.run.deadline import POOL_CLASSES, WATCHDOG, ResponseDeadlineError
from tap_chartmogul.run.pacing import URGENT, Pacer, Priority

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: Bytes read (after decompression) per step of a body: bounds what a step can add.
BODY_CHUNK_BYTES = 256 * 1024
#: No proxy at all, whatever the environment says (for plain-http loopback URLs).
NO_PROXIES: dict[str, str | None] = {"http": None, "https": None, "all": None}


class _DeadlineAdapter(HTTPAdapter):
    """A connection pool of at most ``max_connections``, on connections a deadline can end."""

    def __init__(self, max_connections: int) -> None:
        super().__init__(pool_connections=1, pool_maxsize=max_connections, pool_block=True)

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = POOL_CLASSES
        return manager


class Transport:
    """What every session of one run shares: the pacer, the pool, the limits."""

    def __init__(
        self,
        *,
        requests_per_second: int,
        max_connections: int,
        deadline_seconds: float,
        max_bytes: int,
    ) -> None:
        """Build the pacer and the pool."""
        self.pacer = Pacer(requests_per_second, max_connections)
        self.adapter = _DeadlineAdapter(max_connections)
        self.deadline_seconds = deadline_seconds
        self.max_bytes = max_bytes

    def session(self, priority: Priority = URGENT) -> ChartMogulSession:
        """A session over this transport, whose requests wait with ``priority``."""
        return ChartMogulSession(self, priority)

    def close(self) -> None:
        """Close the pool's connections."""
        self.adapter.close()


class ChartMogulSession(requests.Session):
    """One stream's session: its place in the pacer's queue over the run's transport."""

    def __init__(self, transport: Transport, priority: Priority = URGENT) -> None:
        """Send through ``transport``; ``priority`` may be changed once the run begins."""
        super().__init__()
        self.transport = transport
        self.priority = priority
        self.mount("https://", transport.adapter)
        self.mount("http://", transport.adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        """Wait for the paced send time and a connection; send within the deadline and size.

        The pacer's connection slot is held until the body is read, when urllib3 has
        returned the connection to the pool: so the pool never makes an admitted request
        wait, and admitted requests cannot pile up behind a slow server.
        """
        transport = self.transport
        kwargs.update(self.environment_for(request.url or "", kwargs))
        kwargs["stream"] = True  # the body is read here, within the size limit
        with (
            transport.pacer.turn(self.priority),
            WATCHDOG.guard(transport.deadline_seconds) as guard,
        ):
            try:
                response = super().send(request, **kwargs)
                read_body(response, transport.max_bytes)
            except requests.exceptions.RequestException as error:
                if guard.expired:
                    msg = f"the response did not complete within {transport.deadline_seconds:g}s"
                    raise ResponseDeadlineError(msg) from error
                raise
        if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            transport.pacer.pause()  # another tool sharing the key: everyone waits a second
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
    that is, psf/requests#4276), so the body is read the way ``Response.content`` reads
    it, in chunks, and kept where ``Response.content`` keeps it (``_content``,
    requests/models.py): the SDK and the rest of the tap then read ``response.content`` as
    usual. Pinned by tests/test_hostile.py (endless and gzip bodies).

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
