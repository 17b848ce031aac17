"""A demo database built from the sample district, so a newcomer sees every screen in one step.

Day 1 is applied; then a guardian's account is activated and a student's e-mail is edited by
hand (so day 2 raises contact conflicts) and a leaving student is archived by hand; day 2 is
planned (awaiting review) and the broken day 3 is planned (held by the deletion threshold).
Duplicate detection runs when the engine has it. With `fixed_time`, every timestamp is
rewritten relative to it so screenshots and snapshot tests are stable.

`scripts/demo.sh` (`python -m daemon.demo FOLDER`) and `roster-tui --demo` both build it here,
so what the demo prints is what the review UI then shows. The drops ship inside the package
(`daemon/demo_drops/`, see setup.py) so an installed Roster Sync has them; a source checkout
reads `sample_data/` itself.

The demo works only in a folder of its own: a new or empty one, or one it made before (it
leaves a marker file there). It replaces only the files it makes, never anything else.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from daemon.db import Database
from daemon.errors import RosterSyncError
from daemon.service.engine import Engine

PACKAGED = Path(__file__).resolve().parent / "demo_drops"
CHECKOUT = Path(__file__).resolve().parent.parent / "sample_data"
DEMO_DROPS = ("day1", "day2", "day3_broken")
DEMO_ACTOR = "demo"
DB_NAME = "roster.duckdb"
MARKER = ".roster-sync-demo"  # this folder is the demo's: it may replace its own files here


def sample_drops() -> Path:
    """Where the demo's drops are: inside the installed package, else the source checkout."""
    for folder in (PACKAGED, CHECKOUT):
        if all((folder / name).is_dir() for name in DEMO_DROPS):
            return folder
    raise FileNotFoundError(
        f"the demo's drops ({', '.join(DEMO_DROPS)}) are neither in {PACKAGED} nor in "
        f"{CHECKOUT}; reinstall Roster Sync"
    )


class DemoFolderRefused(RosterSyncError):
    """The folder holds files the demo did not make; it is left alone."""

    title = "Demo folder refused"


def claim_folder(folder: Path) -> None:
    """Make `folder` the demo's, or refuse: it must be new, empty, or marked as the demo's."""
    if folder.exists() and not folder.is_dir():
        raise DemoFolderRefused(f"{folder} is a file; the demo needs a folder of its own")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise DemoFolderRefused(
            f"{folder} holds files the demo did not make; it builds only in a new or empty "
            "folder, or one it made before"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(
        "A Roster Sync demo folder: the demo replaces its own database files here.\n"
    )


def _remove_own_files(folder: Path) -> None:
    """The demo database and what DuckDB and Roster Sync keep beside it; nothing else."""
    path = folder / DB_NAME
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    for scratch in (path.with_name(path.name + ".tmp"), path.with_name(path.name + ".work")):
        shutil.rmtree(scratch, ignore_errors=True)


# Who the hand edits touch (see sample_data/expected.json, events.day2).
ACTIVE_GUARDIAN = "gdn-3136"  # day 2 changes this guardian's sms: a protected contact
EDITED_STUDENT = "stu-1285"  # e-mail edited by hand: day 2 still sends the old one
HAND_ARCHIVED = "stu-1102"  # a leaver archived by hand before day 2 says so


def build_demo(
    folder: Path,
    *,
    fixed_time: datetime | None = None,
    sample: Path | None = None,
    actor: str = DEMO_ACTOR,
    report: Callable[[str], None] | None = None,
) -> Path:
    """Create `folder/roster.duckdb` afresh and return its path; `report` hears each step."""
    from daemon.cli.render import run_summary, runs_table

    sample = sample or sample_drops()
    say = report or (lambda _text: None)
    claim_folder(folder)
    _remove_own_files(folder)
    path = folder / DB_NAME
    db = Database(path)
    try:
        db.execute("SET threads = 1")  # ids from sequences in scan order: the same on every build
        engine = Engine(db, actor)
        say("== Day 1: the first drop, planned and applied")
        day1 = engine.plan_source(str(sample / "day1"))
        say(run_summary(engine.apply_run(day1.run_id)))
        say("\n== Between the drops, by hand: a guardian's account activated, a student's e-mail")
        say(f"   edited, a leaving student archived ({ACTIVE_GUARDIAN}, {EDITED_STUDENT}, "
            f"{HAND_ARCHIVED})")  # fmt: skip
        engine.set_account_active(ACTIVE_GUARDIAN, True)
        engine.edit_contact(EDITED_STUDENT, {"email": "h.lopez@family.example.net"})
        engine.archive_user(HAND_ARCHIVED)
        say("\n== Day 2: what changed overnight (planned, awaiting review)")
        say(run_summary(engine.plan_source(str(sample / "day2"))))
        say("\n== Day 3: a truncated export (held by the deletion threshold)")
        say(run_summary(engine.plan_source(str(sample / "day3_broken"))))
        engine.duplicates_scan()
        if fixed_time is not None:
            _pin_times(db, fixed_time)
        db.execute("CHECKPOINT")
        say("\n" + runs_table(engine.list_runs()))
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
    for column in ("decided_at", "found_at"):
        db.execute(
            f"UPDATE duplicate_candidates SET {column} = ? WHERE {column} IS NOT NULL", [day3]
        )


def main(argv: list[str] | None = None) -> int:
    """`python -m daemon.demo [FOLDER]`: build the demo database there, telling the story."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else ".demo")
    from daemon.cli.render import set_hint_command

    # The story's "Next:" lines name the demo's database, as scripts/demo.sh runs the CLI.
    set_hint_command(str(folder / DB_NAME), program=".venv/bin/roster-sync")
    try:
        path = build_demo(folder, fixed_time=datetime.now(), report=print)
    except (DemoFolderRefused, FileNotFoundError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    print(f"\nThe demo database is {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
