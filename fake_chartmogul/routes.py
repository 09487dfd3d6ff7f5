"""API semantics of the fake: path -> JSON answer, with ChartMogul's paging quirks.

Nothing here knows about sockets, auth or fault injection (see ``server.py``); every handler
is a pure function of the account and the query, which keeps the quirks testable on their own.

Only the endpoints and query parameters that tap_chartmogul sends are served. Any other
parameter is refused with a 400 that names it: a tap change that starts sending a filter the
fake does not implement then fails loudly instead of silently reading unfiltered data.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import metrics as metrics_model
from .cursors import (
    CursorCodec,
    activity_cursor,
    created_at_ns,
    customer_codec,
    newest_first_codec,
    subscriptions_cursor,
    subscriptions_page,
    uuid_ns,
)
from .data import FakeAccount, activity_key
from .errors import BadRequestError, invalid_cursor, invalid_param, missing_param
from .formats import to_ns
from .paging import (
    EMPTY_VIEW,
    Page,
    PageRequest,
    Selection,
    SortedCollection,
    SortedView,
    Stamp,
    keyset_page,
    total_pages,
)

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
JSON = "application/json"
JSON_UTF8 = "application/json; charset=utf-8"
NOT_FOUND = {"error": "Not found"}
CUSTOMER_NOT_FOUND = {"code": 404, "message": "Customer not found", "param": "customer_uuid"}
PLAN_GROUP_NOT_FOUND = {"error": "Plan group not found"}
PAGING = frozenset({"per_page", "cursor"})
AS_OF_TEXT = "2026-01-01T00:00:00.000Z"


@dataclass
class Response:
    """What to send: ``payload`` is JSON-serialised by the server unless it is ``bytes``."""

    status: int
    payload: Any
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, message: str, param: str | None) -> Response:
    """ChartMogul's ``{"code","message","param"}`` error body (docs/chartmogul-api.md §1.4)."""
    return Response(status, {"code": status, "message": message, "param": param})


def _validation_type(value: str) -> Predicate | None:
    """The ``/invoices`` ``validation_type`` filter; ``all``, which the tap sends, is no filter.

    Its default is unconfirmed (docs/chartmogul-api.md §7.8), hence the tap sends it.
    """
    if value not in {"valid", "invalid", "all"}:
        raise invalid_param(param="validation_type")
    if value == "invalid":
        return lambda r: bool(r.get("errors"))
    if value == "valid":
        return lambda r: not r.get("errors")
    return None


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
    filter: tuple[str, Callable[[str], Predicate | None]] | None = None
    """A value filter this list honours: (parameter, value -> predicate or None)."""
    by_data_source: bool = False
    """Whether ``data_source_uuid`` filters it (docs/chartmogul-api.md §2.4, §2.14, §2.15)."""
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
        by_data_source=True,
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
        filter=("validation_type", _validation_type),
        content_type=JSON_UTF8,
        by_data_source=True,
    ),
    "subscription_events": ListSpec(
        "subscription_events",
        "subscription_events",
        newest_first_codec(created_at_ns, "id", int_id=True),
        ("subscription_events", "meta", "cursor", "has_more"),
        ("subscription_events", "has_more", "cursor"),
        by_data_source=True,
    ),
}
PLAN_GROUP_PLANS = ListSpec(
    "plans",
    "plans",
    _plans_codec,
    ("plans", "current_page", "total_pages", "has_more", "cursor"),
    ("plans", "cursor", "has_more"),
)


def _filter_params(spec: ListSpec) -> set[str]:
    params = {spec.filter[0]} if spec.filter else set()
    return params | ({"data_source_uuid"} if spec.by_data_source else set())


@dataclass(frozen=True)
class Route:
    """``/v1/<pattern>`` -> handler method; groups become leading arguments, query comes last."""

    pattern: re.Pattern[str]
    handler: str
    params: frozenset[str]


_METRIC_NAMES = "|".join(re.escape(m) for m in metrics_model.METRICS)
_ROUTES: tuple[Route, ...] = (
    Route(re.compile(r"account"), "get_account", frozenset({"include"})),
    Route(
        re.compile(r"data_sources"),
        "data_sources",
        frozenset(
            {
                "with_processing_status",
                "with_auto_churn_subscription_setting",
                "with_invoice_handling_setting",
            }
        ),
    ),
    Route(re.compile(r"customers/([^/]+)/subscriptions"), "customer_subscriptions", PAGING),
    Route(
        re.compile(r"activities"),
        "activities",
        PAGING | {"start-date", "end-date", "order"},
    ),
    Route(re.compile(r"plan_groups/([^/]+)/plans"), "plan_group_plans", PAGING),
    Route(
        re.compile(rf"metrics/({_METRIC_NAMES})"),
        "metrics",
        frozenset({"start-date", "end-date", "interval", "geo", "plans", "filters"}),
    ),
    *(
        Route(re.compile(rf"({re.escape(name)})"), "list_endpoint", PAGING | _filter_params(spec))
        for name, spec in LISTS.items()
    ),
)


class Api:
    """Answers ``/v1/...`` GETs from a :class:`FakeAccount`."""

    def __init__(self, account: FakeAccount) -> None:
        """Wrap ``account``; sort indexes are built lazily and rebuilt when it changes."""
        self.account = account

        def version() -> int:
            return account.version

        self.collections: dict[str, SortedCollection] = {
            name: SortedCollection(
                _getter(account, spec.attr), version, spec.codec.key, _journal(account, spec.attr)
            )
            for name, spec in LISTS.items()
        }
        self.activity_collection = SortedCollection(
            _getter(account, "activities"), version, activity_key, _journal(account, "activities")
        )

    def warm(self) -> None:
        """Build every sort index and the hot lookup indexes now instead of on first use."""
        for collection in self.collections.values():
            collection.view()
        self.collections["customers"].index("uuid")
        self.activity_collection.index("uuid")

    # -- lookups ---------------------------------------------------------------------------
    def customer(self, uuid: str) -> Record | None:
        """The customer with ``uuid``, from the server's index (``None`` if deleted)."""
        found = self.collections["customers"].index("uuid").get(uuid)
        return found.records[0] if found and found.records else None

    # -- routing ---------------------------------------------------------------------------
    def handle(self, path: str, query: dict[str, str]) -> Response:
        """Answer one GET; ``path`` includes the ``/v1`` prefix."""
        rest = path.strip("/")
        if not rest.startswith("v1/"):
            return Response(404, NOT_FOUND)
        rest = rest[3:].rstrip("/")
        for route in _ROUTES:
            match = route.pattern.fullmatch(rest)
            if match:
                unknown = sorted(set(query) - route.params)
                if unknown:
                    message = f"fake_chartmogul does not implement the {unknown[0]} parameter"
                    return error(400, message, unknown[0])
                try:
                    return getattr(self, route.handler)(*match.groups(), query)
                except BadRequestError as exc:
                    return error(400, exc.message, exc.param)
        return Response(404, NOT_FOUND)

    # -- simple resources ------------------------------------------------------------------
    def get_account(self, query: dict[str, str]) -> Response:
        """The account; settings only when ``include`` names them (docs/chartmogul-api.md §2.1)."""
        body = dict(self.account.account)
        for raw in (query.get("include") or "").split(","):
            name = raw.strip()
            if name in self.account.account_settings:
                body[name] = self.account.account_settings[name]
        return Response(200, body)

    def data_sources(self, query: dict[str, str]) -> Response:
        """Every data source at once, optional blocks on request (docs/chartmogul-api.md §2.3)."""
        out = [self._data_source_record(ds, query) for ds in self.account.data_sources]
        return Response(200, {"data_sources": out})

    def _data_source_record(self, ds: Record, query: dict[str, str]) -> Record:
        """Optional blocks appear only when their ``with_*=true`` flag is sent."""
        record = dict(ds)
        if query.get("with_processing_status") == "true":
            processed = len(
                self.collections["customers"]
                .index("data_source_uuid")
                .get(ds["uuid"], EMPTY_VIEW)
                .records
            )
            record["processing_status"] = {"processed": processed, "pending": 0, "failed": 0}
        if query.get("with_auto_churn_subscription_setting") == "true":
            record["auto_churn_subscription_setting"] = {"enabled": False, "interval": None}
        if query.get("with_invoice_handling_setting") == "true":
            handling = {
                "create_subscription_when_invoice_is": "open",
                "update_subscription_when_invoice_is": "open",
                "prevent_subscription_for_invoice_voided": True,
                "prevent_subscription_for_invoice_refunded": False,
                "prevent_subscription_for_invoice_written_off": True,
            }
            record["invoice_handling_setting"] = {"manual": handling, "automatic": dict(handling)}
        return record

    # -- generic cursor lists --------------------------------------------------------------
    def list_endpoint(self, name: str, query: dict[str, str]) -> Response:
        """One page of a cursor-paged list, filtered when the spec's filter is sent."""
        spec = LISTS[name]
        view = self.collections[spec.attr].view()
        keeps: list[Predicate] = []
        if spec.filter is not None and query.get(spec.filter[0]):
            value = spec.filter[1](query[spec.filter[0]])
            keeps += [value] if value is not None else []
        if spec.by_data_source and query.get("data_source_uuid"):
            keeps.append(self._of_data_source(name, query["data_source_uuid"]))
        keep = (
            keeps[0] if len(keeps) == 1 else (lambda r: all(k(r) for k in keeps)) if keeps else None
        )
        return self._paged(spec, Selection(view, keep), query)

    def _of_data_source(self, name: str, uuid: str) -> Predicate:
        """Records of data source ``uuid``: a customer's sources, an invoice's customer's."""
        if name == "customers":
            return lambda r: uuid in (r.get("data_source_uuids") or [r.get("data_source_uuid")])
        if name == "invoices":
            customers = self.collections["customers"].index("uuid")

            def of_source(r: Record) -> bool:
                found = customers.get(r.get("customer_uuid"))
                customer = found.records[0] if found and found.records else None
                return customer is not None and customer.get("data_source_uuid") == uuid

            return of_source
        return lambda r: r.get("data_source_uuid") == uuid

    def _paged(self, spec: ListSpec, selection: Selection, query: dict[str, str]) -> Response:
        request = PageRequest.from_query(query)
        after = spec.codec.decode(request.cursor) if request.cursor else None
        page = keyset_page(selection.view, after, request.per_page, selection.keep)
        return Response(200, _envelope(spec, page, selection, request), spec.content_type)

    def plan_group_plans(self, uuid: str, query: dict[str, str]) -> Response:
        """The plans of one group, paged like ``/plans`` (docs/chartmogul-api.md §2.13)."""
        group = self.collections["plan_groups"].index("uuid").get(uuid)
        if not group or not group.records:
            return Response(404, PLAN_GROUP_NOT_FOUND)
        records = self.account.plan_group_plans.get(uuid, [])
        selection = Selection(_small_view(records, PLAN_GROUP_PLANS.codec))
        return self._paged(PLAN_GROUP_PLANS, selection, query)

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

    # -- /activities -----------------------------------------------------------------------
    def activities(self, query: dict[str, str]) -> Response:
        """Ascending by date, ``order=-date`` flips (docs/chartmogul-api.md §2.7).

        The cursor is the bare uuid of the last entry, and ``null`` on the last page.
        """
        request = PageRequest.from_query(query)
        records = self.activity_collection.view().records
        indices = self._activity_indices(query, request.cursor)
        window = indices[: request.per_page + 1]
        has_more = len(window) > request.per_page
        entries = [records[i] for i in window[: request.per_page]]
        body: Record = {"entries": entries, "has_more": has_more}
        if request.first:
            body["per_page"] = request.per_page
        body["cursor"] = entries[-1]["uuid"] if has_more else None
        return Response(200, body, JSON_UTF8)

    def _activity_indices(self, query: dict[str, str], cursor: str | None) -> range:
        """Index range to walk, from the date bounds (bisect) and the cursor position."""
        order = query.get("order") or "date"
        if order not in {"date", "-date"}:
            raise invalid_param(param="order")
        keys = self.activity_collection.view().keys
        lo, hi = 0, len(keys)
        if query.get("start-date"):
            lo = bisect.bisect_left(
                keys, (_bound_ns(query["start-date"], "start-date", end_of_day=False),)
            )
        if query.get("end-date"):
            end_ns = _bound_ns(query["end-date"], "end-date", end_of_day=True)
            hi = bisect.bisect_left(keys, (end_ns + 1,))
        if cursor:
            key = self._activity_cursor_key(cursor)
            if order == "date":
                lo = max(lo, bisect.bisect_right(keys, key))
            else:
                hi = min(hi, bisect.bisect_left(keys, key))
        return range(lo, hi) if order == "date" else range(hi - 1, lo - 1, -1)

    def _activity_cursor_key(self, cursor: str) -> tuple[int, str]:
        found = self.activity_collection.index("uuid").get(activity_cursor(cursor))
        if found and found.records:
            return found.keys[0]
        removed = self.account.removed_activity_keys.get(cursor)
        if removed is None:
            raise invalid_cursor()
        return removed

    # -- metrics ---------------------------------------------------------------------------
    def metrics(self, name: str, query: dict[str, str]) -> Response:
        """Entries for the window plus a point-in-time summary (docs/chartmogul-api.md §2.16)."""
        start = _metric_date(query, "start-date")
        end = _metric_date(query, "end-date")
        segment = {k: query.get(k) or None for k in ("geo", "plans", "filters")}
        try:
            entries = self.account.metrics_entries(
                name, start, end, query.get("interval") or None, **segment
            )
            summary = self.account.summary(name, **segment)
        except metrics_model.MetricError as exc:
            return error(400, exc.message, exc.param)
        return Response(200, {"entries": entries, "summary": summary}, JSON_UTF8)


def _envelope(spec: ListSpec, page: Page, selection: Selection, request: PageRequest) -> Record:
    """Assemble root/cursor/has_more (+ legacy keys on first pages) in the spec's key order."""
    next_cursor = None
    if page.last is not None and (page.has_more or spec.final_cursor):
        next_cursor = spec.codec.encode(page.last)
    values: Record = {spec.root: page.records, "cursor": next_cursor, "has_more": page.has_more}
    keys = spec.first_keys if request.first else spec.later_keys
    if request.first and len(keys) > len(values):
        pages = total_pages(selection.count(), request.per_page)
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


def _getter(account: FakeAccount, attr: str) -> Callable[[], list[Record]]:
    return lambda: getattr(account, attr)


def _journal(account: FakeAccount, attr: str) -> Callable[[Stamp, Stamp], list[Record] | None]:
    """Records the account journaled into ``attr`` between two index snapshots."""
    return lambda old, new: account.added_since(attr, old, new)


def _small_view(records: list[Record], codec: CursorCodec) -> SortedView:
    """Sort a short per-parent list on the fly (a handful of records)."""
    decorated = sorted(((codec.key(r), r) for r in records), key=lambda t: t[0])
    return SortedView([t[0] for t in decorated], [t[1] for t in decorated])


def _bound_ns(text: str, param: str, *, end_of_day: bool) -> int:
    """Inclusive bound for /activities; a date-only end-date covers that whole day."""
    try:
        ns = to_ns(text)
    except ValueError:
        raise invalid_param(param) from None
    if end_of_day and len(text.strip()) == len("YYYY-MM-DD"):
        ns += 86_400 * 10**9 - 1
    return ns


def _metric_date(query: dict[str, str], param: str) -> date:
    raw = query.get(param)
    if not raw:
        raise missing_param(param)
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise invalid_param(param) from None
