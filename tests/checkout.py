"""A user's checkout of this repository, in a temporary directory, for tests to run commands in.

Commands a user runs in their checkout (the quick start, ``meltano install``, ``meltano config
set``, ``meltano run``) write there: ``output/``, ``.meltano/`` (with the state of every
pipeline), ``.env``. Run in the repository itself, they would leave a test's state and files
for the user's next real run (a Meltano bookmark from the fake made a real run skip history).
So tests run them in a copy: every file git tracks or would track (the working tree's
version, so uncommitted changes are tested too), with the repository's virtualenvs linked
in (``.venv/``, ``.tools/``) rather than rebuilt.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Installed once per machine by scripts/bootstrap.sh and only read by the commands.
LINKED = (".venv", ".tools")


def tracked_files(root: Path = ROOT) -> list[str]:
    """The files of the working tree that git tracks or would track (not ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (root / name).is_file()]


def make_checkout(destination: Path, root: Path = ROOT) -> Path:
    """Copy the working tree to ``destination`` (created) and link the virtualenvs in."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in tracked_files(root):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    for name in LINKED:
        if (root / name).exists():
            (destination / name).symlink_to(root / name)
    return destination
