"""The code host's workflow (.github/workflows/test.yml) is valid, safe, and runs what CI runs.

Two linters check it offline: check-jsonschema against the GitHub workflow schema it
vendors (SchemaStore's), and zizmor's security audits (actions pinned to commits, no
credentials left in the checkout, least permissions). Then its steps are held against
this project's own CI: the whole suite is ``bash .ci/run``, the quick loop the README's
command, on every Python the classifiers list.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "test.yml"
BIN = Path(sys.executable).parent


def lint(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_workflow_matches_the_schema():
    result = lint("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_passes_zizmors_audits():
    result = lint("zizmor", "--offline", "--no-progress", str(WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr


def steps(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_the_workflow_runs_what_ci_and_the_readme_run():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    assert any("bash .ci/run" in run for run in steps(jobs["suite"]))
    (quick,) = steps(jobs["quick"])
    assert 'bash scripts/test.sh -m "not slow"' in quick
    assert 'bash scripts/test.sh -m "not slow"' in (ROOT / "README.md").read_text()
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_the_quick_loop_runs_on_every_supported_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classifiers = {
        match.group(1)
        for classifier in project["classifiers"]
        if (match := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", classifier))
    }
    matrix = yaml.safe_load(WORKFLOW.read_text())["jobs"]["quick"]["strategy"]["matrix"]
    assert set(matrix["python-version"]) == classifiers
    assert min(classifiers, key=lambda v: int(v.split(".")[1])) in project["requires-python"]


def test_every_action_is_pinned_to_a_commit():
    uses = re.findall(r"uses:\s*(\S+)", WORKFLOW.read_text())
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
