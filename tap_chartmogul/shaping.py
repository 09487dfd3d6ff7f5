"""Turn ChartMogul's records into the tap's columns, cheaply.

ChartMogul mixes key styles (``customer-since`` beside ``lead_created_at``) and sends
``""`` where a number or date is missing. Singer targets want stable snake_case
column names and values that match the declared types, so each record is rewritten:

- every key becomes snake_case (``customer-since`` -> ``customer_since``), at every
  level the schema describes; free-form objects the schema leaves open (custom
  attributes, ``errors``) keep the user's own keys;
- ``""`` becomes null where the schema expects a number, integer, boolean or a
  date/date-time string;
- an integral float (``15620.0``) in an integer column becomes an ``int``;
- a property the schema declares but the record lacks becomes an explicit null, so
  every record of a stream has the same columns whatever ChartMogul left out.

The work per key is decided once per schema (a "plan"), not once per record.
Keys the schema does not describe (fields ChartMogul added since) are dropped with one
warning per key, so API additions never crash a sync. This replaces the SDK's own
per-record type conformance, which costs several times more than the shaping itself
and would find nothing left to fix.
"""

from __future__ import annotations

import logging
import typing as t
from decimal import Decimal

Converter = t.Callable[[t.Any], t.Any]

_TEMPORAL_FORMATS = frozenset({"date-time", "date", "time"})


def snake_case(key: str) -> str:
    """Return the column name for an API key: lower case, ``-`` and spaces to ``_``."""
    return key.replace("-", "_").replace(" ", "_").lower()


def _blank_to_none(value: t.Any) -> t.Any:
    """Map ``""`` (ChartMogul's "missing") to None."""
    return None if value == "" else value


def _to_integer(value: t.Any) -> t.Any:
    """Normalise a value bound for an integer column without losing information.

    ``""`` -> None, ``12.0`` -> 12, ``"12"`` -> 12. A value with a fractional part is
    kept as it is: rounding would silently change money.
    """
    if value is None or type(value) is int:
        return value
    if value == "":
        return None
    if isinstance(value, (float, Decimal)) and value == int(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _types(schema: dict[str, t.Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _nested_shaper(
    schema: dict[str, t.Any], *, blank_strings: bool, logger: logging.Logger | None, path: str
) -> Converter | None:
    """Build the converter for an object or array property (None when open-ended)."""
    types = _types(schema)
    if "object" in types and schema.get("properties"):
        shaper = RecordShaper(schema, blank_strings_to_null=blank_strings, logger=logger, path=path)

        def shape_object(value: t.Any) -> t.Any:
            return shaper(value) if isinstance(value, dict) else _blank_to_none(value)

        return shape_object
    if "array" in types and isinstance(schema.get("items"), dict):
        item = _converter_for(
            schema["items"], blank_strings=blank_strings, logger=logger, path=path
        )
        if item is None:
            return None

        def shape_array(value: t.Any) -> t.Any:
            if isinstance(value, list):
                return [item(element) for element in value]
            return _blank_to_none(value)

        return shape_array
    return None


def _converter_for(
    schema: dict[str, t.Any],
    *,
    blank_strings: bool = False,
    logger: logging.Logger | None = None,
    path: str = "",
) -> Converter | None:
    """Pick the per-value normaliser a property needs, or None for "keep as is"."""
    nested = _nested_shaper(schema, blank_strings=blank_strings, logger=logger, path=path)
    if nested is not None:
        return nested
    types = _types(schema) - {"null"}
    if "string" in types and schema.get("format") not in _TEMPORAL_FORMATS:
        # A real string: "" is a legitimate value unless the stream says otherwise.
        return _blank_to_none if blank_strings and "null" in _types(schema) else None
    if types == {"integer"}:
        return _to_integer
    if types & {"integer", "number", "boolean", "string"}:
        return _blank_to_none
    return None


class RecordShaper:
    """Rename and normalise records of one schema; build once, call per record."""

    def __init__(
        self,
        schema: dict[str, t.Any],
        *,
        blank_strings_to_null: bool = False,
        logger: logging.Logger | None = None,
        path: str = "",
    ) -> None:
        """Plan the work for every property the schema declares.

        Args:
            schema: The stream's JSON schema (snake_case property names).
            blank_strings_to_null: Also map ``""`` to null in nullable string columns.
            logger: Where to warn (once per key) about keys the schema does not know.
            path: Dotted location of this object in the record, for those warnings.
        """
        self._logger = logger or logging.getLogger(__name__)
        self._path = path
        self._open = bool(schema.get("additionalProperties"))
        self._dropped: set[str] = set()
        self._converters: dict[str, Converter] = {}
        for name, prop in (schema.get("properties") or {}).items():
            converter = _converter_for(
                prop, blank_strings=blank_strings_to_null, logger=logger, path=f"{path}{name}."
            )
            if converter is not None:
                self._converters[name] = converter
        self._names: dict[str, str] = {}
        self._columns = tuple(schema.get("properties") or ())
        self._known = frozenset(self._columns)

    def __call__(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Return a new record with snake_case keys and normalised values."""
        names = self._names
        converters = self._converters
        known = self._known
        shaped: dict[str, t.Any] = {}
        for key, value in record.items():
            name = names.get(key)
            if name is None:
                name = names[key] = snake_case(key)
            if name not in known and not self._open:
                self._drop(name)
                continue
            converter = converters.get(name)
            shaped[name] = value if converter is None else converter(value)
        if len(shaped) < len(self._columns):
            for column in self._columns:
                shaped.setdefault(column, None)
        return shaped

    def _drop(self, name: str) -> None:
        """Warn once about a key the schema does not know (a field ChartMogul added)."""
        if name not in self._dropped:
            self._dropped.add(name)
            self._logger.warning(
                "Ignoring %s%s: ChartMogul sent a field the schema does not know yet",
                self._path,
                name,
            )
