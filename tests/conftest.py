"""Fixtures: a real fake-ChartMogul HTTP server on 127.0.0.1 per test, and tap configs."""

from __future__ import annotations

from types import SimpleNamespace

import backoff._sync
import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tests.helpers import API_KEY, fake_config


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
