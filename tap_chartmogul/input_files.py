"""Checks on the ``--config``, ``--state`` and ``--catalog`` files, before the tap uses them.

The SDK reads these files deep inside its start-up and fails with a traceback on a
missing file or a typo, or silently syncs nothing for a catalog that names no stream
the tap has. Here each problem becomes one line that names the file and what is wrong
with it. File contents are never quoted: a config file holds the API key.
"""

from __future__ import annotations

import json
import typing as t
from datetime import datetime
from pathlib import Path

from tap_chartmogul.errors import InputFileError

#: Top-level keys of a Singer state object the SDK writes or accepts.
STATE_KEYS = frozenset({"bookmarks", "currently_syncing"})
#: Larger inputs are refused: none of these files is legitimately near this size.
MAX_FILE_BYTES = 64 * 1024 * 1024


def _load(text: str, what: str) -> object:
    """Parse a file's JSON; ``what`` names the file (``--state``, or ``--config file 'c.json'``)."""
    name = what if " file" in what else f"{what} file"
    try:
        return json.loads(text)
    except RecursionError:
        msg = f"The {name} is nested too deeply to be used"
        raise InputFileError(msg) from None
    except ValueError as error:
        reason = str(error).split(":", 1)[0]
        line = getattr(error, "lineno", "?")
        msg = f"The {name} is not valid JSON ({reason}, line {line})"
        raise InputFileError(msg) from None


def checked_config_files(paths: t.Iterable[str]) -> None:
    """Check that every ``--config`` file (``ENV`` aside) is a readable JSON object.

    Raises:
        InputFileError: a file is missing, unreadable, empty, too large or not an object.
    """
    for raw in paths:
        if raw == "ENV":
            continue
        name = f"--config file {Path(raw).name!r}"
        text = _read_text(Path(raw), name)
        if not text.strip():
            msg = f"The {name} is empty: it should hold a JSON object of settings"
            raise InputFileError(msg)
        config = _load(text, name)
        if not isinstance(config, dict):
            msg = f"The {name} must hold a JSON object of settings, got {_kind(config)}"
            raise InputFileError(msg)


def _read_text(path: Path, name: str) -> str:
    """The file's text, or one line saying why it cannot be read."""
    problem: str | None = None
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problem = f"is {size:,} bytes: too large to be a config file"
        else:
            return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "does not exist"
    except IsADirectoryError:
        problem = "is a directory, not a JSON file"
    except PermissionError:
        problem = "cannot be read (permission denied)"
    except UnicodeDecodeError:
        problem = "is not UTF-8 text"
    except OSError as error:
        problem = f"cannot be read ({error.strerror or type(error).__name__})"
    msg = f"The {name} {problem}"
    raise InputFileError(msg)


def checked_state(text: str, known_streams: t.Collection[str]) -> dict[str, t.Any]:
    """Parse and check a state file; accept a whole STATE message line as well.

    Returns:
        The state object (``{"bookmarks": {...}}``).

    Raises:
        InputFileError: the file is not JSON or not a state object.
    """
    state = _load(text, "--state")
    if isinstance(state, dict) and state.get("type") == "STATE" and "value" in state:
        state = state["value"]  # a STATE message copied from the tap's output
    if not isinstance(state, dict):
        msg = (
            'The --state file must hold a JSON object like {"bookmarks": ...}, '
            f"got {_kind(state)}"
        )
        raise InputFileError(msg)
    unknown = sorted(set(state) - STATE_KEYS)
    if unknown:
        msg = (
            f"The --state file has unknown keys {unknown}: expected a Singer state such as "
            '{"bookmarks": {...}} (the "value" of the last STATE message)'
        )
        raise InputFileError(msg)
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict) or not all(isinstance(b, dict) for b in bookmarks.values()):
        msg = 'The --state file\'s "bookmarks" must map stream names to objects'
        raise InputFileError(msg)
    for stream, bookmark in bookmarks.items():
        partitions = bookmark.get("partitions", [])
        if not isinstance(partitions, list) or not all(isinstance(p, dict) for p in partitions):
            msg = f'The --state file\'s "{stream}" bookmark has "partitions" that are not objects'
            raise InputFileError(msg)
    value = bookmarks.get("activities", {}).get("replication_key_value")
    if value is not None:
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            msg = (
                f"The --state file's activities bookmark {value!r:.60} is not an ISO 8601 date-time"
            )
            raise InputFileError(msg) from None
    if set(bookmarks) - set(known_streams):
        # Not fatal: a stream may have been renamed or dropped; its bookmark is ignored.
        state = {**state, "bookmarks": {k: v for k, v in bookmarks.items() if k in known_streams}}
    return state


def checked_catalog(
    text: str, known_streams: t.Mapping[str, t.Mapping[str, t.Any]]
) -> dict[str, t.Any]:
    """Parse and check a catalog file: an object with ``streams``, all of them known.

    ``known_streams`` maps each stream name to its discovered ``schema`` and
    ``replication_key``. A hand-written catalog often lists only the streams to select:
    an entry without a schema gets the discovered one, and one that names no
    replication key or method keeps the stream's own (the SDK would otherwise read
    that silence as "full table" and ignore the stream's bookmark).

    Raises:
        InputFileError: the file is not JSON, not a catalog, or selects a stream
            this tap does not have.
    """
    catalog = _load(text, "--catalog")
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        msg = 'The --catalog file must hold a JSON object with a "streams" list (see --discover)'
        raise InputFileError(msg)
    for position, entry in enumerate(catalog["streams"], start=1):
        if not isinstance(entry, dict):
            msg = f"The --catalog file's stream {position} is {_kind(entry)}, not an object"
            raise InputFileError(msg)
        name = entry.get("tap_stream_id") or entry.get("stream")
        if not isinstance(name, str):
            msg = f"The --catalog file's stream {position} has no tap_stream_id"
            raise InputFileError(msg)
        metadata = entry.get("metadata", [])
        if not isinstance(metadata, list) or not all(
            isinstance(item, dict)
            and isinstance(item.get("metadata", {}), dict)
            and isinstance(item.get("breadcrumb", []), list)
            for item in metadata
        ):
            msg = f"The --catalog file's stream {name!r} has malformed metadata (see --discover)"
            raise InputFileError(msg)
        if not isinstance(entry.get("schema", {}), dict):
            msg = f"The --catalog file's stream {name!r} has a schema that is not an object"
            raise InputFileError(msg)
    names = [entry.get("tap_stream_id") or entry.get("stream") for entry in catalog["streams"]]
    unknown = sorted({str(name) for name in names if name not in known_streams})
    if unknown:
        msg = (
            f"The --catalog file names stream(s) {', '.join(unknown)} that tap-chartmogul does "
            "not have; run tap-chartmogul --discover for the list"
        )
        raise InputFileError(msg)
    for entry in catalog["streams"]:
        _check_replication(entry, known_streams)
    return {**catalog, "streams": [_completed(e, known_streams) for e in catalog["streams"]]}


def _check_replication(
    entry: dict[str, t.Any], known: t.Mapping[str, t.Mapping[str, t.Any]]
) -> None:
    """A catalog may choose full table for any stream, incremental only on the stream's key.

    Only ``activities`` has a server-side date filter; a replication key elsewhere would
    store a bookmark the tap cannot use (and one outside the schema crashes the SDK).
    """
    name = str(entry.get("tap_stream_id") or entry.get("stream"))
    own = known[name].get("replication_key")
    stream_level: dict[str, t.Any] = next(
        (m.get("metadata", {}) for m in entry.get("metadata", []) if m.get("breadcrumb") == []),
        {},
    )
    key = entry.get("replication_key") or stream_level.get("replication-key")
    method = entry.get("replication_method") or stream_level.get("forced-replication-method")
    if key and key != own:
        supported = f"only {own!r}" if own else "full-table replication only"
        msg = (
            f"The --catalog file sets replication key {str(key)!r:.40} for {name!r}, which "
            f"supports {supported}"
        )
        raise InputFileError(msg)
    if str(method).upper() == "INCREMENTAL" and not own:
        msg = (
            f"The --catalog file asks for incremental replication of {name!r}, which is "
            "full-table only"
        )
        raise InputFileError(msg)


def _completed(
    entry: dict[str, t.Any], known: t.Mapping[str, t.Mapping[str, t.Any]]
) -> dict[str, t.Any]:
    """Fill in what a hand-written catalog entry leaves out, from discovery."""
    own = known[str(entry.get("tap_stream_id") or entry.get("stream"))]
    entry = dict(entry)
    if not (entry.get("schema") or {}).get("properties"):
        entry["schema"] = own["schema"]
    metadata = [dict(item) for item in entry.get("metadata", [])]
    stream_level = next((m for m in metadata if m.get("breadcrumb", []) == []), None)
    if stream_level is None:
        stream_level = {"breadcrumb": [], "metadata": {}}
        metadata.append(stream_level)
    settings = dict(stream_level.get("metadata", {}))
    says_nothing = not (
        entry.get("replication_key")
        or entry.get("replication_method")
        or settings.get("replication-key")
        or settings.get("forced-replication-method")
    )
    if says_nothing and own.get("replication_key"):
        settings["replication-key"] = own["replication_key"]
        settings["forced-replication-method"] = "INCREMENTAL"
    stream_level["metadata"] = settings
    entry["metadata"] = metadata
    return entry


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )
