"""Every virtualenv holds exactly the versions its constraints file pins (scripts/lock.sh).

A release upstream must not change what CI installs overnight: bootstrap installs each venv
with ``-c constraints/<name>.txt``. These tests fail when a file is stale (a dependency of
pyproject.toml it does not pin) or a venv was installed without it.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
VENVS = {
    "tap": ROOT / ".venv",
    "target-jsonl": ROOT / ".tools" / "target-jsonl",
    "meltano": ROOT / ".tools" / "meltano",
    "target-postgres": ROOT / ".tools" / "target-postgres",
    "dbt": ROOT / ".tools" / "dbt",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(name: str) -> dict[str, str]:
    """Package -> version, for the lines of constraints/<name>.txt that apply here."""
    found = {}
    for line in (ROOT / "constraints" / f"{name}.txt").read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate():
            (spec,) = requirement.specifier
            found[canonical(requirement.name)] = spec.version
    return found


@pytest.mark.parametrize("name", VENVS)
def test_each_venv_holds_the_pinned_versions(name):
    venv = VENVS[name]
    assert (venv / ".stamp").exists(), f"{venv} is not installed: run bash scripts/bootstrap.sh"
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    installed = {canonical(p["name"]): p["version"] for p in json.loads(frozen)}
    wanted = pinned(name)
    wrong = {
        package: (installed.get(package), version)
        for package, version in wanted.items()
        if package in installed and installed[package] != version
    }
    assert wrong == {}, f"{name}: installed vs pinned {wrong}"
    missing = sorted(set(wanted) - set(installed))
    assert missing == [], f"{name}: pinned but not installed {missing}"


def test_every_dependency_of_the_tap_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = pinned("tap")
    for text in wanted:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonical(requirement.name)
        assert name in pins, f"constraints/tap.txt does not pin {name}: run bash scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints/tap.txt pins {name}=={pins[name]}, outside {requirement.specifier}"
        )
