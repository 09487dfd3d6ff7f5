"""The 400 answers of ChartMogul's own shape that any handler may raise.

``{"code": 400, "message": ..., "param": ...}`` (docs/chartmogul-api.md §1.4); routes turn a
:class:`BadRequestError` into that body, so cursor codecs and parameter parsers stay pure.
"""

from __future__ import annotations


class BadRequestError(Exception):
    """A client error the API answers with 400 ``{"code":400,"message":..,"param":..}``."""

    def __init__(self, message: str, param: str | None) -> None:
        """Keep the message and the blamed parameter for the error body."""
        super().__init__(message)
        self.message = message
        self.param = param


def invalid_cursor() -> BadRequestError:
    """400 for a cursor this endpoint did not issue."""
    return BadRequestError("Invalid cursor", "cursor")


def invalid_param(param: str) -> BadRequestError:
    """400 for a malformed query parameter."""
    return BadRequestError(f"Invalid {param} parameter", param)


def missing_param(param: str) -> BadRequestError:
    """400 for a required query parameter that is absent."""
    return BadRequestError(f"{param} is required", param)
