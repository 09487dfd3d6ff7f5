#!/usr/bin/env bash
# Run the whole test suite (lint included) after installing what it needs.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k paging -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh target meltano postgres dbt chromium
exec .venv/bin/python -m pytest "$@"
