#!/usr/bin/env bash
# Compile the constraints every virtualenv of scripts/bootstrap.sh installs with: the exact
# versions of everything the tests and the quick start use, for every supported Python
# (uv's universal resolution), so a new release upstream cannot change CI overnight.
# Run after changing a dependency in pyproject.toml or a tool's version in bootstrap.sh;
# tests/test_constraints.py fails while an installed venv disagrees with its file.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
compile() {  # compile NAME REQUIREMENT...
  local name=$1
  shift
  "$UV" pip compile --quiet --universal --python-version 3.11 --no-header \
    --output-file "constraints/$name.txt" "$@"
}
compile tap pyproject.toml --extra dev
# The tools' own requirement is their one line (no annotations: they would name a temp file).
tool() {  # tool NAME REQUIREMENT
  echo "$2" | compile "$1" --no-annotate -
}
tool target-jsonl "target-jsonl==0.1.4"
tool meltano "meltano==4.4.1"
tool target-postgres "meltanolabs-target-postgres==0.8.1"
# dbt with the very duckdb the tap's venv pins (bootstrap installs that one beside it).
duckdb=$(grep -E '^duckdb==' constraints/tap.txt | head -1)
tool dbt "dbt-core==1.11.16
dbt-duckdb==1.11.1
dbt-postgres==1.11.0
$duckdb"
