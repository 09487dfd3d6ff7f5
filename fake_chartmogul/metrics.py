"""Metrics API computed from the account's own activities (docs/chartmogul-api.md §2.16).

ChartMogul derives every metric from one record of MRR movements, so the fake does too: the
figures follow from ``FakeAccount.activities`` (and, for segments, its customers and plans),
and a warehouse that rebuilds MRR from ``/activities`` finds exactly ``/metrics/*``.

Definitions (ChartMogul's; where the help centre leaves a choice open, the fake's is noted):

- **MRR** on a date: the sum of ``activity-mrr-movement`` of every activity dated on or before
  that day. **ARR** = MRR x 12.
- **Customers** (``customer-count``): customers whose MRR is above 0 at the end of the day.
- **ARPA** = MRR / customers, rounded to a cent (0 without customers).
- **Movements** of a period (``/metrics/mrr``): ``activity-mrr-movement`` summed per activity
  type over the period's days: ``new_biz`` -> ``mrr-new-business``, ``expansion``,
  ``contraction``, ``churn``, ``reactivation``. Activity types are customer-level, as in
  ChartMogul (``generate.movement_type``): a customer's first MRR is new business,
  MRR after having churned is reactivation, losing all MRR is churn, any other rise or fall
  is expansion or contraction (a second subscription is expansion, cancelling one of two is
  contraction).
- **ASP**: new-business MRR / customers new in the period (0 without any).
- **Customer churn rate**: customers whose MRR fell to 0 in the period / customers at its
  start, in percent (1.71 = 1.71 %).
- **MRR churn rate** (ChartMogul's net MRR churn): (churned + contraction - expansion MRR) /
  MRR at the period's start, in percent; negative when expansion outgrows the losses.
  Reactivation is left out: it comes from customers who were not there at the start.
- **LTV** = ARPA / customer churn rate (x 100, the rate being a percentage); 0 without churn.

Periods. An entry dated ``d`` covers the whole period that ends on ``d`` (``interval=month``:
the month of ``d``), the last entry clipped to ``end-date``; so a date's value never depends
on where the window starts and overlapping requests agree. Only ``percentage-change`` depends
on the window (0.0 on its first entry), as in the real API. At ``day`` and ``week`` the rates
(ASP, both churn rates, LTV) cover the 30 days ending on ``d`` (the fake's choice: a one-day
churn rate is nearly always 0). Days are UTC days (ChartMogul uses the account's time zone).

Segments. ``geo`` keeps the customers whose ``country`` is listed; ``plans`` (names, uuids or
external ids) keeps each subscription's MRR while it is on a listed plan, with the movements
reclassified within the segment by the same customer-level rule; ``filters`` understands the
subset of ChartMogul's Filter Language that those two need, ``customer-country~IS~US,DE`` and
``plan~IS_NOT~Gold`` joined by ``~AND~``, and answers 400 to anything else rather than
pretend. Segments intersect.

Cost. One pass over the activities per account state and segment builds per-day cumulative
arrays (cached until ``FakeAccount.version`` or a list's length changes, so simulated days are
followed); a request is then O(entries), whatever the account's size.
"""

from __future__ import annotations

import calendar
import threading
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from .formats import mix64, to_ns
from .generate import movement_type

if TYPE_CHECKING:
    from .account import FakeAccount

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
ACTIVITY_TYPES = ("new_biz", "expansion", "contraction", "churn", "reactivation")
"""``/activities`` types, in the order of :data:`MOVEMENTS`."""
RATE_WINDOW_DAYS = 30
"""Days the rates cover at ``interval=day`` and ``week``."""
SUMMARY_PREVIOUS_DAYS = 31
_LTV_FLOAT = zlib.crc32(b"ltv-float")

# Per-day columns of a series: MRR change, the five movements, customers' count change, and
# customers that became new, churned or reactivated that day.
_MRR, _NEW, _EXP, _CON, _CHURN, _REACT, _CUSTOMERS, _N_NEW, _N_CHURNED, _N_REACT = range(10)
_WIDTH = 10
_BUCKET = {kind: _NEW + k for k, kind in enumerate(ACTIVITY_TYPES)}
_RECLASSIFY = -1
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
"""A movement classified within a plan segment rather than by its activity's type."""


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


def period_start(d: date, interval: str) -> date:
    """First day of the period containing ``d`` (weeks start on Monday)."""
    if interval == "day":
        return d
    if interval == "week":
        return d - timedelta(days=d.weekday())
    if interval == "month":
        return d.replace(day=1)
    if interval == "quarter":
        return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    if interval == "year":
        return date(d.year, 1, 1)
    raise MetricError(INTERVAL_NOT_SUPPORTED, "interval")


def period_dates(start: date, end: date, interval: str) -> list[date]:
    """Entry dates for [start, end]: each period end, the last one clipped to ``end``."""
    out: list[date] = []
    current = period_end(start, interval)
    while current < end:
        out.append(current)
        current = period_end(current + timedelta(days=1), interval)
    out.append(end)
    return out


def _pct(value: float, previous: float | None) -> float:
    if not previous:
        return 0.0
    return round((value - previous) / abs(previous) * 100.0, 2)


@dataclass(frozen=True)
class Segment:
    """Which customers and plans a request keeps (``None``: no condition)."""

    countries_in: frozenset[str] | None = None
    countries_out: frozenset[str] = frozenset()
    plans_in: frozenset[str] | None = None
    plans_out: frozenset[str] = frozenset()

    @property
    def by_plan(self) -> bool:
        """Whether subscriptions are kept or dropped by their plan."""
        return self.plans_in is not None or bool(self.plans_out)

    @property
    def everything(self) -> bool:
        """The unsegmented series."""
        return self == Segment()

    def with_condition(self, field: str, values: frozenset[str], *, negated: bool) -> Segment:
        """This segment narrowed by one more condition."""
        if field == "country":
            if negated:
                return _replace(self, countries_out=self.countries_out | values)
            kept = values if self.countries_in is None else self.countries_in & values
            return _replace(self, countries_in=kept)
        if negated:
            return _replace(self, plans_out=self.plans_out | values)
        kept = values if self.plans_in is None else self.plans_in & values
        return _replace(self, plans_in=kept)


def _replace(segment: Segment, **changes: Any) -> Segment:
    values = {
        "countries_in": segment.countries_in,
        "countries_out": segment.countries_out,
        "plans_in": segment.plans_in,
        "plans_out": segment.plans_out,
    }
    return Segment(**(values | changes))


def _listed(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


_FILTER_FIELDS = {"customer-country": "country", "plan": "plan"}
_FILTER_OPERATORS = {"IS": False, "IS_NOT": True}


def parse_segment(geo: str | None, plans: str | None, filters: str | None) -> Segment:
    """The segment of ``geo``, ``plans`` and ``filters``; MetricError for a filter it lacks."""
    segment = Segment()
    if geo:
        segment = segment.with_condition("country", _listed(geo.upper()), negated=False)
    if plans:
        segment = segment.with_condition("plan", _listed(plans), negated=False)
    for condition in (filters or "").split("~AND~") if filters else ():
        parts = condition.split("~")
        if (
            len(parts) != 3  # noqa: PLR2004 - field~OPERATOR~value
            or parts[0] not in _FILTER_FIELDS
            or parts[1] not in _FILTER_OPERATORS
            or not _listed(parts[2])
        ):
            msg = (
                f"Filter not supported by the fake: {condition!r} (it knows "
                "customer-country and plan with IS and IS_NOT, joined by ~AND~)"
            )
            raise MetricError(msg, "filters")
        field = _FILTER_FIELDS[parts[0]]
        values = _listed(parts[2].upper() if field == "country" else parts[2])
        segment = segment.with_condition(field, values, negated=_FILTER_OPERATORS[parts[1]])
    return segment


class Series:
    """Per-day cumulative MRR, movements and customer counts of one segment of an account."""

    def __init__(self, first_day: int, rows: dict[int, list[int]], last_day: int) -> None:
        """Turn per-day changes (day ordinal -> columns) into prefix sums over every day."""
        self.first_day = first_day
        length = max(last_day - first_day + 1, 1)
        self.prefix: list[list[int]] = []
        for column in range(_WIDTH):
            total, sums = 0, []
            for offset in range(length):
                row = rows.get(first_day + offset)
                if row is not None:
                    total += row[column]
                sums.append(total)
            self.prefix.append(sums)

    def at(self, column: int, day: int) -> int:
        """The column's sum over every day up to and including ``day`` (an ordinal)."""
        offset = day - self.first_day
        if offset < 0:
            return 0
        sums = self.prefix[column]
        return sums[min(offset, len(sums) - 1)]

    def between(self, column: int, first: int, last: int) -> int:
        """The column's sum over the days ``first`` .. ``last`` (ordinals, inclusive)."""
        return self.at(column, last) - self.at(column, first - 1)


class _Walk:
    """Per-day rows of a segment built activity by activity (those of an instant together)."""

    def __init__(self) -> None:
        self.rows: dict[int, list[int]] = {}
        self.mrr: dict[str, int] = {}
        self.paid: set[str] = set()
        self.instant: int | None = None
        self.moves: dict[str, list[tuple[int, int | None]]] = {}

    def add(self, ts: int, customer: str, delta: int, column: int | None) -> None:
        """One movement at ``ts`` (epoch seconds; non-decreasing from call to call)."""
        if self.instant is not None and ts != self.instant:
            self.close_instant()
        self.instant = ts
        self.moves.setdefault(customer, []).append((delta, column))

    def close_instant(self) -> None:
        """Classify the instant's movements per customer and count customers in and out."""
        if self.instant is None:
            return
        row = self.rows.setdefault(_EPOCH_ORDINAL + self.instant // 86400, [0] * _WIDTH)
        for customer, changes in self.moves.items():
            before = self.mrr.get(customer, 0)
            after = before + sum(delta for delta, _ in changes)
            paid_before = customer in self.paid
            for delta, column in changes:
                row[_MRR] += delta
                bucket = column
                if column == _RECLASSIFY:
                    bucket = _BUCKET[movement_type(delta, before, after, paid_before=paid_before)]
                if delta and bucket is not None:
                    row[bucket] += delta
            if before <= 0 < after:
                row[_CUSTOMERS] += 1
                row[_N_REACT if paid_before else _N_NEW] += 1
                self.paid.add(customer)
            elif after <= 0 < before:
                row[_CUSTOMERS] -= 1
                row[_N_CHURNED] += 1
            self.mrr[customer] = after
        self.moves.clear()
        self.instant = None


class MetricsModel:
    """The nine metric endpoints of one :class:`~fake_chartmogul.account.FakeAccount`."""

    def __init__(self, account: FakeAccount) -> None:
        """Nothing is computed until the first request."""
        self.account = account
        self._lock = threading.Lock()
        self._state: tuple[int, ...] | None = None
        self._series: dict[Segment, Series] = {}

    # -- series ---------------------------------------------------------------------------
    def _account_state(self) -> tuple[int, ...]:
        account = self.account
        return (
            account.version,
            id(account.activities),
            len(account.activities),
            len(account.customers),
            len(account.plans),
        )

    def series(self, segment: Segment) -> Series:
        """The segment's series for the account as it is now (built once per account state)."""
        with self._lock:
            state = self._account_state()
            if state != self._state:
                self._state, self._series = state, {}
            found = self._series.get(segment)
            if found is None:
                found = self._series[segment] = self._build(segment)
            return found

    def _build(self, segment: Segment) -> Series:
        """One pass over the activities in date order, an instant at a time."""
        account = self.account
        keep_customer = self._customer_filter(segment)
        plan_keys = self._plan_keys(segment) if segment.by_plan else None
        walk = _Walk()
        levels: dict[tuple[str, str], int] = {}
        for activity in account.activities:
            try:
                ts = to_ns(activity["date"]) // 1_000_000_000
            except (TypeError, ValueError):
                continue
            customer = activity.get("customer-uuid") or ""
            if keep_customer is not None and customer not in keep_customer:
                continue
            if plan_keys is None:
                delta = int(activity.get("activity-mrr-movement") or 0)
                column: int | None = _BUCKET.get(activity.get("type") or "")
            else:
                key = (customer, activity.get("subscription-external-id") or "")
                plan = (activity.get("billing-connector-uuid"), activity.get("plan-external-id"))
                level = int(activity.get("activity-mrr") or 0) if plan in plan_keys else 0
                delta = level - levels.get(key, 0)
                levels[key] = level
                column = _RECLASSIFY
            walk.add(ts, customer, delta, column)
        walk.close_instant()
        today = account.today.toordinal()
        rows = walk.rows
        if not rows:
            return Series(today, rows, today)
        return Series(min(today, *rows), rows, max(today, *rows))

    def _customer_filter(self, segment: Segment) -> set[str] | None:
        if segment.countries_in is None and not segment.countries_out:
            return None
        kept = set()
        for customer in self.account.customers:
            country = (customer.get("country") or "").upper()
            if segment.countries_in is not None and country not in segment.countries_in:
                continue
            if country in segment.countries_out:
                continue
            kept.add(customer["uuid"])
        return kept

    def _plan_keys(self, segment: Segment) -> set[tuple[Any, Any]]:
        """(data source, external id) of every plan the segment keeps."""
        kept = set()
        for plan in self.account.plans:
            names = {plan.get("name"), plan.get("uuid"), plan.get("external_id")}
            if segment.plans_in is not None and not names & segment.plans_in:
                continue
            if names & segment.plans_out:
                continue
            kept.add((plan.get("data_source_uuid"), plan.get("external_id")))
        return kept

    # -- values ---------------------------------------------------------------------------
    def point(
        self, d: date, interval: str = "day", segment: Segment | None = None
    ) -> dict[str, Any]:
        """All eight headline figures and the five movements for the period ending ``d``."""
        series = self.series(segment or Segment())
        end = d.toordinal()
        first = period_start(d, interval).toordinal()
        rate_first = end - RATE_WINDOW_DAYS + 1 if interval in ("day", "week") else first
        mrr = series.at(_MRR, end)
        customers = series.at(_CUSTOMERS, end)
        arpa = round(mrr / customers) if customers else 0
        new_customers = series.between(_N_NEW, rate_first, end)
        asp = round(series.between(_NEW, rate_first, end) / new_customers) if new_customers else 0
        customers_before = series.at(_CUSTOMERS, rate_first - 1)
        churned = series.between(_N_CHURNED, rate_first, end)
        churn = round(churned / customers_before * 100, 2) if customers_before else 0.0
        mrr_before = series.at(_MRR, rate_first - 1)
        lost = -(
            series.between(_CHURN, rate_first, end)
            + series.between(_CON, rate_first, end)
            + series.between(_EXP, rate_first, end)
        )
        mrr_churn = round(lost / mrr_before * 100, 2) if mrr_before else 0.0
        ltv: int | float = round(arpa * 100 / churn) if churn > 0 else 0
        if mix64(self.account.seed, _LTV_FLOAT, end) & 1:
            ltv = float(ltv)  # ints and floats like 15620.0 mixed: docs/chartmogul-api.md §2.16
        movements = {
            name: series.between(column, first, end)
            for name, column in zip(MOVEMENTS, (_NEW, _EXP, _CON, _CHURN, _REACT), strict=True)
        }
        return {
            "customer-churn-rate": float(churn),
            "mrr-churn-rate": float(mrr_churn),
            "ltv": ltv,
            "customers": customers,
            "asp": asp,
            "arpa": arpa,
            "arr": mrr * 12,
            "mrr": mrr,
            **movements,
        }

    def entries(
        self,
        metric: str,
        start: date,
        end: date,
        interval: str | None = None,
        *,
        segment: Segment | None = None,
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
        for day in period_dates(start, end, interval):
            values = self.point(day, interval, segment)
            out.append(_entry(metric, day, values, previous))
            previous = values
        return out

    def summary(self, metric: str, *, segment: Segment | None = None) -> dict[str, Any]:
        """Point-in-time ``current``/``previous`` as of the fake's today (not the window)."""
        if metric not in DEFAULT_INTERVAL:
            raise KeyError(metric)
        today = self.account.today
        now = self.point(today, segment=segment)
        before = self.point(today - timedelta(days=SUMMARY_PREVIOUS_DAYS), segment=segment)
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


def _entry(
    metric: str, day: date, values: dict[str, Any], previous: dict[str, Any] | None
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
        entry.update({name: values[name] for name in MOVEMENTS})
    return entry
