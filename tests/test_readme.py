"""Every command in the README runs, as written, against the fake API.

Each ```bash block of the README is preceded by ``<!-- readme-test: NAME -->``; a test here
runs the block NAME line by line with ``bash`` (with the fake's address and a test key put
where the README says ``<your key>``), and checks what the lines did. A block without a
marker, or a marker without a test, fails ``test_every_bash_block_is_tested``. Two blocks run
elsewhere, and the test checks that they do: the quick start (tests/test_warehouse.py runs
``bash scripts/quickstart.sh``) and the full test suite (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault
from tests.checkout import make_checkout
from tests.helpers import API_KEY, UNTHROTTLED
from tests.test_e2e import require

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"<!-- readme-test: ([\w-]+) -->\n```bash\n(.*?)```", re.DOTALL)
MELTANO = ROOT / ".tools" / "meltano" / "bin" / "meltano"
TARGET_BIN = ROOT / ".tools" / "target-jsonl" / "bin"
VENV_BIN = Path(sys.executable).parent
#: Blocks whose commands other tests (or CI) run, and where.
RUN_ELSEWHERE = {
    "quickstart": {
        "bash scripts/quickstart.sh": ROOT / "tests" / "test_warehouse.py",
        "bash scripts/test.sh": ROOT / ".ci" / "run",
    },
    # Run as written, in a day's sequence in one checkout (test_meltano_block_runs_in_the_journey).
    "meltano": {"meltano run tap-chartmogul target-jsonl": ROOT / "tests" / "test_journey.py"},
}


def blocks() -> dict[str, list[str]]:
    """README bash blocks by marker: their command lines, comments and blank lines dropped."""
    found: dict[str, list[str]] = {}
    for name, body in BLOCK.findall(README):
        text = body.replace("\\\n", " ")
        lines = [_command(line) for line in text.splitlines()]
        found[name] = [line for line in lines if line]
    return found


def _command(line: str) -> str:
    """A line without its trailing ``# comment`` (a # inside quotes stays)."""
    quote = None
    for index, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1] == " "):
            return line[:index].strip()
    return line.strip()


def run(
    line: str, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def shell_env(**extra: str) -> dict[str, str]:
    """The user's environment without tap settings, with the tap (pip install -e .) on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_CHARTMOGUL_", "TARGET_JSONL_", "MELTANO_"))
    }
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return {**env, **extra}


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    return FakeAccount(customers=120, seed=5)


@pytest.fixture
def fake(account):
    with FakeChartMogul(account, api_key=API_KEY) as server:
        yield server


def test_every_bash_block_is_tested():
    marked = blocks()
    assert len(marked) == README.count("```bash"), "a bash block has no readme-test marker"
    tested = {
        name.removeprefix("test_block_").replace("_", "-")
        for name in globals()
        if name.startswith("test_block_")
    }
    assert set(marked) <= tested | set(RUN_ELSEWHERE), set(marked) - tested


def test_block_quickstart_runs_elsewhere():
    assert blocks()["quickstart"] == list(RUN_ELSEWHERE["quickstart"])
    for command, runner in RUN_ELSEWHERE["quickstart"].items():
        text = runner.read_text()
        script = Path(command.split()[-1])
        assert script.name in text, f"{runner} does not run {command}"


def test_block_duckdb_query(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    (tmp_path / "output").mkdir()
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)
    with duckdb.connect(str(tmp_path / "output" / "chartmogul.duckdb")) as con:
        con.execute("CREATE TABLE customer_subscriptions (plan VARCHAR, mrr BIGINT)")
        con.execute("INSERT INTO customer_subscriptions VALUES ('Pro', 12000), ('Pro', 3000)")
    (line,) = blocks()["duckdb-query"]
    result = run(line, tmp_path, shell_env())
    assert result.returncode == 0, result.stderr
    assert "Pro" in result.stdout
    assert "150" in result.stdout  # (12,000 + 3,000) cents


def test_block_install(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = shell_env()
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env["PATH"]])
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    install, about = blocks()["install"]
    installed = run(install, ROOT, env, timeout=600)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    assert (venv / "bin" / "tap-chartmogul").exists()
    result = run(about, tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert "tap-chartmogul" in result.stdout
    assert "api_key" in result.stdout


def meltano_env(**extra: str) -> dict[str, str]:
    """The user's shell with Meltano on PATH."""
    return shell_env(PATH=os.pathsep.join([str(MELTANO.parent), shell_env()["PATH"]]), **extra)


def test_meltano_block_runs_in_the_journey():
    """The Meltano block is run as written by tests/test_journey.py, in a day's sequence."""
    journey = (ROOT / "tests" / "test_journey.py").read_text()
    assert 'blocks()["meltano"]' in journey
    assert blocks()["meltano"][-1] == "meltano run tap-chartmogul target-jsonl"


def test_meltano_config_test_without_a_key_shows_the_taps_own_line(tmp_path):
    require(MELTANO)
    checkout = make_checkout(tmp_path / "checkout")
    assert run("meltano install", checkout, meltano_env(), timeout=600).returncode == 0
    result = run("meltano config test tap-chartmogul", checkout, meltano_env())
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Setting 'api_key' is required" in output
    assert len(output) < 4000, "no schema dump"


def standalone_config(line: str, fake: FakeChartMogul, **extra: object) -> str:
    """The README's ``echo '{...}' > config.json`` pointed at the fake."""
    settings = json.dumps({"api_url": fake.base_url, **UNTHROTTLED, **extra})[1:-1]
    return line.replace('"<your key>"', f'"{API_KEY}", {settings}')


def test_block_standalone(fake, account, tmp_path):
    """As written: the target in its own virtualenv (under a temporary HOME), then the tap."""
    install, echo, discover, sync = blocks()["standalone"]
    env = shell_env(HOME=str(tmp_path / "home"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    for line in (install, standalone_config(echo, fake), discover, sync):
        result = run(line, tmp_path, env, timeout=600)
        assert result.returncode == 0, f"{line}\n{result.stderr[-2000:]}"
    assert "--catalog catalog.json" in sync
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    assert len(catalog["streams"]) == 26
    # target-jsonl without a config names its files <stream>-<timestamp>.jsonl.
    (written,) = tmp_path.glob("customers-*.jsonl")
    assert len(written.read_text().splitlines()) == len(account.customers)
    assert len(list(tmp_path.glob("*.jsonl"))) == 26


def test_block_resume(fake, tmp_path):
    """Interrupted run, the last STATE kept, a resumed run that starts from it."""
    require(TARGET_BIN / "target-jsonl")
    (_, echo, *_) = blocks()["standalone"]
    home = tmp_path / "home"
    (home / ".venvs").mkdir(parents=True)
    (home / ".venvs" / "target-jsonl").symlink_to(TARGET_BIN.parent)  # as the block installs it
    env = shell_env(HOME=str(home))
    config = standalone_config(echo, fake, max_retries=0, start_date="2020-01-01")
    assert run(config, tmp_path, env).returncode == 0
    # The run fails on contacts, after activities wrote their bookmark.
    fake.script(r"^/v1/contacts$", [Fault(status=500)] * 3)
    first, keep, resume = blocks()["resume"]
    failed = run(first, tmp_path, env)
    assert failed.returncode != 0
    assert "Gave up on /v1/contacts" in failed.stderr
    assert run(keep, tmp_path, env).returncode == 0
    state = json.loads((tmp_path / "state.json").read_text())
    bookmark = state["value"]["bookmarks"]["activities"]["replication_key_value"]
    fake.clear_script()
    fake.reset_log()
    resumed = run(resume, tmp_path, env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    starts = {r.query.get("start-date") for r in fake.requests if r.path == "/v1/activities"}
    assert len(starts) == 1
    (start,) = starts
    assert start is not None
    assert start < bookmark  # the resumed run starts from the bookmark, minus the lookback


def test_block_development(tmp_path):
    lines = blocks()["development"]
    quick, one_file, fake_by_hand, update_docs, benchmark = lines
    env = shell_env()
    # The quick loop is CI's first half, as written (.ci/run's loop gives `-m "not slow"`);
    # run here too, it would run every quick test a second time in the same suite.
    assert quick == 'bash scripts/test.sh -m "not slow"'
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'for marks in "not slow" "slow"; do' in ci
    assert 'bash scripts/test.sh -m "$marks"' in ci
    result = run(one_file, ROOT, env, timeout=600)
    assert result.returncode == 0, f"{one_file}\n{result.stdout[-3000:]}"
    assert " passed" in result.stdout
    # The fake by hand: it serves until stopped (on a free port rather than 8765).
    server = subprocess.Popen(
        ["bash", "-c", f"exec {fake_by_hand.replace('--port 8765', '--port 0')}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline() if server.stdout else ""
        assert "listening on http://127.0.0.1:" in line
    finally:
        server.terminate()
        server.communicate(timeout=30)  # waits, and closes the pipes
    # update_docs, in a copy of the repository: the docs it writes are the ones committed.
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".git", ".venv", ".tools", ".meltano", "output", "*cache*"),
    )
    (copy / ".venv").symlink_to(VENV_BIN.parent)
    result = run(update_docs, copy, env)
    assert result.returncode == 0, result.stderr
    for name in ("README.md", "meltano.yml", ".env.example", "meltano-hub.yml"):
        assert (copy / name).read_text() == (ROOT / name).read_text(), name
    assert (copy / "docs" / "data-dictionary.md").read_text() == (
        ROOT / "docs" / "data-dictionary.md"
    ).read_text()
    # The benchmark's smoke run is tests/test_benchmark_smoke.py.
    assert benchmark.startswith(".venv/bin/python -m benchmarks.run --smoke")
    assert "benchmarks.run" in (ROOT / "tests" / "test_benchmark_smoke.py").read_text()
