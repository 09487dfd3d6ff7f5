"""Deterministic Metrics API model (docs/chartmogul-api.md §2.16).

Every figure is a pure function of ``(seed, metric, date)`` (plus a filter scale), never of
the request window, so overlapping requests agree on a date's value — the property a tap's
"re-pull a trailing window" logic relies on. Only ``percentage-change`` depends on the window
(the first entry is ``0.0``), as in the real API.
"""

from __future__ import annotations

import calendar
import zlib
from datetime import date, timedelta
from typing import Any

from .formats import mix64, unit

METRICS = (
    "all",
    "mrr",
    "arr",
    "arpa",
    "asp",
    "customer-count",
    "customer-churn-rate",
    "mrr-churn-rate",
    "ltv",
)
INTERVALS = ("day", "week", "month", "quarter", "year")
DEFAULT_INTERVAL = {
    "all": "day",
    "mrr": "day",
    "arr": "day",
    "arpa": "day",
    "customer-count": "day",
    "asp": "month",
    "customer-churn-rate": "month",
    "mrr-churn-rate": "month",
    "ltv": "month",
}
INTERVAL_NOT_SUPPORTED = "Interval not supported for this metric"
END_BEFORE_START = "end-date must be on or after start-date"
UNSUPPORTED_INTERVALS = {"asp": ("day", "week")}
ENTRY_KEY = {"customer-count": "customers"}
"""The customer-count endpoint names its value ``customers``."""
ALL_ORDER = (
    "customer-churn-rate",
    "mrr-churn-rate",
    "ltv",
    "customers",
    "asp",
    "arpa",
    "arr",
    "mrr",
)
SUMMARY_ORDER = (
    "mrr",
    "arr",
    "customer-churn-rate",
    "mrr-churn-rate",
    "ltv",
    "customers",
    "asp",
    "arpa",
)
MOVEMENTS = (
    "mrr-new-business",
    "mrr-expansion",
    "mrr-contraction",
    "mrr-churn",
    "mrr-reactivation",
)
_ORIGIN = date(2022, 1, 1).toordinal()
_AS_OF = date(2026, 1, 1)
_NAME_CODE = {name: zlib.crc32(name.encode()) for name in (*ALL_ORDER, *MOVEMENTS, "ltv-float")}


class MetricError(ValueError):
    """A request the real API rejects with HTTP 400 ``{"code":400,"message":..,"param":..}``."""

    def __init__(self, message: str, param: str) -> None:
        """Keep the message and the blamed parameter for the error body."""
        super().__init__(message)
        self.message = message
        self.param = param


def period_end(d: date, interval: str) -> date:
    """Last day of the period containing ``d`` (weeks end on Sunday: week_start_on=monday)."""
    if interval == "day":
        return d
    if interval == "week":
        return d + timedelta(days=6 - d.weekday())
    if interval == "month":
        return d.replace(day=calendar.monthrange(d.year, d.month)[1])
    if interval == "quarter":
        month = (d.month - 1) // 3 * 3 + 3
        return date(d.year, month, calendar.monthrange(d.year, month)[1])
    if interval == "year":
        return date(d.year, 12, 31)
    raise MetricError(INTERVAL_NOT_SUPPORTED, "interval")


def _period_days(end: date, interval: str) -> int:
    """Length of the (unclipped) period ending at ``end``; scales movement figures."""
    if interval == "day":
        return 1
    if interval == "week":
        return 7
    if interval == "month":
        return end.day
    if interval == "quarter":
        first = date(end.year, end.month - 2, 1)
        return (end - first).days + 1
    return 366 if calendar.isleap(end.year) else 365


def period_dates(start: date, end: date, interval: str) -> list[tuple[date, int]]:
    """Entry dates for [start, end]: each period end, the last one clipped to ``end``."""
    out: list[tuple[date, int]] = []
    current = period_end(start, interval)
    while current < end:
        out.append((current, _period_days(current, interval)))
        current = period_end(current + timedelta(days=1), interval)
    out.append((end, _period_days(current, interval)))
    return out


def filter_scale(geo: str | None, plans: str | None, filters: str | None) -> float:
    """Deterministic share of the account selected by geo/plans/filters (1.0 when none)."""
    if not (geo or plans or filters):
        return 1.0
    code = zlib.crc32(f"{geo}|{plans}|{filters}".encode())
    return 0.15 + (code % 700) / 1000.0


def _pct(value: float, previous: float | None) -> float:
    if not previous:
        return 0.0
    return round((value - previous) / abs(previous) * 100.0, 2)


class MetricsModel:
    """Point-in-time metric values derived from the account's size and a seed."""

    def __init__(self, seed: int, *, base_customers: int, base_mrr: int, base_asp: int) -> None:
        """Scale the curves to the account's size today so metrics agree with its customers."""
        self.seed = seed & 0xFFFFFFFF
        self.base_customers = base_customers
        self.base_mrr = base_mrr
        self.base_asp = base_asp

    def _noise(self, name: str, ordinal: int) -> float:
        """Deterministic noise in [-1, 1)."""
        return unit(self.seed, _NAME_CODE[name], ordinal) * 2.0 - 1.0

    @staticmethod
    def _level(ordinal: int) -> float:
        """Growth curve: 35 % of today's size on 2022-01-01, 100 % on 2026-01-01."""
        return max(0.02, 0.35 + 0.65 * (ordinal - _ORIGIN) / 1461.0)

    def point(self, d: date, scale: float = 1.0) -> dict[str, Any]:
        """All eight headline figures for one date."""
        o = d.toordinal()
        level = self._level(o)
        customers = round(
            self.base_customers * level * (1 + 0.01 * self._noise("customers", o)) * scale
        )
        mrr = round(self.base_mrr * level * (1 + 0.015 * self._noise("mrr", o)) * scale)
        arpa = mrr // customers if customers else 0
        asp = round(self.base_asp * (1 + 0.08 * self._noise("asp", o))) if self.base_asp else 0
        churn = round(max(0.0, 2.2 + 1.6 * self._noise("customer-churn-rate", o)), 2)
        mrr_churn = round(1.2 + 2.8 * self._noise("mrr-churn-rate", o), 2)
        ltv: int | float = 0
        if churn > 0 and arpa:
            ltv = round(arpa * 100 / churn)
            if mix64(self.seed, _NAME_CODE["ltv-float"], o) & 1:
                ltv = float(ltv)  # ints and floats like 15620.0 mixed: docs/chartmogul-api.md §2.16
        return {
            "customer-churn-rate": churn,
            "mrr-churn-rate": mrr_churn,
            "ltv": ltv,
            "customers": customers,
            "asp": asp,
            "arpa": arpa,
            "arr": mrr * 12,
            "mrr": mrr,
        }

    def movements(self, d: date, days: int, mrr: int) -> dict[str, int]:
        """MRR movement breakdown for the period ending ``d`` (contraction/churn <= 0)."""
        o = d.toordinal()
        if mrr <= 0:
            return dict.fromkeys(MOVEMENTS, 0)

        def part(name: str, rate: float) -> int:
            return round(mrr * rate * days * (1.0 + self._noise(name, o)) / 2.0)

        reactivation = part("mrr-reactivation", 0.0002)
        if self._noise("mrr-reactivation", o + 1) < 0:
            reactivation = 0
        return {
            "mrr-new-business": part("mrr-new-business", 0.003),
            "mrr-expansion": part("mrr-expansion", 0.0012),
            "mrr-contraction": -part("mrr-contraction", 0.0006),
            "mrr-churn": -part("mrr-churn", 0.0018),
            "mrr-reactivation": reactivation,
        }

    def entries(
        self,
        metric: str,
        start: date,
        end: date,
        interval: str | None = None,
        *,
        scale: float = 1.0,
    ) -> list[dict[str, Any]]:
        """Entries as in docs/chartmogul-api.md §2.16.

        Raises :class:`MetricError` for what the API answers with 400.
        """
        if metric not in DEFAULT_INTERVAL:
            raise KeyError(metric)
        interval = interval or DEFAULT_INTERVAL[metric]
        if interval not in INTERVALS or interval in UNSUPPORTED_INTERVALS.get(metric, ()):
            raise MetricError(INTERVAL_NOT_SUPPORTED, "interval")
        if end < start:
            raise MetricError(END_BEFORE_START, "end-date")
        out: list[dict[str, Any]] = []
        previous: dict[str, Any] | None = None
        for day, days in period_dates(start, end, interval):
            values = self.point(day, scale)
            out.append(self._entry(metric, day, days, values, previous))
            previous = values
        return out

    def _entry(
        self,
        metric: str,
        day: date,
        days: int,
        values: dict[str, Any],
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        text = day.isoformat()
        if metric == "all":
            entry: dict[str, Any] = {"date": text}
            for name in ALL_ORDER:
                entry[name] = values[name]
            for name in ALL_ORDER:
                entry[f"{name}-percentage-change"] = _pct(
                    values[name], previous[name] if previous else None
                )
            return entry
        key = ENTRY_KEY.get(metric, metric)
        entry = {
            "date": text,
            key: values[key],
            "percentage-change": _pct(values[key], previous[key] if previous else None),
        }
        if metric == "mrr":
            entry.update(self.movements(day, days, values["mrr"]))
        return entry

    def summary(self, metric: str, *, scale: float = 1.0) -> dict[str, Any]:
        """Point-in-time ``current``/``previous`` as of the fake's today (not the window)."""
        if metric not in DEFAULT_INTERVAL:
            raise KeyError(metric)
        now = self.point(_AS_OF, scale)
        before = self.point(_AS_OF - timedelta(days=31), scale)
        if metric == "all":
            out: dict[str, Any] = {}
            for name in SUMMARY_ORDER:
                out[f"current-{name}"] = now[name]
                out[f"previous-{name}"] = before[name]
                out[f"{name}-percentage-change"] = _pct(now[name], before[name])
            return out
        key = ENTRY_KEY.get(metric, metric)
        return {
            "current": now[key],
            "previous": before[key],
            "percentage-change": _pct(now[key], before[key]),
        }
