"""Every cursor the fake issues and accepts, one codec per style (docs/chartmogul-api.md §1.2).

- **Newest created first** (invoices, plans, plan groups, subscription events, contacts,
  notes, tasks, opportunities): base64 of ``"<creation time with ns>Z&<id>"`` naming the
  page's last record, as ChartMogul's were recorded; the next page starts below it. Any such
  key works as a cursor (keyset paging), as a tap may try, and ``"<time>Z&"`` (no id) starts
  below that time.
- **Customers**: ascending ``customer-since`` (leads last), then ``id``: base64 of
  ``"<since ns>&<id>"`` (the real form was never recorded).
- **/activities**: the bare uuid of the page's last activity (or ``null`` on the last page).
- **Customer subscriptions**: base64 of ``subscriptions_next_page=N``, page numbers underneath.

A cursor that does not decode as its endpoint's is a 400 (:func:`~.errors.invalid_cursor`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import invalid_cursor
from .formats import b64decode, b64encode, iso_ns, parse_iso_ns, to_ns, uuid_millis

if TYPE_CHECKING:
    from collections.abc import Callable

Record = dict[str, Any]
Key = tuple[Any, ...]
LEAD_NS = 1 << 62
"""Sort position of customers without ``customer-since`` (leads): after everyone else."""
_SUBS_CURSOR = re.compile(r"subscriptions_next_page=([1-9][0-9]{0,8})")
_UUIDISH = re.compile(r"[0-9a-fA-F-]{8,64}")


@dataclass(frozen=True)
class CursorCodec:
    """How one collection's sort key travels inside an opaque base64 cursor."""

    key: Callable[[Record], Key]
    encode_key: Callable[[Key], str]
    decode_text: Callable[[str], Key]

    def encode(self, record: Record) -> str:
        """The opaque cursor that resumes after ``record``."""
        return b64encode(self.encode_key(self.key(record)))

    def decode(self, cursor: str) -> Key:
        """The sort key inside ``cursor``; a cursor this codec did not issue is a 400."""
        try:
            return self.decode_text(b64decode(cursor))
        except (ValueError, IndexError):
            raise invalid_cursor() from None


def _two_part(text: str) -> tuple[str, str]:
    first, sep, second = text.partition("&")
    if not sep or not first or not second:
        raise ValueError(text)
    return first, second


def customer_codec() -> CursorCodec:
    """Customers: ascending ``customer-since`` (leads last), then ``id``."""

    def key(r: Record) -> Key:
        since = r.get("customer-since")
        return (to_ns(since) if since else LEAD_NS, r["id"])

    def decode(text: str) -> Key:
        a, b = _two_part(text)
        return int(a), int(b)

    return CursorCodec(key, lambda k: f"{k[0]}&{k[1]}", decode)


def newest_first_codec(
    created_ns: Callable[[Record], int], id_field: str, *, int_id: bool = False
) -> CursorCodec:
    """Descending creation time; ties by id (ascending uuid, or descending int id).

    The cursor is what ChartMogul's were recorded as (docs/chartmogul-api.md §1.2): base64
    of ``"<creation time with ns>&<id>"`` naming the page's last record, the next page
    starting below it. Any such key works as a cursor (keyset paging), as a tap may try;
    an empty id (``"<time>Z&"``, a seed made of a time alone) starts at the records created
    before that time.
    """

    def key(r: Record) -> Key:
        ident = r[id_field]
        return (-created_ns(r), -ident if int_id else ident)

    def encode(k: Key) -> str:
        return f"{iso_ns(-k[0])}&{-k[1] if int_id else k[1]}"

    def decode(text: str) -> Key:
        stamp, sep, ident = text.partition("&")
        if not sep or not stamp:
            raise ValueError(text)
        ns = parse_iso_ns(stamp)
        if not ident:  # a seed: the records created before that time
            return (-ns + 1,)
        return (-ns, -int(ident) if int_id else ident)

    return CursorCodec(key, encode, decode)


def created_at_ns(r: Record) -> int:
    """Creation time of records that carry ``created_at`` (notes, tasks, events...)."""
    return to_ns(r["created_at"])


def uuid_ns(field: str = "uuid") -> Callable[[Record], int]:
    """Creation time embedded in a timed uuid (records without a timestamp field)."""
    return lambda r: uuid_millis(r[field]) * 1_000_000


def activity_cursor(cursor: str) -> str:
    """The activity uuid an ``/activities`` cursor names; anything not uuid-like is a 400."""
    if not _UUIDISH.fullmatch(cursor):
        raise invalid_cursor()
    return cursor


def subscriptions_cursor(page: int) -> str:
    """The cursor of a customer's subscriptions that asks for page ``page``."""
    return b64encode(f"subscriptions_next_page={page}")


def subscriptions_page(cursor: str) -> int:
    """The page number a customer-subscriptions cursor asks for; a 400 for anything else."""
    try:
        match = _SUBS_CURSOR.fullmatch(b64decode(cursor))
    except ValueError:
        match = None
    if match is None:
        raise invalid_cursor()
    return int(match.group(1))
