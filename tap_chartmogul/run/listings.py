"""Listings: what one stream fetches, fetched once per run, read by every stream that needs it.

Each stream's records are fetched by a ``Listing`` on a background thread from the
beginning of the run (``RunContext.begin``), while earlier streams are still being
written, and read back in order when the SDK gets to the stream.

A listing also serves every stream that needs the same data, so nothing is requested
twice: ``customer_subscriptions`` fans out over the ``customers`` listing,
``plan_group_plans`` over ``plan_groups``, and ``invoice_line_items`` and
``invoice_transactions`` expand the ``invoices`` listing (they cost no request).

Memory stays bounded: records wait in memory in chunks, while the run's
``MemoryBudget`` (shared by every listing) has room; beyond that, chunks are written to
a temporary file (encoded with msgspec) and read back from it. A chunk is dropped from
memory, and its share of the budget returned, once every reader has passed it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import threading
import typing as t

import msgspec

from tap_chartmogul.errors import LocalResourceError, RunCancelledError
from tap_chartmogul.run.workers import start_daemon

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from tap_chartmogul.run.session import ChartMogulSession

Record = dict[str, t.Any]

#: Records per chunk: one full page, so a chunk is handed over as soon as a page is read.
CHUNK_RECORDS = 200
#: Records all listings of a run keep in memory, ahead of their readers, before spilling
#: to disk: about 10 pages, a few MB, whatever the account's size.
DEFAULT_MEMORY_RECORDS = 2_000

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()


class MemoryBudget:
    """How many records all listings of a run may hold in memory at once."""

    def __init__(self, records: int = DEFAULT_MEMORY_RECORDS) -> None:
        """Start with the whole budget free."""
        self._free = records
        self._lock = threading.Lock()

    def take(self, records: int) -> bool:
        """Reserve room for ``records``; False (and nothing reserved) when there is none."""
        with self._lock:
            if records > self._free:
                return False
            self._free -= records
            return True

    def give(self, records: int) -> None:
        """Return room that ``take`` reserved."""
        with self._lock:
            self._free += records


class _Chunk:
    """A run of records, in memory or at (offset, length) in the spill file."""

    __slots__ = ("length", "offset", "passed", "records", "size")

    def __init__(self, records: list[Record] | None, size: int, offset: int, length: int) -> None:
        self.records = records
        self.size = size
        self.offset = offset
        self.length = length
        self.passed = 0


class Listing:
    """One listing's records, produced on a background thread, read in order by each reader.

    ``fetch`` yields the records; it runs once, on a daemon thread started by the first
    ``start``/``read``. Each ``read`` iterates every record from the first, waiting for
    the producer when it is ahead, and raises the producer's error (once the records
    fetched before it are read). ``readers`` says how many reads to expect, so memory
    can be released behind them. ``session`` is the HTTP session ``fetch``'s requests
    go through: its priority is the listing's place in the pacer's queue.
    """

    def __init__(
        self,
        name: str,
        fetch: Callable[[], Iterable[Record]],
        *,
        session: ChartMogulSession,
        budget: MemoryBudget | None = None,
        on_complete: Callable[[], None] | None = None,
    ) -> None:
        """Prepare; nothing is fetched until ``start`` or the first ``read``.

        ``on_complete`` is called (on the producer's thread) once every record is fetched.
        """
        self.name = name
        self.session = session
        self._fetch = fetch
        self._on_complete = on_complete
        self._budget = budget or MemoryBudget()
        self._condition = threading.Condition()
        self._chunks: list[_Chunk] = []
        self._readers = 1
        self._started = False
        self._done = False
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._spill: t.IO[bytes] | None = None
        self._spill_end = 0
        #: Spill I/O and ``close``: a file closed under a producer or reader is never
        #: reopened, and its descriptor number (reused by the process) never written.
        self._spill_lock = threading.Lock()
        self._closed = False

    # --- producer -------------------------------------------------------------------------

    def expect_readers(self, count: int) -> None:
        """How many streams will read this listing in this run (at least one)."""
        with self._condition:
            self._readers = max(1, count)

    def start(self) -> None:
        """Start fetching in the background (once; later calls do nothing)."""
        with self._condition:
            if self._started:
                return
            self._started = True
            self._condition.notify_all()
        start_daemon(self._produce, f"tap-chartmogul-{self.name}")

    @property
    def done(self) -> bool:
        """Whether the producer has ended (every record fetched, or an error)."""
        with self._condition:
            return self._done

    def wait_done(self, cancelled: threading.Event) -> None:
        """Wait until the producer has ended (or the run is cancelled)."""
        with self._condition:
            while not self._done:
                if cancelled.is_set():
                    raise RunCancelledError(self.name)
                self._condition.wait(timeout=0.5)

    def cancel(self) -> None:
        """Stop fetching: the producer ends before its next record."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """Whether the listing was told to stop."""
        return self._cancelled.is_set()

    def _produce(self) -> None:
        batch: list[Record] = []
        try:
            for record in self._fetch():
                self._stop_if_cancelled()
                batch.append(record)
                if len(batch) >= CHUNK_RECORDS:
                    self._append(batch)
                    batch = []
            if batch:
                self._append(batch)
        except BaseException as error:  # noqa: BLE001 - handed to the readers
            with self._condition:
                self._error = error
                self._done = True
                self._condition.notify_all()
            return
        with self._condition:
            self._done = True
            self._condition.notify_all()
        if self._on_complete is not None:
            self._on_complete()

    def _stop_if_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise RunCancelledError(self.name)

    def _append(self, records: list[Record]) -> None:
        keep = self._budget.take(len(records))
        chunk = _Chunk(records, len(records), 0, 0) if keep else self._spilled(records)
        with self._condition:
            self._chunks.append(chunk)
            self._condition.notify_all()

    def _spilled(self, records: list[Record]) -> _Chunk:
        data = _ENCODER.encode(records)
        with self._spill_lock:
            if self._closed:  # the run ended (failed) while this page was on its way
                raise RunCancelledError(self.name)
            offset = self._spill_end
            try:
                if self._spill is None:
                    self._spill = tempfile.TemporaryFile(prefix="tap-chartmogul-")  # noqa: SIM115 - lives with the listing
                written = 0
                while written < len(data):
                    written += os.pwrite(self._spill.fileno(), data[written:], offset + written)
            except OSError as error:
                raise spill_error(error) from None
            self._spill_end += len(data)
        return _Chunk(None, len(records), offset, len(data))

    # --- readers ----------------------------------------------------------------------------

    def read(self, limit: int | None = None) -> Iterator[Record]:
        """Every record of the listing, in order; raises the producer's error at its point.

        Records may be shared with other readers: treat them as read-only. With a
        ``limit`` (the SDK's connection test) at most that many records are fetched,
        directly on the reader's thread, and nothing is kept.
        """
        if limit is not None:
            yield from itertools.islice(self._fetch(), limit)
            return
        self.start()
        index = 0
        while True:
            with self._condition:
                while index >= len(self._chunks) and not self._done:
                    self._condition.wait(timeout=1.0)
                if index >= len(self._chunks):
                    if self._error is not None:
                        raise self._error
                    return
                chunk = self._chunks[index]
                records = chunk.records
            if records is None:
                records = self._load(chunk)
            yield from records
            self._passed(chunk)
            index += 1

    def _load(self, chunk: _Chunk) -> list[Record]:
        with self._spill_lock:
            if self._spill is None:  # a spilled chunk implies the file: it was closed
                raise RunCancelledError(self.name)
            try:
                data = os.pread(self._spill.fileno(), chunk.length, chunk.offset)
            except OSError as error:
                raise spill_error(error) from None
        return t.cast("list[Record]", _DECODER.decode(data))

    def _passed(self, chunk: _Chunk) -> None:
        with self._condition:
            chunk.passed += 1
            freed = chunk.passed >= self._readers and chunk.records is not None
            if freed:
                chunk.records = None
        if freed:
            self._budget.give(chunk.size)

    def close(self) -> None:
        """Stop fetching and release the spill file (at once: a failed run ends here too)."""
        self.cancel()
        with self._spill_lock:
            self._closed = True
            spill, self._spill = self._spill, None
        if spill is not None:
            with contextlib.suppress(OSError):
                spill.close()


def spill_error(error: OSError) -> LocalResourceError:
    """One line for a spill file that cannot be written: where, why, and what to do."""
    directory = tempfile.gettempdir()
    reason = error.strerror or type(error).__name__
    return LocalResourceError(
        f"Cannot write a temporary file in {directory} ({reason}, errno {error.errno}): the "
        "tap keeps records there while earlier streams are written; free space there or "
        "set TMPDIR to a directory with room"
    )
