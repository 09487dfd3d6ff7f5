"""The one base stream that owns the HTTP policy for every ChartMogul endpoint.

Auth, URLs, paging, retries and record shaping are decided here, each delegated to the
module named for it, so stream classes are short declarations. A stream's records are
fetched by its ``Listing`` (in the background, see ``listings``) and read back here in
order; what a stream fetches is ``fetch_records``, what it emits is ``get_records``.
"""

from __future__ import annotations

import sys
import typing as t
from functools import cached_property

from singer_sdk import RESTStream, SchemaDirectory, StreamSchema
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import SinglePagePaginator

from tap_chartmogul import logs, responses, retry, schemas
from tap_chartmogul.errors import RecordError, RunCancelledError, TapChartMogulError
from tap_chartmogul.listings import Listing
from tap_chartmogul.pagination import ChartMogulCursorPaginator
from tap_chartmogul.services import RunServices
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

#: ChartMogul's maximum page size; larger values are silently capped by the API.
PAGE_SIZE = 200
#: Records between updates of the run's progress counters (and progress lines).
PROGRESS_BATCH = PAGE_SIZE
SCHEMAS = SchemaDirectory(schemas)


class ChartMogulStream(RESTStream[str | None]):
    """Base for every ChartMogul stream.

    Subclasses declare ``name``, ``path``, ``primary_keys`` and, where they differ from
    the defaults, ``records_key`` (the list's key in the body, or None for an endpoint
    that returns one object) and ``paginated``.
    """

    schema = StreamSchema(SCHEMAS)
    #: ``RecordShaper`` makes every record match its schema; the SDK's conformance pass
    #: would repeat that at several times the cost.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: ChartMogul's API never redirects; a redirect means a wrong ``api_url`` and must not
    #: carry the key elsewhere (see ``responses.check_status``).
    allow_redirects = False

    records_key: t.ClassVar[str | None] = "entries"
    paginated: t.ClassVar[bool] = True
    #: Also turn ``""`` into null for string columns (where ChartMogul means "missing").
    blank_strings_to_null: t.ClassVar[bool] = False
    #: The listing's requests depend on this stream's state, known only when it syncs.
    starts_with_sync: t.ClassVar[bool] = False

    def __init__(self, tap: Tap, *, services: RunServices | None = None) -> None:
        """Build the stream with the run's shared services (its own if none are given)."""
        super().__init__(tap)
        self.services = services or RunServices(self.config)
        self.listing = Listing(
            self.name,
            self.fetch_records,
            budget=self.services.memory,
            on_complete=lambda: self.services.progress.fetched(self.name),
        )
        self.services.register(self)

    # --- HTTP policy ---------------------------------------------------------------------

    @property
    @override
    def url_base(self) -> str:
        """Return ``<api_url>/v1``."""
        return f"{self.config['api_url'].strip().rstrip('/')}/v1"

    @cached_property
    @override
    def authenticator(self) -> BasicAuthenticator:
        """HTTP Basic: the API key as username, an empty password (ChartMogul's scheme)."""
        return BasicAuthenticator(username=self.config["api_key"], password="")

    @property
    @override
    def requests_session(self) -> requests.Session:
        """The run's shared session: one pacer and connection pool for all streams."""
        return self.services.session

    @property
    @override
    def timeout(self) -> int:
        """Seconds to wait for each socket read (``request_timeout``)."""
        return int(self.config["request_timeout"])

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[str | None]:
        """Cursor paging for lists; exactly one request otherwise."""
        if self.paginated:
            return ChartMogulCursorPaginator(f"/v1{self.path}", self.records_key or "entries")
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

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Sort a response by status: success, retriable, or fatal with a clear message."""
        responses.check_status(response, responses.endpoint_of(response, self.path or ""))

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """Endpoint, status and ChartMogul's message; never the query string or headers."""
        return responses.describe(response, responses.endpoint_of(response, self.path or ""))

    @override
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """Count, parse and retry each request; fail in one line when retries cannot help."""

        def attempt(prepared: requests.PreparedRequest, context: Context | None) -> t.Any:
            if self.services.cancelled.is_set():
                raise RunCancelledError(self.name)
            self.services.progress.request(self.name)
            response = func(prepared, context)
            parsed = responses.parse_body(response, responses.endpoint_of(response, ""))
            if not self.dry_run:
                # The key works: now read ahead (a bad key fails on one request, not 20).
                self.services.start_reading_ahead()
            return parsed

        return retry.resilient(
            attempt,
            max_tries=self.backoff_max_tries(),
            wait_gen=self.backoff_wait_generator,
            on_backoff=self.backoff_handler,
            fallback_endpoint=self.path or "",
        )

    @override
    def backoff_max_tries(self) -> int:
        """First attempt plus ``max_retries`` retries."""
        return int(self.config["max_retries"]) + 1

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """Capped exponential waits with jitter; ``Retry-After`` wins when sent."""
        return retry.wait_times()

    @override
    def backoff_handler(self, details: Details) -> None:
        """Log one line per retry: endpoint, cause, wait, attempt number."""
        self.services.progress.retry(self.name)
        self.logger.warning(
            "Retrying /v1%s in %.1fs after %s (attempt %d of %d)",
            self.path,
            details.get("wait", 0.0),
            retry.describe_failure(t.cast("BaseException", details.get("exception"))),
            details.get("tries", 0) + 1,
            self.backoff_max_tries(),
        )

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        """The records under ``records_key`` (or the whole body for a one-object endpoint)."""
        return responses.records_in(
            t.cast("responses.ChartMogulResponse", response).payload,
            self.records_key,
            responses.endpoint_of(response, self.path or ""),
        )

    # --- records -------------------------------------------------------------------------

    def fetch_records(self) -> Iterator[dict[str, t.Any]]:
        """What this stream's listing fetches (on a background thread): the API's records."""
        yield from self.request_records(None)

    def listings_read(self) -> list[Listing]:
        """The listings this stream reads in a run (its own, and its parent's if any)."""
        return [self.listing]

    @property
    def dry_run(self) -> bool:
        """Whether the SDK runs a connection test (``--test``): a few records per stream."""
        return self.ABORT_AT_RECORD_COUNT is not None

    def source_records(self) -> Iterator[dict[str, t.Any]]:
        """The records to emit: the listing, or a direct fetch in a dry run."""
        if self.dry_run:
            return iter(self.fetch_records())
        return self.listing.read()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Yield the stream's records; release its ACTIVATE_VERSION only when it completed.

        In a dry run (``--test``) at most ``ABORT_AT_RECORD_COUNT`` records are read, so
        the SDK need not abort the stream, and nothing is activated.
        """
        limit = self.ABORT_AT_RECORD_COUNT
        outcome = "stopped"
        count = 0
        progress = self.services.progress
        logs.REPORTED_FAILURES.reset(self.name)
        reported = 0
        try:
            for record in self.source_records():
                yield record
                count += 1
                if count - reported >= PROGRESS_BATCH:
                    progress.records(self.name, count - reported)
                    reported = count
                if limit is not None and count >= limit:
                    break
            outcome = "completed"
        except RunCancelledError:
            outcome = "stopped"
            raise
        except Exception as error:
            outcome = "failed"
            self._failed(reported=isinstance(error, TapChartMogulError))
            raise
        finally:
            progress.records(self.name, count - reported)
            if outcome != "completed" or self.dry_run:
                self.listing.cancel()
            if self.services.writer is not None:
                self.services.writer.flush()
                complete = outcome == "completed" and not self.dry_run
                self.services.writer.stream_ended(
                    [stream_map.stream_alias for stream_map in self.stream_maps],
                    activate=complete and self.activates_version(),
                )
            progress.finish(self.name, outcome, sum(self._shaper.invalid_values.values()))

    def _failed(self, *, reported: bool) -> None:
        """The stream fails: stop the run's background work; mark an error the tap reports."""
        self.services.cancel()
        if reported:
            logs.REPORTED_FAILURES.reported(self.name)

    def activates_version(self) -> bool:
        """Whether a completed run holds every record (a target may delete the others).

        ``emit_activate_version_messages`` tells the target so after the last record.
        """
        return True

    @cached_property
    def _shaper(self) -> RecordShaper:
        return RecordShaper(
            self.schema,
            blank_strings_to_null=self.blank_strings_to_null,
            logger=self.logger,
            stream=self.name,
            primary_keys=self.primary_keys,
        )

    @override
    def post_process(
        self,
        row: dict[str, t.Any],
        context: Context | None = None,
    ) -> dict[str, t.Any] | None:
        """Rename keys to snake_case and give values their declared types.

        Raises:
            RecordError: the record lacks a primary key value (it cannot be upserted).
        """
        try:
            return self._shaper(row)
        except RecordError:
            self._failed(reported=True)
            raise

    @override
    def log_sync_costs(self) -> None:
        """Called once per stream at the end of a run: the last call prints the summary."""
        self.services.stream_done()
