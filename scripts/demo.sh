#!/usr/bin/env bash
# Install Roster Sync and run it on the bundled sample district (embedded DuckDB, no server):
# day 1 applied, hand edits, day 2 planned, the broken day 3 held; then open the review UI on
# that same database.
#
# The demo works only in its own folder, .demo/ in the repository: it makes it, marks it as the
# demo's, and replaces only the demo's own database files there on the next run. It deletes
# nothing else, and ROSTER_SYNC_DB / ROSTER_SYNC_CONFIG (your real database or daemon) are
# ignored here.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh ""  # no extras

unset ROSTER_SYNC_DB ROSTER_SYNC_CONFIG
DEMO_DIR=.demo
DB="$DEMO_DIR/roster.duckdb"

.venv/bin/python -m daemon.demo "$DEMO_DIR"
echo
echo "Look around with the CLI too, e.g.: .venv/bin/roster-sync --db $DB show 3"
if [ -t 0 ] && [ -t 1 ]; then
    echo "== Opening the review UI on this database (q quits)"
    exec .venv/bin/roster-tui --db "$DB"
else
    echo "(no terminal: skipping the review UI; run .venv/bin/roster-tui --db $DB)"
fi
