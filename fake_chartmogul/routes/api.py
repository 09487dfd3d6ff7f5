"""The router: ``/v1/<path>`` to its handler, unknown parameters refused by name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fake_chartmogul import imports
from fake_chartmogul import metrics as metrics_model
from fake_chartmogul import notes as notes_model
from fake_chartmogul.errors import BadRequestError
from fake_chartmogul.journal import activity_key
from fake_chartmogul.paging import EMPTY_VIEW, SortedCollection, Stamp

from .activities import ActivityRoutes
from .base import NOT_FOUND, PAGING, Record, Response, error
from .lists import LISTS, NOTES, ListRoutes, filter_params
from .metrics import MetricRoutes

if TYPE_CHECKING:
    from collections.abc import Callable

    from fake_chartmogul.account import FakeAccount


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
    Route(re.compile(r"notes"), "notes", PAGING),
    Route(
        re.compile(rf"metrics/({_METRIC_NAMES})"),
        "metrics",
        frozenset({"start-date", "end-date", "interval", "geo", "plans", "filters"}),
    ),
    *(
        Route(
            re.compile(rf"({re.escape(name)})"), "list_endpoint", PAGING | filter_params(name, spec)
        )
        for name, spec in LISTS.items()
    ),
)


class Api(ListRoutes, ActivityRoutes, MetricRoutes):
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
        self.notes_collection = SortedCollection(
            lambda: notes_model.notes_of(account), version, NOTES.codec.key
        )

    def warm(self) -> None:
        """Build every index and the metrics now instead of on a client's first request.

        A 100,000-customer account takes a second or two to index its customers by data
        source or to sum its activities into metrics; done during a request, that stalls
        every other request thread (the GIL), which then arrive at once and trip the rate
        limit's window though the client paced them.
        """
        for name, spec in LISTS.items():
            collection = self.collections[name]
            collection.view()
            for list_filter in spec.filters:
                collection.index(list_filter.index)
        self.collections["customers"].index("uuid")
        self.collections["plan_groups"].index("uuid")
        self.activity_collection.index("uuid")
        self.account.metrics.series(metrics_model.Segment())

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
                handler: Callable[..., Response] = getattr(self, route.handler)
                try:
                    return handler(*match.groups(), query)
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
            record["processing_status"] = imports.processing_status(
                self.account, ds["uuid"], processed
            )
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


def _getter(account: FakeAccount, attr: str) -> Callable[[], list[Record]]:
    return lambda: getattr(account, attr)


def _journal(account: FakeAccount, attr: str) -> Callable[[Stamp, Stamp], list[Record] | None]:
    """Records the account journaled into ``attr`` between two index snapshots."""
    return lambda old, new: account.added_since(attr, old, new)
