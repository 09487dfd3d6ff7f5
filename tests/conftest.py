"""Fixtures: a real fake-ChartMogul HTTP server on 127.0.0.1 per test, and tap configs."""

from __future__ import annotations

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
def config(fake: FakeChartMogul) -> dict:
    """Tap settings pointing at ``fake``, with a small retry budget so tests are quick."""
    return fake_config(fake, max_retries=3, request_timeout=5)
