"""scripts/bootstrap.sh: an install that fails or is cut off is never taken for done.

Each case runs the script in a user's checkout (``tests/checkout.py``) whose ``.venv`` is the
repository's, so only the tool under test (target-jsonl, a small venv) is installed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.checkout import make_checkout

pytestmark = pytest.mark.slow

TOOL = Path(".tools") / "target-jsonl"


@pytest.fixture
def checkout(tmp_path):
    """A checkout with the repository's .venv but no .tools of its own yet."""
    root = make_checkout(tmp_path / "checkout")
    (root / ".tools").unlink()
    return root


def bootstrap(checkout: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "scripts/bootstrap.sh", "target"],
        cwd=checkout,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_failed_install_is_repaired_by_the_next_run(checkout, tmp_path):
    impossible = tmp_path / "constraints.txt"
    impossible.write_text("target-jsonl==0.0.0\n")  # no such release: pip must fail
    failed = bootstrap(checkout, PIP_CONSTRAINT=str(impossible))
    assert failed.returncode != 0
    assert "installing target-jsonl==0.1.4 into .tools/target-jsonl failed" in failed.stderr
    assert not (checkout / TOOL / ".stamp").exists()
    repaired = bootstrap(checkout)
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    assert (checkout / TOOL / "bin" / "target-jsonl").exists()
    again = bootstrap(checkout)
    assert again.returncode == 0
    assert "installing" not in again.stderr  # done once, then nothing to do


def test_an_interrupted_install_is_repaired_by_the_next_run(checkout):
    process = subprocess.Popen(
        ["bash", "scripts/bootstrap.sh", "target"],
        cwd=checkout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not (checkout / TOOL / "bin" / "python").exists():  # the venv exists, pip runs
        assert time.monotonic() < deadline, "bootstrap never started the install"
        assert process.poll() is None, "bootstrap ended before it could be interrupted"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert not (checkout / TOOL / ".stamp").exists()
    repaired = bootstrap(checkout)
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    result = subprocess.run(
        [str(checkout / TOOL / "bin" / "target-jsonl"), "--help"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
