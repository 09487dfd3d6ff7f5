"""Fixtures: a real fake-ChartMogul HTTP server on 127.0.0.1 per test, and tap configs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import backoff._sync
import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tests.helpers import API_KEY, fake_config

_BEFORE = pytest.StashKey[dict[str, tuple[int, int]] | None]()


@pytest.fixture(scope="session")
def small_account() -> FakeAccount:
    """450 customers: customers span three pages of 200 (read-only; don't mutate)."""
    return FakeAccount(customers=450, seed=7)


@pytest.fixture
def fake(small_account: FakeAccount):
    """A running fake API serving ``small_account``."""
    with FakeChartMogul(small_account, api_key=API_KEY) as server:
        yield server


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the tap asked for between retries, recorded instead of slept.

    ``backoff`` (the SDK's retry loop) sleeps through ``time.sleep`` of its ``_sync`` module;
    swapping that module reference leaves every other sleeper in the process alone.
    """
    waits: list[float] = []
    monkeypatch.setattr(backoff._sync, "time", SimpleNamespace(sleep=waits.append))
    return waits


@pytest.fixture
def config(fake: FakeChartMogul) -> dict:
    """Tap settings pointing at ``fake``, with a small retry budget so tests are quick."""
    return fake_config(fake, max_retries=3, request_timeout=5)


# --- the repository is left as it was found -----------------------------------------------

#: What tests may change in the repository: its own virtualenvs and tool caches.
ALLOWED_CHANGES = (
    ".venv/",
    ".tools/",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
)


def repository_files() -> dict[str, tuple[int, int]] | None:
    """Every file in the repository that is not a virtualenv or cache: (size, mtime ns).

    Tracked and ignored files alike (``.env``, ``output/``, ``.meltano/`` are ignored), so a
    test that writes any of them, or edits a tracked file, changes this. None outside git.
    """
    root = Path(__file__).resolve().parents[1]
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return None
    found = {}
    for name in listed.split("\0"):
        if not name or name.startswith(ALLOWED_CHANGES) or "__pycache__/" in name:
            continue
        if ".egg-info/" in name:
            continue
        try:
            stat = (root / name).lstat()
        except FileNotFoundError:
            continue
        found[name] = (stat.st_size, stat.st_mtime_ns)
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    """Remember the repository's files before any test runs."""
    session.config.stash[_BEFORE] = repository_files()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test wrote, changed or removed a file of the repository."""
    before = session.config.stash.get(_BEFORE, None)
    if before is None or exitstatus not in (0, 1):
        return
    after = repository_files() or {}
    changed = sorted(
        name for name in set(before) | set(after) if before.get(name) != after.get(name)
    )
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "tests changed files of the repository (they must use temporary directories): "
        text += ", ".join(changed[:20]) + (" ..." if len(changed) > 20 else "")
        if reporter is not None:
            reporter.write_line(text, red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
