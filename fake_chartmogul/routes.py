"""API semantics of the fake: path -> JSON answer, with ChartMogul's paging quirks.

Nothing here knows about sockets, auth or fault injection (see ``server.py``); every handler
is a pure function of the account and the query, which keeps the quirks testable on their own.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import metrics as metrics_model
from .data import ACTIVITY_TYPES, FakeAccount, activity_key
from .formats import b64decode, b64encode, to_ns
from .paging import (
    EMPTY_VIEW,
    BadRequestError,
    CursorCodec,
    Page,
    PageRequest,
    Selection,
    SortedCollection,
    SortedView,
    all_of,
    created_at_ns,
    customer_codec,
    invalid_cursor,
    invalid_param,
    keyset_page,
    missing_param,
    newest_first_codec,
    parse_per_page,
    total_pages,
    uuid_ns,
)

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
JSON = "application/json"
JSON_UTF8 = "application/json; charset=utf-8"
NOT_FOUND = {"error": "Not found"}
CUSTOMER_NOT_FOUND = {"code": 404, "message": "Customer not found", "param": "customer_uuid"}
_SUBS_CURSOR = re.compile(r"subscriptions_next_page=([1-9][0-9]{0,8})")
_UUIDISH = re.compile(r"[0-9a-fA-F-]{8,64}")
AS_OF_TEXT = "2026-01-01T00:00:00.000Z"


@dataclass
class Response:
    """What to send: ``payload`` is JSON-serialised by the server unless it is ``bytes``."""

    status: int
    payload: Any
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, message: str, param: str | None) -> Response:
    return Response(status, {"code": status, "message": message, "param": param})


# -- filters ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Eq:
    """``record[field] == value``; served from an equality index when it is the first one."""

    field: str

    def predicate(self, value: str, api: Api) -> Predicate:
        name = self.field
        return lambda r: r.get(name) == value


@dataclass(frozen=True)
class Contains:
    """``value in record[field]`` for list fields (customer ``external_ids`` etc.)."""

    field: str

    def predicate(self, value: str, api: Api) -> Predicate:
        name = self.field
        return lambda r: value in (r.get(name) or ())


@dataclass(frozen=True)
class Custom:
    """Anything else: ``build(value, api)`` returns the predicate (may raise BadRequestError)."""

    build: Callable[[str, Api], Predicate]

    def predicate(self, value: str, api: Api) -> Predicate:
        return self.build(value, api)


Filter = Eq | Contains | Custom


def _bool_param(name: str, field_name: str) -> Custom:
    def build(value: str, api: Api) -> Predicate:
        if value.lower() not in {"true", "false"}:
            raise invalid_param(name)
        wanted = value.lower() == "true"
        return lambda r: (r.get(field_name) is not None) == wanted

    return Custom(build)


def _date_bound(name: str, field_name: str, after: bool) -> Custom:
    """Inclusive date bound on a datetime or ``YYYY-MM-DD`` field."""

    def build(value: str, api: Api) -> Predicate:
        try:
            bound = date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            raise invalid_param(name) from None
        if after:
            return lambda r: r.get(field_name) is not None and r[field_name][:10] >= bound
        return lambda r: r.get(field_name) is not None and r[field_name][:10] <= bound

    return Custom(build)


def _customer_field(field_name: str) -> Custom:
    """Filter a record by a field of its customer (invoices carry only ``customer_uuid``)."""

    def build(value: str, api: Api) -> Predicate:
        def keep(r: Record) -> bool:
            customer = api.customer(r.get("customer_uuid", ""))
            return customer is not None and customer.get(field_name) == value

        return keep

    return Custom(build)


def _events_of_customer(value: str, api: Api) -> Predicate:
    customer = api.customer(value)
    if customer is None:
        return lambda r: False
    ext_ids, ds_ids = set(customer["external_ids"]), set(customer["data_source_uuids"])
    return lambda r: r["customer_external_id"] in ext_ids and r["data_source_uuid"] in ds_ids


def _plans_of_system(value: str, api: Api) -> Predicate:
    ds_ids = {d["uuid"] for d in api.account.data_sources if d.get("system") == value}
    return lambda r: r["data_source_uuid"] in ds_ids


def _validation_type(value: str, api: Api) -> Predicate:
    if value not in {"valid", "invalid", "all"}:
        raise invalid_param(param="validation_type")
    if value == "invalid":
        return lambda r: bool(r.get("errors"))
    if value == "valid":
        return lambda r: not r.get("errors")
    return lambda r: True


# -- list endpoint table ---------------------------------------------------------------------
@dataclass(frozen=True)
class ListSpec:
    """How one paginated endpoint looks on the wire."""

    attr: str
    root: str
    codec: CursorCodec
    first_keys: tuple[str, ...]
    later_keys: tuple[str, ...]
    final_cursor: bool = False
    filters: dict[str, Filter] = field(default_factory=dict)
    content_type: str = JSON


_plans_codec = newest_first_codec(uuid_ns(), "uuid")
_notes_like_codec = newest_first_codec(created_at_ns, "uuid")

LISTS: dict[str, ListSpec] = {
    "customers": ListSpec(
        "customers",
        "entries",
        customer_codec(),
        ("entries", "current_page", "total_pages", "has_more", "per_page", "page", "cursor"),
        ("entries", "has_more", "cursor"),
        final_cursor=True,
        filters={
            "data_source_uuid": Contains("data_source_uuids"),
            "external_id": Contains("external_ids"),
            "status": Custom(lambda v, api: lambda r: r["status"] == v.replace("_", " ")),
            "system": Eq("billing-system-type"),
        },
        content_type=JSON_UTF8,
    ),
    "contacts": ListSpec(
        "contacts",
        "entries",
        newest_first_codec(uuid_ns(), "uuid"),
        ("entries", "cursor", "has_more"),
        ("entries", "cursor", "has_more"),
        final_cursor=True,
        filters={
            "customer_uuid": Eq("customer_uuid"),
            "data_source_uuid": Eq("data_source_uuid"),
            "email": Eq("email"),
            "customer_external_id": Eq("customer_external_id"),
        },
    ),
    "customer_notes": ListSpec(
        "customer_notes",
        "entries",
        _notes_like_codec,
        ("entries", "cursor", "has_more"),
        ("entries", "has_more", "cursor"),
        final_cursor=True,
        filters={
            "customer_uuid": Eq("customer_uuid"),
            "type": Eq("type"),
            "author_email": Custom(lambda v, api: lambda r: f"({v})" in r["author"]),
        },
    ),
    "tasks": ListSpec(
        "tasks",
        "entries",
        newest_first_codec(created_at_ns, "task_uuid"),
        ("entries", "cursor", "has_more"),
        ("entries", "cursor", "has_more"),
        final_cursor=True,
        filters={
            "customer_uuid": Eq("customer_uuid"),
            "assignee": Eq("assignee"),
            "completed": _bool_param("completed", "completed_at"),
            "due_date_on_or_after": _date_bound("due_date_on_or_after", "due_date", True),
            "due_date_on_or_before": _date_bound("due_date_on_or_before", "due_date", False),
        },
    ),
    "opportunities": ListSpec(
        "opportunities",
        "entries",
        _notes_like_codec,
        ("entries", "has_more", "cursor"),
        ("entries", "has_more", "cursor"),
        final_cursor=True,
        filters={
            "customer_uuid": Eq("customer_uuid"),
            "owner": Eq("owner"),
            "pipeline": Eq("pipeline"),
            "pipeline_stage": Eq("pipeline_stage"),
            "estimated_close_date_on_or_after": _date_bound(
                "estimated_close_date_on_or_after", "estimated_close_date", True
            ),
            "estimated_close_date_on_or_before": _date_bound(
                "estimated_close_date_on_or_before", "estimated_close_date", False
            ),
        },
    ),
    "plans": ListSpec(
        "plans",
        "plans",
        _plans_codec,
        ("plans", "current_page", "total_pages", "cursor", "has_more"),
        ("plans", "cursor", "has_more"),
        filters={
            "data_source_uuid": Eq("data_source_uuid"),
            "external_id": Eq("external_id"),
            "system": Custom(_plans_of_system),
        },
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
        filters={
            "customer_uuid": Eq("customer_uuid"),
            "external_id": Eq("external_id"),
            "data_source_uuid": _customer_field("data_source_uuid"),
            "validation_type": Custom(_validation_type),
        },
        content_type=JSON_UTF8,
    ),
    "subscription_events": ListSpec(
        "subscription_events",
        "subscription_events",
        newest_first_codec(created_at_ns, "id", int_id=True),
        ("subscription_events", "meta", "cursor", "has_more"),
        ("subscription_events", "has_more", "cursor"),
        filters={
            name: Eq(name)
            for name in (
                "data_source_uuid",
                "customer_external_id",
                "subscription_external_id",
                "plan_external_id",
                "external_id",
                "event_type",
                "event_date",
                "effective_date",
            )
        }
        | {"customer_uuid": Custom(_events_of_customer)},
    ),
}
PLAN_GROUP_PLANS = ListSpec(
    "plans",
    "plans",
    _plans_codec,
    ("plans", "current_page", "total_pages", "has_more", "cursor"),
    ("plans", "cursor", "has_more"),
)
SINGLE_NOT_FOUND = {
    "contacts": "Contact not found",
    "customer_notes": "Customer note not found",
    "tasks": "Task not found",
    "opportunities": "Opportunity not found",
    "plans": "Plan not found",
    "plan_groups": "Plan group not found",
    "invoices": "Invoice not found",
}
_CUSTOMER_ACTIVITY_CODEC = newest_first_codec(lambda r: to_ns(r["date"]), "id", int_id=True)


_METRIC_NAMES = "|".join(re.escape(m) for m in metrics_model.METRICS)
_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), handler)
    for pattern, handler in (
        (r"ping", "ping"),
        (r"account", "get_account"),
        (r"data_sources", "data_sources"),
        (r"data_sources/([^/]+)", "data_source"),
        (r"customers/search", "customer_search"),
        (r"customers/([^/]+)", "get_customer"),
        (r"customers/([^/]+)/subscriptions", "customer_subscriptions"),
        (r"customers/([^/]+)/activities", "customer_activities"),
        (r"activities", "activities"),
        (r"plan_groups/([^/]+)/plans", "plan_group_plans"),
        (rf"metrics/({_METRIC_NAMES})", "metrics"),
        (rf"({'|'.join(LISTS)})", "list_endpoint"),
        (rf"({'|'.join(SINGLE_NOT_FOUND)})/([^/]+)", "single"),
    )
)
"""``/v1/<pattern>`` -> handler method; groups become leading arguments, query comes last."""


class Api:
    """Answers ``/v1/...`` GETs from a :class:`FakeAccount`."""

    def __init__(self, account: FakeAccount) -> None:
        self.account = account

        def version() -> int:
            return account.version

        self.collections: dict[str, SortedCollection] = {
            name: SortedCollection(_getter(account, spec.attr), version, spec.codec.key)
            for name, spec in LISTS.items()
        }
        self.activity_collection = SortedCollection(
            _getter(account, "activities"), version, activity_key
        )

    def warm(self) -> None:
        """Build every sort index and the hot lookup indexes now instead of on first use."""
        for collection in self.collections.values():
            collection.view()
        self.collections["customers"].index("uuid")
        self.activity_collection.index("uuid")
        self.activity_collection.index("customer-uuid")

    # -- lookups ---------------------------------------------------------------------------
    def customer(self, uuid: str) -> Record | None:
        found = self.collections["customers"].index("uuid").get(uuid)
        return found.records[0] if found and found.records else None

    # -- routing ---------------------------------------------------------------------------
    def handle(self, path: str, query: dict[str, str]) -> Response:
        """Answer one GET; ``path`` includes the ``/v1`` prefix."""
        rest = path.strip("/")
        if not rest.startswith("v1/"):
            return Response(404, NOT_FOUND)
        rest = rest[3:].rstrip("/")
        for pattern, name in _ROUTES:
            match = pattern.fullmatch(rest)
            if match:
                try:
                    return getattr(self, name)(*match.groups(), query)
                except BadRequestError as exc:
                    return error(400, exc.message, exc.param)
        return Response(404, NOT_FOUND)

    # -- simple resources ------------------------------------------------------------------
    @staticmethod
    def ping(query: dict[str, str]) -> Response:
        return Response(200, {"data": "pong!"})

    def get_account(self, query: dict[str, str]) -> Response:
        body = dict(self.account.account)
        for raw in (query.get("include") or "").split(","):
            name = raw.strip()
            if name in self.account.account_settings:
                body[name] = self.account.account_settings[name]
        return Response(200, body)

    def data_sources(self, query: dict[str, str]) -> Response:
        out = []
        for ds in self.account.data_sources:
            if query.get("name") and ds["name"] != query["name"]:
                continue
            if query.get("system") and ds.get("system") != query["system"]:
                continue
            out.append(self._data_source_record(ds, query))
        return Response(200, {"data_sources": out})

    def data_source(self, uuid: str, query: dict[str, str]) -> Response:
        for ds in self.account.data_sources:
            if ds["uuid"] == uuid:
                return Response(200, self._data_source_record(ds, query))
        return Response(404, {"error": "Data source not found"})

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

    def get_customer(self, uuid: str, query: dict[str, str]) -> Response:
        customer = self.customer(uuid)
        if customer is None:
            return Response(404, CUSTOMER_NOT_FOUND)
        body = {**customer, "website_url": customer.get("website_url")}
        return Response(200, body, JSON_UTF8)

    def single(self, name: str, uuid: str, query: dict[str, str]) -> Response:
        spec = LISTS[name]
        id_field = "task_uuid" if name == "tasks" else "uuid"
        found = self.collections[name].index(id_field).get(uuid)
        if not found or not found.records:
            return Response(404, {"error": SINGLE_NOT_FOUND[name]})
        return Response(200, found.records[0], spec.content_type)

    # -- generic cursor lists --------------------------------------------------------------
    def _select(self, spec: ListSpec, query: dict[str, str]) -> Selection:
        """Use an equality index for the first ``Eq`` filter; the rest become a predicate."""
        collection = self.collections[spec.attr]
        view: SortedView | None = None
        predicates: list[Predicate] = []
        for param, flt in spec.filters.items():
            value = query.get(param)
            if value is None or value == "":
                continue
            if isinstance(flt, Eq) and view is None:
                view = collection.index(flt.field).get(value, EMPTY_VIEW)
            else:
                predicates.append(flt.predicate(value, self))
        return Selection(view if view is not None else collection.view(), all_of(predicates))

    def list_endpoint(self, name: str, query: dict[str, str]) -> Response:
        spec = LISTS[name]
        return self._paged(spec, self._select(spec, query), query)

    def _paged(self, spec: ListSpec, selection: Selection, query: dict[str, str]) -> Response:
        request = PageRequest.from_query(query)
        after = spec.codec.decode(request.cursor) if request.cursor else None
        page = keyset_page(selection.view, after, request.per_page, selection.keep)
        return Response(200, _envelope(spec, page, selection, request), spec.content_type)

    def customer_search(self, query: dict[str, str]) -> Response:
        email = query.get("email")
        if not email:
            raise missing_param(param="email")
        wanted = email.lower()
        selection = Selection(
            self.collections["customers"].view(), lambda r: r["email"].lower() == wanted
        )
        if selection.count() == 0:
            return error(404, f'Can\'t find any customers with email: "{email}"', "email")
        return self._paged(LISTS["customers"], selection, query)

    def plan_group_plans(self, uuid: str, query: dict[str, str]) -> Response:
        group = self.collections["plan_groups"].index("uuid").get(uuid)
        if not group or not group.records:
            return Response(404, {"error": SINGLE_NOT_FOUND["plan_groups"]})
        records = self.account.plan_group_plans.get(uuid, [])
        selection = Selection(_small_view(records, PLAN_GROUP_PLANS.codec))
        return self._paged(PLAN_GROUP_PLANS, selection, query)

    # -- customer children -----------------------------------------------------------------
    def customer_subscriptions(self, uuid: str, query: dict[str, str]) -> Response:
        """Page-numbered underneath: cursor = base64("subscriptions_next_page=N")."""
        if self.customer(uuid) is None:
            return Response(404, CUSTOMER_NOT_FOUND)
        request = PageRequest.from_query(query)
        number = _subscription_page(request.cursor) if request.cursor else 1
        per_page = request.per_page
        subs = self.account.customer_subscriptions.get(uuid, [])
        entries = subs[(number - 1) * per_page : number * per_page]
        has_more = number * per_page < len(subs)
        next_cursor = b64encode(f"subscriptions_next_page={number + 1}")
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

    def customer_activities(self, uuid: str, query: dict[str, str]) -> Response:
        """Newest ``date`` first; keyset cursor on (date, id); null cursor on the last page."""
        if self.customer(uuid) is None:
            return Response(404, CUSTOMER_NOT_FOUND)
        own = self.activity_collection.index("customer-uuid").get(uuid, EMPTY_VIEW).records
        view = _small_view(
            [self.account.customer_activity(a) for a in own], _CUSTOMER_ACTIVITY_CODEC
        )
        request = PageRequest.from_query(query)
        after = _CUSTOMER_ACTIVITY_CODEC.decode(request.cursor) if request.cursor else None
        page = keyset_page(view, after, request.per_page)
        next_cursor = _CUSTOMER_ACTIVITY_CODEC.encode(page.last) if page.has_more else None
        body: Record = {"entries": page.records, "has_more": page.has_more}
        if request.first:
            body |= {"per_page": request.per_page, "page": 1}
        body["cursor"] = next_cursor
        return Response(200, body)

    # -- /activities -----------------------------------------------------------------------
    def activities(self, query: dict[str, str]) -> Response:
        """Ascending by date (``order=-date`` flips); cursor = uuid of the last entry."""
        request = PageRequest(
            parse_per_page(query), query.get("cursor") or query.get("start-after") or None
        )
        kind = query.get("type") or None
        if kind is not None and kind not in ACTIVITY_TYPES:
            raise invalid_param(param="type")
        records = self.activity_collection.view().records
        out: list[Record] = []
        for i in self._activity_indices(query, request.cursor):
            r = records[i]
            if kind is None or r["type"] == kind:
                out.append(r)
                if len(out) > request.per_page:
                    break
        has_more = len(out) > request.per_page
        entries = out[: request.per_page]
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
            lo = bisect.bisect_left(keys, (_bound_ns(query["start-date"], "start-date", False),))
        if query.get("end-date"):
            end_ns = _bound_ns(query["end-date"], "end-date", True)
            hi = bisect.bisect_left(keys, (end_ns + 1,))
        if cursor:
            key = self._activity_cursor_key(cursor)
            if order == "date":
                lo = max(lo, bisect.bisect_right(keys, key))
            else:
                hi = min(hi, bisect.bisect_left(keys, key))
        return range(lo, hi) if order == "date" else range(hi - 1, lo - 1, -1)

    def _activity_cursor_key(self, cursor: str) -> tuple[int, str]:
        if not _UUIDISH.fullmatch(cursor):
            raise invalid_cursor()
        found = self.activity_collection.index("uuid").get(cursor)
        if found and found.records:
            return found.keys[0]
        removed = self.account.removed_activity_keys.get(cursor)
        if removed is None:
            raise invalid_cursor()
        return removed

    # -- metrics ---------------------------------------------------------------------------
    def metrics(self, name: str, query: dict[str, str]) -> Response:
        start = _metric_date(query, "start-date")
        end = _metric_date(query, "end-date")
        scale = metrics_model.filter_scale(
            query.get("geo"), query.get("plans"), query.get("filters")
        )
        try:
            entries = self.account.metrics_entries(
                name, start, end, query.get("interval") or None, scale=scale
            )
        except metrics_model.MetricError as exc:
            return error(400, exc.message, exc.param)
        summary = self.account.summary(name, scale=scale)
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


def _subscription_page(cursor: str) -> int:
    try:
        match = _SUBS_CURSOR.fullmatch(b64decode(cursor))
    except ValueError:
        match = None
    if match is None:
        raise invalid_cursor()
    return int(match.group(1))


def _getter(account: FakeAccount, attr: str) -> Callable[[], list[Record]]:
    return lambda: getattr(account, attr)


def _small_view(records: list[Record], codec: CursorCodec) -> SortedView:
    """Sort a short per-parent list on the fly (a handful of records)."""
    decorated = sorted(((codec.key(r), r) for r in records), key=lambda t: t[0])
    return SortedView([t[0] for t in decorated], [t[1] for t in decorated])


def _bound_ns(text: str, param: str, end_of_day: bool) -> int:
    """Inclusive bound for /activities; a date-only end-date covers that whole day."""
    try:
        ns = to_ns(text)
    except ValueError:
        raise invalid_param(param) from None
    if end_of_day and len(text.strip()) == 10:
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
