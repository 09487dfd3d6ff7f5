"""Report on a ChartMogul DuckDB file, read from the dbt marts of transform/ (docs/models.md).

Usage: ``python scripts/report.py output/chartmogul.duckdb [--html output/report.html]``

Prints a text summary, and with ``--html`` also writes one self-contained HTML page (no server
and no internet needed: plotly.js and the styles are inlined) with four charts:

- **MRR bridge**: per month, the five MRR movements as stacked bars (new business, expansion
  and reactivation up; contraction and churn down) and the net new MRR as a line
  (``analytics.mrr_bridge_monthly``);
- **MRR and customers** at each month end (same mart);
- **Customer retention** and **net MRR retention** of each cohort, month by month since its
  first month, as heat maps (``analytics.cohort_retention_monthly``).

The text summary has the last 12 months of the bridge, whether the bridge reconciles with
ChartMogul's own metrics (``analytics.mrr_reconciliation``) and the top plans by MRR
(``analytics.plan_mrr_monthly``). Amounts are cents in the account currency (ChartMogul uses
x100 for every currency), shown in currency units.

Why plotly: a well-kept library whose Python package ships plotly.js, so the page needs no
CDN; its charts are SVG (a test can count what was drawn) and interactive (hover, zoom).
"""

from __future__ import annotations

import argparse
import html
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import plotly.graph_objects as go
import plotly.io as pio

MONTHS = 12
TOP_PLANS = 5
COHORTS = 24
MOVEMENTS = (
    ("mrr_new_business", "New business", "#2ca02c"),
    ("mrr_expansion", "Expansion", "#98df8a"),
    ("mrr_reactivation", "Reactivation", "#17becf"),
    ("mrr_contraction", "Contraction", "#ff9896"),
    ("mrr_churn", "Churn", "#d62728"),
)

BRIDGE_SQL = """
SELECT "month", opening_mrr, mrr_new_business, mrr_expansion, mrr_reactivation,
       mrr_contraction, mrr_churn, net_new_mrr, closing_mrr, new_customers,
       churned_customers, closing_customers
FROM analytics.mrr_bridge_monthly
ORDER BY "month"
"""

RECONCILIATION_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE mrr <> mrr_from_activities
           OR mrr_new_business <> mrr_new_business_from_activities
           OR mrr_expansion <> mrr_expansion_from_activities
           OR mrr_contraction <> mrr_contraction_from_activities
           OR mrr_churn <> mrr_churn_from_activities
           OR mrr_reactivation <> mrr_reactivation_from_activities),
       min("date"), max("date")
FROM analytics.mrr_reconciliation
"""

PLANS_SQL = """
SELECT coalesce(plan_name, plan_external_id, '(no plan)') AS plan, mrr
FROM analytics.plan_mrr_monthly
WHERE "month" = (SELECT max("month") FROM analytics.plan_mrr_monthly) AND mrr > 0
ORDER BY mrr DESC, plan
"""

COHORTS_SQL = """
SELECT cohort_month, months_since_cohort, customer_retention_rate, net_mrr_retention_rate
FROM analytics.cohort_retention_monthly
WHERE cohort_month >= (
    SELECT max(cohort_month) - INTERVAL (? - 1) MONTH FROM analytics.cohort_retention_monthly
)
ORDER BY cohort_month, months_since_cohort
"""


@dataclass(frozen=True)
class Data:
    """What the report shows, read once from the marts."""

    account: str
    currency: str
    bridge: list[tuple[Any, ...]]
    reconciliation: tuple[Any, ...]
    plans: list[tuple[str, int]]
    cohorts: list[tuple[Any, ...]]


def read(con: duckdb.DuckDBPyConnection) -> Data:
    """Everything the text and the HTML report need."""
    account = con.execute(
        "SELECT name, currency FROM staging.stg_chartmogul__account LIMIT 1"
    ).fetchone()
    name, currency = account or ("(no account row)", "")
    return Data(
        account=name or "",
        currency=currency or "",
        bridge=con.execute(BRIDGE_SQL).fetchall(),
        reconciliation=con.execute(RECONCILIATION_SQL).fetchone() or (0, 0, None, None),
        plans=con.execute(PLANS_SQL).fetchall(),
        cohorts=con.execute(COHORTS_SQL, [COHORTS]).fetchall(),
    )


def money(cents: float | Decimal | None) -> str:
    """Cents as currency units with thousands separators (``12,345.67``)."""
    return "-" if cents is None else f"{Decimal(cents) / 100:,.2f}"


def units(cents: float | Decimal | None) -> float | None:
    """Cents as currency units for a chart axis."""
    return None if cents is None else float(cents) / 100


def text_report(data: Data) -> list[str]:
    """The text summary's lines."""
    lines = [f"ChartMogul report: {data.account} (amounts in {data.currency})", ""]
    header = ["Month", "Opening", "New", "Expansion", "Reactiv.", "Contract.", "Churn"]
    header += ["Closing", "Customers"]
    lines.append(
        f"{header[0]:<9}" + "".join(f"{h:>13}" for h in header[1:-1]) + f"{header[-1]:>11}"
    )
    for row in data.bridge[-MONTHS:]:
        month, opening, *moves, _net, closing, _new, _churned, customers = row
        cells = [money(opening), *(money(m) for m in moves), money(closing)]
        lines.append(f"{month:%Y-%m}   " + "".join(f"{c:>13}" for c in cells) + f"{customers:>11,}")
    if not data.bridge:
        lines.append("(no activities)")
    periods, different, first, last = data.reconciliation
    lines.append("")
    if not periods:
        lines.append("Reconciliation: no metrics_mrr rows to compare with")
    elif different:
        lines.append(
            f"Reconciliation: {different} of {periods} ChartMogul metric periods from {first} "
            f"to {last} differ from the activities (see analytics.mrr_reconciliation)"
        )
    else:
        lines.append(
            f"Reconciliation: MRR and its movements equal ChartMogul's metrics in all {periods} "
            f"periods from {first} to {last}"
        )
    total = sum(mrr for _, mrr in data.plans)
    width = max([len(plan) for plan, _ in data.plans[:TOP_PLANS]] + [4]) + 2
    lines += [
        "",
        f"Top plans by MRR (of {len(data.plans)} with MRR)",
        f"{'Plan':<{width}}{'MRR':>16}{'Share':>8}",
    ]
    lines += [
        f"{plan:<{width}}{money(mrr):>16}{mrr / total * 100:>7.1f}%"
        for plan, mrr in data.plans[:TOP_PLANS]
    ] or ["(no subscription MRR)"]
    return lines


def bridge_figure(data: Data) -> go.Figure:
    """Stacked movements per month (gains up, losses down) and the net new MRR."""
    months = [row[0] for row in data.bridge]
    fig = go.Figure()
    for offset, (_, label, color) in enumerate(MOVEMENTS, start=2):
        fig.add_bar(
            x=months, y=[units(row[offset]) for row in data.bridge], name=label, marker_color=color
        )
    fig.add_scatter(
        x=months,
        y=[units(row[7]) for row in data.bridge],
        name="Net new MRR",
        mode="lines+markers",
        line={"color": "#333333"},
    )
    fig.update_layout(
        title="MRR bridge by month",
        barmode="relative",
        yaxis_title=f"MRR movement ({data.currency})",
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def mrr_figure(data: Data) -> go.Figure:
    """Closing MRR and paying customers at each month end, on two axes."""
    months = [row[0] for row in data.bridge]
    fig = go.Figure()
    fig.add_scatter(
        x=months,
        y=[units(row[8]) for row in data.bridge],
        name=f"MRR ({data.currency})",
        mode="lines+markers",
        line={"color": "#1f77b4"},
    )
    fig.add_scatter(
        x=months,
        y=[row[11] for row in data.bridge],
        name="Customers",
        mode="lines+markers",
        yaxis="y2",
        line={"color": "#ff7f0e"},
    )
    fig.update_layout(
        title="MRR and customers at month end",
        yaxis={"title": f"MRR ({data.currency})", "rangemode": "tozero"},
        yaxis2={
            "title": "Customers",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "tickformat": ",d",
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def cohort_figure(data: Data, column: int, title: str, top: float) -> go.Figure:
    """A cohort heat map: a row per cohort month, a column per month since it started.

    Colours run from 0 to ``top`` percent (values above it take the darkest), so one cohort
    that tripled its MRR does not wash out every other.
    """
    cohorts = sorted({row[0] for row in data.cohorts})
    ages = sorted({row[1] for row in data.cohorts})
    cells = {(row[0], row[1]): row[column] for row in data.cohorts}
    z = [[_float(cells.get((c, a))) for a in ages] for c in cohorts]
    fig = go.Figure(
        go.Heatmap(
            x=ages,
            y=[f"{c:%Y-%m}" for c in cohorts],
            z=z,
            colorscale="Blues",
            zmin=0,
            zmax=top,
            colorbar={"title": "%"},
            hovertemplate="cohort %{y}, month %{x}: %{z:.1f} %<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="Months since the cohort's first month",
        yaxis_title="Cohort (first month with MRR)",
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return fig


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def html_report(data: Data) -> str:
    """One self-contained page: the summary as text and the four charts (plotly.js inlined)."""
    figures = [
        ("bridge", bridge_figure(data)),
        ("mrr", mrr_figure(data)),
        ("retention", cohort_figure(data, 2, "Customer retention by cohort (%)", 100)),
        (
            "net-retention",
            cohort_figure(data, 3, "Net MRR retention by cohort (%, 200 and above darkest)", 200),
        ),
    ]
    charts = []
    for index, (name, figure) in enumerate(figures):
        figure.update_layout(template="plotly_white", height=460, margin={"t": 60})
        div = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=index == 0,  # once, inline: the page works offline
            div_id=f"chart-{name}",
            config={"displaylogo": False, "responsive": True},
        )
        charts.append(f'<section class="chart" data-chart="{name}">{div}</section>')
    summary = html.escape("\n".join(text_report(data)))
    title = html.escape(f"ChartMogul report: {data.account}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.5rem; }}
pre {{ background: #f6f8fa; padding: 1rem; overflow-x: auto; font-size: 0.8rem; }}
.chart {{ margin: 1.5rem 0; border-top: 1px solid #ddd; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>From the dbt marts of tap-chartmogul (transform/); amounts in {html.escape(data.currency)}.</p>
{"".join(charts)}
<h2>Summary</h2>
<pre>{summary}</pre>
</body>
</html>
"""


def main(argv: list[str] | None = None) -> int:
    """Command line: print the text report, and write the HTML one with ``--html``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="the DuckDB file the dbt models were built in")
    parser.add_argument("--html", type=Path, default=None, help="also write this HTML report")
    args = parser.parse_args(argv)
    if not args.database.exists():
        print(f"report: {args.database} does not exist", file=sys.stderr)
        return 1
    try:
        with duckdb.connect(str(args.database), read_only=True) as con:
            data = read(con)
    except duckdb.CatalogException as exc:
        print(f"report: {exc} (build the dbt models first: docs/models.md)", file=sys.stderr)
        return 1
    print("\n".join(text_report(data)))
    if args.html is not None:
        args.html.write_text(html_report(data), encoding="utf-8")
        print(f"report: wrote {args.html}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
