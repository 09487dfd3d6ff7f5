"""The one base stream that owns the HTTP policy for every ChartMogul endpoint.

Auth, URLs, paging, retries, error messages and record shaping live here, so stream
classes in ``streams.py`` are short declarations.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import typing as t
from functools import cached_property
from http import HTTPStatus

import backoff
import requests
from singer_sdk import RESTStream, SchemaDirectory, StreamSchema
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import (
    AbortedSyncExceptionBase,
    MaxRecordsLimitException,
    RetriableAPIError,
)
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import SinglePagePaginator

from tap_chartmogul import schemas
from tap_chartmogul.errors import (
    ChartMogulAPIError,
    ChartMogulAuthError,
    ChartMogulGaveUpError,
    TapChartMogulError,
    one_line,
)
from tap_chartmogul.pagination import ChartMogulCursorPaginator
from tap_chartmogul.payload import response_payload, store_payload
from tap_chartmogul.retry import wait_times
from tap_chartmogul.shaping import RecordShaper

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable

    from backoff.types import Details
    from singer_sdk.helpers.types import Context, RequestFunc
    from singer_sdk.pagination import BaseAPIPaginator
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_chartmogul.run_cache import RunCache

#: ChartMogul's maximum page size; larger values are silently capped by the API.
PAGE_SIZE = 200

#: Failures worth another attempt: throttling, server errors, broken or slow connections.
RETRIABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    RetriableAPIError,
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

SCHEMAS = SchemaDirectory(schemas)

#: Exceptions reported by someone else than the SDK's generic ERROR line (see ``log``).
_REPORTED_ELSEWHERE = (TapChartMogulError, MaxRecordsLimitException, AbortedSyncExceptionBase)


def _api_message(response: requests.Response) -> str:
    """Extract ChartMogul's own explanation from an error body of any known shape.

    Bodies seen: ``{"code","message","param"}``, ``{"error": "..."}``,
    ``{"errors": {field: message}}`` and plain text (5xx).
    """
    try:
        body = response.json()
    except ValueError:
        return one_line(response.text) if response.text.strip() else "empty body"
    if isinstance(body, dict):
        for key in ("message", "error"):
            if isinstance(body.get(key), str):
                return one_line(body[key])
        if isinstance(body.get("errors"), dict):
            return one_line("; ".join(f"{k}: {v}" for k, v in body["errors"].items()))
    return one_line(json.dumps(body))


def _api_param(response: requests.Response) -> str | None:
    """The ``param`` ChartMogul blames in a ``{"code","message","param"}`` error body."""
    try:
        body = response.json()
    except ValueError:
        return None
    param = body.get("param") if isinstance(body, dict) else None
    return param if isinstance(param, str) else None


def _describe_failure(exception: BaseException) -> str:
    """Say what went wrong in a failed attempt, without URLs (they carry query strings)."""
    response = getattr(exception, "response", None)
    if isinstance(exception, RetriableAPIError) and response is not None:
        return f"HTTP {response.status_code} ({_api_message(response)})"
    if isinstance(exception, requests.exceptions.Timeout):
        return "no response within request_timeout"
    root: BaseException = exception
    for _ in range(10):  # the innermost cause names the real problem (refused, reset...)
        if root.__context__ is None:
            break
        root = root.__context__
    return (
        f"connection failed ({type(exception).__name__}: {type(root).__name__}); "
        "check api_url and the network"
    )


class ChartMogulStream(RESTStream[str | None]):
    """Base for every ChartMogul stream.

    Subclasses declare ``name``, ``path``, ``primary_keys`` and, where they differ
    from the defaults, ``records_key`` (the list's key in the body, or None for an
    endpoint that returns one object) and ``paginated``.
    """

    schema = StreamSchema(SCHEMAS)
    #: ``RecordShaper`` already makes every record match its schema (and drops unknown
    #: keys); the SDK's per-record conformance pass would repeat that at several times
    #: the cost of the shaping itself.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    #: Key holding the record list in the response body; None = the body is one record.
    records_key: t.ClassVar[str | None] = "entries"
    #: Whether the endpoint is cursor-paginated (lists) or answers in one response.
    paginated: t.ClassVar[bool] = True
    #: Treat a 404 as "no records" with a warning (a parent that vanished mid-run).
    skip_not_found: t.ClassVar[bool] = False
    #: Also turn ``""`` into null for string columns (where ChartMogul means "missing").
    blank_strings_to_null: t.ClassVar[bool] = False

    #: Hand-offs between the streams of this run; set by the tap.
    run_cache: RunCache

    @property
    @override
    def url_base(self) -> str:
        """Return ``<api_url>/v1``."""
        return f"{self.config['api_url'].rstrip('/')}/v1"

    @cached_property
    @override
    def authenticator(self) -> BasicAuthenticator:
        """HTTP Basic: the API key as username, an empty password (ChartMogul's scheme)."""
        return BasicAuthenticator(username=self.config["api_key"], password="")

    @property
    @override
    def requests_session(self) -> requests.Session:
        """The run's shared session: one rate limiter and connection pool for all streams."""
        return self.run_cache.http_session(self.config)

    @property
    @override
    def timeout(self) -> int:
        """Seconds to wait for a response before retrying (``request_timeout``)."""
        return int(self.config["request_timeout"])

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[str | None]:
        """Cursor paging for lists; exactly one request otherwise."""
        if self.paginated:
            return ChartMogulCursorPaginator()
        return SinglePagePaginator()  # type: ignore[return-value]

    @override
    def get_http_request(self, *, page: PageContext[str | None]) -> HTTPRequest:
        """Add ``per_page`` and the cursor to list requests."""
        request = super().get_http_request(page=page)
        if self.paginated:
            request.params["per_page"] = PAGE_SIZE
            if page.next_page_token:
                request.params["cursor"] = page.next_page_token
        return request

    # --- responses -------------------------------------------------------------------

    def _endpoint(self, response: requests.Response) -> str:
        """The request's path without its query string, for messages."""
        request_path = response.request.path_url if response.request else None
        return (request_path or self.path or "").split("?", 1)[0]

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Sort a response into success, retriable, or fatal with a clear message.

        Runs inside the retry loop, so the body is parsed here: a truncated JSON body
        from a dropped connection is retried like a 5xx, while a 2xx that is not JSON
        at all (a proxy's login page) stops the run with an explanation.
        """
        status = response.status_code
        endpoint = self._endpoint(response)
        if status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
            hint = (
                "check api_key"
                if status == HTTPStatus.UNAUTHORIZED
                else "check api_key and that the account is active (an expired trial answers 403)"
            )
            msg = (
                f"ChartMogul rejected the API key (HTTP {status}: {_api_message(response)}) "
                f"on {endpoint}: {hint}"
            )
            raise ChartMogulAuthError(msg)
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status == HTTPStatus.NOT_FOUND and self.skip_not_found:
            self.logger.warning(
                "Skipping %s: ChartMogul answered HTTP 404 (%s); it was probably deleted "
                "or merged after it was listed",
                endpoint,
                _api_message(response),
            )
            store_payload(response, {})
            return
        if status >= HTTPStatus.BAD_REQUEST:
            raise ChartMogulAPIError(
                self.response_error_message(response),
                status=status,
                param=_api_param(response),
            )
        self._parse_body(response, endpoint)

    def _parse_body(self, response: requests.Response, endpoint: str) -> None:
        content_type = response.headers.get("Content-Type", "")
        try:
            payload = json.loads(response.content)
        except ValueError:
            if "json" in content_type:
                msg = f"ChartMogul sent an incomplete JSON body for {endpoint}"
                raise RetriableAPIError(msg, response) from None
            msg = (
                f"Expected JSON from {endpoint} but got HTTP {response.status_code} with "
                f"Content-Type {content_type or 'unset'!r} "
                f"({one_line(response.text, 60) or 'empty body'}): "
                "check that api_url points at the ChartMogul API, not a proxy or web page"
            )
            raise ChartMogulAPIError(msg) from None
        if not isinstance(payload, dict):
            msg = f"Expected a JSON object from {endpoint}, got {type(payload).__name__}"
            raise ChartMogulAPIError(msg)
        store_payload(response, payload)

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """Describe a failed response by endpoint, status and ChartMogul's message.

        Unlike the SDK default this never includes the query string or header names.
        """
        return (
            f"ChartMogul answered HTTP {response.status_code} for {self._endpoint(response)}: "
            f"{_api_message(response)}"
        )

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        """Yield the records under ``records_key`` (or the whole body for one object)."""
        payload = response_payload(response)
        if self.records_key is None:
            yield payload
            return
        records = payload.get(self.records_key)
        if records is None and not payload:
            return  # a skipped 404
        if records is None:
            msg = (
                f"ChartMogul's response for {self._endpoint(response)} has no "
                f"{self.records_key!r} list (keys: {', '.join(sorted(payload)) or 'none'})"
            )
            raise ChartMogulAPIError(msg)
        yield from records

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Yield records; remember their uuids when a fan-out stream will need them."""
        if not self.run_cache.wants_parent_keys(self.name):
            yield from super().get_records(context)
            return
        keys: list[str] = []
        for record in super().get_records(context):
            keys.append(record["uuid"])
            yield record
        self.run_cache.store_parent_keys(self.name, keys)

    @cached_property
    def _shaper(self) -> RecordShaper:
        return RecordShaper(
            self.schema, blank_strings_to_null=self.blank_strings_to_null, logger=self.logger
        )

    @override
    def post_process(
        self,
        row: dict[str, t.Any],
        context: Context | None = None,
    ) -> dict[str, t.Any] | None:
        """Rename keys to snake_case and normalise ``""`` and integral floats."""
        return self._shaper(row)

    @override
    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        """Log a message; demote ERROR lines while one of the tap's own errors is in flight.

        The SDK logs a generic "unhandled error occurred while syncing" line before the
        error propagates; the CLI then reports the tap's error as one line naming the
        endpoint, so the generic line goes to DEBUG instead of doubling the report. The
        same goes for the SDK's own record-limit stop in ``--test`` runs, which is not an
        error at all.
        """
        if level >= logging.ERROR and isinstance(sys.exc_info()[1], _REPORTED_ELSEWHERE):
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)

    # --- retries ---------------------------------------------------------------------

    @override
    def backoff_max_tries(self) -> int:
        """First attempt plus ``max_retries`` retries."""
        return int(self.config["max_retries"]) + 1

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:  # type: ignore[override]
        """Capped exponential waits with jitter; ``Retry-After`` wins when sent."""
        return wait_times()

    @override
    def backoff_handler(self, details: Details) -> None:
        """Log one line per retry: endpoint, cause, wait, attempt number."""
        exception = t.cast("BaseException", details.get("exception"))
        self.logger.warning(
            "Retrying %s in %.1fs after %s (attempt %d of %d)",
            self.path,
            details.get("wait", 0.0),
            _describe_failure(exception),
            details.get("tries", 0) + 1,
            self.backoff_max_tries(),
        )

    @override
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """Retry transient failures; when they persist, fail with one clear line.

        The SDK's version retries the same exceptions; this one also waits as
        ``wait_times`` says (honouring Retry-After, with jitter already applied) and
        turns the final exception into a ``ChartMogulGaveUpError`` that names the
        endpoint and the last failure.
        """
        max_tries = self.backoff_max_tries()
        retrying = backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_EXCEPTIONS,
            max_tries=max_tries,
            jitter=None,
            on_backoff=self.backoff_handler,
            logger=None,
        )(func)

        @functools.wraps(func)
        def request(
            prepared_request: requests.PreparedRequest,
            context: Context | None,
        ) -> requests.Response:
            try:
                return retrying(prepared_request, context)
            except RETRIABLE_EXCEPTIONS as exception:
                endpoint = (prepared_request.path_url or self.path or "").split("?", 1)[0]
                msg = (
                    f"Gave up on {endpoint} after {max_tries} attempts; last failure: "
                    f"{_describe_failure(exception)}"
                )
                raise ChartMogulGaveUpError(msg) from exception

        return request
