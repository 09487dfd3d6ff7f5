"""Run the tap as ``python -m tap_chartmogul``."""

from __future__ import annotations

from tap_chartmogul.tap import TapChartMogul

TapChartMogul.cli()
