"""Notes and call logs: ``notes`` from ``/v1/notes``, and ``customer_notes`` kept from it.

``/v1/notes`` (2026) lists the notes on customers and on contacts; ChartMogul's clients
mark the older ``/v1/customer_notes`` deprecated. So ``notes`` reads ``/v1/notes``, and
``customer_notes``, which existing users select and load into a table of their own, keeps
its columns and its rows: it is the customer notes of the ``notes`` listing, read once per
run for both streams (no request of its own), so it neither empties nor depends on a
deprecated endpoint.

``/v1/notes`` was only ever seen on ChartMogul's development server, so an account it is
not available to (HTTP 404) is read from ``/v1/customer_notes`` instead, with one warning:
customer notes only, in both streams. A note read there is on its customer by definition,
so ``associated_object`` and ``associated_object_uuid`` are filled in where ChartMogul
leaves them out, in both streams alike.
"""

from __future__ import annotations

import sys
import typing as t

from tap_chartmogul.errors import NotFoundError
from tap_chartmogul.fanout_streams import ParentRecordsStream
from tap_chartmogul.streams import LongListStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context

Record = dict[str, t.Any]
CUSTOMER = "customer"
#: Where notes are read when ``/v1/notes`` is not available to the account.
FALLBACK_PATH = "/customer_notes"


def on_customer(note: Record) -> bool:
    """Whether a note is on a customer (not on a contact), whichever shape it came in."""
    attached = note.get("associated_object")
    if attached is None:
        return isinstance(note.get("customer_uuid"), str)
    return bool(attached == CUSTOMER)


def attached(note: Record) -> Record:
    """The note with what it is on, filled in from ``customer_uuid`` where it is missing."""
    if note.get("associated_object") is None and isinstance(note.get("customer_uuid"), str):
        return {
            **note,
            "associated_object": CUSTOMER,
            "associated_object_uuid": note.get("associated_object_uuid") or note["customer_uuid"],
        }
    return note


class NotesStream(LongListStream):
    """Notes and call logs on customers and on contacts (``/v1/notes``).

    Read from ``/v1/customer_notes`` (customer notes only, with a warning) when ChartMogul
    answers 404 for ``/v1/notes``.
    """

    name = "notes"
    path = "/notes"
    primary_keys = ("uuid",)

    @override
    def fetch_records(self) -> Iterator[Record]:
        """The notes; those of ``/v1/customer_notes`` if ``/v1/notes`` is not there."""
        listed = 0
        try:
            for record in super().fetch_records():
                listed += 1
                yield record
        except NotFoundError:
            if listed or self.path == FALLBACK_PATH:
                raise
            self.logger.warning(
                "notes: ChartMogul answered 404 for /v1/notes (not available to this account); "
                "reading /v1/customer_notes instead: notes on customers only, none on contacts"
            )
            self.path = FALLBACK_PATH
            yield from super().fetch_records()

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Say what the note is on where ChartMogul does not."""
        return super().post_process(attached(row), context)


class CustomerNotesStream(ParentRecordsStream):
    """Notes and call logs on customers: the customer notes of the ``notes`` listing.

    Kept for the tables that load it: same columns, same rows as when it read the
    deprecated ``/v1/customer_notes``, at no request of its own. ``notes`` has them all.
    """

    name = "customer_notes"
    primary_keys = ("uuid",)

    @override
    def fetch_records(self) -> Iterator[Record]:
        """The notes of the ``notes`` listing that are on a customer."""
        return (note for note in self.parent_records() if on_customer(note))

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Say what the note is on where ChartMogul does not."""
        return super().post_process(attached(row), context)
