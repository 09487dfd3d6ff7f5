"""singer-sdk's standard tap test suite, run against the fake ChartMogul over HTTP.

The SDK builds its test class at import and instantiates the tap then to list the streams
(no request is made), so the class is built with a placeholder ``api_url``. The fake is
started only when the suite's class-scoped ``runner`` fixture runs: that fixture is
overridden here to build the same SDK runner with the fake's real URL, so collecting the
tests (``pytest --collect-only``) starts no server.

Environment variables are ignored (``parse_env_config=False``) so a developer's real
``TAP_CHARTMOGUL_API_KEY`` can never be sent to the fake, nor the fake's key used.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from singer_sdk.testing import SuiteConfig, TapTestRunner, get_tap_test_class

from fake_chartmogul import FakeAccount, FakeChartMogul
from tap_chartmogul.tap import TapChartMogul
from tests.helpers import API_KEY, UNTHROTTLED

ROOT = Path(__file__).resolve().parents[1]
SUITE_CONFIG = SuiteConfig(max_records_limit=None)
#: Port 9 (discard) on loopback: nothing listens there, so a request made with this
#: placeholder would fail at once instead of reaching anything.
PLACEHOLDER_URL = "http://127.0.0.1:9"
CONFIG = {"api_key": API_KEY, "api_url": PLACEHOLDER_URL, "start_date": "2025-01-01", **UNTHROTTLED}


@pytest.fixture(scope="module")
def sdk_suite_fake():
    with FakeChartMogul(FakeAccount(customers=120, seed=11), api_key=API_KEY) as server:
        yield server


class TestTapChartMogul(
    get_tap_test_class(
        tap_class=TapChartMogul,
        config=CONFIG,
        suite_config=SUITE_CONFIG,
        parse_env_config=False,
    )
):
    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, sdk_suite_fake: FakeChartMogul) -> TapTestRunner:
        """The SDK's runner (same class, config and kwargs), pointed at the running fake."""
        runner = TapTestRunner(
            tap_class=TapChartMogul,
            config={**CONFIG, "api_url": sdk_suite_fake.base_url},
            suite_config=SUITE_CONFIG,
            parse_env_config=False,
        )
        runner.sync_all()
        return runner


def test_collecting_the_sdk_suite_starts_no_server():
    """Importing this module (what collection does) leaves no fake server thread behind."""
    probe = (
        "import threading, tests.test_core; "
        "print([t.name for t in threading.enumerate() if t.name.startswith('fake-chartmogul')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
