"""Stream declarations for ChartMogul's list endpoints; HTTP policy is inherited.

Per-parent fan-outs and invoice-derived streams are in ``fanout_streams``, the metric series
in ``metrics_streams``. The SDK syncs streams in name order (customers and fan-outs last),
so ``account`` comes first: one cheap request that always returns a record, so a connection
test proves the key at once.
"""

from __future__ import annotations

import sys
import typing as t
from datetime import UTC, datetime, timedelta
from functools import cached_property

from tap_chartmogul import edits
from tap_chartmogul.client import PAGE_SIZE, ChartMogulStream
from tap_chartmogul.processing import ProcessingCheck
from tap_chartmogul.split import (
    EARLIEST_CREATION,
    LONG_PAGES,
    Budget,
    KeysetGroup,
    WindowSplit,
    legacy_total_pages,
    parse_time,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_chartmogul.run.context import RunContext
    from tap_chartmogul.run.listings import Listing


class LongListStream(ChartMogulStream):
    """A list that can be long: read as several chains at once, exactly (see ``split``).

    Streams declare how: ``by_data_source`` (the documented filter, first) and
    ``creation_ordered`` (newest-created first with keyset cursors: seeds split it). A short
    list (fewer than ``split.LONG_PAGES`` pages) is one chain and costs nothing more.
    """

    #: The field that names a record where two chains meet.
    id_field: t.ClassVar[str] = "uuid"
    by_data_source: t.ClassVar[bool] = False
    creation_ordered: t.ClassVar[bool] = True

    def __init__(
        self, tap: Tap, *, data_sources: ChartMogulStream, run: RunContext | None = None
    ) -> None:
        """Build the stream; the data sources (asked only for a long list) say its parts."""
        self.data_sources = data_sources
        super().__init__(tap, run=run)

    #: Whether the run reads the data sources' listing for this stream (decided at its begin).
    _sources_listed = False

    @cached_property
    def sources(self) -> list[dict[str, t.Any]]:
        """The account's data sources, asked only when a long list needs them.

        From the data sources' listing when the run reads it anyway, else one request. A
        page of this listing was answered, so the run has begun (``begin`` decides that only
        after the page that asks, should it be the run's first).
        """
        self.run.begin()
        found = (
            self.data_sources.listing.read()
            if self._sources_listed
            else self.data_sources.request_records(None)
        )
        return [s for s in found if isinstance(s.get("uuid"), str)]

    @override
    def listings_read(self) -> list[Listing]:
        """The data sources' listing when its stream is selected: no second request then."""
        self._sources_listed = self.data_sources.selected
        return [self.data_sources.listing] if self._sources_listed else []

    def earliest_creation(self) -> datetime:
        """Nothing of the account was created before its first data source, nor ChartMogul."""
        created = [when for s in self.sources if (when := parse_time(s.get("created_at")))]
        return min([*created, EARLIEST_CREATION]) if created else EARLIEST_CREATION

    @override
    def fetch_records(self) -> Iterator[dict[str, t.Any]]:
        """The listing: one chain if short; per data source, then by creation time, if long."""
        if self.run.dry_run:  # a connection test reads a record or two: one chain
            yield from super().fetch_records()
            return
        budget = Budget(float(self.config["requests_per_second"]), self.run.workers.size)
        whole = self._group({}, budget, on_first_page=self._whole_will_do)
        yield from whole.records()
        if not whole.abandoned:
            return
        # Long, and of several data sources: a part each (the first page read is dropped).
        parts = [self._group({"data_source_uuid": s["uuid"]}, budget) for s in self.sources]
        later = [self.run.buffer(self.listing, part.records) for part in parts[1:]]
        for buffer in later:
            buffer.start()
        emitted: set[object] = set()  # customers of several data sources, emitted once
        for records in [parts[0].records(), *(buffer.read() for buffer in later)]:
            for record in records:
                sources_of = record.get("data_source_uuids")
                if isinstance(sources_of, list) and len(set(sources_of)) > 1:
                    if record.get(self.id_field) in emitted:
                        continue
                    emitted.add(record.get(self.id_field))
                yield record

    def _whole_will_do(self, first_page: dict[str, t.Any]) -> bool:
        """Whether one group for the whole list will do (else: a part per data source).

        Only a sound first page (``has_more: true``) is set aside: any other goes on to the
        paginator, which refuses what it cannot follow.
        """
        pages = legacy_total_pages(first_page)
        if not self.by_data_source or pages is None or pages < LONG_PAGES:
            return True
        if first_page.get("has_more") is not True:
            return True
        return len(self.sources) < 2  # noqa: PLR2004 - a single source has no parts

    def _group(
        self,
        params: dict[str, t.Any],
        budget: Budget,
        on_first_page: t.Callable[[dict[str, t.Any]], bool] | None = None,
    ) -> KeysetGroup:
        return KeysetGroup(
            self,
            id_field=self.id_field,
            params=params,
            seeds=self.creation_ordered,
            lower=self.earliest_creation,
            budget=budget,
            buffer=lambda fetch: self.run.buffer(self.listing, fetch),
            on_first_page=on_first_page,
        )


class AccountStream(ChartMogulStream):
    """The account itself (name, currency, time zone, churn settings): one record.

    Recorded answers from 2021 and 2023 have no ``id``; ``account_key`` is always set:
    the ``id`` when ChartMogul sends one, else the account's ``name`` (one API key
    reads one account, so the row stays stable across runs either way).
    """

    name = "account"
    path = "/account"
    primary_keys = ("account_key",)
    records_key = None
    paginated = False

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        """Ask for every optional account setting, so the record is complete."""
        return {
            "include": "churn_recognition,churn_when_zero_mrr,auto_churn_subscription,"
            "refund_handling,proximate_movement_reclassification",
        }

    @override
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        """Add ``account_key``: ``id`` if present, else ``name``."""
        key = row.get("id") or row.get("name")
        return super().post_process({**row, "account_key": str(key) if key else None}, context)


class DataSourcesStream(ChartMogulStream):
    """Billing-system connections and import sources, with their processing status.

    Its listing also tells the run whether ChartMogul is still processing (``processing``).
    """

    name = "data_sources"
    path = "/data_sources"
    primary_keys = ("uuid",)
    records_key = "data_sources"
    paginated = False

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        """Ask for the optional status and settings blocks."""
        return {
            "with_processing_status": "true",
            "with_auto_churn_subscription_setting": "true",
            "with_invoice_handling_setting": "true",
        }

    @cached_property
    def processing(self) -> ProcessingCheck:
        """The run's one check of whether ChartMogul is still processing (this listing's)."""
        return ProcessingCheck(self.listing, self.logger, self.run.progress)

    @override
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        """Accept both recorded shapes of the auto-churn setting.

        ChartMogul sent the boolean ``false`` in 2025 where the docs show an object
        ``{enabled, interval}`` (docs/chartmogul-api.md §4.17): a boolean becomes that
        object, with no interval.
        """
        setting = row.get("auto_churn_subscription_setting")
        if isinstance(setting, bool):
            row = {**row, "auto_churn_subscription_setting": {"enabled": setting, "interval": None}}
        return super().post_process(row, context)


class CustomersStream(LongListStream):
    """Customers and leads, with their current MRR/ARR and attributes."""

    name = "customers"
    path = "/customers"
    primary_keys = ("uuid",)
    by_data_source = True
    #: Ordered by ``customer-since``; its cursors' form was never recorded: no seeds.
    creation_ordered = False
    #: One chain per data source (no seeds): minutes at 100,000 customers. Written before
    #: the invoice streams, the SDK waited on it while millions of invoice records were
    #: ready; written after them, it is read by then.
    write_group = 1


class PlansStream(LongListStream):
    """Plans of every data source."""

    name = "plans"
    path = "/plans"
    primary_keys = ("uuid",)
    records_key = "plans"


class PlanGroupsStream(LongListStream):
    """Plan groups (their member plans are in ``plan_group_plans``)."""

    name = "plan_groups"
    path = "/plan_groups"
    primary_keys = ("uuid",)
    records_key = "plan_groups"


class InvoicesStream(LongListStream):
    """Invoices with their line items and transactions nested in each record.

    Disabled ones included, with what was edited in ChartMogul (``edits``), and
    ``changed_at``: when ChartMogul last recorded an edit or a disabling of the invoice.
    """

    name = "invoices"
    path = "/invoices"
    primary_keys = ("uuid",)
    records_key = "invoices"
    by_data_source = True

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        """Include invalid invoices (``errors`` says why) and disabled ones, with edits."""
        return {"validation_type": "all", **edits.PARAMS}

    @override
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        """Add ``changed_at``, the latest edit or disabling of the invoice or its items."""
        return super().post_process({**row, "changed_at": edits.changed_at(row)}, context)


class SubscriptionEventsStream(LongListStream):
    """Subscription lifecycle events, disabled ones and edits included.

    ``""`` sent for missing values becomes null.
    """

    name = "subscription_events"
    path = "/subscription_events"
    primary_keys = ("id",)
    records_key = "subscription_events"
    id_field = "id"
    by_data_source = True
    blank_strings_to_null = True

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        """Include disabled events, with what was edited in ChartMogul (``edits``)."""
        return dict(edits.PARAMS)


class ContactsStream(LongListStream):
    """People at customers (CRM contacts)."""

    name = "contacts"
    path = "/contacts"
    primary_keys = ("uuid",)


class TasksStream(LongListStream):
    """CRM tasks, on customers or (since 2026) on contacts."""

    name = "tasks"
    path = "/tasks"
    primary_keys = ("task_uuid",)
    id_field = "task_uuid"

    @override
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        """Add ``contact_uuid``: as sent, else the associated object when it is a contact."""
        contact = row.get("contact_uuid")
        if contact is None and row.get("associated_object") == "contact":
            contact = row.get("associated_object_uuid")
        return super().post_process({**row, "contact_uuid": contact}, context)


class OpportunitiesStream(LongListStream):
    """CRM opportunities (sales pipeline)."""

    name = "opportunities"
    path = "/opportunities"
    primary_keys = ("uuid",)


class ActivitiesStream(ChartMogulStream):
    """MRR movements (new business, expansion, contraction, churn, reactivation).

    Incremental on ``date``, filtered server-side with ``start-date`` and read in
    ascending order, so the bookmark is resumable. ChartMogul back-dates and recomputes
    activities (late imports, reprocessing), so each run starts
    ``activities_lookback_days`` before its starting point (the bookmark, or
    ``start_date`` on a first run, never before ``start_date``). The window ends when the
    run started: activities dated later (scheduled ones) are left for the run after their
    date, which keeps the bookmark from passing the present. No ``uuid`` is emitted twice
    in one run.
    """

    name = "activities"
    path = "/activities"
    primary_keys = ("uuid",)
    replication_key = "date"
    is_sorted = True
    # The lookback deliberately re-reads records older than the stored bookmark.
    check_sorted = False
    # A STATE message per page (the SDK default is every 10,000 records), so an
    # interrupted run resumes within 200 activities of where it stopped.
    STATE_MSG_FREQUENCY = PAGE_SIZE

    @cached_property
    def starting_timestamp(self) -> datetime | None:
        """Where this run's activities start before the lookback: known when the run begins.

        The listing reads ahead from the run's beginning, before the SDK syncs the stream
        and records its starting value, so this is worked out from the same inputs as the
        SDK's (singer_sdk/streams/_state.py, ``write_starting_replication_value``): the
        stored bookmark if it is for ``date``, else ``start_date``; the later of the two
        when both are set. tests/test_activities.py pins it to the SDK's
        ``get_starting_timestamp`` once the SDK has synced the stream.
        """
        state = self.get_context_state(None)
        bookmark = state.get("replication_key_value")
        values = [bookmark] if bookmark and state.get("replication_key") == "date" else []
        if self.config.get("start_date"):
            values.append(self.config["start_date"])
        return max((_utc(value) for value in values), default=None)

    @cached_property
    def window_start(self) -> datetime | None:
        """First activity date to read: the start minus the lookback, not before start_date.

        A bookmark in the future (a clock that was wrong, a hand-edited state) would make
        every run read nothing; it is clamped to the run's start, with a warning, and the
        stored bookmark is corrected.
        """
        start = self.starting_timestamp
        if start is None:
            return None
        if start > self.run.started:
            self.logger.warning(
                "activities: the bookmark %s is in the future; reading from %s (the run's "
                "start) minus the lookback instead",
                _iso(start),
                _iso(self.run.started),
            )
            start = self.run.started
            self.get_context_state(None)["replication_key_value"] = _iso(start)
        start -= timedelta(days=int(self.config["activities_lookback_days"]))
        if self.config.get("start_date"):
            start = max(start, _utc(self.config["start_date"]))
        return start

    def covers(self, since: datetime) -> bool:
        """Whether this run's window reaches back to ``since``."""
        return self.window_start is None or self.window_start <= since

    def window_records(self, start: datetime, end: datetime) -> Iterator[dict[str, t.Any]]:
        """The raw activities dated from ``start`` to ``end``, requested on their own."""
        return iter(
            self.request_records({"params": {"start-date": _iso(start), "end-date": _iso(end)}})
        )

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        """Send the window on every page (the cursor alone does not carry it).

        A context's ``params`` (a part of the window, or another window) replace these.
        """
        params = {"order": "date", "end-date": _iso(self.run.started)}
        if self.window_start is not None:
            params["start-date"] = _iso(self.window_start)
        return params

    @override
    def fetch_records(self) -> Iterator[dict[str, t.Any]]:
        """Activities once each, even if the API repeats one at a page boundary."""
        self.logger.info(
            "Reading activities dated %s to %s",
            _iso(self.window_start) if self.window_start else "the beginning",
            _iso(self.run.started),
        )
        # Activities come in ascending date order (the resumable bookmark relies on it
        # too), so a repeated uuid can only carry the date being read: remembering that
        # date's uuids is exact and keeps memory flat however many activities there are.
        current_date: object = None
        seen: set[object] = set()
        if self.run.dry_run:
            records: Iterator[dict[str, t.Any]] = super().fetch_records()
        else:  # in date windows read at once, emitted in date order (see ``split``)
            records = WindowSplit(
                self,
                start=self.window_start,
                end=self.run.started,
                budget=Budget(float(self.config["requests_per_second"]), self.run.workers.size),
                buffer=lambda fetch: self.run.buffer(self.listing, fetch),
            ).records()
        for record in records:
            if record.get("date") != current_date:
                current_date = record.get("date")
                seen = set()
            uuid = record.get("uuid")
            if uuid in seen:
                continue
            seen.add(uuid)
            yield record


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
