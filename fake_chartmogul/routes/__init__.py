"""API semantics of the fake: path -> JSON answer, with ChartMogul's paging quirks.

Nothing here knows about sockets, auth or fault injection (see ``server/``); every handler
is a pure function of the account and the query, which keeps the quirks testable on their own.

Only the endpoints and query parameters that tap_chartmogul sends are served. Any other
parameter is refused with a 400 that names it: a tap change that starts sending a filter the
fake does not implement then fails loudly instead of silently reading unfiltered data.

``api.Api`` routes to three groups of handlers: ``lists`` (every cursor-paged list, plan
group plans, customer subscriptions), ``activities`` and ``metrics``; ``base`` holds what
they share.
"""

from __future__ import annotations

from .api import Api
from .base import JSON, JSON_UTF8, Response, error
from .lists import LISTS, PLAN_GROUP_PLANS, ListSpec

__all__ = ["JSON", "JSON_UTF8", "LISTS", "PLAN_GROUP_PLANS", "Api", "ListSpec", "Response", "error"]
