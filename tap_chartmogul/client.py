"""The one base stream: the HTTP policy of every ChartMogul endpoint, and nothing else.

Each decision lives in the module named for it: ``responses`` (what a status and a body
mean), ``retry`` (waits, Retry-After, giving up), ``pagination`` (cursors that cannot
loop or truncate), ``shaping`` (snake_case and declared types). When records are fetched
and how they reach the SDK is the run's (``run``): a stream declares what it fetches
(``fetch_records``) and which other listings it reads (``listings_read``).
"""

from __future__ import annotations

import sys
import typing as t
from functools import cached_property

from singer_sdk import RESTStream, SchemaDirectory, StreamSchema
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import SinglePagePaginator

from tap_chartmogul import responses, retry, schemas
from tap_chartmogul.errors import RecordError
from tap_chartmogul.pagination import ChartMogulCursorPaginator
from tap_chartmogul.run.context import RunContext
from tap_chartmogul.shaping import RecordShaper

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

    import requests
    from backoff.types import Details
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context, RequestFunc
    from singer_sdk.pagination import BaseAPIPaginator
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_chartmogul.run.listings import Listing

Record = dict[str, t.Any]
#: ChartMogul's maximum page size; larger values are silently capped by the API.
PAGE_SIZE = 200
SCHEMAS = SchemaDirectory(schemas)


class ChartMogulStream(RESTStream[str | None]):
    """Base of every stream; subclasses declare name, path, keys and how they differ."""

    schema = StreamSchema(SCHEMAS)
    #: ``RecordShaper`` makes every record match its schema, at a fraction of the SDK's cost.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: ChartMogul never redirects: a redirect means a wrong ``api_url`` (the key stays here).
    allow_redirects = False
    #: The list's key in the body (None: the body is the one record), and whether it pages.
    records_key: t.ClassVar[str | None] = "entries"
    paginated: t.ClassVar[bool] = True
    #: Also turn ``""`` into null for string columns (where ChartMogul means "missing").
    blank_strings_to_null: t.ClassVar[bool] = False
    #: One request series per parent record (waits behind listings' pages in the pacer).
    fan_out: t.ClassVar[bool] = False
    #: Where the SDK writes the stream, before its name decides: 0 first, 1 a listing that
    #: is slow to read (written when it is ready), 2 a fan-out (the slowest of all).
    write_group: t.ClassVar[int] = 0

    def __init__(self, tap: Tap, *, run: RunContext | None = None) -> None:
        """Build the stream and register its listing with the run (its own if none given)."""
        super().__init__(tap)
        self.run = run or RunContext(self.config)
        self.listing = self.run.listing(
            self.name,
            self.fetch_records,
            selected=lambda: self.selected,
            reads=self.listings_read,
            fan_out=self.fan_out,
            write_rank=(self.write_group, self.name),
        )
        self._shaper = RecordShaper(
            self.schema,
            blank_strings_to_null=self.blank_strings_to_null,
            logger=self.logger,
            stream=self.name,
            primary_keys=self.primary_keys,
        )

    @property
    @override
    def url_base(self) -> str:
        return f"{self.config['api_url'].strip().rstrip('/')}/v1"

    @cached_property
    @override
    def authenticator(self) -> BasicAuthenticator:
        """The API key as username, an empty password: ChartMogul's scheme."""
        return BasicAuthenticator(username=self.config["api_key"], password="")

    @property
    @override
    def requests_session(self) -> requests.Session:
        """This stream's session over the run's one pacer and pool."""
        return self.listing.session

    @property
    @override
    def timeout(self) -> int:  # each socket read; run.deadline bounds the whole response
        return int(self.config["request_timeout"])

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[str | None]:
        if self.paginated:
            return ChartMogulCursorPaginator(f"/v1{self.path}", self.records_key or "entries")
        return SinglePagePaginator()  # type: ignore[return-value]

    @override
    def get_http_request(self, *, page: PageContext[str | None]) -> HTTPRequest:
        """A context's ``params`` join the query; its ``cursor`` starts the chain (``split``)."""
        request = super().get_http_request(page=page)
        context = page.stream_context or {}
        request.params.update(context.get("params") or {})
        if self.paginated:
            request.params["per_page"] = PAGE_SIZE
            cursor = page.next_page_token or context.get("cursor")
            if cursor:
                request.params["cursor"] = cursor
        return request

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Success, retriable, or fatal with a one-line message (never the query string)."""
        responses.check_status(response, responses.endpoint_of(response, self.path or ""))

    @override
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """Count and parse each attempt; retry what can heal, fail in one line otherwise."""
        return retry.resilient(
            self.run.attempts(self.name, responses.parsing(func)),
            max_tries=self.backoff_max_tries(),
            wait_gen=self.backoff_wait_generator,
            on_backoff=self.backoff_handler,
            fallback_endpoint=self.path or "",
        )

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"]) + 1

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        return retry.wait_times()  # capped exponential with jitter; Retry-After wins

    @override
    def backoff_handler(self, details: Details) -> None:
        self.run.progress.retry(self.name)
        retry.log_retry(self.logger, f"/v1{self.path}", details, self.backoff_max_tries())

    @override
    def parse_response(self, response: requests.Response) -> Iterable[Record]:
        payload = t.cast("responses.ChartMogulResponse", response).payload
        endpoint = responses.endpoint_of(response, self.path or "")
        return responses.records_in(payload, self.records_key, endpoint)

    def fetch_records(self) -> Iterator[Record]:
        """What the stream's listing fetches, on a background thread: the API's records."""
        yield from self.request_records(None)

    def listings_read(self) -> list[Listing]:
        """Other listings the stream reads while it is written (asked when the run begins)."""
        return []

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        limit = self.ABORT_AT_RECORD_COUNT  # set by the SDK's connection test (--test)
        with self.run.emitting(
            self.listing,
            limit=limit,
            activates=self.activates_version(),
            aliases=[stream_map.stream_alias for stream_map in self.stream_maps],
            invalid_values=lambda: sum(self._shaper.invalid_values.values()),
            on_completed=self.completed,
        ) as count:
            for record in self.listing.read(limit=limit):
                yield record
                count()

    def activates_version(self) -> bool:
        """Whether a completed run holds every record, so a target may delete the others."""
        return True

    def completed(self) -> None:
        """The stream emitted every record of a real run (not ``--test``)."""

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Snake_case keys, declared types; a record without its key stops the run."""
        try:
            return self._shaper(row)
        except RecordError:
            self.run.failed(self.name, reported=True)
            raise
