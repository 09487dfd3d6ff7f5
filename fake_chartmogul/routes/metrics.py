"""``/metrics/*``: entries of a window plus a point-in-time summary (§2.16)."""

from __future__ import annotations

from datetime import date

from fake_chartmogul import metrics as metrics_model
from fake_chartmogul.errors import invalid_param, missing_param

from .base import JSON_UTF8, Endpoints, Response, error


class MetricRoutes(Endpoints):
    """The nine metric endpoints, answered by the account's metrics model."""

    def metrics(self, name: str, query: dict[str, str]) -> Response:
        """Entries for the window plus a point-in-time summary (docs/chartmogul-api.md §2.16)."""
        start = _metric_date(query, "start-date")
        end = _metric_date(query, "end-date")
        segment = {k: query.get(k) or None for k in ("geo", "plans", "filters")}
        try:
            entries = self.account.metrics_entries(
                name, start, end, query.get("interval") or None, **segment
            )
            summary = self.account.summary(name, **segment)
        except metrics_model.MetricError as exc:
            return error(400, exc.message, exc.param)
        return Response(200, {"entries": entries, "summary": summary}, JSON_UTF8)


def _metric_date(query: dict[str, str], param: str) -> date:
    raw = query.get(param)
    if not raw:
        raise missing_param(param)
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise invalid_param(param) from None
