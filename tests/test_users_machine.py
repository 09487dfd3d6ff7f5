"""On the user's own machine: settings from every source, a .env, a closed pipe, a full disk.

The installed command runs as a user runs it: in a directory of its own (so a ``.env``
there is the user's), with ``TAP_CHARTMOGUL_*`` variables, piped into a reader that may
stop, writing to a disk that may be full. Each case must end in one clear line and a
non-zero exit, or go on with one warning, never in a traceback or a silent wrong run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault
from tap_chartmogul.errors import TapChartMogulError
from tests.checkout import make_checkout
from tests.cli import TAP, error_lines, parse_messages, tap_env
from tests.helpers import API_KEY, UNTHROTTLED, fake_config, run_sync
from tests.test_hostile import HANG, catalog_file, config_file, one_error, warnings
from tests.test_readme import meltano_env

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with FakeChartMogul(FakeAccount(customers=30, seed=41), api_key=API_KEY) as fake:
        yield fake


def run_in(
    directory: Path, args: list[str], *, stdout: int | None = None, **variables: str
) -> subprocess.CompletedProcess:
    """The tap in ``directory`` (a ``.env`` there is read by ``--config ENV``)."""
    return subprocess.run(
        [TAP, *args],
        cwd=directory,
        env={**tap_env(), **variables},
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=HANG,
        check=False,
    )


def fake_variables(server: FakeChartMogul, **extra: str) -> dict[str, str]:
    return {
        "TAP_CHARTMOGUL_API_KEY": API_KEY,
        "TAP_CHARTMOGUL_API_URL": server.base_url,
        "TAP_CHARTMOGUL_REQUESTS_PER_SECOND": str(UNTHROTTLED["requests_per_second"]),
        **extra,
    }


# --- settings from the environment and .env --------------------------------------------

BAD_VARIABLES = {
    "a number that is not one": (
        {"TAP_CHARTMOGUL_REQUESTS_PER_SECOND": "abc"},
        ["'requests_per_second'", "TAP_CHARTMOGUL_REQUESTS_PER_SECOND", "whole number", "'abc'"],
    ),
    "segments that are not JSON": (
        {"TAP_CHARTMOGUL_METRICS_SEGMENTS": "europe:DE,FR"},
        ["'metrics_segments'", "JSON list", '[{"name": "europe"'],
    ),
    "a boolean in no usual spelling": (
        {"TAP_CHARTMOGUL_EMIT_ACTIVATE_VERSION_MESSAGES": "yes-please"},
        ["'emit_activate_version_messages'", "true or false", "'yes-please'"],
    ),
}


@pytest.mark.parametrize("case", BAD_VARIABLES, ids=list(BAD_VARIABLES))
def test_a_bad_environment_value_is_one_line(server, tmp_path, case):
    variables, expected = BAD_VARIABLES[case]
    result = run_in(tmp_path, ["--config", "ENV"], **fake_variables(server, **variables))
    one_error(result, *expected)
    assert server.count() == 0 or all(r.path != "/v1/account" for r in server.requests)


@pytest.mark.parametrize(
    ("spelling", "expected"), [("yes", True), ("ON", True), ("0", False), ("False", False)]
)
def test_usual_boolean_spellings_are_read(server, tmp_path, spelling, expected):
    variables = fake_variables(server, TAP_CHARTMOGUL_EMIT_ACTIVATE_VERSION_MESSAGES=spelling)
    result = run_in(
        tmp_path, ["--config", "ENV", "--catalog", catalog_file(tmp_path, "plans")], **variables
    )
    assert result.returncode == 0, result.stderr[-2000:]
    messages = parse_messages(result.stdout)
    assert any(m["type"] == "ACTIVATE_VERSION" for m in messages) is expected


def test_env_example_copied_to_dotenv_works_with_config_env(server, tmp_path):
    """The shipped file, copied and with the key (and the fake's URL) filled in, just works."""
    text = (ROOT / ".env.example").read_text()
    text = text.replace("TAP_CHARTMOGUL_API_KEY=\n", f"TAP_CHARTMOGUL_API_KEY={API_KEY}\n")
    text += f"TAP_CHARTMOGUL_API_URL={server.base_url}\n"
    (tmp_path / ".env").write_text(text)
    result = run_in(tmp_path, ["--config", "ENV", "--catalog", catalog_file(tmp_path, "plans")])
    assert result.returncode == 0, result.stderr[-2000:]
    assert warnings(result.stderr) == []
    assert any(m["type"] == "RECORD" for m in parse_messages(result.stdout))


def test_empty_values_mean_not_set(server, tmp_path):
    (tmp_path / ".env").write_text(
        "TAP_CHARTMOGUL_START_DATE=\nTAP_CHARTMOGUL_METRICS_SEGMENTS=\n"
        "TAP_CHARTMOGUL_MAX_RETRIES=\nTAP_CHARTMOGUL_METRICS_GEO=\n"
    )
    variables = fake_variables(server)
    result = run_in(
        tmp_path, ["--config", "ENV", "--catalog", catalog_file(tmp_path, "plans")], **variables
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_exported_variables_win_over_dotenv(server, tmp_path):
    """A .env key (as ``meltano config set`` writes it) never beats one a script exported."""
    (tmp_path / ".env").write_text(
        "TAP_CHARTMOGUL_API_KEY='cm_real_key_from_meltano_0000'\n"
        "TAP_CHARTMOGUL_API_URL=https://api.chartmogul.com\n"
    )
    result = run_in(
        tmp_path,
        ["--config", "ENV", "--catalog", catalog_file(tmp_path, "plans")],
        **fake_variables(server),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cm_real_key_from_meltano" not in result.stderr


def test_dotenv_is_read_from_the_current_directory_only(server, tmp_path):
    """Not from a parent directory, nor from wherever the tap is installed."""
    (tmp_path / ".env").write_text(f"TAP_CHARTMOGUL_API_URL={server.base_url}\n")
    below = tmp_path / "below"
    below.mkdir()
    variables = {"TAP_CHARTMOGUL_API_KEY": API_KEY, "TAP_CHARTMOGUL_MAX_RETRIES": "0"}
    catalog = catalog_file(tmp_path, "plans")
    from_here = run_in(tmp_path, ["--config", "ENV", "--catalog", catalog], **variables)
    assert from_here.returncode == 0, from_here.stderr[-2000:]
    from_below = run_in(below, ["--config", "ENV", "--catalog", catalog], **variables)
    assert from_below.returncode != 0  # the default URL (api.chartmogul.com) is unreachable
    assert "api.chartmogul.com" not in server.base_url


MISSPELT = {
    "in a config file": ("file", "start_dat", "did you mean 'start_date'?"),
    "in the environment": (
        "env",
        "TAP_CHARTMOGUL_METRICS_INTERVALL",
        "did you mean TAP_CHARTMOGUL_METRICS_INTERVAL?",
    ),
}


@pytest.mark.parametrize("case", MISSPELT, ids=list(MISSPELT))
def test_a_misspelt_setting_warns_once_with_the_closest_name(server, tmp_path, case):
    where, name, hint = MISSPELT[case]
    catalog = catalog_file(tmp_path, "plans")
    if where == "file":
        args = ["--config", config_file(tmp_path, server.base_url, **{name: "2024-01-01"})]
        result = run_in(tmp_path, [*args, "--catalog", catalog])
    else:
        variables = fake_variables(server, **{name: "month"})
        result = run_in(tmp_path, ["--config", "ENV", "--catalog", catalog], **variables)
    assert result.returncode == 0, result.stderr[-2000:]
    (line,) = [w for w in warnings(result.stderr) if name in w]
    assert hint in line
    assert "ignored" in line


# --- the output: a reader that stops, a full disk ---------------------------------------


READERS = {
    "head": "head -c 2000 >/dev/null",
    "a target that crashes": (
        f"{sys.executable} -c 'import sys; [sys.stdin.readline() for _ in range(5)]; sys.exit(3)'"
    ),
}


@pytest.mark.parametrize("reader", READERS, ids=list(READERS))
def test_a_reader_that_stops_ends_the_run_in_one_line(server, tmp_path, reader):
    config = config_file(tmp_path, server.base_url)
    command = f"{TAP} --config {config} 2>{tmp_path / 'err'} | {READERS[reader]}"
    result = subprocess.run(
        ["bash", "-c", f"{command}; echo ${{PIPESTATUS[0]}} > {tmp_path / 'status'}"],
        env=tap_env(),
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )
    assert result.returncode in (0, 3), result.stderr
    status = int((tmp_path / "status").read_text())
    stderr = (tmp_path / "err").read_text()
    result = subprocess.CompletedProcess([], status, "", stderr)
    line = one_error(result, "target stopped reading")
    assert "An unhandled error" not in stderr
    assert "Exception ignored" not in stderr
    assert "syncing" not in line


def test_an_output_file_on_a_full_disk_ends_in_one_line(server, tmp_path):
    config = config_file(tmp_path, server.base_url)
    with Path("/dev/full").open("w") as full:
        result = run_in(tmp_path, ["--config", config], stdout=full.fileno())
    result.stdout = ""
    one_error(result, "Cannot write the tap's output", "No space left on device", "free space")


@pytest.fixture
def tiny_tmpdir(tmp_path):
    """A 1 MB filesystem (tmpfs, mounted for the test) to hold the tap's spill files."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.fail("this test mounts a 1 MB tmpfs: it needs root and mount(8)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_temporary_directory_ends_in_one_line(tmp_path, tiny_tmpdir):
    """3,000 customers' listings spill past 1 MB while the SDK writes earlier streams."""
    with FakeChartMogul(FakeAccount(customers=3000, seed=43), api_key=API_KEY) as big:
        config = config_file(tmp_path, big.base_url)
        catalog = catalog_file(tmp_path, "account", "customers", "invoices", "activities")
        result = subprocess.run(
            [TAP, "--config", config, "--catalog", catalog],
            env={**tap_env(), "TMPDIR": str(tiny_tmpdir)},
            capture_output=True,
            text=True,
            timeout=HANG * 2,
            check=False,
        )
    line = one_error(result, str(tiny_tmpdir), "No space left on device", "TMPDIR")
    assert "Cannot write a temporary file" in line
    messages = parse_messages(result.stdout)
    assert not any(m["type"] == "ACTIVATE_VERSION" for m in messages)


def test_the_fake_on_a_busy_port_says_so_in_one_line(server):
    result = subprocess.run(
        [sys.executable, "-m", "fake_chartmogul", "--port", str(server.port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(server.port) in lines[0]
    assert "in use" in lines[0]


def test_no_error_line_for_a_healthy_run(server, tmp_path):
    """The cases above fail for their own reason, not because every run fails here."""
    result = run_in(
        tmp_path,
        ["--config", config_file(tmp_path, server.base_url)],
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert error_lines(result.stderr) == []
    assert json.loads(result.stdout.splitlines()[-1])["type"] == "STATE"


# --- the same values through Meltano ----------------------------------------------------


@pytest.fixture(scope="module")
def meltano_checkout(tmp_path_factory):
    """A user's checkout with the plugins installed (``meltano install``)."""
    checkout = make_checkout(tmp_path_factory.mktemp("meltano") / "checkout")
    installed = run_shell("meltano install", checkout)
    assert installed.returncode == 0, installed.stderr[-2000:]
    return checkout


def run_shell(line: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        env=meltano_env(**variables),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("case", BAD_VARIABLES, ids=list(BAD_VARIABLES))
def test_a_bad_value_through_meltano_is_the_taps_one_line(server, meltano_checkout, case):
    """Meltano passes the text (every setting is kind: string) and the tap words the error."""
    variables, expected = BAD_VARIABLES[case]
    lines = [f"{name}={value!r}" for name, value in fake_variables(server, **variables).items()]
    (meltano_checkout / ".env").write_text("\n".join(lines) + "\n")
    result = run_shell("meltano config test tap-chartmogul", meltano_checkout)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    said = [line for line in output.splitlines() if "Setting '" in line]
    assert said, output[-3000:]
    named = {re.search(r"Setting '(\w+)'", line).group(1) for line in said}  # type: ignore[union-attr]
    assert len(named) == 1, said  # one problem, as Meltano echoes the tap's line
    for text in expected[:1] + expected[2:]:
        assert text in said[0], said[0]


def test_good_values_through_meltano_are_parsed(server, meltano_checkout):
    variables = fake_variables(
        server,
        TAP_CHARTMOGUL_EMIT_ACTIVATE_VERSION_MESSAGES="yes",
        TAP_CHARTMOGUL_METRICS_SEGMENTS='[{"name": "europe", "geo": "DE,FR"}]',
        TAP_CHARTMOGUL_MAX_RETRIES="2",
    )
    lines = [f"{name}='{value}'" for name, value in variables.items()]
    (meltano_checkout / ".env").write_text("\n".join(lines) + "\n")
    result = run_shell("meltano config test tap-chartmogul", meltano_checkout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "plugin configuration is valid" in (result.stdout + result.stderr).lower()


JSON = "application/json"
#: How a run ends: normally, on an answer it cannot use (inside the stream's records), or
#: on a record without its key (the SDK's loop raises, outside them).
ENDINGS = {
    "completed": None,
    "a malformed answer": ("metrics/customer-churn-rate", b'{"entries":[{"x":1.}]}'),
    "a record without its key": ("plans", b'{"plans":[{"name":"x"}],"has_more":false}'),
}


@pytest.mark.parametrize("ending", ENDINGS, ids=list(ENDINGS))
def test_a_runs_spill_files_are_closed_when_it_ends(monkeypatch, ending):
    """In one process (this suite, a program embedding the tap) a run leaves no file open.

    A failed run's spill files stayed open until its tap object was collected, which
    happened during the next test: CI failed that one on 17 "unclosed file" warnings.
    """
    fails = ENDINGS[ending]
    opened: list[t.IO[bytes]] = []
    make = tempfile.TemporaryFile

    def recorded(*args: t.Any, **kwargs: t.Any) -> t.IO[bytes]:
        opened.append(make(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", recorded)
    with FakeChartMogul(FakeAccount(customers=1000, seed=99), api_key=API_KEY) as fake:
        if fails:  # not retried: the run fails
            path, body = fails
            fake.script(rf"^/v1/{path}$", [Fault(status=200, body=body, content_type=JSON)])
        with pytest.raises(TapChartMogulError) if fails else contextlib.nullcontext():
            run_sync(fake_config(fake))
    assert opened, "the run should have spilled records to disk"
    assert [f for f in opened if not f.closed] == []
