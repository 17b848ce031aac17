#!/usr/bin/env bash
# Install Roster Sync and run it on the bundled sample district (embedded DuckDB, no server):
# day 1 applied, day 2 planned, the broken drop held; then open the review UI on a demo database.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh ""  # no extras

DB="${ROSTER_SYNC_DB:-.demo/roster.duckdb}"
rm -rf "$(dirname "$DB")" && mkdir -p "$(dirname "$DB")"
sync() { .venv/bin/roster-sync --db "$DB" "$@"; }

echo "== Day 1: the first drop, planned and applied"
sync run sample_data/day1 --apply
echo
echo "== Day 2: what changed overnight (planned, awaiting review)"
sync run sample_data/day2
echo
echo "== Day 3: a truncated export (held by the deletion threshold)"
sync run sample_data/day3_broken || true
echo
sync runs
echo
if [ -t 0 ] && [ -t 1 ]; then
    echo "== Opening the review UI on a fresh demo database (q quits)"
    exec .venv/bin/roster-tui --demo
else
    echo "(no terminal: skipping the review UI; run .venv/bin/roster-tui --demo)"
fi
