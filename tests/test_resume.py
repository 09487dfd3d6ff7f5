"""Interrupted runs resume from their last STATE without losing a record.

The tap is killed (SIGTERM or SIGKILL) at seeded random points of a full sync, then
resumed with the last STATE message it wrote. The union of the two runs must hold
every record of the fake; activities run with no lookback, so a gap in their
bookmarking would show. A fault that outlasts the retries ends the run with one clear
line, and its last STATE is just as good to resume from.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tests.cli import TAP, assert_no_secret, error_lines, parse_messages, tap_env, write_json
from tests.helpers import API_KEY, METRIC_STREAMS, expected_keys, fake_config, key_of

pytestmark = pytest.mark.slow

KILL_POINTS = 14
SEED = 2026


@pytest.fixture(scope="module")
def account():
    return FakeAccount(customers=300, seed=31)


@pytest.fixture(scope="module")
def server(account):
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def config_path(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    return write_json(
        folder / "config.json",
        {**fake_config(server), "activities_lookback_days": 0},
    )


def run_tap(config: str, state: dict | None = None, kill_after: int | None = None, sig: int = 0):
    """Run the CLI; with ``kill_after``, send ``sig`` once that many lines were read."""
    args = [TAP, "--config", config]
    with tempfile.TemporaryDirectory() as folder:
        if state is not None:
            args += ["--state", write_json(Path(folder) / "state.json", state)]
        with (Path(folder) / "stderr").open("w+") as stderr:
            lines = []
            with subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=stderr, text=True, env=tap_env()
            ) as process:
                assert process.stdout is not None
                for line in process.stdout:
                    lines.append(line)
                    if kill_after is not None and len(lines) == kill_after:
                        process.send_signal(sig)
                code = process.wait(timeout=120)
            stderr.seek(0)
            errors = stderr.read()
    return parse_messages("".join(lines)), code, errors


def keys_by_stream(messages):
    found: dict[str, list] = {}
    for message in messages:
        if message["type"] == "RECORD":
            found.setdefault(message["stream"], []).append(
                key_of(message["stream"], message["record"])
            )
    return found


def last_state(messages):
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return states[-1] if states else None


def assert_union_complete(first, second, account):
    one, two = keys_by_stream(first), keys_by_stream(second)
    for stream, expected in expected_keys(account).items():
        assert len(two.get(stream, [])) == len(set(two.get(stream, []))), f"duplicates in {stream}"
        assert set(one.get(stream, [])) | set(two.get(stream, [])) == expected, stream
    for stream in METRIC_STREAMS:
        assert len(set(one.get(stream, [])) | set(two.get(stream, []))) in {13, 366}, stream


@pytest.fixture(scope="module")
def clean_run(config_path, account):
    messages, code, errors = run_tap(config_path)
    assert code == 0, errors
    assert_union_complete([], messages, account)
    return messages


def kill_points(clean_run):
    """Seeded points: half anywhere in the run, half inside the activities stream."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible test points, not crypto
    total = len(clean_run)
    inside = [
        i
        for i, m in enumerate(clean_run, 1)
        if m.get("stream") == "activities" and m["type"] == "RECORD"
    ]
    points = []
    for index in range(KILL_POINTS):
        # Far enough from the end that the tap cannot finish into the pipe buffer first.
        line = rng.choice(inside) if index % 2 else rng.randint(1, total - 1000)
        points.append((line, signal.SIGTERM if index % 4 < 2 else signal.SIGKILL))
    return points


def test_killed_runs_resume_without_gaps(clean_run, config_path, account):
    activities_total = len(account.activities)
    for line, sig in kill_points(clean_run):
        first, code, errors = run_tap(config_path, kill_after=line, sig=sig)
        if sig == signal.SIGTERM:
            assert code == 128 + signal.SIGTERM, errors
            assert "Interrupted by SIGTERM" in errors
        else:
            assert code == -signal.SIGKILL
        state = last_state(first)
        second, code, errors = run_tap(config_path, state=state)
        assert code == 0, errors
        assert_union_complete(first, second, account)
        # Exact resumption: activities already emitted are re-read only back to the last
        # STATE (one page at most), not from the start.
        done = set(keys_by_stream(first).get("activities", []))
        again = keys_by_stream(second).get("activities", [])
        if state and "activities" in state.get("bookmarks", {}):
            assert len(done & set(again)) <= 200 + 1, (line, sig)
            assert len(again) < activities_total or not done


def test_persistent_fault_ends_with_one_line_and_a_resumable_state(
    server, config_path, account, tmp_path
):
    server.script(r"^/v1/contacts$", [500] * 30)
    config = json.loads(Path(config_path).read_text())
    short = write_json(tmp_path / "short.json", {**config, "max_retries": 2})
    try:
        first, code, errors = run_tap(short)
    finally:
        server.clear_script()
    assert code != 0
    lines = error_lines(errors)
    assert len(lines) == 1, errors
    assert "Gave up on /v1/contacts after 3 attempts; last failure: HTTP 500" in lines[0]
    assert "Traceback" not in errors
    assert_no_secret(errors, json.dumps(first))
    state = last_state(first)
    assert (
        state["bookmarks"]["activities"]["replication_key_value"] == account.activities[-1]["date"]
    )
    second, code, errors = run_tap(config_path, state=state)
    assert code == 0, errors
    assert_union_complete(first, second, account)


def blocked_then_signalled(config: str, signals: int) -> tuple[str, int, str]:
    """Start a run nobody reads, signal it ``signals`` times once its output is blocked.

    With nobody reading, the tap fills the pipe and waits in a write of a block of
    records: the handler runs inside that write, the case that must not cut a line.
    """
    with tempfile.TemporaryDirectory() as folder, (Path(folder) / "stderr").open("w+") as err:
        with subprocess.Popen(
            [TAP, "--config", config], stdout=subprocess.PIPE, stderr=err, env=tap_env()
        ) as process:
            assert process.stdout is not None
            for _ in range(400):  # until its main thread waits in the write
                time.sleep(0.05)
                if blocked_in_write(process.pid):
                    break
            else:
                pytest.fail("the tap never blocked on its output")
            for _ in range(signals):
                process.send_signal(signal.SIGTERM)
                time.sleep(0.3)
            output = process.stdout.read().decode()
            code = process.wait(timeout=60)
        err.seek(0)
        return output, code, err.read()


def blocked_in_write(pid: int) -> bool:
    """Whether process ``pid``'s main thread waits in a write to a pipe (Linux's wchan)."""
    wchan = Path(f"/proc/{pid}/wchan")
    return wchan.exists() and "pipe_write" in wchan.read_text()


def test_a_signal_during_a_blocked_write_stops_at_a_whole_line(config_path):
    output, code, errors = blocked_then_signalled(config_path, signals=1)
    assert code == 128 + signal.SIGTERM, errors
    assert output.endswith("\n")
    messages = [json.loads(line) for line in output.splitlines()]  # every line whole
    assert messages[-1]["type"] == "STATE"
    assert "Interrupted by SIGTERM" in errors


def test_a_second_signal_during_a_blocked_write_stops_at_once_writing_nothing_more(config_path):
    output, code, errors = blocked_then_signalled(config_path, signals=2)
    assert code == 128 + signal.SIGTERM, errors
    lines = output.split("\n")
    # Whole lines up to where the write stopped; then nothing (no STATE glued on).
    whole = [json.loads(line) for line in lines[:-1]]
    assert any(m["type"] == "RECORD" for m in whole)
    if lines[-1]:
        with pytest.raises(json.JSONDecodeError):
            json.loads(lines[-1])
