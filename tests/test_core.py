"""singer-sdk's standard tap test suite, run against the fake ChartMogul over HTTP.

The suite builds its test class at import time and needs the config then, so the
fake server is started at import (on a free port) and stopped when the session ends.
Environment variables are ignored (``parse_env_config=False``) so a developer's real
``TAP_CHARTMOGUL_API_KEY`` can never be sent to the fake, nor the fake's key used.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from fake_chartmogul import FakeAccount, FakeChartMogul
from tap_chartmogul.tap import TapChartMogul
from tests.helpers import API_KEY, UNTHROTTLED

_SERVER = FakeChartMogul(FakeAccount(customers=120, seed=11), api_key=API_KEY)
_SERVER.start()
atexit.register(_SERVER.stop)

TestTapChartMogul = get_tap_test_class(
    tap_class=TapChartMogul,
    config={
        "api_key": API_KEY,
        "api_url": _SERVER.base_url,
        "start_date": "2025-01-01",
        **UNTHROTTLED,
    },
    suite_config=SuiteConfig(max_records_limit=None),
    parse_env_config=False,
)
