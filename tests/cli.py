"""Run the installed ``tap-chartmogul`` command and check what it prints."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import API_KEY

TAP = str(Path(sys.executable).with_name("tap-chartmogul"))


def tap_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_CHARTMOGUL_")}
    return {**env, **extra}


def write_json(path: Path, payload: object) -> str:
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return str(path)


def run_cli(
    args: list[str], *, debug: bool = False, timeout: float = 180
) -> subprocess.CompletedProcess:
    env = tap_env(TAP_CHARTMOGUL_LOGLEVEL="DEBUG") if debug else tap_env()
    return subprocess.run(
        [TAP, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line or "| CRITICAL" in line]


def assert_no_secret(*outputs: str, key: str = API_KEY) -> None:
    """The key never appears: not plain, not base64-encoded, not as an Authorization header."""
    encoded = base64.b64encode(f"{key}:".encode()).decode()
    for output in outputs:
        assert key not in output
        assert encoded not in output
        assert "Authorization" not in output


def parse_messages(stdout: str) -> list[dict]:
    """Singer messages from stdout; only the last line may be cut short by a kill."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not stdout.endswith("\n") and lines:
        lines = lines[:-1]  # written when the process was killed mid-line
    return [json.loads(line) for line in lines]
