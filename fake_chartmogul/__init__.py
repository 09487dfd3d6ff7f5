"""A faithful fake of the ChartMogul REST API for the tap's tests and benchmarks.

``FakeAccount`` is a deterministic dataset in the API's wire shape; ``FakeChartMogul`` serves it
over HTTP on 127.0.0.1 with ChartMogul's paging quirks, rate limits and injectable faults.
``FakeAccount.advance_day`` (``Timeline``) applies a simulated day of seeded customer changes.
Standard library only. ``docs/chartmogul-api.md`` is the reference for the behaviour it copies;
docstrings cite its sections as "docs/chartmogul-api.md §1.2".
"""

from __future__ import annotations

from .account import FakeAccount
from .days import DayChanges, DayRates, Timeline
from .faults import FAULT_KINDS, Fault
from .server import FakeChartMogul, RequestRecord

__all__ = [
    "FAULT_KINDS",
    "DayChanges",
    "DayRates",
    "FakeAccount",
    "FakeChartMogul",
    "Fault",
    "RequestRecord",
    "Timeline",
]
