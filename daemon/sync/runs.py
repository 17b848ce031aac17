"""The life of a sync run: load and plan (a dry run), then apply, reject or supersede."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.audit import audit
from daemon.db import Database, drop_run_tables, sql_ident
from daemon.directory.integrity import violations
from daemon.errors import RosterSyncError, interrupted
from daemon.formats.drop import Convert, Drop, DropError, drop_kind, open_drop
from daemon.formats.spec import FORMER_ID_COLUMN, NOT_CARRIED_COLUMN
from daemon.ingest import ingest_drop, run_schema
from daemon.ingest.header import FileRefused
from daemon.ingest.issues import store_issues
from daemon.ingest.load import StagedFile
from daemon.progress import Progress
from daemon.settings import SyncSettings, load_settings
from daemon.sync.apply import DirectoryWouldBreak, crash_point, write_plan
from daemon.sync.conflicts import apply_taken_conflicts
from daemon.sync.context import PlanContext
from daemon.sync.derived_ids import MANIFEST_KEY as DERIVED_KEY
from daemon.sync.derived_ids import parse_derived
from daemon.sync.diff import note_what_waits
from daemon.sync.holds import check_thresholds
from daemon.sync.plan import PlanWouldBreak, make_plan
from daemon.sync.reference import restored_reference
from daemon.sync.retrace import retrace
from daemon.sync.rollover import find_rekeyed, find_rekeyed_classes
from daemon.sync.run_files import note_files_read_as_changes, record_run_files
from daemon.sync.scope import MANIFEST_KEY, check_scope, mark_out_of_scope, parse_scope
from daemon.sync.withheld import drop_withheld_of_reverted, withhold_archives

KEEP_STAGING_RUNS = 5  # staging of older finished runs is dropped (results stay)
# Runs this process is planning now. Only one process can open the database for writing, so any
# other run left 'loading' belongs to a process that died (a kill, a power cut) and is stale.
_PLANNING: set[int] = set()


class RunError(RosterSyncError):
    """The command could not do what was asked; the message says why, in one line."""

    title = "Run not changed"


class RunSuperseded(RunError):
    """The run was planned before the directory or the settings changed: it can only be planned
    again."""

    title = "Run superseded"


class BlackoutDay(RunError):
    """Today is in one of the `blackout_dates`: nothing is planned unless asked to all the same."""

    title = "Blackout day"


def workdir_for(db: Database, run_id: int) -> Path:
    return db.path.parent / f"{db.path.name}.work" / f"run_{run_id}"


def directory_ids_sql(entity: str) -> str | None:
    """SIS ids the directory already knows, for reference checks of delta drops."""
    return {
        "users": "SELECT sis_id AS id FROM users WHERE sis_id IS NOT NULL",
        "classes": "SELECT sis_id AS id FROM classrooms WHERE sis_id IS NOT NULL",
        "orgs": "SELECT sis_id AS id FROM school_sis_ids",
    }.get(entity)


def directory_records_sql(entity: str) -> str | None:
    """SIS ids of the records the directory has that a row of this file may update (a row
    naming none of them makes a new record), for the files whose records have values a drop
    may declare it does not carry (validate.py `_not_carried`)."""
    people = "SELECT sis_id AS id FROM users WHERE sis_id IS NOT NULL"
    return {
        "users": people,
        "guardians": people,
        "classes": directory_ids_sql("classes"),
        "orgs": directory_ids_sql("orgs"),
        "courses": "SELECT sis_id AS id FROM courses",
        "academicSessions": "SELECT sis_id AS id FROM academic_sessions",
    }.get(entity)


def plan_source(
    db: Database,
    source: str | Path,
    *,
    actor: str,
    source_kind: str | None = None,
    progress: Progress | None = None,
    scope: list[str] | None = None,
    fetch: Fetch | None = None,
    source_name: str | None = None,
    convert: Convert | None = None,
) -> int:
    """Create a run from a folder or ZIP: load, validate, plan. Returns its id (even if failed).
    `scope`: the SIS ids of the schools a school-level upload speaks for.

    With `fetch` (an API source), the run first fills the folder `source` by calling it; it
    returns what it fetched, or raises a DropError (SourceError) that fails the run before
    anything is read: a partial pull is never planned."""
    progress = progress or Progress()
    recover_interrupted(db)
    run_id = int(db.one("SELECT nextval('run_ids')"))
    _PLANNING.add(run_id)
    try:
        return _plan_source(
            db,
            run_id,
            source,
            actor,
            source_kind,
            progress,
            scope or [],
            fetch,
            source_name,
            convert,
        )
    finally:
        _PLANNING.discard(run_id)


# Fills the drop folder of a pulled run; returns the fetch summary (pages, records, retries).
Fetch = Callable[[], dict[str, Any]]


def _plan_source(
    db: Database,
    run_id: int,
    source: str | Path,
    actor: str,
    source_kind: str | None,
    progress: Progress,
    scope: list[str],
    fetch: Fetch | None = None,
    source_name: str | None = None,
    convert: Convert | None = None,
) -> int:
    db.execute(
        "INSERT INTO runs (run_id, source, source_kind, status, created_at, created_by, "
        "source_name) VALUES (?, ?, ?, 'loading', current_timestamp, ?, ?)",
        [run_id, str(source), source_kind or drop_kind(Path(source)), actor, source_name],
    )
    workdir = workdir_for(db, run_id)
    drop: Drop | None = None
    timings: dict[str, float] = {}
    started = time.monotonic()
    try:
        if fetch is not None:
            _fetch(db, run_id, fetch)
            timings["fetch"] = round(time.monotonic() - started, 3)
            started = time.monotonic()
        drop = open_drop(source, workdir, source_kind=source_kind, convert=convert)
        db.execute(
            "UPDATE runs SET source_kind = ?, oneroster_version = ? WHERE run_id = ?",
            [drop.source_kind, drop.version, run_id],
        )
        result = ingest_drop(
            db, run_id, drop, workdir, directory_ids_sql, progress, records=directory_records_sql
        )
        crash_point("after_load")
        timings["load"] = time.monotonic() - started
        record_run_files(db, run_id, drop)
        db.execute(
            "UPDATE runs SET content_hash = ? WHERE run_id = ?", [drop.content_hash(), run_id]
        )
        ctx = PlanContext(
            db=db,
            run_id=run_id,
            schema=result.schema,
            settings=load_settings(db),
            modes={e: _mode_tonight(f.mode, result.staged.get(e)) for e, f in drop.files.items()},
            file_names={e: f.name for e, f in drop.files.items()},
            # A column the file lacks is one the feed does not speak for: records keep what
            # they have (staging reads it as empty, which must not blank the directory). So is
            # one the drop says its source does not carry (`source.notCarried`).
            columns={
                e: drop.format.specs[e].read_columns(s.header.names)
                for e, s in result.staged.items()
            },
            specs=dict(drop.format.specs),
            scope=scope or parse_scope(drop.manifest.get(MANIFEST_KEY)),
            derived_ids=parse_derived(drop.manifest.get(DERIVED_KEY)),
            ext_terms=drop.ext_terms,
        )
        note_files_read_as_changes(
            db,
            run_id,
            [f.name for e, f in drop.files.items() if f.mode == "bulk" and ctx.mode(e) == "delta"],
        )
        if ctx.scope:
            db.execute("UPDATE runs SET scope = ? WHERE run_id = ?", [ctx.scope, run_id])
        for notice in drop.notices:
            ctx.note("drop", notice)
        _note_missing_columns(ctx, result.staged)
        _note_untold_rows(ctx, drop, result.staged)
        _plan(db, ctx, progress, timings)
        if drop.converted_from is not None:
            retrace(db, run_id, drop.root)
    except (DropError, FileRefused, PlanWouldBreak) as exc:
        drop_run_tables(db, run_id)  # a drop refused while loading leaves none behind either
        _fail(db, run_id, str(exc))
    except (
        BaseException
    ) as exc:  # an unexpected failure still leaves a failed run, never a half state
        if unreadable := _unreadable_in_drop(exc, source):
            drop_run_tables(db, run_id)
            _fail(db, run_id, unreadable)
            return run_id
        if interrupted(exc):  # Ctrl-C: the next command would otherwise find it loading
            with contextlib.suppress(Exception):
                _fail(db, run_id, "interrupted while planning (Ctrl-C)")
        elif isinstance(exc, Exception):
            _fail(db, run_id, f"internal error while planning: {type(exc).__name__}: {exc}")
        raise
    finally:
        if drop is not None:
            drop.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return run_id


def _unreadable_in_drop(exc: BaseException, source: str | Path) -> str | None:
    """The run's error when `exc` is the system refusing to let this user read the drop (a file
    or folder of it), else None: that is the administrator's to fix, not a fault."""
    if not isinstance(exc, PermissionError) or not exc.filename:
        return None
    refused, drop = Path(os.fsdecode(exc.filename)), Path(source)
    if refused != drop and drop not in refused.parents:
        return None  # not the drop's: the run's own folder, say
    return (
        f"{refused}: permission denied; give the user Roster Sync runs as read access to the "
        "drop, then run it again"
    )


def _fetch(db: Database, run_id: int, fetch: Fetch) -> None:
    """Pull into the run's folder; what was fetched is kept with the run, failed or not."""
    try:
        summary = fetch()
    except DropError as exc:
        partial = getattr(exc, "summary", None)
        if partial is not None:
            _record_fetch(db, run_id, partial)
        raise
    _record_fetch(db, run_id, summary)


def _record_fetch(db: Database, run_id: int, summary: dict[str, Any]) -> None:
    db.execute(
        "UPDATE runs SET fetch_json = ? WHERE run_id = ?",
        [json.dumps(summary, default=str), run_id],
    )


# Optional columns whose absence is not worth a word: bookkeeping, never synced, or an
# extension few files carry (language).
_SILENT_WHEN_MISSING = {
    "status", "dateLastModified", "password", "language", "metadata.language", NOT_CARRIED_COLUMN,
    FORMER_ID_COLUMN,
}  # fmt: skip


def _mode_tonight(mode: str, staged: StagedFile | None) -> str:
    return mode if staged is None else staged.mode_tonight(mode)


_CHANGES_ONLY = (
    "tonight the file is read as changes only, so no record is archived for being absent from it"
)


def _note_untold_rows(ctx: PlanContext, drop: Drop, staged: dict[str, StagedFile]) -> None:
    """Why a whole file is read as changes only tonight, each cause with its remedy: a row to
    fix, or (cut short, the rows after the cut missing) the whole file to send again."""
    for entity, file in staged.items():
        if file.untold is None or drop.files[entity].mode != "bulk":
            continue
        line, key, why = file.untold
        if line != file.cut_line:  # a row before the cut, or no cut
            ctx.note(
                entity,
                f"{file.file_name} line {line} cannot be read and the {key} it names cannot be "
                f"told ({why}): {_CHANGES_ONLY}; fix the row and the next run reads it whole",
            )
        if file.cut_line is not None:
            ctx.note(
                entity,
                f"{file.file_name} line {file.cut_line}: the file ends in the middle of this row, "
                "with no line end: it was cut short (an upload that stopped?) and the rows after "
                f"it are missing: {_CHANGES_ONLY}; send the whole file again and the next run "
                "reads it whole",
            )


def _note_missing_columns(ctx: PlanContext, staged: dict[str, StagedFile]) -> None:
    """Said once per file: the optional columns it lacks, whose directory values are kept."""
    for entity, file in staged.items():
        silent = set(_SILENT_WHEN_MISSING)
        if entity == "users" and "roles" in ctx.specs:  # 1.2: roles.csv holds them
            silent |= {"role", "orgSourcedIds"}
        spec = ctx.specs[entity]
        not_carried = [c for c in spec.columns if c.not_carried is not None]
        if not_carried:
            names = ", ".join(c.name for c in not_carried)
            ctx.note(
                entity,
                f"{file.file_name}: {names} not carried by the source ({not_carried[0].not_carried}, "
                f"source.notCarried): this run does not change {'them' if len(not_carried) > 1 else 'it'}, "
                "records keep what they have",
            )
        missing = [
            c for c in file.header.missing_optional if c not in silent and spec.read_columns([c])
        ]
        if missing:
            ctx.note(
                entity,
                f"{file.file_name} has no {', '.join(missing)} column"
                f"{'s' if len(missing) > 1 else ''}: this run does not change "
                f"{'them' if len(missing) > 1 else 'it'}, records keep what they have",
            )


def _plan(db: Database, ctx: PlanContext, progress: Progress, timings: dict[str, float]) -> None:
    started = time.monotonic()
    base_version = db.directory_version()
    try:
        if ctx.scope:
            _scope(db, ctx)
        with db.unordered():
            counts = make_plan(ctx, progress)
    finally:
        ctx.drop_all()
    store_issues(db, ctx.run_id, ctx.issues, workdir_for(db, ctx.run_id))
    record_run_files(db, ctx.run_id, None)  # counts again, with issues found while planning
    students, classes = find_rekeyed(db, ctx.schema), find_rekeyed_classes(db, ctx.schema)
    if classes.matched and not classes.held:
        ctx.note("classes", classes.note())
    holds = [r.reason() for r in (students, classes) if r.held]
    timings["plan"] = time.monotonic() - started
    finish_plan(db, ctx, counts, base_version, timings, holds)


def _scope(db: Database, ctx: PlanContext) -> None:
    """A school-level upload: its schools must exist; rows of other schools are left out."""
    problem = check_scope(db, ctx)
    if problem:
        raise PlanWouldBreak(problem)
    n = mark_out_of_scope(ctx)
    shown = ", ".join(ctx.scope)
    ctx.note(
        "scope",
        f"school-level upload for {shown}: records of other schools are not archived for being "
        "absent, and the deletion threshold counts within these schools"
        + (f"; {n:,} rows naming other schools were not synced (WARNING)" if n else ""),
    )


def finish_plan(
    db: Database,
    ctx: PlanContext,
    counts: dict[str, dict[str, int]],
    base_version: int,
    timings: dict[str, float],
    own_holds: list[str],
) -> None:
    """A planned run's last step (drops and reverts alike): the deletion threshold holds it or
    withholds its archives, and the run becomes planned or held with its summary."""
    checks = check_thresholds(db, counts, ctx.settings, ctx.scope)
    reasons = [c.reason(ctx.settings) for c in checks if c.held]
    withheld, why = {}, _withhold_why(ctx.settings, counts, bool(reasons))
    if why is not None:
        withheld = withhold_archives(db, ctx.run_id, ctx.schema)
        for kind in withheld:
            counts[kind]["archive"] = 0
        reasons = []  # nothing over the threshold applies: the archives wait
    note_what_waits(ctx, counts)
    reasons += own_holds
    summary = {
        "changes": counts,
        "notes": ctx.notes,
        "thresholds": [c.__dict__ for c in checks],
        "withheld": withheld,
    }
    db.execute(
        """UPDATE runs SET status = ?, planned_at = current_timestamp, base_version = ?,
                  settings_json = ?, hold_reasons = ?, summary_json = ?, timings_json = ?,
                  withheld_why = ?
           WHERE run_id = ?""",
        [
            "held" if reasons else "planned",
            base_version,
            ctx.settings.model_dump_json(),
            reasons,
            json.dumps(summary),
            json.dumps(timings),
            why,
            ctx.run_id,
        ],
    )


def _withhold_why(
    settings: SyncSettings, counts: dict[str, dict[str, int]], over: bool
) -> str | None:
    """Why this run's archives wait for a decision instead of applying with the rest, if they do."""
    if not any(ops.get("archive") for ops in counts.values()):
        return None
    if settings.archive_mode == "additions_only":
        return "additions_only"
    if over and settings.threshold_action == "withhold_archives":
        return "threshold"
    return None


def _fail(db: Database, run_id: int, message: str) -> None:
    db.execute("UPDATE runs SET status = 'failed', error = ? WHERE run_id = ?", [message, run_id])
    db.execute("DELETE FROM changes WHERE run_id = ?", [run_id])
    db.execute("DELETE FROM conflicts WHERE run_id = ?", [run_id])
    db.execute(f"DROP SCHEMA IF EXISTS {sql_ident(run_schema(run_id))} CASCADE")
    db.execute("UPDATE runs SET staging_kept = false WHERE run_id = ?", [run_id])


INTERRUPTED = "interrupted while loading (the process stopped); run it again"


def recover_interrupted(db: Database) -> list[int]:
    """A run left 'loading' by a process that stopped is failed; it never changed the directory.

    Called whenever a process opens the database for writing (and before each plan)."""
    stale = [
        int(r[0])
        for r in db.rows("SELECT run_id FROM runs WHERE status = 'loading'")
        if int(r[0]) not in _PLANNING
    ]
    for run_id in stale:
        _fail(db, run_id, INTERRUPTED)
    return stale


def later_drop_applied(run: str) -> str:
    """SQL over `run` (a runs row): the first run of a later drop applied since that run, when
    it was not applied itself. Its drop is then an older night, and planning it again would take
    back what the later run did (a revert is no drop of its own: it is planned again against
    today's directory)."""
    return f"""SELECT min(r.run_id) FROM runs r
               WHERE r.run_id > {run}.run_id AND r.status = 'applied' AND r.reverted_run IS NULL
                 AND {run}.status <> 'applied' AND {run}.reverted_run IS NULL"""


def _not_open(db: Database, run_id: int, status: str, done: str) -> RunError:
    """Only an open run (planned or held) is applied or rejected; a superseded one says so, and
    what to do: plan it again, unless a later drop's run was applied since (an older night)."""
    if status != "superseded":
        return RunError(f"run {run_id} is {status}; only planned or held runs can be {done}")
    later = db.one(f"SELECT ({later_drop_applied('x')}) FROM runs x WHERE run_id = ?", [run_id])
    if later is not None:
        return RunSuperseded(
            f"run {run_id} is superseded: run {later}, planned from a later drop, was applied "
            "since, so its drop is an older night; to sync it all the same, run the drop again"
        )
    return RunSuperseded(
        f"run {run_id} is superseded: the directory or the sync settings changed after it "
        f"was planned; plan it again (roster-sync replan {run_id})"
    )


def apply_run(
    db: Database, run_id: int, *, actor: str, override: bool = False, reason: str | None = None
) -> None:
    """All or nothing. A held run needs override; a plan made against an older directory is
    superseded instead of applied."""
    status, base_version, staging_kept = _run_state(db, run_id)
    if status == "held" and not override:
        raise RunError(f"run {run_id} is held; apply it with --override after reviewing why")
    reason = reason.strip() if reason else None
    if status == "held" and not reason:
        raise RunError(
            f"run {run_id} is held: overriding it needs a reason, which the audit log keeps "
            "(--reason TEXT)"
        )
    if status not in ("planned", "held"):
        raise _not_open(db, run_id, status, "applied")
    if base_version != db.directory_version():
        db.execute("UPDATE runs SET status = 'superseded' WHERE run_id = ?", [run_id])
        raise RunSuperseded(
            f"run {run_id} was planned before the directory or the sync settings changed "
            f"(version {base_version}, now {db.directory_version()}); it is superseded: re-plan it"
        )
    if not staging_kept:
        raise RunError(f"run {run_id} no longer has its staged data; run the drop again")
    schema = run_schema(run_id)
    crash_point("before_transaction")
    started = time.monotonic()
    try:
        with db.transaction(), db.unordered():
            write_plan(db, schema, run_id, actor)
            apply_taken_conflicts(db, run_id, actor)
            _refuse_a_broken_directory(db, run_id)
            crash_point("before_status")
            _record_applied(db, run_id, actor, status, reason)
            crash_point("before_commit")
    except DirectoryWouldBreak as exc:
        # The plan and its changes stay for a look; the run can never be applied.
        db.execute(
            "UPDATE runs SET status = 'failed', error = ? WHERE run_id = ?", [str(exc), run_id]
        )
        raise RunError(str(exc)) from None
    crash_point("after_commit")
    record_timing(db, run_id, "apply", time.monotonic() - started)
    prune_staging(db)


def _refuse_a_broken_directory(db: Database, run_id: int) -> None:
    """Before the commit: the invariants of `roster-sync check`, over what this run wrote."""
    broken = violations(db, run_id)
    if broken:
        raise DirectoryWouldBreak(
            f"run {run_id} was not applied: it would break the directory ("
            + "; ".join(v.describe() for v in broken)
            + "); nothing was changed. Please report this with the run's drop."
        )


def _record_applied(db: Database, run_id: int, actor: str, status: str, reason: str | None) -> None:
    version = db.bump_directory_version(except_run=run_id)
    db.execute(
        """UPDATE runs SET status = 'applied', decided_at = current_timestamp, decided_by = ?,
                  override_by = ?, override_reason = ?, applied_version = ? WHERE run_id = ?""",
        [
            actor,
            actor if status == "held" else None,
            reason if status == "held" else None,
            version,
            run_id,
        ],
    )
    reverted = db.one("SELECT reverted_run FROM runs WHERE run_id = ?", [run_id])
    if reverted is not None:
        drop_withheld_of_reverted(db, int(reverted), run_id)
    audit(
        db,
        actor,
        "run.apply.override" if status == "held" else "run.apply",
        target_kind="run",
        target_id=run_id,
        details={"reason": reason, "held": status == "held"}
        | (
            {"reverted_run": reverted, "reference_restored": restored_reference(db, run_id)}
            if reverted is not None
            else {}
        ),
    )


def record_timing(db: Database, run_id: int, step: str, seconds: float) -> None:
    timings = json.loads(db.one("SELECT timings_json FROM runs WHERE run_id = ?", [run_id]) or "{}")
    timings[step] = round(seconds, 3)
    db.execute("UPDATE runs SET timings_json = ? WHERE run_id = ?", [json.dumps(timings), run_id])


def add_run_note(db: Database, run_id: int, kind: str, message: str) -> None:
    """Put a note about what the run's drop went through first among the run's notes (where the
    run is reviewed, before what planning found), after the notes of this kind added before it:
    they read in the order things happened (taken without its manifest, then its manifest came
    late), not the newest first."""
    text = db.one("SELECT summary_json FROM runs WHERE run_id = ?", [run_id])
    summary = json.loads(text or "{}")
    notes = summary.get("notes", [])
    at = next((i for i, note in enumerate(notes) if note.get("by") != "daemon"), len(notes))
    added = {"kind": kind, "message": message, "by": "daemon"}
    summary["notes"] = [*notes[:at], added, *notes[at:]]
    db.execute("UPDATE runs SET summary_json = ? WHERE run_id = ?", [json.dumps(summary), run_id])


def supersede_runs(db: Database, run_ids: list[int], *, actor: str, reason: str) -> list[int]:
    """Supersede these runs if they are still open (planned or held), audited with the reason;
    returns the ones superseded. The daemon calls it when a newer drop of the same source is
    planned, so nobody approves the older one by mistake."""
    done = []
    for run_id in run_ids:
        rows = db.rows("SELECT status FROM runs WHERE run_id = ?", [run_id])
        if not rows or rows[0][0] not in ("planned", "held"):
            continue
        with db.transaction():
            db.execute("UPDATE runs SET status = 'superseded' WHERE run_id = ?", [run_id])
            audit(
                db, actor, "run.supersede", target_kind="run", target_id=run_id,
                details={"reason": reason},
            )  # fmt: skip
        done.append(run_id)
    return done


def reject_run(db: Database, run_id: int, *, actor: str, reason: str | None = None) -> None:
    status, _, _ = _run_state(db, run_id)
    if status == "loading" and run_id in _PLANNING:
        raise RunError(f"run {run_id} is being planned right now; reject it once it is planned")
    if status == "loading" or (status == "failed" and _error(db, run_id) == INTERRUPTED):
        recover_interrupted(db)  # a stale run: rejecting it records the decision all the same
    elif status not in ("planned", "held"):
        raise _not_open(db, run_id, status, "rejected")
    with db.transaction():
        db.execute(
            "UPDATE runs SET status = 'rejected', decided_at = current_timestamp, decided_by = ? "
            "WHERE run_id = ?",
            [actor, run_id],
        )
        audit(
            db, actor, "run.reject", target_kind="run", target_id=run_id, details={"reason": reason}
        )
    prune_staging(db)


def _error(db: Database, run_id: int) -> str | None:
    return db.one("SELECT error FROM runs WHERE run_id = ?", [run_id])


def _run_state(db: Database, run_id: int) -> tuple[str, int | None, bool]:
    row = db.rows("SELECT status, base_version, staging_kept FROM runs WHERE run_id = ?", [run_id])
    if not row:
        raise RunError(f"there is no run {run_id}")
    return row[0][0], row[0][1], bool(row[0][2])


def prune_staging(db: Database, keep: int = KEEP_STAGING_RUNS) -> None:
    """Drop staging of finished runs beyond the newest few; their results and changes remain."""
    rows = db.rows(
        """SELECT run_id FROM runs WHERE staging_kept AND status NOT IN ('planned', 'held', 'loading')
           ORDER BY run_id DESC OFFSET ?""",
        [keep],
    )
    for (run_id,) in rows:
        db.execute(f"DROP SCHEMA IF EXISTS {sql_ident(run_schema(run_id))} CASCADE")
        db.execute("UPDATE runs SET staging_kept = false WHERE run_id = ?", [run_id])
