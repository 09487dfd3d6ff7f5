"""The one HTTP session every request of a run goes through.

ChartMogul allows 40 requests per second per account and 20 parallel connections;
above them it answers 429 and 503. Instead of provoking those and backing off, the
tap stays under both limits on its own side:

- ``requests-ratelimiter``'s ``LimiterAdapter`` (a pyrate-limiter sliding window)
  admits at most ``requests_per_second`` requests in any second, retries included,
  across every stream and thread of the run; when a 429 still arrives (another tool
  shares the key), it fills its window so the next requests wait;
- the adapter's connection pool holds at most ``max_connections`` connections and
  blocks further requests until one is free (``pool_block``), so parallel fan-out
  can never open more connections than allowed.
"""

from __future__ import annotations

import requests
from requests_ratelimiter import LimiterAdapter

#: ChartMogul's documented ceilings.
API_REQUESTS_PER_SECOND = 40
API_MAX_CONNECTIONS = 20
#: Extra wait after a full window, in ms. pyrate-limiter's default of 50 ms costs 5% of
#: the allowed rate on every window (measured: 36 configured gave 34.3 requests/s).
LIMITER_BUFFER_MS = 5


def build_session(*, requests_per_second: float, max_connections: int) -> requests.Session:
    """A session limited to ``requests_per_second`` and ``max_connections``."""
    adapter = LimiterAdapter(
        per_second=requests_per_second,
        per_host=False,
        limit_statuses=(429,),
        pool_connections=1,
        pool_maxsize=max_connections,
        pool_block=True,
    )
    adapter.limiter.buffer_ms = LIMITER_BUFFER_MS
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
