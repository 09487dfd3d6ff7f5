"""Which metric requests a run makes: segments, date windows and intervals.

ChartMogul restates metrics after the fact, so every run re-reads the whole window
from ``start_date`` to today. That is one request per metric per segment, except for
daily series, which are split into windows of at most ``DAILY_WINDOW_DAYS`` days.
Each response computes ``percentage-change`` against the previous entry *of that
response* (the first entry gets 0.0), so consecutive windows overlap by one day and
the overlapping first entry is dropped: every emitted percentage is the one ChartMogul
would have computed over the whole window.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import date, timedelta

#: Intervals ChartMogul's metrics API understands, finest first.
INTERVALS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
#: Most days in one daily request (the API documents no maximum; a leap year is safe),
#: so the default 365-day lookback (366 days inclusive) is a single request.
DAILY_WINDOW_DAYS = 366
#: Name of the series computed with only the global ``metrics_*`` filters.
UNSEGMENTED = "all"
FILTER_KEYS: tuple[str, ...] = ("geo", "plans", "filters")


@dataclass(frozen=True)
class Segment:
    """A named series: ChartMogul's ``geo``/``plans``/``filters`` for one set of requests."""

    name: str
    geo: str | None = None
    plans: str | None = None
    filters: str | None = None

    def params(self) -> dict[str, str]:
        """The filter query parameters of this segment (unset ones omitted)."""
        values = {"geo": self.geo, "plans": self.plans, "filters": self.filters}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class Window:
    """One request's date range (a later window starts on its predecessor's last day)."""

    start: date
    end: date


def segments_from_config(config: t.Mapping[str, t.Any]) -> list[Segment]:
    """The unsegmented series plus each configured segment.

    A segment's unset filters inherit the global ``metrics_geo``/``metrics_plans``/
    ``metrics_filters``, so a global filter narrows every series alike.
    """
    defaults = {key: config.get(f"metrics_{key}") or None for key in FILTER_KEYS}
    series = [Segment(UNSEGMENTED, **defaults)]
    for item in config.get("metrics_segments") or ():
        own = {key: item.get(key) or defaults[key] for key in FILTER_KEYS}
        series.append(Segment(item["name"], **own))
    return series


def windows(start: date, end: date, interval: str) -> list[Window]:
    """Split ``[start, end]`` into request windows (only daily series are split)."""
    if interval != "day" or (end - start).days < DAILY_WINDOW_DAYS:
        return [Window(start, end)]
    planned: list[Window] = []
    first = start
    while True:
        last = min(first + timedelta(days=DAILY_WINDOW_DAYS - 1), end)
        planned.append(Window(first, last))
        if last >= end:
            return planned
        first = last  # overlap one day: its entry restarts the percentage chain


def coarsest(interval: str, allowed: t.Sequence[str]) -> str:
    """``interval`` if allowed, else the finest allowed interval coarser than it."""
    if interval in allowed:
        return interval
    rank = INTERVALS.index(interval)
    for candidate in INTERVALS[rank + 1 :]:
        if candidate in allowed:
            return candidate
    return allowed[-1]


def coarser(interval: str) -> str | None:
    """The next coarser interval, or None at ``year``."""
    rank = INTERVALS.index(interval)
    return INTERVALS[rank + 1] if rank + 1 < len(INTERVALS) else None
