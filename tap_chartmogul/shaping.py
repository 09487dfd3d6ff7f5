"""Turn ChartMogul's records into the tap's columns: snake_case names, declared types.

ChartMogul mixes key styles (``customer-since`` beside ``lead_created_at``) and sends
``""`` where a value is missing. Singer targets want stable snake_case column names
and values that match the declared types, so each record is rewritten:

- every key becomes snake_case (``customer-since`` -> ``customer_since``), at every
  level the schema describes; free-form objects the schema leaves open (custom
  attributes, ``errors``) keep the user's own keys;
- ``""`` becomes null where the schema expects a number, integer, boolean, date,
  date-time, object or array (and, for streams that ask, in string columns too);
- values convert where nothing is lost: ``15620.0`` or ``"42"`` into an integer
  column, ``12`` into a string column;
- a value that cannot be the declared type (``"lots"`` in ``mrr``, ``"not-a-date"`` in
  a date-time, a fraction in an integer column) becomes null with a warning naming the
  stream, the record's key and the field, so the run goes on and no target receives a
  string in an integer column; the run summary counts them;
- a property the schema declares but the record lacks becomes an explicit null, so
  every record of a stream has the same columns.

Keys the schema does not describe (fields ChartMogul added since) are dropped with one
warning per key, so API additions never crash a sync. The work per key is decided once
per schema (a "plan"), not once per record; this replaces the SDK's per-record type
conformance, which costs several times more and would find nothing left to fix.
"""

from __future__ import annotations

import logging
import math
import typing as t
from datetime import date, datetime
from decimal import Decimal

from tap_chartmogul.errors import RecordError

Converter = t.Callable[[t.Any], t.Any]

#: What each column type expects, as the warnings word it.
WHOLE_NUMBER, NUMBER, BOOLEAN = "a whole number", "a number", "true or false"
STRING, OBJECT, ARRAY = "a string", "an object", "an array"
#: Warnings for one field before further bad values are only counted.
WARNINGS_PER_FIELD = 3


class InvalidValueError(ValueError):
    """A value that cannot be its column's type; ``expected`` names the type."""

    def __init__(self, expected: str, value: t.Any) -> None:
        """Describe the mismatch without quoting the value (it may be customer data)."""
        super().__init__(f"{_kind(value)} is not {expected}")


def _kind(value: t.Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def snake_case(key: str) -> str:
    """Return the column name for an API key: lower case, ``-`` and spaces to ``_``."""
    return key.replace("-", "_").replace(" ", "_").lower()


def _to_integer(value: t.Any) -> t.Any:
    if type(value) is int or value is None:
        return value
    if value == "":
        return None
    if isinstance(value, (float, Decimal)) and not isinstance(value, bool):
        if math.isfinite(value) and value == int(value):
            return int(value)
    elif isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise InvalidValueError(WHOLE_NUMBER, value)


def _to_number(value: t.Any) -> t.Any:
    kind = type(value)
    if kind is int or kind is float or value is None:
        return value
    if value == "":
        return None
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return int(value) if value.lstrip("-").isdigit() else number
    raise InvalidValueError(NUMBER, value)


def _to_boolean(value: t.Any) -> t.Any:
    if type(value) is bool or value is None:
        return value
    if value == "":
        return None
    raise InvalidValueError(BOOLEAN, value)


def _string(*, blank_to_null: bool) -> Converter:
    def to_string(value: t.Any) -> t.Any:
        if type(value) is str:
            return None if blank_to_null and value == "" else value
        if value is None:
            return None
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return str(value)
        raise InvalidValueError(STRING, value)

    return to_string


def _temporal(parse: t.Callable[[str], object], expected: str) -> Converter:
    def to_temporal(value: t.Any) -> t.Any:
        if value is None or value == "":
            return None
        if type(value) is str:
            try:
                parse(value)
            except ValueError:
                pass
            else:
                return value
        raise InvalidValueError(expected, value)

    return to_temporal


def _open_object(value: t.Any) -> t.Any:
    if type(value) is dict or value is None:
        return value
    if value == "":
        return None
    raise InvalidValueError(OBJECT, value)


def _types(schema: dict[str, t.Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


class _Plan:
    """Builds converters for one stream; nested shapers share the stream's warnings."""

    def __init__(self, *, blank_strings: bool, report: t.Callable[[str, str], None]) -> None:
        self.blank_strings = blank_strings
        self.report = report

    def converter(self, schema: dict[str, t.Any], path: str) -> Converter:  # noqa: PLR0911
        types = _types(schema) - {"null"}
        nullable = "null" in _types(schema)
        if "object" in types:
            if schema.get("properties"):
                return self._object(RecordShaper(schema, plan=self, path=f"{path}."))
            return _open_object
        if "array" in types:
            items = schema.get("items")
            item = self.converter(items, path) if isinstance(items, dict) else None
            return self._array(item)
        fmt = schema.get("format")
        if "string" in types and fmt == "date-time":
            return _temporal(datetime.fromisoformat, "a date-time")
        if "string" in types and fmt == "date":
            return _temporal(date.fromisoformat, "a date")
        if "integer" in types:
            return _to_integer
        if "number" in types:
            return _to_number
        if "boolean" in types:
            return _to_boolean
        return _string(blank_to_null=self.blank_strings and nullable)

    def ready_type(self, schema: dict[str, t.Any]) -> type | None:
        """The type a value of this column can have to need no conversion at all."""
        types = _types(schema) - {"null"}
        if len(types) != 1 or schema.get("format") in {"date", "date-time"}:
            return None
        kind = next(iter(types))
        if kind == "string":
            return None if self.blank_strings and "null" in _types(schema) else str
        if kind == "object":
            return None if schema.get("properties") else dict
        return {"integer": int, "number": float, "boolean": bool}.get(kind)

    @staticmethod
    def _object(shaper: RecordShaper) -> Converter:
        def shape_object(value: t.Any) -> t.Any:
            if type(value) is dict:
                return shaper(value)
            return _open_object(value)

        return shape_object

    @staticmethod
    def _array(item: Converter | None) -> Converter:
        def shape_array(value: t.Any) -> t.Any:
            if type(value) is list:
                return value if item is None else [item(element) for element in value]
            if value is None or value == "":
                return None
            raise InvalidValueError(ARRAY, value)

        return shape_array


class RecordShaper:
    """Rename and normalise records of one schema; build once, call per record."""

    def __init__(  # noqa: PLR0913 - keyword-only knobs with defaults
        self,
        schema: dict[str, t.Any],
        *,
        blank_strings_to_null: bool = False,
        logger: logging.Logger | None = None,
        stream: str = "",
        primary_keys: t.Sequence[str] = (),
        plan: _Plan | None = None,
        path: str = "",
    ) -> None:
        """Plan the work for every property the schema declares.

        Args:
            schema: The stream's JSON schema (snake_case property names).
            blank_strings_to_null: Also map ``""`` to null in nullable string columns.
            logger: Where to warn about dropped keys and values of the wrong type.
            stream: The stream's name, for those warnings.
            primary_keys: Columns that name a record in those warnings.
            plan: The top-level shaper's plan (nested objects share it).
            path: Dotted location of this object in the record.
        """
        self._logger = logger or logging.getLogger(__name__)
        self._stream = stream
        self._keys = tuple(primary_keys)
        self._path = path
        self._open = bool(schema.get("additionalProperties"))
        self._dropped: set[str] = set()
        self.invalid_values: dict[str, int] = {}
        self._current: dict[str, t.Any] = {}
        self._plan = plan or _Plan(blank_strings=blank_strings_to_null, report=self._report)
        properties = schema.get("properties") or {}
        self._converters: dict[str, Converter] = {
            name: self._plan.converter(prop, f"{path}{name}") for name, prop in properties.items()
        }
        #: Per column, the Python type a value may already have to be kept as is (the common
        #: case, checked without calling the converter).
        self._ready: dict[str, type] = {
            name: kind
            for name, prop in properties.items()
            if (kind := self._plan.ready_type(prop)) is not None
        }
        #: API key -> (column, converter, ready type); planned on first sight of each key.
        self._keys_plan: dict[str, tuple[str, Converter | None, type | None]] = {}
        self._columns = tuple(properties)

    def _plan_key(self, key: str) -> tuple[str, Converter | None, type | None]:
        name = snake_case(key)
        plan = (name, self._converters.get(name), self._ready.get(name))
        self._keys_plan[key] = plan
        return plan

    def __call__(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Return a new record with snake_case keys and values of the declared types."""
        if not self._path:
            self._current = record
        keys_plan = self._keys_plan
        shaped: dict[str, t.Any] = {}
        for key, value in record.items():
            plan = keys_plan.get(key) or self._plan_key(key)
            name, converter, ready = plan
            if type(value) is ready:
                shaped[name] = value
                continue
            if converter is None:
                if self._open:
                    shaped[name] = value
                else:
                    self._drop(name)
                continue
            try:
                shaped[name] = converter(value)
            except InvalidValueError as error:
                self._plan.report(f"{self._path}{name}", str(error))
                shaped[name] = None
        if len(shaped) < len(self._columns):
            for column in self._columns:
                shaped.setdefault(column, None)
        if not self._path:
            self._check_keys(shaped)
        return shaped

    def _check_keys(self, shaped: dict[str, t.Any]) -> None:
        """A record without a primary-key value cannot be upserted: stop, in one line."""
        for key in self._keys:
            if shaped.get(key) is None:
                msg = (
                    f"{self._stream}: a record has no {key} (part of its primary key); "
                    "ChartMogul sent a record that cannot be loaded: stopping"
                )
                raise RecordError(msg)

    def _report(self, field: str, problem: str) -> None:
        count = self.invalid_values[field] = self.invalid_values.get(field, 0) + 1
        if count > WARNINGS_PER_FIELD:
            return
        key = ", ".join(f"{k}={self._current.get(k)!s:.60}" for k in self._keys) or "?"
        suffix = (
            "; further ones in this field are only counted (see the run summary)"
            if count == WARNINGS_PER_FIELD
            else ""
        )
        self._logger.warning(
            "%s: record %s, field %s: %s; emitted as null%s",
            self._stream,
            key,
            field,
            problem,
            suffix,
        )

    def _drop(self, name: str) -> None:
        """Warn once about a key the schema does not know (a field ChartMogul added)."""
        if name not in self._dropped:
            self._dropped.add(name)
            self._logger.warning(
                "Ignoring %s%s: ChartMogul sent a field the schema does not know yet",
                self._path,
                name,
            )
