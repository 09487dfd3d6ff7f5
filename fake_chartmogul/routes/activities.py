"""``/activities``: ascending by date, windows by date, bare-uuid cursors (§2.7)."""

from __future__ import annotations

import bisect

from fake_chartmogul.cursors import activity_cursor
from fake_chartmogul.errors import invalid_cursor, invalid_param
from fake_chartmogul.formats import to_ns
from fake_chartmogul.paging import PageRequest

from .base import JSON_UTF8, Endpoints, Record, Response


class ActivityRoutes(Endpoints):
    """The global activities listing."""

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


def _bound_ns(text: str, param: str, *, end_of_day: bool) -> int:
    """Inclusive bound for /activities; a date-only end-date covers that whole day."""
    try:
        ns = to_ns(text)
    except ValueError:
        raise invalid_param(param) from None
    if end_of_day and len(text.strip()) == len("YYYY-MM-DD"):
        ns += 86_400 * 10**9 - 1
    return ns
