"""Disabled and edited records: what ChartMogul keeps about a record a user changed in it.

Since 2026 invoices, their line items and transactions, and subscription events can be
disabled in ChartMogul (kept, but left out of its metrics) and edited there, which keeps an
edit summary (docs/chartmogul-api.md §8). The generated account has neither; :func:`disable`,
:func:`enable` and :func:`edit` change its records in place as a user would, and
:func:`listed` is how a listing shows them:

- every such record carries ``disabled``, ``disabled_at`` and ``disabled_by`` (false and
  nulls unless it is disabled), line items and transactions also ``errors``;
- a listing leaves out disabled records, and an invoice's disabled line items and
  transactions, unless the request says ``with_disabled=true``;
- ``edit_history_summary`` is there only with ``include_edit_histories=true``: the first
  value and the current one of every field edited, the latest edit's author and time;
  null for a record never edited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]

#: The listings that know disabled records, and the two parameters they take.
PARAMS: dict[str, frozenset[str]] = {
    name: frozenset({"with_disabled", "include_edit_histories"})
    for name in ("invoices", "subscription_events")
}
SUMMARY = "edit_history_summary"
_DISABLED: Record = {"disabled": False, "disabled_at": None, "disabled_by": None}
_NESTED: Record = {**_DISABLED, "errors": {}}
_NESTED_KEYS = ("line_items", "transactions")


def disable(record: Record, *, by: str, at: datetime) -> Record:
    """Disable ``record`` (an invoice, line item, transaction or event) as ``by`` did at ``at``."""
    record.update(disabled=True, disabled_at=_stamp(at), disabled_by=by)
    return record


def enable(record: Record) -> Record:
    """Enable ``record`` again: ChartMogul forgets when and by whom it was disabled."""
    record.update(_DISABLED)
    return record


def edit(record: Record, changes: Record, *, author: str, at: datetime) -> Record:
    """Edit fields of ``record`` in ChartMogul; its summary keeps each field's first value."""
    summary = record.get(SUMMARY) or {"values_changed": {}}
    changed: Record = summary["values_changed"]
    for field, value in changes.items():
        first = changed.get(field, {}).get("original_value", record.get(field))
        changed[field] = {"original_value": first, "edited_value": value}
        record[field] = value
    summary["latest_edit_author"] = author
    summary["latest_edit_performed_at"] = _stamp(at)
    record[SUMMARY] = summary
    return record


def hidden(query: dict[str, str]) -> bool:
    """Whether a request leaves disabled records out (it does unless it asks for them)."""
    return query.get("with_disabled") != "true"


def listed(records: list[Record], query: dict[str, str]) -> list[Record]:
    """The records of a page as the request sees them (copies; the account is untouched)."""
    with_summary = query.get("include_edit_histories") == "true"
    return [_shown(record, _DISABLED, query, with_summary=with_summary) for record in records]


def _shown(
    record: Record, defaults: Record, query: dict[str, str], *, with_summary: bool
) -> Record:
    shown = {**defaults, **record}
    if with_summary:
        shown[SUMMARY] = record.get(SUMMARY)
    else:
        shown.pop(SUMMARY, None)
    for key in _NESTED_KEYS:
        items = record.get(key)
        if isinstance(items, list):
            shown[key] = [
                _shown(item, _NESTED, query, with_summary=with_summary)
                for item in items
                if not (item.get("disabled") and hidden(query))
            ]
    return shown


def _stamp(at: datetime) -> str:
    """``2026-01-15T10:00:00.000Z``: how the clients' fixtures write these times."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
