"""A demo database built from `sample_data/`, so a newcomer sees every screen in one step.

Day 1 is applied; then a guardian's account is activated and a student's e-mail is edited by
hand (so day 2 raises contact conflicts) and a leaving student is archived by hand; day 2 is
planned (awaiting review) and the broken day 3 is planned (held by the deletion threshold).
Duplicate detection runs when the engine has it. With `fixed_time`, every timestamp is
rewritten relative to it so screenshots and snapshot tests are stable.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from daemon.db import Database
from daemon.service.engine import Engine

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
DEMO_ACTOR = "demo"
DB_NAME = "roster.duckdb"

# Who the hand edits touch (see sample_data/expected.json, events.day2).
ACTIVE_GUARDIAN = "gdn-3136"  # day 2 changes this guardian's sms: a protected contact
EDITED_STUDENT = "stu-1285"  # e-mail edited by hand: day 2 still sends the old one
HAND_ARCHIVED = "stu-1102"  # a leaver archived by hand before day 2 says so


def build_demo(
    folder: Path,
    *,
    fixed_time: datetime | None = None,
    sample: Path = SAMPLE,
    actor: str = DEMO_ACTOR,
) -> Path:
    """Create `folder/roster.duckdb` afresh and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DB_NAME
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    db = Database(path)
    try:
        db.execute("SET threads = 1")  # ids from sequences in scan order: the same on every build
        engine = Engine(db, actor)
        day1 = engine.plan_source(str(sample / "day1"))
        engine.apply_run(day1.run_id)
        engine.set_account_active(ACTIVE_GUARDIAN, True)
        engine.edit_contact(EDITED_STUDENT, {"email": "h.lopez@family.example.net"})
        engine.archive_user(HAND_ARCHIVED)
        engine.plan_source(str(sample / "day2"))
        engine.plan_source(str(sample / "day3_broken"))
        scan = getattr(engine, "duplicates_scan", None)
        if scan is not None:
            scan()
        if fixed_time is not None:
            _pin_times(db, fixed_time)
        db.execute("CHECKPOINT")
    finally:
        db.close()
    return path


def _pin_times(db: Database, now: datetime) -> None:
    """Rewrite timestamps: day 1 two days before `now`, day 2 yesterday night, day 3 today."""
    day3 = now.replace(hour=2, minute=0, second=0, microsecond=0)
    if day3 > now - timedelta(minutes=5):  # before 02:05: the nightly drop came yesterday
        day3 -= timedelta(days=1)
    day2, day1 = day3 - timedelta(days=1), day3 - timedelta(days=2)
    edits = day1 + timedelta(hours=9)  # the hand edits, during the working day
    starts = {1: day1, 2: day2, 3: day3}
    for run_id, start in starts.items():
        db.execute(
            """UPDATE runs SET created_at = ?, planned_at = CASE WHEN planned_at IS NULL THEN NULL
                      ELSE ? END, decided_at = CASE WHEN decided_at IS NULL THEN NULL ELSE ? END
               WHERE run_id = ?""",
            [start, start + timedelta(minutes=1), start + timedelta(minutes=30), run_id],
        )
    db.execute("UPDATE runs SET timings_json = '{}'")
    for table in ("schools", "users", "classrooms", "enrollments", "guardian_links"):
        db.execute(
            f"""UPDATE {table} SET created_at = ?, updated_at = ?,
                       archived_at = CASE WHEN archived_at IS NULL THEN NULL ELSE ? END""",
            [day1, day1, edits],
        )
    db.execute("UPDATE student_attributes SET created_at = ?, updated_at = ?", [day1, day1])
    db.execute("UPDATE audit_log SET occurred_at = ? + INTERVAL (audit_id) MINUTE", [day1])
    db.execute(
        "UPDATE audit_log SET occurred_at = ? + INTERVAL (audit_id) MINUTE WHERE action NOT LIKE 'run.%'",
        [edits],
    )
    db.execute("UPDATE settings SET updated_at = ?", [edits])
    if db.table_exists("duplicate_candidates"):
        for column in ("created_at", "updated_at", "decided_at", "found_at"):
            if db.one(
                "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'duplicate_candidates' "
                "AND column_name = ?",
                [column],
            ):
                db.execute(
                    f"UPDATE duplicate_candidates SET {column} = ? WHERE {column} IS NOT NULL",
                    [day3],
                )


def main() -> None:
    """`python -m daemon.demo FOLDER`: build a demo database there."""
    import sys

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".demo")
    print(build_demo(folder))


if __name__ == "__main__":
    main()
