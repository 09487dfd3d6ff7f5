"""ChartMogul's cursor pagination.

Every list endpoint answers ``{<root>: [...], "cursor": str | null, "has_more": bool}``
(first pages may add legacy ``current_page``/``total_pages``/``page``/``meta`` keys,
which are ignored). The last page often still carries a non-null cursor, so the
paginator stops on ``has_more == false`` and never follows that cursor: doing so
would cost a request for an empty page.
"""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import BaseAPIPaginator

from tap_chartmogul.payload import response_payload

if t.TYPE_CHECKING:
    import requests


class ChartMogulCursorPaginator(BaseAPIPaginator[str | None]):
    """Follow ``cursor`` while ``has_more`` is true."""

    def __init__(self) -> None:
        """Start on the first page (no cursor)."""
        super().__init__(None)

    def has_more(self, response: requests.Response) -> bool:
        """Trust only the ``has_more`` flag; a missing flag means a single page."""
        return response_payload(response).get("has_more") is True

    def get_next(self, response: requests.Response) -> str | None:
        """Return the cursor of the next page."""
        cursor = response_payload(response).get("cursor")
        return str(cursor) if cursor else None

    def continue_if_empty(self, response: requests.Response) -> bool:
        """Keep going past an empty page when the API says more follow.

        The SDK stops at the first empty page; ChartMogul never documents that a page
        can be empty while ``has_more`` is true, but if it happens, stopping would
        silently drop the rest. A repeated cursor still ends the loop (SDK check).
        """
        return self.has_more(response)
