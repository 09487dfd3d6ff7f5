#!/usr/bin/env bash
# Quick start: sync ChartMogul into ./output/<stream>.jsonl with the standalone tap
# piped into target-jsonl, load those files into ./output/chartmogul.duckdb (one typed table
# per stream, see scripts/load_duckdb.py), build the dbt models of transform/ on it (staging,
# MRR marts, snapshots, every test) and write the report: a text summary on stdout
# (scripts/report.py) and output/report.html, charts to open in a browser.
#   - With TAP_CHARTMOGUL_API_KEY set, exported or in ./.env (where `meltano config set` puts
#     it), and optionally the other TAP_CHARTMOGUL_* settings: your real ChartMogul account.
#     The tap reads its settings the same way (`--config ENV`: exported variables win over
#     .env), so the account synced is the one the key belongs to. Its reconciliation with
#     ChartMogul's metrics then warns beyond 1 % instead of failing (docs/models.md says what
#     can make them differ).
#   - Without it: the bundled fake ChartMogul API on 127.0.0.1 (FAKE_CUSTOMERS customers,
#     default 500, and FAKE_DAYS simulated days of changes, default every day from the end of
#     its generated history, 2026-01-01, to today), so you can watch records land without an
#     account.
# Metrics are synced per month unless TAP_CHARTMOGUL_METRICS_INTERVAL says otherwise: ChartMogul
# computes churn rates per period, and the report's monthly churn cannot be rebuilt from daily rates.
# Runs accumulate: the database is kept and only its raw tables are replaced, so the snapshots
# (schema snapshots) gain a version of every customer and subscription that changed. Delete
# output/ to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh target dbt

output=${OUTPUT_DIR:-output}
mkdir -p "$output"
rm -f "$output"/*.jsonl # target-jsonl appends: each run writes its own records
work=$(mktemp -d)
fake_pid=""
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

dbt_vars="{}"
key_source=$(.venv/bin/python -c \
  'from tap_chartmogul.environment import source_of; print(source_of("api_key") or "")')
if [ -n "$key_source" ]; then
  url_source=$(.venv/bin/python -c \
    'from tap_chartmogul.environment import source_of; print(source_of("api_url") or "")')
  echo "quickstart: syncing the ChartMogul account of TAP_CHARTMOGUL_API_KEY from $key_source" \
    "(API URL from ${url_source:-the default, https://api.chartmogul.com})" >&2
  dbt_vars="{reconciliation_tolerance_ratio: 0.01, reconciliation_severity: warn}"
else
  echo "quickstart: TAP_CHARTMOGUL_API_KEY is set neither in the environment nor in .env;" \
    "using the bundled fake ChartMogul API" >&2
  # Days since the fake's history ends, the last one at today's midnight (UTC): never after
  # the sync starts, so the tap reads every activity the fake's metrics count.
  days=$(.venv/bin/python -c '
from datetime import datetime, timezone
from fake_chartmogul.generate import AS_OF
today = datetime.now(timezone.utc).date()
print(max(0, (today - AS_OF).days), f"{today.isoformat()}T00:00:00+00:00")')
  .venv/bin/python -m fake_chartmogul --port 0 --customers "${FAKE_CUSTOMERS:-500}" \
    --days "${FAKE_DAYS:-${days% *}}" --days-end "${days#* }" \
    --api-key quickstart-demo-key --ready-file "$work/url" >"$work/fake.log" 2>&1 &
  fake_pid=$!
  for _ in $(seq 1 300); do
    [ -s "$work/url" ] && break
    kill -0 "$fake_pid" 2>/dev/null || { cat "$work/fake.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$work/url" ] || { echo "quickstart: the fake API did not start" >&2; exit 1; }
  export TAP_CHARTMOGUL_API_KEY=quickstart-demo-key
  TAP_CHARTMOGUL_API_URL=$(cat "$work/url")
  export TAP_CHARTMOGUL_API_URL
fi

interval_source=$(.venv/bin/python -c \
  'from tap_chartmogul.environment import source_of; print(source_of("metrics_interval") or "")')
[ -n "$interval_source" ] || export TAP_CHARTMOGUL_METRICS_INTERVAL=month
# The SCHEMA messages a sync sends (no request is made): the loader types its tables from them.
.venv/bin/tap-chartmogul --config ENV --test=schema >"$work/schemas.singer" 2>"$work/schemas.log" ||
  { cat "$work/schemas.log" >&2; exit 1; }
printf '{"destination_path": "%s", "do_timestamp_file": false}\n' "$output" > "$work/target.json"
.venv/bin/tap-chartmogul --config ENV | .tools/target-jsonl/bin/target-jsonl --config "$work/target.json" >/dev/null

echo "quickstart: records written to $output/:" >&2
for file in "$output"/*.jsonl; do
  printf '  %-28s %8d records\n' "$(basename "$file")" "$(wc -l < "$file")" >&2
done
.venv/bin/python scripts/load_duckdb.py --schemas "$work/schemas.singer" --jsonl-dir "$output" \
  --database "$output/chartmogul.duckdb"

# dbt's own files (compiled SQL, logs) go to output/dbt/, so transform/ stays as committed
# (absolute paths: dbt reads a relative target path from the project's folder).
echo "quickstart: dbt build on $output/chartmogul.duckdb (transform/, log: $output/dbt/logs)" >&2
here=$(cd "$output" && pwd)
export CHARTMOGUL_DUCKDB="$here/chartmogul.duckdb" DBT_TARGET_PATH="$here/dbt/target" \
  DBT_LOG_PATH="$here/dbt/logs" DBT_SEND_ANONYMOUS_USAGE_STATS=false
.tools/dbt/bin/dbt build --project-dir transform --profiles-dir transform --target duckdb \
  --vars "$dbt_vars" >"$work/dbt.out" 2>&1 || { tail -n 60 "$work/dbt.out" >&2; exit 1; }
grep -E ' WARN |Done\. PASS=' "$work/dbt.out" | sed 's/^[0-9:]* */  /' >&2
echo >&2
.venv/bin/python scripts/report.py "$output/chartmogul.duckdb" --html "$output/report.html"
