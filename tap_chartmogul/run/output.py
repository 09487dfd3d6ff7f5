"""Writing Singer messages: fast, secret-free, and deletes only after success.

- Messages are encoded with msgspec (the SDK's ``MsgSpecWriter``), several times
  faster than the default writer, and records go out in 64 KB blocks rather than one
  system call each (a STATE message flushes the block first).
- A message that contains the API key in any form (a hostile server can echo it in a
  record) has it masked before it is written.
- When whatever reads the output stops (the target crashed, ``| head``) or the disk it
  goes to is full, the run ends with one line saying so (``OutputClosedError``,
  ``LocalResourceError``) instead of the SDK's generic sync error, and nothing more is
  written: no STATE can follow the last record that was delivered.
- ``ACTIVATE_VERSION`` tells a target to delete (or mark deleted) every row of the
  stream that this run did not send. The SDK sends it when a stream *starts*
  (``Stream.sync``, singer_sdk/streams/core.py, since meltano/sdk#2686), so a run
  that fails after 400 of 2,000 customers would leave 400 customers downstream. The
  writer holds it back instead, and the stream releases it only after its last record,
  when it completed; a stream that fails or is interrupted never sends it.
- A SIGTERM or SIGINT stops the run at a whole line (:meth:`ChartMogulWriter.stop`): one
  that arrives while a block is being written (stdout blocked on a full pipe) runs its
  handler inside that write, and stopping there would cut a record short and append the
  final STATE to it, a STATE covering records never written. The stop waits for the block.
"""

from __future__ import annotations

import errno
import os
import select
import sys
import threading
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import ActivateVersionMessage, RecordMessage

from tap_chartmogul import logs
from tap_chartmogul.errors import LocalResourceError, OutputClosedError
from tap_chartmogul.redaction import SECRETS

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk.singerlib.encoding.simple import Message


#: Records are written to stdout in blocks of about this size.
OUTPUT_BLOCK_BYTES = 64 * 1024


class ChartMogulWriter(MsgSpecWriter):
    """The tap's message writer: masks secrets and defers ACTIVATE_VERSION."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Start with no ACTIVATE_VERSION held."""
        super().__init__(*args, **kwargs)
        self._held: dict[str, Message] = {}
        self._pending = bytearray()
        self._lock = threading.RLock()
        #: Set once the output cannot be written: every later message is dropped.
        self.broken: BaseException | None = None
        #: The thread writing a block to stdout now, if any.
        self._writing: int | None = None
        #: A stop that waits for the block being written: the final STATE and the exit code.
        self._stopping: tuple[Callable[[], None], int] | None = None

    def write_message(self, message: Message) -> None:
        """Write ``message`` (secrets masked); hold ACTIVATE_VERSION until released."""
        if isinstance(message, ActivateVersionMessage):
            with self._lock:
                self._held[message.stream] = message
            return
        if self.broken is not None:
            raise self.broken
        data: bytes | bytearray = self.format_message(message)
        data = SECRETS.data(bytes(data)) if SECRETS.found_in(data) else data
        with self._lock:
            self._pending += data
            # Records go out in blocks (a system call per record costs more than all the
            # tap's own work on it, and stdout may be unbuffered: PYTHONUNBUFFERED); every
            # other message, STATE above all, goes out at once with every record before it,
            # so a STATE a target has seen never covers a record it has not.
            if len(self._pending) >= OUTPUT_BLOCK_BYTES or not isinstance(message, RecordMessage):
                self._write_pending()

    def _write_pending(self) -> None:
        # Write a copy, and say so while it goes: a signal handler may run inside the write
        # (stop() then waits for it) and the final STATE must start a block of its own.
        block = bytes(self._pending)
        self._pending.clear()
        self._writing = threading.get_ident()
        try:
            _write_all(sys.stdout.buffer, block)
            sys.stdout.flush()
        except OSError as error:
            self.broken = _output_error(error)
            _discard_stdout()
            # The SDK's "unhandled error while syncing" line would only repeat this one.
            logs.REPORTED_FAILURES.reported_everywhere()
            raise self.broken from None
        finally:
            self._writing = None
        if self._stopping is not None:  # a signal came during the write: stop now
            final, code = self._stopping
            self._stopping = None
            final()
            raise SystemExit(code)

    def stop(self, final: Callable[[], None], code: int) -> None:
        """Run ``final`` (it writes the last STATE) and exit with ``code``, at a whole line.

        Called by a signal handler. Inside a block's write in this thread (a handler runs
        where the main thread was, here blocked on a full pipe), the stop waits until the
        block is out. A second stop during the same write cannot wait (whatever reads the
        output has stopped reading): it exits at once and writes nothing more, so the output
        ends inside a line, after the last STATE that was complete.
        """
        if self._writing != threading.get_ident():
            final()
            raise SystemExit(code)
        if self._stopping is None:
            self._stopping = (final, code)
            return
        self.broken = OutputClosedError("The run was stopped while its output was blocked")
        _discard_stdout()
        raise SystemExit(code)

    def flush(self) -> None:
        """Write the records still held in the block (a stream ended, or the run stops)."""
        with self._lock:
            if self.broken is None:
                self._write_pending()

    def stream_ended(self, streams: Iterable[str], *, activate: bool) -> None:
        """A stream's last record was written: send its ACTIVATE_VERSION, or forget it.

        ``activate`` only when the stream completed with every record it has.
        """
        for stream in streams:
            with self._lock:
                message = self._held.pop(stream, None)
            if message is not None and activate and self.broken is None:
                with self._lock:
                    self._pending += self.format_message(message)
                    self._write_pending()


class _Output(t.Protocol):
    """stdout's binary layer: buffered, or raw when Python runs unbuffered."""

    def write(self, data: memoryview, /) -> int | None:
        """Write some of ``data``; how much (``None``: a non-blocking file that is full)."""

    def fileno(self) -> int:
        """The file descriptor, to wait on."""


def _write_all(out: _Output, data: bytes) -> None:
    """Write every byte of ``data``, however many writes it takes.

    An unbuffered stdout (``PYTHONUNBUFFERED``, which many schedulers' environments set)
    is a raw file, whose ``write`` may take part of a block (a signal during a write to a
    full pipe) and says so only by its count.
    """
    view = memoryview(data)
    while view:
        written = out.write(view)
        if written is None:  # a non-blocking stdout that is full: wait until it takes more
            select.select([], [out.fileno()], [], 1.0)
            continue
        view = view[written:]


def _output_error(error: OSError) -> Exception:
    """One line for an output that cannot be written; what to check depends on why."""
    if isinstance(error, BrokenPipeError) or error.errno == errno.EPIPE:
        return OutputClosedError(
            "The target stopped reading the tap's output (its pipe closed): see the "
            "target's own messages for why; the next run resumes from the last STATE "
            "message it received"
        )
    reason = error.strerror or type(error).__name__
    hint = (
        "free space where the output goes"
        if error.errno in {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
        else "check where the output goes"
    )
    return LocalResourceError(
        f"Cannot write the tap's output ({reason}, errno {error.errno}): {hint}; the next "
        "run resumes from the last STATE message written"
    )


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again.

    What Python's documentation recommends after a broken pipe (the ``signal`` module,
    "Note on SIGPIPE"); otherwise the exit prints an "Exception ignored" traceback.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (tests, an embedding): nothing to do
        pass
