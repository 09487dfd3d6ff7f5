"""Checks on the ``--state`` and ``--catalog`` files, before the tap uses them.

The SDK parses these files deep inside its start-up and fails with a JSON traceback
on a typo, or silently syncs nothing for a catalog that names no stream the tap has.
Here each problem becomes one line that names the file and what is wrong with it.
"""

from __future__ import annotations

import json
import typing as t
from datetime import datetime

from tap_chartmogul.errors import TapChartMogulError

#: Top-level keys of a Singer state object the SDK writes or accepts.
STATE_KEYS = frozenset({"bookmarks", "currently_syncing"})


def _load(text: str, option: str) -> object:
    try:
        return json.loads(text)
    except ValueError as error:
        reason = str(error).split(":", 1)[0]
        msg = (
            f"The {option} file is not valid JSON ({reason}, line {getattr(error, 'lineno', '?')})"
        )
        raise TapChartMogulError(msg) from None


def checked_state(text: str, known_streams: t.Collection[str]) -> dict[str, t.Any]:
    """Parse and check a state file; accept a whole STATE message line as well.

    Returns:
        The state object (``{"bookmarks": {...}}``).

    Raises:
        TapChartMogulError: the file is not JSON or not a state object.
    """
    state = _load(text, "--state")
    if isinstance(state, dict) and state.get("type") == "STATE" and "value" in state:
        state = state["value"]  # a STATE message copied from the tap's output
    if not isinstance(state, dict):
        kind = type(state).__name__
        msg = f'The --state file must hold a JSON object like {{"bookmarks": ...}}, got {kind}'
        raise TapChartMogulError(msg)
    unknown = sorted(set(state) - STATE_KEYS)
    if unknown:
        msg = (
            f"The --state file has unknown keys {unknown}: expected a Singer state such as "
            '{"bookmarks": {...}} (the "value" of the last STATE message)'
        )
        raise TapChartMogulError(msg)
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict) or not all(isinstance(b, dict) for b in bookmarks.values()):
        msg = 'The --state file\'s "bookmarks" must map stream names to objects'
        raise TapChartMogulError(msg)
    activities = bookmarks.get("activities", {})
    value = activities.get("replication_key_value")
    if value is not None:
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            msg = f"The --state file's activities bookmark {value!r} is not an ISO 8601 date-time"
            raise TapChartMogulError(msg) from None
    strangers = sorted(set(bookmarks) - set(known_streams))
    if strangers:
        # Not fatal: a stream may have been renamed or dropped; its bookmark is ignored.
        state = {**state, "bookmarks": {k: v for k, v in bookmarks.items() if k in known_streams}}
    return state


def checked_catalog(text: str, known_streams: t.Collection[str]) -> dict[str, t.Any]:
    """Parse and check a catalog file: an object with ``streams``, all of them known.

    Raises:
        TapChartMogulError: the file is not JSON, not a catalog, or selects a stream
            this tap does not have.
    """
    catalog = _load(text, "--catalog")
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        msg = 'The --catalog file must hold a JSON object with a "streams" list (see --discover)'
        raise TapChartMogulError(msg)
    names = [
        entry.get("tap_stream_id") or entry.get("stream")
        for entry in catalog["streams"]
        if isinstance(entry, dict)
    ]
    unknown = sorted({str(name) for name in names if name not in known_streams})
    if unknown:
        msg = (
            f"The --catalog file names stream(s) {', '.join(unknown)} that tap-chartmogul does "
            "not have; run tap-chartmogul --discover for the list"
        )
        raise TapChartMogulError(msg)
    return catalog
