#!/usr/bin/env bash
# Quick start: sync ChartMogul into ./output/<stream>.jsonl with the standalone tap
# piped into target-jsonl, load those files into ./output/chartmogul.duckdb (one typed table
# per stream, see scripts/load_duckdb.py) and print a short report (scripts/report.py).
#   - With TAP_CHARTMOGUL_API_KEY set, exported or in ./.env (where `meltano config set` puts
#     it), and optionally the other TAP_CHARTMOGUL_* settings: your real ChartMogul account.
#     The tap reads its settings the same way (`--config ENV`: exported variables win over
#     .env), so the account synced is the one the key belongs to.
#   - Without it: the bundled fake ChartMogul API on 127.0.0.1 (FAKE_CUSTOMERS customers,
#     default 500), so you can watch records land without an account.
# Metrics are synced per month unless TAP_CHARTMOGUL_METRICS_INTERVAL says otherwise: ChartMogul
# computes churn rates per period, and the report's monthly churn cannot be rebuilt from daily rates.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh target

output=${OUTPUT_DIR:-output}
rm -rf "$output"
mkdir -p "$output"
work=$(mktemp -d)
fake_pid=""
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

key_source=$(.venv/bin/python -c \
  'from tap_chartmogul.environment import source_of; print(source_of("api_key") or "")')
if [ -n "$key_source" ]; then
  url_source=$(.venv/bin/python -c \
    'from tap_chartmogul.environment import source_of; print(source_of("api_url") or "")')
  echo "quickstart: syncing the ChartMogul account of TAP_CHARTMOGUL_API_KEY from $key_source" \
    "(API URL from ${url_source:-the default, https://api.chartmogul.com})" >&2
else
  echo "quickstart: TAP_CHARTMOGUL_API_KEY is set neither in the environment nor in .env;" \
    "using the bundled fake ChartMogul API" >&2
  .venv/bin/python -m fake_chartmogul --port 0 --customers "${FAKE_CUSTOMERS:-500}" \
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
echo >&2
.venv/bin/python scripts/report.py "$output/chartmogul.duckdb"
