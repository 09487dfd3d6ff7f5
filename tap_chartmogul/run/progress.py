"""How far a run has got: per-stream counters, periodic progress lines, a final summary.

A daily run should say little: progress lines only for long streams (records, requests
and rate; for fan-outs how many parents are done of how many and the time left), the
first ``FIRST_PROGRESS_SECONDS`` after the SDK starts writing the stream, so a short sync
(the quick start's 14 s) still shows its longest stream moving, then ever more sparsely,
every ``PROGRESS_INTERVAL_SECONDS`` at most, and one summary table at the end (per
stream: records, requests, retries, seconds), followed by what the user must know about
the run's figures (provisional metrics, ``processing``). Counters are updated from the threads
that do the work, under one lock.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from collections.abc import Callable

#: Seconds from the start of writing a stream to its first progress line; each gap doubles.
FIRST_PROGRESS_SECONDS = 5.0
#: Longest gap between progress lines of a stream that is still running.
PROGRESS_INTERVAL_SECONDS = 30.0

logger = logging.getLogger("tap-chartmogul")


@dataclass
class StreamStats:
    """Counters of one stream in one run."""

    name: str
    records: int = 0
    requests: int = 0
    retries: int = 0
    invalid_values: int = 0
    parents_done: int = 0
    parents_total: int | None = None
    started: float | None = None
    fetched: float | None = None
    finished: float | None = None
    outcome: str = "not selected"
    #: When the SDK started writing the stream's records, and when progress was last told.
    writing_since: float | None = None
    last_report: float = field(default=0.0)
    next_gap: float = FIRST_PROGRESS_SECONDS

    def seconds(self, now: float) -> float:
        """Wall time from the stream's first request to its last record fetched.

        Records are fetched ahead of the SDK writing them, so the time a stream waits
        for its turn to be written is not counted.
        """
        if self.started is None:
            return 0.0
        end = self.fetched or self.finished or now
        return max(0.0, end - self.started)


class RunProgress:
    """Counters for every stream of a run, and the lines that report them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start empty; ``clock`` is injectable so tests need not wait."""
        self._clock = clock
        self._lock = threading.Lock()
        self.streams: dict[str, StreamStats] = {}
        self.run_started = clock()
        #: Lines the summary ends with: what the run's user must know about its figures.
        self.notes: list[str] = []

    def register(self, name: str) -> None:
        """Track ``name`` (in construction order, which the summary keeps)."""
        with self._lock:
            self.streams.setdefault(name, StreamStats(name))

    def _touch(self, stats: StreamStats) -> None:
        if stats.started is None:
            stats.started = self._clock()

    def request(self, name: str) -> None:
        """One HTTP attempt was made for ``name``."""
        with self._lock:
            stats = self.streams[name]
            self._touch(stats)
            stats.requests += 1

    def retry(self, name: str) -> None:
        """One attempt for ``name`` failed and will be retried."""
        with self._lock:
            self.streams[name].retries += 1

    def parents(self, name: str, *, done: int | None = None, total: int | None = None) -> None:
        """A fan-out finished ``done`` parents so far, of ``total`` once known."""
        with self._lock:
            stats = self.streams[name]
            if done is not None:
                stats.parents_done = done
            if total is not None:
                stats.parents_total = total

    def records(self, name: str, count: int = 1) -> None:
        """``count`` more records of ``name`` were handed to the SDK.

        A progress line is due ``FIRST_PROGRESS_SECONDS`` after the SDK started writing the
        stream, then after gaps that double up to ``PROGRESS_INTERVAL_SECONDS``: only long
        streams get one.
        """
        with self._lock:
            stats = self.streams[name]
            self._touch(stats)
            stats.records += count
            now = self._clock()
            if stats.writing_since is None:
                stats.writing_since = stats.last_report = now
            due = now - stats.last_report >= stats.next_gap
            if due:
                stats.last_report = now
                stats.next_gap = min(2 * stats.next_gap, PROGRESS_INTERVAL_SECONDS)
        if due:
            logger.info("%s", self.describe(name))

    def fetched(self, name: str) -> None:
        """Every record of ``name`` has been fetched (its listing is complete)."""
        with self._lock:
            stats = self.streams[name]
            self._touch(stats)
            stats.fetched = self._clock()

    def finish(self, name: str, outcome: str, invalid_values: int = 0) -> None:
        """``name`` ended: ``completed``, ``failed`` or ``stopped``."""
        with self._lock:
            stats = self.streams[name]
            self._touch(stats)
            stats.finished = self._clock()
            stats.outcome = outcome
            stats.invalid_values = invalid_values

    def note(self, line: str) -> None:
        """Add ``line`` to the end of the summary (once, however often it is told)."""
        with self._lock:
            if line not in self.notes:
                self.notes.append(line)

    def describe(self, name: str) -> str:
        """One progress line: records, requests and rate; parents and time left for fan-outs."""
        with self._lock:
            stats = self.streams[name]
            seconds = max(stats.seconds(self._clock()), 1e-9)
            line = (
                f"{name}: {stats.records:,} records, {stats.requests:,} requests "
                f"({stats.requests / seconds:.1f}/s) in {seconds:.0f}s"
            )
            if stats.parents_total:
                done, total = stats.parents_done, stats.parents_total
                line += f"; {done:,} of {total:,} parents"
                if done:
                    left = seconds * (total - done) / done
                    line += f", about {left / 60:.0f} min left"
            return line

    def summary_lines(self) -> list[str]:
        """The end-of-run table: one row per stream that ran."""
        with self._lock:
            rows = [s for s in self.streams.values() if s.started is not None]
            now = self._clock()
            total_seconds = now - self.run_started
            notes = list(self.notes)
        width = max([len("stream"), *(len(s.name) for s in rows)])
        lines = [
            f"Run summary ({total_seconds:.1f}s):",
            (
                f"{'stream':<{width}}  {'records':>9}  {'requests':>8}  {'retries':>7}  "
                f"{'seconds':>7}  outcome"
            ),
        ]
        for s in rows:
            outcome = "read for another stream" if s.outcome == "not selected" else s.outcome
            if s.invalid_values:
                outcome += f", {s.invalid_values} values nulled"
            lines.append(
                f"{s.name:<{width}}  {s.records:>9,}  {s.requests:>8,}  {s.retries:>7,}  "
                f"{s.seconds(now):>7.1f}  {outcome}"
            )
        lines.append(
            f"{'total':<{width}}  {sum(s.records for s in rows):>9,}  "
            f"{sum(s.requests for s in rows):>8,}  {sum(s.retries for s in rows):>7,}"
        )
        return lines + notes
