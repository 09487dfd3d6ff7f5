"""What the streams of one run share: the HTTP session, workers, output and progress.

The tap builds one ``RunServices`` in ``discover_streams`` and hands it to every stream
it constructs; a stream built on its own gets a private one, so it still works
(``CustomersStream(tap).requests_session``). Each concern lives in its own module
(``http_session``, ``workers``, ``output``, ``progress``); this is only the bundle, plus
the one decision that involves all streams at once: which listings to start reading
ahead when the run begins.
"""

from __future__ import annotations

import collections
import logging
import threading
import typing as t
from datetime import datetime, timezone
from functools import cached_property

from tap_chartmogul.http_session import ChartMogulSession
from tap_chartmogul.listings import MemoryBudget
from tap_chartmogul.progress import RunProgress
from tap_chartmogul.settings import DEFAULT_MAX_RESPONSE_MB
from tap_chartmogul.workers import Workers

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_chartmogul.client import ChartMogulStream
    from tap_chartmogul.output import ChartMogulWriter

logger = logging.getLogger("tap-chartmogul")


def utc_now() -> datetime:
    """The current time, to the second (tests of multi-day runs replace this clock)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


#: Extra seconds a whole response may take beyond ``request_timeout`` (which bounds each
#: socket read): headers and a 200-record body over a slow link.
DEADLINE_FACTOR = 2


class RunServices:
    """The run-wide collaborators of every stream of one tap run."""

    def __init__(self, config: Mapping[str, t.Any], writer: ChartMogulWriter | None = None) -> None:
        """Keep the settings; the session and threads are created on first use."""
        self.config = config
        self.writer = writer
        self.workers = Workers(int(config.get("max_connections") or 1))
        self.progress = RunProgress()
        self.memory = MemoryBudget()
        self.cancelled = threading.Event()
        #: When this run started (the subscriptions refresh measures its window from it).
        self.run_started = utc_now()
        self._streams: list[ChartMogulStream] = []
        self._started = False
        self._finished_streams = 0
        self._lock = threading.Lock()

    @cached_property
    def session(self) -> ChartMogulSession:
        """The run's one session: rate limit, connection cap and response deadline."""
        timeout = float(self.config["request_timeout"])
        return ChartMogulSession(
            requests_per_second=int(self.config["requests_per_second"]),
            max_connections=int(self.config["max_connections"]),
            deadline_seconds=timeout * DEADLINE_FACTOR,
            max_bytes=int(self.config.get("max_response_mb") or DEFAULT_MAX_RESPONSE_MB) * 2**20,
        )

    def register(self, stream: ChartMogulStream) -> None:
        """Called by each stream's constructor, so the run knows its streams."""
        self._streams.append(stream)
        self.progress.register(stream.name)

    def names(self) -> list[str]:
        """The names of the run's streams."""
        return [stream.name for stream in self._streams]

    @property
    def streams(self) -> list[ChartMogulStream]:
        """Every stream of the run, in construction order."""
        return list(self._streams)

    def start_reading_ahead(self) -> None:
        """Start every listing a selected stream will read, once per run.

        Each listing learns how many selected streams read it (so it can release
        memory behind them); listings whose requests depend on the stream's state at
        sync time (``starts_with_sync``) start when their stream does.
        """
        with self._lock:  # held until the counts are set: no chunk may be freed early
            if self._started:
                return
            readers: collections.Counter[int] = collections.Counter()
            listings = {}
            # The SDK writes streams in name order: a listing's requests are as urgent as
            # the first stream that reads it (see http_session.Pacer).
            order = {name: position for position, name in enumerate(sorted(self.names()))}
            for stream in self._streams:
                if not stream.selected:
                    continue
                for listing in stream.listings_read():
                    if id(listing) not in listings:
                        listing.priority = order[stream.name]
                    listing.priority = min(listing.priority, order[stream.name])
                    readers[id(listing)] += 1
                    listings[id(listing)] = listing
            for key, listing in listings.items():
                listing.expect_readers(readers[key])
            self._started = True
        for stream in self._streams:
            if stream.selected and not stream.starts_with_sync:
                stream.listing.start()

    def stream_done(self) -> None:
        """The SDK ended the run for one more stream; after the last, summarise and clean up.

        The SDK calls ``Stream.log_sync_costs`` for every stream once, after the last
        stream synced: the only end-of-run hook a tap has without overriding the final
        ``Tap.sync_all``.
        """
        with self._lock:
            self._finished_streams += 1
            last = self._finished_streams >= len(self._streams)
        if not last:
            return
        for line in self.progress.summary_lines():
            logger.info("%s", line)
        self.close()

    def cancel(self) -> None:
        """Stop all background work (the run failed or is ending)."""
        self.cancelled.set()
        for stream in self._streams:
            stream.listing.cancel()
        self.workers.close()

    def close(self) -> None:
        """Release what the run holds: threads, spill files, connections."""
        self.cancel()
        for stream in self._streams:
            stream.listing.close()
        if "session" in self.__dict__:
            self.session.close()
