"""Both ways users run the tap, end to end against the fake API, as separate processes.

- standalone: ``tap-chartmogul --config c.json | target-jsonl --config t.json``
- Meltano:    ``meltano run tap-chartmogul target-jsonl`` and ``meltano config test``

target-jsonl validates every record against the stream's SCHEMA message, so a type
drift between records and schemas fails here. The tools come from
``scripts/bootstrap.sh target meltano`` (run by ``scripts/test.sh``); in CI their
absence is a failure, elsewhere these tests are skipped with that instruction.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tap_chartmogul.tap import STREAM_TYPES
from tests.checkout import make_checkout
from tests.cli import TAP, tap_env
from tests.helpers import API_KEY, METRIC_STREAMS, UNTHROTTLED, expected_keys, fake_config, key_of

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / ".tools" / "target-jsonl" / "bin" / "target-jsonl"
MELTANO = ROOT / ".tools" / "meltano" / "bin" / "meltano"
START = "2025-06-01"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def require(tool: Path) -> str:
    if not tool.exists():
        message = f"{tool} is missing: run `bash scripts/test.sh` (it installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(tool)


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    return FakeAccount(customers=300, seed=21)


@pytest.fixture(scope="module")
def server(account):
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        yield fake


def read_output(folder: Path) -> dict[str, list[dict]]:
    return {
        path.stem: [json.loads(line) for line in path.read_text().splitlines()]
        for path in sorted(folder.glob("*.jsonl"))
    }


def assert_complete(output: dict[str, list[dict]], account: FakeAccount) -> None:
    """Every stream landed, each with exactly the fake's records (metrics: one per day)."""
    assert set(output) == {s.name for s in STREAM_TYPES}
    for stream, expected in expected_keys(account, start=START).items():
        got = [key_of(stream, row) for row in output[stream]]
        assert len(got) == len(set(got)), f"duplicates in {stream}"
        assert set(got) == expected, stream
    days = (datetime.now(UTC).date() - date.fromisoformat(START)).days + 1
    for stream in METRIC_STREAMS:
        got = {key_of(stream, row) for row in output[stream]}
        assert len(got) == len(output[stream]), stream
        if stream != "metrics_asp":
            assert len(got) == days, stream


def clean_env(**extra: str) -> dict[str, str]:
    """The tap's clean environment, also for the target and Meltano that run beside it."""
    env = {k: v for k, v in tap_env().items() if not k.startswith("TARGET_JSONL_")}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return {**env, **extra}


def test_standalone_pipe_into_target_jsonl(server, account, tmp_path):
    target = require(TARGET)
    config = tmp_path / "tap.json"
    config.write_text(json.dumps(fake_config(server, start_date=START)))
    target_config = tmp_path / "target.json"
    out = tmp_path / "out"
    target_config.write_text(json.dumps({"destination_path": str(out), "do_timestamp_file": False}))
    tap = subprocess.Popen([TAP, "--config", str(config)], stdout=subprocess.PIPE, env=clean_env())
    loaded = subprocess.run(
        [target, "--config", str(target_config)],
        stdin=tap.stdout,
        capture_output=True,
        check=False,
        timeout=300,
    )
    tap.stdout.close()
    assert tap.wait(timeout=60) == 0
    assert loaded.returncode == 0, loaded.stderr.decode()
    assert_complete(read_output(out), account)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A user's checkout: ``meltano install`` and runs write ``.meltano/`` there, not here."""
    return make_checkout(tmp_path_factory.mktemp("checkout"))


@pytest.fixture(scope="module")
def meltano(checkout) -> str:
    binary = require(MELTANO)
    installed = subprocess.run(
        [binary, "install"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return binary


def test_meltano_run_writes_every_record(meltano, checkout, server, account, tmp_path):
    out = tmp_path / "meltano-out"
    env = clean_env(
        TAP_CHARTMOGUL_API_KEY=API_KEY,
        TAP_CHARTMOGUL_API_URL=server.base_url,
        TAP_CHARTMOGUL_START_DATE=START,
        TARGET_JSONL_DESTINATION_PATH=str(out),
        TAP_CHARTMOGUL_REQUESTS_PER_SECOND=str(UNTHROTTLED["requests_per_second"]),
    )
    result = subprocess.run(
        [meltano, "run", "--no-state-update", "tap-chartmogul", "target-jsonl"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert_complete(read_output(out), account)
    assert API_KEY not in result.stdout + result.stderr


def meltano_config_test(meltano: str, checkout: Path, server, key: str) -> tuple[int, str]:
    """Run ``meltano config test tap-chartmogul`` with ``key``; return exit code and output."""
    env = clean_env(TAP_CHARTMOGUL_API_KEY=key, TAP_CHARTMOGUL_API_URL=server.base_url)
    result = subprocess.run(
        [meltano, "config", "test", "tap-chartmogul"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def test_meltano_config_test_accepts_good_key(meltano, checkout, server):
    server.reset_log()
    code, output = meltano_config_test(meltano, checkout, server, API_KEY)
    assert code == 0, output
    assert "plugin configuration is valid" in output.lower()
    # account syncs first and is enough: the test stops after the first record.
    assert server.requests[0].path == "/v1/account"


def test_meltano_config_test_rejects_bad_key(meltano, checkout, server):
    bad = "cm_BAD_key_for_meltano_test_99"
    code, output = meltano_config_test(meltano, checkout, server, bad)
    assert code != 0
    assert "rejected the API key (HTTP 401" in output
    assert bad not in output
