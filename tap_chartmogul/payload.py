"""Parse a response body once and share it between the stream and the paginator.

The SDK's paginators and record parsing each call ``response.json()``, which parses
the body twice. The first parse (done while validating, inside the retry loop, so a
truncated body is retried) is stored on the response object and reused.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    import requests

_ATTRIBUTE = "_tap_chartmogul_payload"


def response_payload(response: requests.Response) -> dict[str, t.Any]:
    """Return the parsed JSON object of ``response`` (parsing it on first use).

    Raises:
        ValueError: the body is not JSON (the stream validates bodies before use,
            so this only happens outside a sync).
    """
    cached = response.__dict__.get(_ATTRIBUTE)
    if cached is None:
        cached = response.json()
        response.__dict__[_ATTRIBUTE] = cached
    return t.cast("dict[str, t.Any]", cached)


def store_payload(response: requests.Response, payload: object) -> None:
    """Remember an already-parsed body for ``response_payload``."""
    response.__dict__[_ATTRIBUTE] = payload
