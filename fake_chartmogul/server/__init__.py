"""HTTP front of the fake: auth, knobs, fault injection, scripted answers and a request log.

The knobs are latency, a rate limit and a parallel-connection cap; ChartMogul's side of this is
docs/chartmogul-api.md §1.1 (auth, the exact 401 body), §1.3 (40 requests/s, 20 parallel
connections) and §1.4 (plain-text 5xx bodies).

``FakeChartMogul`` (fake.py: lifecycle, the order each request goes through) is built in
layers: ``log`` (the request log) <- ``wire`` (socket server, handler, auth, the bytes of an
answer) <- ``limits`` (connections, rate, latency) <- ``scripts`` (random and scripted faults)
<- ``harness`` (the ``/_fake/`` endpoints of a benchmark in another process).
"""

from __future__ import annotations

from .fake import FakeChartMogul
from .harness import KNOBS_PATH, STATS_PATH
from .log import RequestRecord

__all__ = ["KNOBS_PATH", "STATS_PATH", "FakeChartMogul", "RequestRecord"]
