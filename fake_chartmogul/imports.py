"""Data sources still processing an import: ``processing_status`` (docs/chartmogul-api.md §8).

``/v1/data_sources?with_processing_status=true`` says, per data source, how many of its
records ChartMogul has processed, how many are pending and how many failed. The generated
account has finished everything; :func:`start_import` makes a data source report ``pending``
records until :func:`finish_import`, as one does while ChartMogul imports (its ``status``
stays what it was: a 2025 recording shows ``idle`` beside ``pending: 37``).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .account import FakeAccount

_pending: weakref.WeakKeyDictionary[FakeAccount, dict[str, tuple[int, int]]] = (
    weakref.WeakKeyDictionary()
)


def start_import(
    account: FakeAccount, data_source_uuid: str, *, pending: int, failed: int = 0
) -> None:
    """Data source ``data_source_uuid`` has ``pending`` records waiting (and ``failed`` failed)."""
    if not any(ds["uuid"] == data_source_uuid for ds in account.data_sources):
        raise KeyError(data_source_uuid)
    _pending.setdefault(account, {})[data_source_uuid] = (pending, failed)


def finish_import(account: FakeAccount, data_source_uuid: str) -> None:
    """The import into ``data_source_uuid`` is over: nothing pending any more."""
    _pending.get(account, {}).pop(data_source_uuid, None)


def processing_status(
    account: FakeAccount, data_source_uuid: str, processed: int
) -> dict[str, int]:
    """The ``processing_status`` block of one data source that has ``processed`` records done."""
    pending, failed = _pending.get(account, {}).get(data_source_uuid, (0, 0))
    return {"processed": processed, "pending": pending, "failed": failed}
