"""The run's garbage-collector thresholds (tap.RUN_GC_THRESHOLD) are set when the tap runs."""

from __future__ import annotations

import subprocess
import sys

from tap_chartmogul.tap import RUN_GC_THRESHOLD


def test_a_run_sets_the_collector_thresholds() -> None:
    """``invoke`` sets them before anything is read (here: ``--about``, in a child process)."""
    code = (
        "import gc, sys\n"
        "from tap_chartmogul.tap import TapChartMogul\n"
        "sys.argv = ['tap-chartmogul', '--about', '--format', 'json']\n"
        "try:\n"
        "    TapChartMogul.cli()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(gc.get_threshold(), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == str(RUN_GC_THRESHOLD)
