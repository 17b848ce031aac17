"""What a "side table" of remembered enrollments lines would cost downstream of reading a night.

docs/read-time-shortcut.md describes a night that recognises the enrollments lines it saw the
night before and carries them aside instead of through every check. Reading is measured by the
pre-pass (branch `prepass`); this script measures the passes such a night would still make over
the remembered lines, against the engine's own statement for unchanged memberships, on the
state of a real plan:

1. a day-2 plan runs on a copy of the database, and the enrollments' staging (with each row's
   hash), the users' ids and the maps the plan built are copied to a capture database;
2. each pass then runs alone in one connection set up as the engine's (memory limit, threads,
   temp directory), on the captured tables held in memory as the plan holds them.

The remembered lines are stood in for by the night's own unchanged memberships (about 99% of
the lines), so every pass sees the sizes a real night would. Each figure is one run: compare
them with one another, not with another day's machine.

Usage: python benchmarks/side_table_costs.py --db BEFORE_DAY2.duckdb --drop DIR/day2 --work DIR
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import duckdb

from benchmarks.bench_common import plan_with_capture
from daemon.sync.kinds import ENROLLMENTS
from daemon.sync.unchanged import synced_hash

# Run inside `roster-sync run`: copy staging before validation, the maps before memberships.
CAPTURE = """
import sys
import daemon.ingest as ingest
from daemon.sync import plan
CAP = sys.argv.pop(1)
staged_tables = ingest._create_empty_tables
def capture_staging(db, run_id, drop, result):
    db.execute(f"ATTACH '{CAP}' AS cap")
    for entity in ("enrollments", "users"):
        rows = result.staged[entity].hashed_rows
        db.execute(f"CREATE OR REPLACE TABLE cap.{entity}_staged AS SELECT * FROM {rows}")
    db.execute("DETACH cap")
    staged_tables(db, run_id, drop, result)
ingest._create_empty_tables = capture_staging
memberships = plan._enrollments
def capture_maps(ctx):
    ctx.db.execute(f"ATTACH '{CAP}' AS cap")
    for name in ("classroom_map", "user_map"):
        ctx.db.execute(f"CREATE OR REPLACE TABLE cap.{name} AS SELECT * FROM {ctx.t(name)}")
    ctx.db.execute("DETACH cap")
    memberships(ctx)
plan._enrollments = capture_maps
from daemon.cli.main import main
sys.argv = ["roster-sync", *sys.argv[1:]]
sys.exit(main())
"""
DIRECTORY = f"""(SELECT hash(sis_id) AS _sis_hash, enrollment_id, classroom_id, user_id
                 FROM enrollments WHERE status = 'active' AND origin = 'sync'
                   AND sis_id IS NOT NULL
                   AND synced_hash = {synced_hash(ENROLLMENTS, "enrollments")})"""
PASSES = (
    (
        "today: unchanged memberships (the engine's statement, source hash aside)",
        f"""CREATE OR REPLACE TEMP TABLE remembered_lines AS
            SELECT e._line, d.enrollment_id AS id FROM enrollments_staged e
            JOIN {DIRECTORY} d ON d._sis_hash = hash(e.sourcedId)
            JOIN classroom_map cm ON cm.sis_id = e.classSourcedId
             AND cm.classroom_id = d.classroom_id
            JOIN user_map um ON um.sis_id = e.userSourcedId AND um.user_id = d.user_id
             AND NOT um.kept_archived""",
    ),
    (
        "remembered lines written whole (a persistent table)",
        """CREATE OR REPLACE TABLE memory.enrollments AS
           SELECT hash(e.sourcedId) AS sis_h, e._h AS h, u.id, e.sourcedId,
                  hash(e.classSourcedId) AS ch, hash(e.userSourcedId) AS uh,
                  hash(e.classSourcedId, e.userSourcedId) AS pair,
                  d.source_hash, d.synced_hash
           FROM enrollments_staged e JOIN remembered_lines u ON u._line = e._line
           JOIN enrollments d ON d.enrollment_id = u.id""",
    ),
    (
        "the maps remembered",
        """CREATE OR REPLACE TABLE memory.user_map AS
               SELECT hash(sis_id) AS sh, user_id, kept_archived FROM user_map;
           CREATE OR REPLACE TABLE memory.classroom_map AS
               SELECT hash(sis_id) AS sh, classroom_id FROM classroom_map;
           CHECKPOINT""",
    ),
    (
        "match tonight's lines to remembered ones",
        """CREATE OR REPLACE TEMP TABLE side AS
           SELECT e._line, s.id, s.sourcedId, s.ch, s.uh, s.pair, s.source_hash, s.synced_hash
           FROM enrollments_staged e
           JOIN memory.enrollments s ON s.sis_h = hash(e.sourcedId) AND s.h = e._h""",
    ),
    (
        "set the other lines apart",
        """CREATE OR REPLACE TEMP TABLE rest AS
           SELECT e.* FROM enrollments_staged e ANTI JOIN side s ON s._line = e._line""",
    ),
    (
        "the records remembered lines name are untouched",
        f"""CREATE OR REPLACE TEMP TABLE side_touched AS
            SELECT s._line FROM side s LEFT JOIN enrollments d ON d.enrollment_id = s.id
            WHERE d.enrollment_id IS NULL OR d.status <> 'active' OR d.origin <> 'sync'
               OR d.source_hash IS DISTINCT FROM s.source_hash
               OR d.synced_hash IS DISTINCT FROM s.synced_hash
               OR d.synced_hash <> {synced_hash(ENROLLMENTS, "d")}""",
    ),
    (
        "the maps' differences since",
        """CREATE OR REPLACE TEMP TABLE changed_keys AS
           SELECT coalesce(a.sh, b.sh) AS sh, 'u' AS k
           FROM (SELECT hash(sis_id) AS sh, user_id, kept_archived FROM user_map) a
           FULL JOIN memory.user_map b ON a.sh = b.sh
           WHERE a.user_id IS DISTINCT FROM b.user_id
              OR a.kept_archived IS DISTINCT FROM b.kept_archived
           UNION ALL
           SELECT coalesce(a.sh, b.sh), 'c'
           FROM (SELECT hash(sis_id) AS sh, classroom_id FROM classroom_map) a
           FULL JOIN memory.classroom_map b ON a.sh = b.sh
           WHERE a.classroom_id IS DISTINCT FROM b.classroom_id""",
    ),
    (
        "new lines' keys against remembered ones",
        """CREATE OR REPLACE TEMP TABLE key_clash AS
           SELECT r._line FROM rest r SEMI JOIN side s ON s.sourcedId = r.sourcedId""",
    ),
    (
        "one remembered line sent twice",
        "CREATE OR REPLACE TEMP TABLE sent_twice AS SELECT id FROM side GROUP BY id HAVING count(*) > 1",
    ),
    (
        "users that vanished since",
        """CREATE OR REPLACE TEMP TABLE vanished AS
           SELECT b.sh FROM memory.user_map b
           ANTI JOIN (SELECT hash(sourcedId) AS sh FROM users_staged) a ON a.sh = b.sh""",
    ),
    (
        "the ledger from both",
        """CREATE OR REPLACE TABLE memory.ledger AS
           SELECT _line, sourcedId AS sourced_id FROM rest
           UNION ALL SELECT _line, sourcedId FROM side""",
    ),
    (
        "the ledger as today (for comparison)",
        """CREATE OR REPLACE TABLE memory.ledger_today AS
           SELECT _line, sourcedId AS sourced_id FROM enrollments_staged""",
    ),
    (
        "repeated pairs: new lines against remembered ones",
        """CREATE OR REPLACE TEMP TABLE repeated AS
           SELECT r._line FROM rest r
           SEMI JOIN side s ON s.pair = hash(r.classSourcedId, r.userSourcedId)""",
    ),
    (
        "absence: memberships no line names",
        """CREATE OR REPLACE TEMP TABLE absent AS
           SELECT d.enrollment_id FROM enrollments d
           WHERE d.status = 'active' AND d.origin = 'sync' AND d.source_file = 'enrollments.csv'
             AND d.enrollment_id NOT IN (SELECT id FROM side)""",
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a database before day 2")
    parser.add_argument("--drop", type=Path, required=True, help="day 2's drop folder")
    parser.add_argument("--work", type=Path, required=True, help="a scratch folder")
    args = parser.parse_args()
    planned, capture = plan_with_capture(args.db, args.drop, args.work, CAPTURE)
    limit = os.environ.get("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    con = duckdb.connect(str(planned))  # the directory as the plan saw it (a plan changes none)
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute("SET threads = 2")
    con.execute(f"SET temp_directory = '{args.work / 'spill'}'")
    con.execute(f"ATTACH '{capture}' AS cap (READ_ONLY)")
    con.execute("CREATE SCHEMA IF NOT EXISTS memory")
    for name in ("enrollments_staged", "users_staged", "classroom_map", "user_map"):
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM cap.{name}")
    lines = con.execute("SELECT count(*) FROM enrollments_staged").fetchone()
    print(f"{lines[0] if lines else 0:,} enrollments lines; seconds, one run each:")
    for name, sql in PASSES:
        started = time.perf_counter()
        con.execute(sql)
        print(f"{time.perf_counter() - started:7.2f}  {name}", flush=True)
    counts = con.execute(
        "SELECT (SELECT count(*) FROM side), (SELECT count(*) FROM rest)"
    ).fetchone()
    print(f"remembered lines matched: {counts[0]:,}; lines left: {counts[1]:,}" if counts else "")


if __name__ == "__main__":
    main()
