"""The cursor-paged lists: one table of how each looks on the wire, one handler for all.

Also the per-parent lists: a plan group's plans and a customer's subscriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fake_chartmogul import revisions
from fake_chartmogul.cursors import (
    CursorCodec,
    created_at_ns,
    customer_codec,
    newest_first_codec,
    subscriptions_cursor,
    subscriptions_page,
    uuid_ns,
)
from fake_chartmogul.errors import invalid_param
from fake_chartmogul.formats import b64encode
from fake_chartmogul.paging import (
    EMPTY_VIEW,
    IndexSpec,
    Page,
    PageRequest,
    SortedView,
    field_index,
    keyset_page,
    total_pages,
)

from .base import (
    AS_OF_TEXT,
    CUSTOMER_NOT_FOUND,
    JSON,
    JSON_UTF8,
    PLAN_GROUP_NOT_FOUND,
    Endpoints,
    Record,
    Response,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable


@dataclass(frozen=True)
class Filter:
    """A query parameter that narrows a list: its value picks a group of an index.

    ``parse`` turns the parameter's text into the index value it selects, or :data:`ANY`
    for a value that filters nothing (``validation_type=all``); it raises the 400 for junk.
    """

    param: str
    index: IndexSpec
    parse: Callable[[str], Hashable]


ANY = object()
"""What a filter value that keeps every record parses to."""


def _validation_type(value: str) -> Hashable:
    """The ``/invoices`` ``validation_type`` filter; ``all``, which the tap sends, is no filter.

    Its default is unconfirmed (docs/chartmogul-api.md §7.8), hence the tap sends it.
    """
    if value not in {"valid", "invalid", "all"}:
        raise invalid_param(param="validation_type")
    return ANY if value == "all" else value == "valid"


VALIDATION_TYPE = Filter(
    "validation_type", IndexSpec("valid", lambda r: (not r.get("errors"),)), _validation_type
)
OWN_DATA_SOURCE = Filter("data_source_uuid", field_index("data_source_uuid"), str)
"""Invoices and subscription events: the record's own ``data_source_uuid``."""
CUSTOMER_DATA_SOURCE = Filter(
    "data_source_uuid",
    IndexSpec(
        "data_source_uuids",
        lambda r: r.get("data_source_uuids") or [r.get("data_source_uuid")],
    ),
    str,
)
"""Customers: every data source the customer is in (merged customers are in several)."""


# -- list endpoint table ---------------------------------------------------------------------
@dataclass(frozen=True)
class ListSpec:
    """How one paginated endpoint looks on the wire (docs/chartmogul-api.md §1.2)."""

    attr: str
    root: str
    codec: CursorCodec
    first_keys: tuple[str, ...]
    later_keys: tuple[str, ...]
    final_cursor: bool = False
    filters: tuple[Filter, ...] = ()
    """The filters it honours (``data_source_uuid``: docs/chartmogul-api.md §2.4, §2.14, §2.15)."""
    content_type: str = JSON


_plans_codec = newest_first_codec(uuid_ns(), "uuid")
_notes_like_codec = newest_first_codec(created_at_ns, "uuid")
_CRM_KEYS = ("entries", "cursor", "has_more")

LISTS: dict[str, ListSpec] = {
    "customers": ListSpec(
        "customers",
        "entries",
        customer_codec(),
        ("entries", "current_page", "total_pages", "has_more", "per_page", "page", "cursor"),
        ("entries", "has_more", "cursor"),
        final_cursor=True,
        content_type=JSON_UTF8,
        filters=(CUSTOMER_DATA_SOURCE,),
    ),
    "contacts": ListSpec(
        "contacts",
        "entries",
        newest_first_codec(uuid_ns(), "uuid"),
        _CRM_KEYS,
        _CRM_KEYS,
        final_cursor=True,
    ),
    "customer_notes": ListSpec(
        "customer_notes",
        "entries",
        _notes_like_codec,
        _CRM_KEYS,
        ("entries", "has_more", "cursor"),
        final_cursor=True,
    ),
    "tasks": ListSpec(
        "tasks",
        "entries",
        newest_first_codec(created_at_ns, "task_uuid"),
        _CRM_KEYS,
        _CRM_KEYS,
        final_cursor=True,
    ),
    "opportunities": ListSpec(
        "opportunities",
        "entries",
        _notes_like_codec,
        ("entries", "has_more", "cursor"),
        ("entries", "has_more", "cursor"),
        final_cursor=True,
    ),
    "plans": ListSpec(
        "plans",
        "plans",
        _plans_codec,
        ("plans", "current_page", "total_pages", "cursor", "has_more"),
        ("plans", "cursor", "has_more"),
    ),
    "plan_groups": ListSpec(
        "plan_groups",
        "plan_groups",
        newest_first_codec(uuid_ns(), "uuid"),
        ("plan_groups", "current_page", "total_pages", "cursor", "has_more"),
        ("plan_groups", "has_more", "cursor"),
    ),
    "invoices": ListSpec(
        "invoices",
        "invoices",
        newest_first_codec(uuid_ns(), "uuid"),
        ("invoices", "current_page", "total_pages", "cursor", "has_more"),
        ("invoices", "cursor", "has_more"),
        content_type=JSON_UTF8,
        filters=(VALIDATION_TYPE, OWN_DATA_SOURCE),
    ),
    "subscription_events": ListSpec(
        "subscription_events",
        "subscription_events",
        newest_first_codec(created_at_ns, "id", int_id=True),
        ("subscription_events", "meta", "cursor", "has_more"),
        ("subscription_events", "has_more", "cursor"),
        filters=(OWN_DATA_SOURCE,),
    ),
}
NOTES = ListSpec("notes", "entries", _notes_like_codec, _CRM_KEYS, _CRM_KEYS, final_cursor=True)
"""``/v1/notes``, on customers and contacts (notes.py); it never carries legacy keys."""
PLAN_GROUP_PLANS = ListSpec(
    "plans",
    "plans",
    _plans_codec,
    ("plans", "current_page", "total_pages", "has_more", "cursor"),
    ("plans", "cursor", "has_more"),
)


def filter_params(name: str, spec: ListSpec) -> set[str]:
    """The query parameters that filter list ``name`` (any other is refused)."""
    return {f.param for f in spec.filters} | revisions.PARAMS.get(name, frozenset())


class ListRoutes(Endpoints):
    """``/customers``, ``/invoices``, ``/plans``... and the per-parent lists."""

    def list_endpoint(self, name: str, query: dict[str, str]) -> Response:
        """One page of a cursor-paged list; filters pick a group of an index, never a scan."""
        spec = LISTS[name]
        collection = self.collections[spec.attr]
        chosen = [(f, f.parse(query[f.param])) for f in spec.filters if query.get(f.param)]
        chosen = [(f, value) for f, value in chosen if value is not ANY]
        if chosen:
            groups = collection.index(*(f.index for f, _ in chosen))
            key = chosen[0][1] if len(chosen) == 1 else tuple(value for _, value in chosen)
            view = groups.get(key, EMPTY_VIEW)
        else:
            view = collection.view()
        if name not in revisions.PARAMS:
            return self._paged(spec, view, query)
        # Disabled and edited records (revisions.py): a user's edit flips them in place.
        keep = _enabled if revisions.hidden(query) else None
        return self._paged(spec, view, query, keep, lambda page: revisions.listed(page, query))

    def _paged(
        self,
        spec: ListSpec,
        view: SortedView,
        query: dict[str, str],
        keep: Callable[[Record], bool] | None = None,
        shown: Callable[[list[Record]], list[Record]] | None = None,
    ) -> Response:
        request = PageRequest.from_query(query)
        after = spec.codec.decode(request.cursor) if request.cursor else None
        page = keyset_page(view, after, request.per_page, keep)
        if shown is not None:
            page.records = shown(page.records)
        if keep is None:
            count = len(view.records)
        else:  # first pages only, as ChartMogul counts: what the request lists
            count = sum(map(keep, view.records)) if request.first else 0
        return Response(200, _envelope(spec, page, count, request), spec.content_type)

    def notes(self, query: dict[str, str]) -> Response:
        """Notes on customers and contacts, newest first (notes.py)."""
        return self._paged(NOTES, self.notes_collection.view(), query)

    def plan_group_plans(self, uuid: str, query: dict[str, str]) -> Response:
        """The plans of one group, paged like ``/plans`` (docs/chartmogul-api.md §2.13)."""
        group = self.collections["plan_groups"].index("uuid").get(uuid)
        if not group or not group.records:
            return Response(404, PLAN_GROUP_NOT_FOUND)
        records = self.account.plan_group_plans.get(uuid, [])
        return self._paged(PLAN_GROUP_PLANS, _small_view(records, PLAN_GROUP_PLANS.codec), query)

    # -- customer children -----------------------------------------------------------------
    def customer_subscriptions(self, uuid: str, query: dict[str, str]) -> Response:
        """Page-numbered underneath (docs/chartmogul-api.md §2.6).

        The cursor is base64 of ``subscriptions_next_page=N``, and one is sent even on the last
        page; following it yields an empty page with yet another cursor.
        """
        if self.customer(uuid) is None:
            return Response(404, CUSTOMER_NOT_FOUND)
        request = PageRequest.from_query(query)
        number = subscriptions_page(request.cursor) if request.cursor else 1
        per_page = request.per_page
        subs = self.account.customer_subscriptions.get(uuid, [])
        entries = subs[(number - 1) * per_page : number * per_page]
        has_more = number * per_page < len(subs)
        next_cursor = subscriptions_cursor(number + 1)
        if not request.first:
            return Response(200, {"entries": entries, "cursor": next_cursor, "has_more": has_more})
        body = {
            "entries": entries,
            "has_more": has_more,
            "per_page": per_page,
            "page": 1,
            "cursor": next_cursor,
        }
        return Response(200, body)


def _enabled(record: Record) -> bool:
    return not record.get("disabled")


def _envelope(spec: ListSpec, page: Page, count: int, request: PageRequest) -> Record:
    """Assemble root/cursor/has_more (+ legacy keys on first pages) in the spec's key order.

    ``total_pages`` counts the ``count`` records the filters select: exact, and O(1) where an
    index group holds them.
    """
    next_cursor = None
    if page.last_key is not None and (page.has_more or spec.final_cursor):
        next_cursor = b64encode(spec.codec.encode_key(page.last_key))
    values: Record = {spec.root: page.records, "cursor": next_cursor, "has_more": page.has_more}
    keys = spec.first_keys if request.first else spec.later_keys
    if request.first and len(keys) > len(values):
        pages = total_pages(count, request.per_page)
        values |= {"current_page": 1, "total_pages": pages, "per_page": request.per_page}
        values["page"] = 1
        if "meta" in keys:
            values["meta"] = {
                "next_key": page.records[-1]["id"] if page.has_more else None,
                "prev_key": None,
                "before_key": page.records[0]["created_at"] if page.records else AS_OF_TEXT,
                "page": 1,
                "total_pages": pages,
            }
    return {k: values[k] for k in keys}


def _small_view(records: list[Record], codec: CursorCodec) -> SortedView:
    """Sort a short per-parent list on the fly (a handful of records)."""
    decorated = sorted(((codec.key(r), r) for r in records), key=lambda t: t[0])
    return SortedView([t[0] for t in decorated], [t[1] for t in decorated])
