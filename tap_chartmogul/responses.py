"""What a ChartMogul response means: success, retry, or a clear error; and its parsed body.

``check_status`` sorts a response by status before its body is used; ``parse_body``
turns a successful body into a ``ChartMogulResponse`` that carries the parsed JSON, so
the records and the paginator read one parse. Both run inside the retry loop: a
truncated JSON body (a dropped connection) is retried like a 5xx, while a body that is
complete but unusable stops the run with an explanation.

Error bodies come in several shapes (``{"code","message","param"}``, ``{"error": ...}``,
``{"errors": {...}}``, plain text); whatever the server wrote is untrusted: it is
squashed to one short line with e-mail addresses and secrets removed.
"""

from __future__ import annotations

import re
import typing as t
from http import HTTPStatus
from urllib.parse import urlsplit

import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_chartmogul.errors import (
    ChartMogulAPIError,
    ChartMogulAuthError,
    ConnectionSetupError,
    NotFoundError,
    one_line,
)
from tap_chartmogul.redaction import redact

_DECODER = msgspec.json.Decoder()
#: Where msgspec says the body went wrong: ``invalid number (byte 13272)``.
_AT_BYTE = re.compile(r"\(byte (\d+)\)$")
#: msgspec's own words for a body that ends early (``parse_body`` retries on "truncated").
_TRUNCATED = "Input data was truncated"


class ChartMogulResponse(requests.Response):
    """A response whose JSON object body was parsed once, inside the retry loop."""

    payload: dict[str, t.Any]

    @classmethod
    def parsed(cls, response: requests.Response, payload: dict[str, t.Any]) -> ChartMogulResponse:
        """Carry ``response`` over (status, headers, body) with its parsed ``payload``."""
        parsed = cls()
        vars(parsed).update(vars(response))  # the body was read already: nothing is re-read
        parsed.payload = payload
        return parsed


def endpoint_of(response: requests.Response, fallback: str = "") -> str:
    """The request's path without its query string (which may hold customer data)."""
    request_path = response.request.path_url if response.request else None
    return (request_path or fallback).split("?", 1)[0]


def decode_json(body: bytes) -> t.Any:
    """Parse strict JSON: no NaN/Infinity, bounded nesting, numbers that fit.

    Raises:
        ValueError: the body is not strict JSON; the message says why in a few words.
    """
    try:
        return _DECODER.decode(body)
    except RecursionError:
        msg = "JSON nested too deeply"
        raise ValueError(msg) from None
    except msgspec.MsgspecError as error:
        reason = str(error).replace("JSON is malformed: ", "")
        at = _AT_BYTE.search(reason)
        if at is not None and int(at.group(1)) >= len(body):
            # A body cut inside a number (``{"mrr": 12.``) is "malformed" to msgspec, but
            # it is wrong only where it ends: a dropped connection, retried like any other.
            reason = _TRUNCATED
        raise ValueError(reason) from None


def api_message(response: requests.Response) -> str:
    """ChartMogul's own explanation in an error body of any known shape, as one line."""
    try:
        body = decode_json(response.content)
    except ValueError:
        text = response.content.decode("utf-8", errors="replace")
        return one_line(redact(text)) if text.strip() else "empty body"
    if isinstance(body, dict):
        for key in ("message", "error"):
            if isinstance(body.get(key), str):
                return one_line(redact(body[key]))
        if isinstance(body.get("errors"), dict):
            joined = "; ".join(f"{k}: {v}" for k, v in body["errors"].items())
            return one_line(redact(joined))
    return one_line(redact(msgspec.json.encode(body).decode()))


def api_param(response: requests.Response) -> str | None:
    """The ``param`` ChartMogul blames in a ``{"code","message","param"}`` error body."""
    try:
        body = decode_json(response.content)
    except ValueError:
        return None
    param = body.get("param") if isinstance(body, dict) else None
    return param if isinstance(param, str) else None


def describe(response: requests.Response, endpoint: str) -> str:
    """``ChartMogul answered HTTP <status> for <endpoint>: <message>``."""
    return (
        f"ChartMogul answered HTTP {response.status_code} for {endpoint}: {api_message(response)}"
    )


def check_status(response: requests.Response, endpoint: str) -> None:
    """Raise the error a non-success status means; return for 2xx.

    Raises:
        ChartMogulAuthError: 401/403, the key is refused; retrying cannot help.
        RetriableAPIError: 429 and 5xx (incl. Cloudflare's 520/524).
        NotFoundError: 404 (a fan-out skips a parent that vanished mid-run).
        ConnectionSetupError: a redirect; ChartMogul's API never redirects, so
            ``api_url`` points somewhere else (the key is not sent onwards).
        ChartMogulAPIError: any other status.
    """
    status = response.status_code
    if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
        return
    if status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
        hint = (
            "check api_key"
            if status == HTTPStatus.UNAUTHORIZED
            else "check api_key and that the account is active (an expired trial answers 403)"
        )
        msg = (
            f"ChartMogul rejected the API key (HTTP {status}: {api_message(response)}) "
            f"on {endpoint}: {hint}"
        )
        raise ChartMogulAuthError(msg, status=status)
    if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise RetriableAPIError(describe(response, endpoint), response)
    if status == HTTPStatus.NOT_FOUND:
        raise NotFoundError(describe(response, endpoint), status=status, param=api_param(response))
    if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
        try:
            host = urlsplit(response.headers.get("Location", "")).hostname
        except ValueError:  # a malformed Location: say nothing about where it pointed
            host = None
        target = f" to {one_line(host, 60)}" if host else ""
        msg = (
            f"{endpoint} answered HTTP {status}, a redirect{target}: ChartMogul's API does not "
            "redirect, so check api_url (the tap does not follow redirects with your key)"
        )
        raise ConnectionSetupError(redact(msg))
    raise ChartMogulAPIError(describe(response, endpoint), status=status, param=api_param(response))


def parse_body(response: requests.Response, endpoint: str) -> ChartMogulResponse:
    """Parse a successful response's body into a ``ChartMogulResponse``.

    Raises:
        RetriableAPIError: a JSON body that ends early (a dropped connection).
        ChartMogulAPIError: a body that is not a JSON object (a proxy's login page, a
            wrong ``api_url``, malformed JSON).
    """
    content_type = response.headers.get("Content-Type", "")
    try:
        payload = decode_json(response.content)
    except ValueError as error:
        reason = str(error)
        if "json" in content_type.lower() and "truncated" in reason:
            msg = f"ChartMogul sent an incomplete JSON body for {endpoint}"
            raise RetriableAPIError(msg, response) from None
        if "json" in content_type.lower():
            msg = f"ChartMogul sent malformed JSON for {endpoint} ({one_line(reason, 80)})"
            raise ChartMogulAPIError(msg, status=response.status_code) from None
        text = response.content.decode("utf-8", errors="replace")
        msg = (
            f"Expected JSON from {endpoint} but got HTTP {response.status_code} with "
            f"Content-Type {one_line(content_type, 60) or 'unset'!r} "
            f"({one_line(redact(text), 60) or 'empty body'}): "
            "check that api_url points at the ChartMogul API, not a proxy or web page"
        )
        raise ChartMogulAPIError(msg, status=response.status_code) from None
    if not isinstance(payload, dict):
        msg = f"Expected a JSON object from {endpoint}, got {_kind(payload)}"
        raise ChartMogulAPIError(msg, status=response.status_code)
    return ChartMogulResponse.parsed(response, payload)


def parsing(request: t.Callable[..., requests.Response]) -> t.Callable[..., ChartMogulResponse]:
    """``request`` whose response is parsed (``parse_body``) before it is returned.

    A context may carry ``on_page``: it is called with every parsed page's body.
    """

    def parsed(prepared: requests.PreparedRequest, context: t.Any) -> ChartMogulResponse:
        answer = request(prepared, context)
        response = parse_body(answer, endpoint_of(answer, ""))
        on_page = context.get("on_page") if isinstance(context, dict) else None
        if on_page is not None:
            on_page(response.payload)  # a split reader watching its chain (``split``)
        return response

    return parsed


def records_in(
    payload: dict[str, t.Any], records_key: str | None, endpoint: str
) -> list[dict[str, t.Any]]:
    """The records of a parsed body: the list under ``records_key`` (or the body itself).

    Raises:
        ChartMogulAPIError: no such list, or something else than objects in it.
    """
    if records_key is None:
        return [payload]
    records = payload.get(records_key)
    if not isinstance(records, list):
        found = "no" if records is None else f"{_kind(records)} as its"
        keys = ", ".join(sorted(payload)[:10]) or "none"
        msg = (
            f"ChartMogul's response for {endpoint} has {found} {records_key!r} list (keys: {keys})"
        )
        raise ChartMogulAPIError(msg)
    for position, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            msg = (
                f"ChartMogul's response for {endpoint} has {_kind(record)} instead of a "
                f"record at position {position} of {records_key!r}"
            )
            raise ChartMogulAPIError(msg)
    return records


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", type(None): "null", dict: "an object"}.get(
        type(value), f"a {type(value).__name__}"
    )
