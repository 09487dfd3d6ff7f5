"""Disabled and edited records (2026): asked for, kept, and turned into a change signal.

ChartMogul lets a user disable an invoice, a line item, a transaction or a subscription
event (left out of its metrics, not deleted) and edit them; its listings leave disabled
records out unless asked (``with_disabled``), and say what was edited only when asked
(``include_edit_histories``). A tap that does not ask loses a disabled invoice from its
next run, and with ``ACTIVATE_VERSION`` deletes it downstream; so the tap asks.

An edit summary's ``latest_edit_performed_at`` and ``disabled_at`` are the only change
times the API offers for invoices. ``changed_at`` is the latest of them over an invoice
and its items: what changed in ChartMogul, and when. It is not a modification time (a
billing system's re-sync, an import or enabling again sets none), and no listing can be
filtered or ordered by it, so invoices are still read whole on every run.
"""

from __future__ import annotations

import typing as t

from tap_chartmogul.split import parse_time

if t.TYPE_CHECKING:
    from datetime import datetime

Record = dict[str, t.Any]

#: Sent with every request of the listings that know disabled and edited records.
PARAMS = {"with_disabled": "true", "include_edit_histories": "true"}


def change_times(record: Record) -> list[tuple[datetime, str]]:
    """When ChartMogul recorded an edit or a disabling of ``record`` itself (parsed, as sent)."""
    summary = record.get("edit_history_summary")
    edited = summary.get("latest_edit_performed_at") if isinstance(summary, dict) else None
    found = []
    for value in (edited, record.get("disabled_at")):
        when = parse_time(value)
        if when is not None and isinstance(value, str):
            found.append((when, value))
    return found


def changed_at(invoice: Record) -> str | None:
    """The latest change time of an invoice, its line items and its transactions, as sent."""
    times = change_times(invoice)
    for key in ("line_items", "transactions"):
        items = invoice.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    times += change_times(item)
    return max(times)[1] if times else None
