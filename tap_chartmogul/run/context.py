"""One tap run: its listings, its transport, when it begins, how each stream ends.

The SDK writes streams one after another (in name order, customers and the fan-outs last:
the tap's ``streams``), and has no concurrency of its own (meltano/sdk#2121). So the run
reads ahead: every listing a selected stream needs is fetched on a background thread from
the moment the run begins, and each stream reads its listing back when the SDK gets to it.
The run knows listings, never stream objects: each stream registers its listing with two
facts, whether it is selected and which other listings it reads, and the run derives the
rest (who reads what, how urgent each listing's requests are, when memory can be freed, when
the run is over).

- **Begin.** ``begin`` starts the read-ahead, once, when the first answer of the run
  has been parsed (``attempts`` sees it): the key works, and ``api_url`` is ChartMogul.
  A bad key or a wrong URL fails on one request, not on twenty.
- **Priority.** A listing's requests wait in the pacer with (0 for pages of a chain, 1
  for a fan-out; the place in the SDK's order of the first selected stream that reads it).
- **Each stream's end.** ``emitting`` is the lifecycle of one stream's records: progress,
  how it ended, the deferred ``ACTIVATE_VERSION`` released only when it completed,
  background work stopped when it did not.
- **The run's end.** After the last selected stream, the summary is logged and threads,
  spill files and connections are released; after a stream that failed or was stopped, then.
- **--test.** A stream given a record limit (the SDK's connection test) marks the run a
  dry run: nothing is read ahead, listings are read directly, nothing is activated.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tap_chartmogul import logs
from tap_chartmogul.errors import RunCancelledError, TapChartMogulError
from tap_chartmogul.run.listings import Listing, MemoryBudget
from tap_chartmogul.run.progress import RunProgress
from tap_chartmogul.run.session import Transport
from tap_chartmogul.run.workers import Workers
from tap_chartmogul.settings import DEFAULT_MAX_RESPONSE_MB

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    import requests
    from singer_sdk.helpers.types import RequestFunc

    from tap_chartmogul.run.output import ChartMogulWriter

logger = logging.getLogger("tap-chartmogul")

#: Records between updates of the run's progress counters (and progress lines).
PROGRESS_BATCH = 200
#: How much longer than ``request_timeout`` a whole response may take (headers and a
#: 200-record body over a slow link).
DEADLINE_FACTOR = 2
FAN_OUT, CHAIN = 1, 0


def utc_now() -> datetime:
    """The current time, to the second (tests of multi-day runs replace this clock)."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class _Entry:
    """A registered listing and the facts the run asks of it at its begin."""

    listing: Listing
    selected: Callable[[], bool]
    reads: Callable[[], Iterable[Listing]]
    fan_out: bool
    write_rank: tuple[int, str]


@dataclass
class _Ends:
    """How many selected streams the run waits for, and how many have ended."""

    expected: int | None = None
    ended: int = 0
    names: set[str] = field(default_factory=set)


class RunContext:
    """The run-wide collaborators of every stream of one tap run."""

    def __init__(self, config: Mapping[str, t.Any], writer: ChartMogulWriter | None = None) -> None:
        """Build the run from the settings; no thread starts and nothing is sent yet."""
        self.config = config
        self.writer = writer
        self.workers = Workers(int(config.get("max_connections") or 1))
        self.progress = RunProgress()
        self.memory = MemoryBudget()
        self.cancelled = threading.Event()
        #: When this run started: the end of time windows (activities, subscriptions refresh).
        self.started = utc_now()
        self.dry_run = False
        timeout = float(config.get("request_timeout") or 60)
        self.transport = Transport(
            requests_per_second=int(config.get("requests_per_second") or 1),
            max_connections=int(config.get("max_connections") or 1),
            deadline_seconds=timeout * DEADLINE_FACTOR,
            max_bytes=int(config.get("max_response_mb") or DEFAULT_MAX_RESPONSE_MB) * 2**20,
        )
        self._entries: list[_Entry] = []
        self._buffers: list[Listing] = []
        self._begun = False
        self._ends = _Ends()
        self._lock = threading.Lock()

    def listing(  # noqa: PLR0913 - the facts of one listing, keyword-only
        self,
        name: str,
        fetch: Callable[[], Iterable[dict[str, t.Any]]],
        *,
        selected: Callable[[], bool],
        reads: Callable[[], Iterable[Listing]] = tuple,
        fan_out: bool = False,
        write_rank: tuple[int, str],
    ) -> Listing:
        """Register the listing ``fetch`` produces, with its selection and what else it reads.

        ``reads`` names the other listings this listing's stream reads while it is
        written (a fan-out's parent, say); it is asked once, when the run begins.
        ``write_rank`` is the stream's place in the SDK's order (``TapChartMogul.streams``
        sorts by it): the sooner a stream is written, the more urgent its requests.
        """
        listing = Listing(
            name,
            fetch,
            budget=self.memory,
            session=self.transport.session(),
            on_complete=lambda: self.progress.fetched(name),
        )
        self.progress.register(name)
        self._entries.append(_Entry(listing, selected, reads, fan_out, write_rank))
        return listing

    def buffer(self, part_of: Listing, fetch: Callable[[], Iterable[dict[str, t.Any]]]) -> Listing:
        """A listing for part of ``part_of`` (its session, the run's memory budget).

        Long listings are read as several chains at once (``split``); each chain's records
        wait in one of these until their turn. Started by the caller; ended with the run.
        """
        listing = Listing(part_of.name, fetch, session=part_of.session, budget=self.memory)
        with self._lock:
            self._buffers.append(listing)
        return listing

    # --- the run's begin and end -----------------------------------------------------------

    def begin(self) -> None:
        """Start reading ahead every listing a selected stream needs (once per run)."""
        with self._lock:  # held until readers are set: no chunk may be freed early
            if self._begun or self.dry_run:
                return
            self._begun = True
            # A listing's requests are as urgent as the first stream that reads it, in the
            # order the SDK writes them (each stream's write rank, TapChartMogul.streams).
            written = sorted(self._entries, key=lambda entry: entry.write_rank)
            order = {entry.listing.name: place for place, entry in enumerate(written)}
            readers: collections.Counter[Listing] = collections.Counter()
            urgency: dict[Listing, int] = {}
            for entry in self._entries:
                if not entry.selected():
                    continue
                place = order[entry.listing.name]
                for listing in (entry.listing, *entry.reads()):
                    readers[listing] += 1
                    urgency[listing] = min(urgency.get(listing, place), place)
            kinds = {entry.listing: FAN_OUT if entry.fan_out else CHAIN for entry in self._entries}
            for listing, count in readers.items():
                listing.expect_readers(count)
                listing.session.priority = (kinds[listing], urgency[listing])
        for listing in readers:
            listing.start()

    def _listings(self) -> list[Listing]:
        with self._lock:
            return [entry.listing for entry in self._entries] + list(self._buffers)

    def _stream_ended(self, name: str) -> None:
        """One more selected stream ended; after the last, summarise and clean up."""
        with self._lock:
            if self._ends.expected is None:
                self._ends.expected = sum(1 for entry in self._entries if entry.selected())
            self._ends.names.add(name)
            last = len(self._ends.names) >= self._ends.expected
        if last:
            for line in self.progress.summary_lines():
                logger.info("%s", line)
            self.close()

    def attempts(self, name: str, request: RequestFunc) -> RequestFunc:
        """Each attempt of ``request`` for stream ``name``, counted; none once the run ends.

        The first attempt that returns (its answer parsed) begins the run.
        """

        def attempt(prepared: requests.PreparedRequest, context: t.Any) -> t.Any:
            if self.cancelled.is_set():
                raise RunCancelledError(name)
            self.progress.request(name)
            answer = request(prepared, context)
            if not self._begun:
                self.begin()
            return answer

        return attempt

    def failed(self, name: str, *, reported: bool) -> None:
        """Stream ``name`` fails: stop the background work; mark an error the tap reports."""
        self.cancel()
        if reported:
            logs.REPORTED_FAILURES.reported(name)

    def cancel(self) -> None:
        """Stop all background work (the run failed or is ending)."""
        self.cancelled.set()
        for listing in self._listings():
            listing.cancel()
        self.workers.close()

    def close(self) -> None:
        """Release what the run holds: threads, spill files, connections."""
        self.cancel()
        for listing in self._listings():
            listing.close()
        self.transport.close()

    # --- one stream's records ---------------------------------------------------------------

    @contextlib.contextmanager
    def emitting(  # noqa: PLR0913 - the facts of one stream's end, each keyword-only
        self,
        listing: Listing,
        *,
        limit: int | None,
        activates: bool,
        aliases: Iterable[str],
        invalid_values: Callable[[], int],
        on_completed: Callable[[], None] | None = None,
    ) -> Iterator[Callable[[], None]]:
        """The lifecycle of one stream's records; the block calls the yielded ``count``.

        ``limit`` is the SDK's record limit (``--test``). On leaving: the outcome
        (``completed``, ``failed``, ``stopped``) goes to the progress; the writer flushes
        and releases the stream's ACTIVATE_VERSION only if it completed for real (and
        ``activates``); ``on_completed`` runs then too; a failure stops the run's
        background work. An error the tap words itself (``TapChartMogulError``) keeps
        the SDK's generic error line quiet.
        """
        name = listing.name
        if limit is not None:
            self.dry_run = True
        logs.REPORTED_FAILURES.reset(name)
        counted = [0, 0]  # records, of which reported to the progress

        def count() -> None:
            counted[0] += 1
            if counted[0] - counted[1] >= PROGRESS_BATCH:
                self.progress.records(name, counted[0] - counted[1])
                counted[1] = counted[0]

        outcome = "stopped"
        try:
            yield count
            outcome = "completed"
        except RunCancelledError:
            raise
        except Exception as error:
            outcome = "failed"
            self.failed(name, reported=isinstance(error, TapChartMogulError))
            raise
        finally:
            self.progress.records(name, counted[0] - counted[1])
            real = outcome == "completed" and not self.dry_run
            if not real:
                listing.cancel()
            if self.writer is not None:
                self.writer.flush()
                self.writer.stream_ended(aliases, activate=real and activates)
            if real and on_completed is not None:
                on_completed()
            self.progress.finish(name, outcome, invalid_values())
            self._stream_ended(name)
            if not real and not self.dry_run:
                # Failed here, or stopped from outside (the SDK's loop raised: a record
                # without its key, a closed output): the run is over and nothing else will
                # end it. In one process (tests, an embedding program) its spill files
                # would stay open until the tap object is collected, mid-way through
                # whatever runs next. A dry run (--test) stops streams early and goes on.
                self.close()
