"""Print a short ChartMogul report from the DuckDB file that scripts/load_duckdb.py built.

Usage: ``python scripts/report.py output/chartmogul.duckdb``

- **By month**, from the ``metrics`` table (``/v1/metrics/all``, unsegmented series ``all``):
  MRR and customers at each month's last row (month end, or the latest day of the current
  month), and customer and MRR churn rates. The churn rates are shown only for rows with
  ``interval = 'month'``: ChartMogul computes a churn rate per period, and a month's rate cannot
  be rebuilt from daily ones, so the quick start syncs with ``metrics_interval=month``.
- **Top plans by MRR**, from ``customer_subscriptions``: current subscription MRR summed per
  plan name (inactive subscriptions carry 0).

Amounts are cents in the account currency (ChartMogul uses x100 for every currency), shown in
currency units with the ``account`` table's currency code.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import duckdb

MONTHS = 12
TOP_PLANS = 5

MONTHLY_SQL = """
SELECT date, mrr, customers,
       CASE WHEN "interval" = 'month' THEN customer_churn_rate END,
       CASE WHEN "interval" = 'month' THEN mrr_churn_rate END
FROM metrics
WHERE segment = 'all'
QUALIFY row_number() OVER (PARTITION BY date_trunc('month', date) ORDER BY date DESC) = 1
ORDER BY date DESC
LIMIT ?
"""

PLANS_SQL = """
SELECT coalesce(plan, '(no plan)') AS plan, sum(mrr) AS mrr
FROM customer_subscriptions
GROUP BY ALL
HAVING sum(mrr) > 0
ORDER BY mrr DESC, plan
"""


def money(cents: Decimal | None) -> str:
    """Cents as currency units with thousands separators (``12,345.67``)."""
    return "-" if cents is None else f"{Decimal(cents) / 100:,.2f}"


def percent(value: Decimal | None) -> str:
    """A ChartMogul percentage (1.71 means 1.71 %), or ``n/a`` where none applies."""
    return "n/a" if value is None else f"{value:.2f} %"


def count(value: Decimal | None) -> str:
    """A whole number with thousands separators."""
    return "-" if value is None else f"{value:,.0f}"


def report(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The report's lines."""
    account = con.execute("SELECT name, currency FROM account LIMIT 1").fetchone()
    name, currency = account or ("(no account row)", "")
    lines = [f"ChartMogul report: {name} (amounts in {currency})", ""]

    months = list(reversed(con.execute(MONTHLY_SQL, [MONTHS]).fetchall()))
    lines.append(
        f"{'As of':<12}{'MRR':>16}{'Customers':>11}{'Customer churn':>16}{'MRR churn':>11}"
    )
    lines += [
        f"{day.isoformat():<12}{money(mrr):>16}{count(customers):>11}"
        f"{percent(churn):>16}{percent(mrr_churn):>11}"
        for day, mrr, customers, churn, mrr_churn in months
    ] or ["(no metrics rows)"]
    if any(churn is None for _, _, _, churn, _ in months):
        lines.append("(churn rates are per month: sync with metrics_interval=month to see them)")

    plans = con.execute(PLANS_SQL).fetchall()
    total = sum(mrr for _, mrr in plans)
    width = max([len(plan) for plan, _ in plans[:TOP_PLANS]] + [4]) + 2
    lines += [
        "",
        f"Top plans by MRR (of {len(plans)} with MRR)",
        f"{'Plan':<{width}}{'MRR':>16}{'Share':>8}",
    ]
    lines += [
        f"{plan:<{width}}{money(mrr):>16}{mrr / total * 100:>7.1f}%"
        for plan, mrr in plans[:TOP_PLANS]
    ] or ["(no subscription MRR)"]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line: print the report of the DuckDB file named by the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    database = Path(args[0])
    if not database.exists():
        print(f"report: {database} does not exist", file=sys.stderr)
        return 1
    with duckdb.connect(str(database), read_only=True) as con:
        print("\n".join(report(con)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
