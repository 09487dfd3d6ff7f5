"""Whether ChartMogul was still processing when the run read its figures (provisional).

While ChartMogul imports or reprocesses a data source, its metrics (and customers' MRR)
are computed from part of the data and restated once it is done. ``/v1/data_sources``
says, per data source, how many records are still ``pending``
(``with_processing_status=true``, which the ``data_sources`` listing sends). The streams
whose figures that affects read the listing through the run (no request of their own)
and ask a ``ProcessingCheck``: one per run, deciding once, so the run says it in one
WARNING and in its summary however many streams ask.

``provisional`` is true when a data source has records pending, false when every one
reports none (or there is none), and null when ChartMogul did not say (no data source
carries ``processing_status``) or the listing could not be read.
"""

from __future__ import annotations

import threading
import typing as t

from tap_chartmogul.errors import TapChartMogulError

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterable

    from tap_chartmogul.run.listings import Listing
    from tap_chartmogul.run.progress import RunProgress

Record = dict[str, t.Any]
#: Data sources named in the warning; more are counted.
NAMED = 3


def pending_sources(sources: Iterable[Record]) -> tuple[list[str], int]:
    """The data sources with records pending (``name (uuid): N pending``), and how many said."""
    busy: list[str] = []
    said = 0
    for source in sources:
        status = source.get("processing_status")
        pending = status.get("pending") if isinstance(status, dict) else None
        if not isinstance(pending, int) or isinstance(pending, bool):
            continue
        said += 1
        if pending > 0:
            busy.append(f"{source.get('name') or '?'} ({source.get('uuid')}): {pending:,} pending")
    return busy, said


class ProcessingCheck:
    """The run's one reading of the data sources' processing status, reported once."""

    def __init__(self, listing: Listing, logger: logging.Logger, progress: RunProgress) -> None:
        """Read ``listing`` (the ``data_sources`` listing) when first asked, not before."""
        self._listing = listing
        self._logger = logger
        self._progress = progress
        self._lock = threading.Lock()
        self._decided = False
        self._provisional: bool | None = None

    def provisional(self) -> bool | None:
        """Whether the run's figures are provisional (None: ChartMogul did not say)."""
        with self._lock:
            if not self._decided:
                self._provisional = self._decide()
                self._decided = True
            return self._provisional

    def _decide(self) -> bool | None:
        try:
            sources = list(self._listing.read())
        except TapChartMogulError as error:
            self._logger.warning(
                "Could not read /v1/data_sources to tell whether ChartMogul is still processing "
                "(%s): metric rows carry provisional = null",
                error,
            )
            return None
        busy, said = pending_sources(sources)
        if not busy:
            return False if said or not sources else None
        named = "; ".join(busy[:NAMED])
        if len(busy) > NAMED:
            named += f"; and {len(busy) - NAMED} more"
        self._logger.warning(
            "ChartMogul is still processing %s of %s data sources (%s): this run's metrics are "
            "provisional (their rows carry provisional = true) and ChartMogul will restate them "
            "once it is done; the next run after that replaces them",
            len(busy),
            len(sources),
            named,
        )
        self._progress.note(
            f"Provisional: ChartMogul was still processing {len(busy)} data source"
            f"{'s' if len(busy) > 1 else ''} ({named}); metric rows carry provisional = true"
        )
        return True
