#!/usr/bin/env bash
# Run the whole test suite (lint included) after installing what it needs.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k paging -x`.
# Tests run on every core (pytest-xdist), a file per worker at a time so a module's
# fixtures (an account, a Meltano install) are built once; `-n 0` runs them in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh target meltano postgres dbt chromium
exec .venv/bin/python -m pytest -n auto --dist loadfile "$@"
