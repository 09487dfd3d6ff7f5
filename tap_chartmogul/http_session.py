"""The one HTTP session every request of a run goes through.

ChartMogul allows 40 requests per second per account and 20 parallel connections;
above them it answers 429 and 503. Instead of provoking those and backing off, the
tap stays under both limits on its own side:

- ``requests-ratelimiter``'s ``LimiterAdapter`` with a pyrate-limiter sliding window
  admits at most ``requests_per_second`` requests in any second, retries included,
  across every stream and thread of the run, and no more than a tenth of them in any
  100 ms, so requests are spread over the second instead of leaving in one burst
  (bursts are what turn a few milliseconds of network jitter into a 429). When a 429
  still arrives (another tool shares the key), the adapter fills its window so the
  next requests wait;
- the adapter's connection pool holds at most ``max_connections`` connections and
  blocks further requests until one is free (``pool_block``), so parallel fan-out
  can never open more connections than allowed.
"""

from __future__ import annotations

import math

import requests
from pyrate_limiter import Duration, Limiter, Rate
from requests_ratelimiter import LimiterAdapter

#: ChartMogul's documented ceilings.
API_REQUESTS_PER_SECOND = 40
API_MAX_CONNECTIONS = 20
#: Extra wait after a full window, in ms. pyrate-limiter's default of 50 ms costs 5% of
#: the allowed rate on every window (measured: 36 configured gave 34.3 requests/s).
LIMITER_BUFFER_MS = 5
#: The short window that spreads each second's requests.
TICK_MS = int(Duration.SECOND) // 10


class LimitedSession(requests.Session):
    """A session that also stops its rate limiter's background thread when closed."""

    def __init__(self, limiter: Limiter) -> None:
        """Keep the limiter so ``close`` can release it."""
        super().__init__()
        self.limiter = limiter

    def close(self) -> None:
        """Close the connections, then the limiter."""
        super().close()
        self.limiter.close()


def build_session(*, requests_per_second: int, max_connections: int) -> requests.Session:
    """A session limited to ``requests_per_second`` and ``max_connections``."""
    limiter = Limiter(
        [
            Rate(math.ceil(requests_per_second * TICK_MS / int(Duration.SECOND)), TICK_MS),
            Rate(requests_per_second, Duration.SECOND),
        ],
        buffer_ms=LIMITER_BUFFER_MS,
    )
    adapter = LimiterAdapter(
        limiter=limiter,
        per_host=False,
        limit_statuses=(429,),
        pool_connections=1,
        pool_maxsize=max_connections,
        pool_block=True,
    )
    session = LimitedSession(limiter)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
