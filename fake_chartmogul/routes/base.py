"""What every group of endpoints shares: the answer type, error bodies, the indexes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fake_chartmogul.account import FakeAccount
    from fake_chartmogul.paging import SortedCollection

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


class Endpoints:
    """The account and the server's sorted indexes of it, which every handler reads."""

    account: FakeAccount
    collections: dict[str, SortedCollection]
    activity_collection: SortedCollection
    notes_collection: SortedCollection

    def customer(self, uuid: str) -> Record | None:
        """The customer with ``uuid``, from the server's index (``None`` if deleted)."""
        found = self.collections["customers"].index("uuid").get(uuid)
        return found.records[0] if found and found.records else None
