"""ChartMogul's cursor pagination, followed to the end and never in circles.

Every list endpoint answers ``{<root>: [...], "cursor": str | null, "has_more": bool}``;
first pages may add legacy keys (``current_page``, ``total_pages``, ``page``, and
``meta`` on subscription events), see docs/chartmogul-api.md §1.2. The last page often
still carries a non-null cursor, so the paginator stops on ``has_more == false`` and
never follows that cursor (it would cost a request for an empty page).

What a careless reader gets wrong, and this one refuses, each with one line:

- a cursor seen before in the same listing (A, B, A, ...): the server is looping, and
  following it would emit the same records for ever;
- ``has_more: true`` without a usable cursor: stopping would silently drop the rest;
- a page without ``has_more`` whose legacy keys say more pages exist
  (``meta.next_key``, ``total_pages`` beyond the current page; ChartMogul answered
  ``/v1/subscription_events`` that way in 2023): a reader that stops there reads one
  page of hundreds. The tap cannot follow that older paging scheme safely, so it stops
  with an error instead of a silent partial result.
"""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import BaseAPIPaginator

from tap_chartmogul.errors import PagingError
from tap_chartmogul.responses import ChartMogulResponse

if t.TYPE_CHECKING:
    import requests

#: Empty pages that each claim more may follow before the listing counts as broken.
MAX_EMPTY_PAGES_IN_A_ROW = 3


def _payload(response: requests.Response) -> dict[str, t.Any]:
    if isinstance(response, ChartMogulResponse):
        return response.payload
    return t.cast("dict[str, t.Any]", response.json())  # pragma: no cover - always parsed


def _legacy_more(payload: dict[str, t.Any]) -> str | None:
    """Describe what legacy keys say about further pages, or None if they say none."""
    meta = payload.get("meta")
    if isinstance(meta, dict):
        if meta.get("next_key") not in (None, ""):
            return "its meta.next_key names a next page"
        pages, page = meta.get("total_pages"), meta.get("page")
        if isinstance(pages, int) and isinstance(page, int) and pages > page:
            return f"its meta says page {page} of {pages}"
    pages = payload.get("total_pages")
    page = payload.get("current_page", payload.get("page"))
    if isinstance(pages, int) and isinstance(page, int) and pages > page:
        return f"it says page {page} of {pages}"
    return None


class ChartMogulCursorPaginator(BaseAPIPaginator[str | None]):
    """Follow ``cursor`` while ``has_more`` is true; refuse loops and silent truncation."""

    def __init__(self, endpoint: str, records_key: str = "entries") -> None:
        """Start on the first page (no cursor); ``endpoint`` names the listing in errors."""
        super().__init__(None)
        self.endpoint = endpoint
        self.records_key = records_key
        self._seen: set[str] = set()
        self._empty_in_a_row = 0

    def has_more(self, response: requests.Response) -> bool:
        """Read ``has_more``; without it, legacy keys that promise more pages are an error."""
        payload = _payload(response)
        flag = payload.get("has_more")
        if isinstance(flag, bool):
            return flag
        if flag is not None:
            msg = (
                f"ChartMogul's response for {self.endpoint} has has_more={flag!r}, neither "
                "true nor false: cannot tell whether more pages follow"
            )
            raise PagingError(msg)
        legacy = _legacy_more(payload)
        if legacy:
            msg = (
                f"ChartMogul's response for {self.endpoint} has no has_more flag, but {legacy} "
                f"(after {self.count + 1} page(s)) in an older paging scheme the tap cannot "
                "follow; stopping rather than syncing part of the data"
            )
            raise PagingError(msg)
        return False

    def get_next(self, response: requests.Response) -> str | None:
        """The cursor of the next page; an error if it is missing or was seen before."""
        cursor = _payload(response).get("cursor")
        if isinstance(cursor, int) and not isinstance(cursor, bool):
            cursor = str(cursor)
        if not isinstance(cursor, str) or not cursor:
            msg = (
                f"ChartMogul's response for {self.endpoint} says more pages follow "
                f"(has_more: true) but gives no usable cursor after {self.count} page(s); "
                "stopping rather than syncing part of the data"
            )
            raise PagingError(msg)
        if cursor in self._seen or cursor == self.current_value:
            msg = (
                f"ChartMogul's paging of {self.endpoint} is looping: a cursor came back after "
                f"{self.count} page(s); stopping rather than emitting the same records again"
            )
            raise PagingError(msg)
        self._seen.add(cursor)
        return cursor

    def continue_if_empty(self, response: requests.Response) -> bool:
        """Let ``advance`` decide after an empty page, too.

        The SDK stops at the first empty page (and logs a line for it: one per customer
        without subscriptions). ChartMogul never documents that a page can be empty while
        ``has_more`` is true, but if it happens, stopping would silently drop the rest;
        and when ``has_more`` is false, ``advance`` finishes the listing quietly. A run of
        empty pages that all claim more is a broken server, not data: it ends with an error.
        """
        self._empty_in_a_row += 1
        if self._empty_in_a_row > MAX_EMPTY_PAGES_IN_A_ROW and self.has_more(response):
            msg = (
                f"ChartMogul's response for {self.endpoint} was empty {self._empty_in_a_row} "
                "times in a row while saying more pages follow; stopping"
            )
            raise PagingError(msg)
        return True

    def advance(self, response: requests.Response) -> None:
        """Move to the next page (a page with records resets the empty-page count)."""
        if response is not None and _payload(response).get(self.records_key):
            self._empty_in_a_row = 0
        super().advance(response)
