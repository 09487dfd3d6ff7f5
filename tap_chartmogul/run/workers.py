"""Background threads of a run: a pool for per-parent requests, and listing producers.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits,
so a worker stuck in a slow request (or a retry wait) would hold the tap's exit after
SIGTERM for minutes. These threads are daemons instead: when the run ends, for success,
failure or a signal, the process exits at once; the Singer output is complete up to the
last message the main thread wrote, which is all a resumed run needs.
"""

from __future__ import annotations

import queue
import threading
import typing as t
from concurrent.futures import Future

if t.TYPE_CHECKING:
    from collections.abc import Callable

T = t.TypeVar("T")

_STOP = object()


def start_daemon(target: Callable[[], None], name: str) -> threading.Thread:
    """Run ``target`` on a new daemon thread."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


class Workers:
    """A fixed number of daemon threads running submitted calls in submission order."""

    def __init__(self, size: int, name: str = "tap-chartmogul-worker") -> None:
        """Threads start with the first submission, so an idle run starts none."""
        self.size = max(1, size)
        self._name = name
        self._tasks: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], *args: t.Any) -> Future[T]:
        """Run ``fn(*args)`` on a worker; the future holds its result or exception."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                future.cancel()
                return future
            if len(self._threads) < self.size:
                index = len(self._threads) + 1
                self._threads.append(start_daemon(self._work, f"{self._name}-{index}"))
        self._tasks.put((future, fn, args))
        return future

    def close(self) -> None:
        """Let idle workers end; queued calls not yet started are cancelled."""
        with self._lock:
            self._closed = True
            threads = len(self._threads)
        for _ in range(threads):
            self._tasks.put(_STOP)

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is _STOP:
                return
            future, fn, args = t.cast(
                "tuple[Future[t.Any], Callable[..., t.Any], tuple[t.Any, ...]]", task
            )
            if self._closed:
                future.cancel()
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as error:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(error)
            else:
                future.set_result(result)
