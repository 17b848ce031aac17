"""Withheld archives: a run applies its creates, updates and unarchives, and its archives wait.

Two settings withhold them. `threshold_action = withhold_archives` does it to a run over the
deletion threshold (the product this mirrors applies the rest and withholds only the archives);
`archive_mode = additions_only` does it to every run (the summer rollover: nothing is archived
while the SIS is half rolled over). The withheld archives, the cascaded ones of memberships and
links included, wait as one decision once the run is applied: approve them with a reason, or
drop them. Approving checks each one against the directory as it is then: a record re-created,
changed, edited or back in a full feed since is kept, and the outcome says why.
"""

from __future__ import annotations

import json
from typing import Any

from daemon.audit import audit
from daemon.db import Database, sql_literal
from daemon.directory.integrity import Violation, broken_by_runs, broken_since
from daemon.directory.orgs import schools_in_orgs
from daemon.errors import RosterSyncError
from daemon.models import Page, WithheldArchive
from daemon.settings import load_settings
from daemon.sync import kinds
from daemon.sync.diff import CASCADE_NOTES, CASCADES, KIND_CHANGE_NOTES
from daemon.sync.run_files import READ_AS_CHANGES

WHY_WORDS = {
    "threshold": "over the deletion threshold (threshold_action = withhold_archives)",
    "additions_only": "archive_mode = additions_only",
}
USER_KINDS = kinds.USER_CHANGE_KINDS
MAX_PAGE = 500


class WithheldError(RosterSyncError, ValueError):
    """A decision on withheld archives that cannot be taken; the message says why, in one line."""

    title = "Withheld archives not decided"


def table_of(kind: str) -> str:
    return "users" if kind in USER_KINDS else kind


def withhold_archives(db: Database, run_id: int, schema: str) -> dict[str, int]:
    """Move a planned run's archives out of its plan into `withheld_archives`; returns their
    counts per kind. Their change rows move with them, so the run's changes are what applies.
    An archive that goes with a change the run applies is applied with it: a student turned
    staff loses the links and attributes only a student has (sync/diff.py KIND_CASCADES), and
    a record whose SIS id the run gives another (a membership moved to another class) leaves
    it, or two active records would share the id."""
    table_case = f"CASE WHEN kind IN {kinds.USER_CHANGE_KINDS_SQL} THEN 'users' ELSE kind END"
    notes = ", ".join(sql_literal(n) for n in KIND_CHANGE_NOTES.values())
    taken = " UNION ALL ".join(
        f"""SELECT '{table.name}' || chr(31) || sis_id FROM {schema}.plan_{table.name}
            WHERE op IN ('create', 'update', 'unarchive') AND sis_id IS NOT NULL"""
        for table in kinds.TABLES
        if "sis_id" in table.compared
    )
    db.execute(f"CREATE OR REPLACE TEMP TABLE withheld_ids_taken AS {taken}")
    withheld = f"""op = 'archive' AND coalesce(note, '') NOT IN ({notes})
                   AND {table_case} || chr(31) || coalesce(sis_id, '') NOT IN (FROM withheld_ids_taken)"""
    db.execute(
        f"""INSERT INTO withheld_archives
            SELECT run_id, row_number() OVER (ORDER BY seq), kind, {table_case}, record_id, sis_id,
                   label, source_file, source_line, note, NULL, NULL
            FROM changes WHERE run_id = ? AND {withheld}""",
        [run_id],
    )
    db.execute(f"DELETE FROM changes WHERE run_id = ? AND {withheld}", [run_id])
    for table in kinds.TABLES:
        db.execute(
            f"""DELETE FROM {schema}.plan_{table.name} WHERE op = 'archive'
                AND id IN (SELECT record_id FROM withheld_archives
                           WHERE run_id = ? AND table_name = ?)""",
            [run_id, table.name],
        )
    db.execute("DROP TABLE withheld_ids_taken")
    # In the database's grouping order: the run's reader lists kinds in their one order.
    return {
        kind: int(n)
        for kind, n in db.rows(
            "SELECT kind, count(*) FROM withheld_archives WHERE run_id = ? GROUP BY kind", [run_id]
        )
    }


def withheld_page(db: Database, run_id: int, offset: int = 0, limit: int = 100) -> Page:
    """In the run's order; once approved, the archives kept first (what a person reads the
    decision for: why each no longer held)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    total = int(db.one("SELECT count(*) FROM withheld_archives WHERE run_id = ?", [run_id]))
    rows = db.dicts(
        """SELECT seq, kind, record_id, sis_id, label, source_file, source_line, note, outcome,
                  outcome_note
           FROM withheld_archives WHERE run_id = ?
           ORDER BY outcome IS NOT DISTINCT FROM 'kept' DESC, seq LIMIT ? OFFSET ?""",
        [run_id, limit, offset],
    )
    return Page(total=total, offset=offset, items=[WithheldArchive(**r) for r in rows])


def decide_withheld(
    db: Database, run_id: int, *, actor: str, decision: str, reason: str | None
) -> dict[str, int]:
    """Approve (archive what is still due) or drop the withheld archives of an applied run.

    Returns the outcome counts ({'archived': n, 'kept': m} or {'dropped': n})."""
    if decision not in ("approve", "drop"):
        raise WithheldError(f"'{decision}' is not a decision on withheld archives; approve or drop")
    run = _state(db, run_id)
    reason = (reason or "").strip()
    if not reason:
        raise WithheldError(
            f"deciding the withheld archives of run {run_id} needs a reason, which the audit "
            "log keeps (--reason TEXT)"
        )
    with db.transaction():
        if decision == "approve":
            broken_before = broken_by_runs(db, [run_id])
            outcome = _approve(db, run_id, run["decided_at"])
            _refuse_a_broken_directory(run_id, broken_since(db, [run_id], broken_before))
            db.bump_directory_version()
        else:
            outcome = {"dropped": int(db.one(_count(run_id)))}
        db.execute(
            """UPDATE runs SET withheld_decision = ?, withheld_decided_by = ?,
                      withheld_decided_at = current_timestamp, withheld_reason = ?,
                      summary_json = ? WHERE run_id = ?""",
            [
                "approved" if decision == "approve" else "dropped",
                actor,
                reason,
                json.dumps({**run["summary"], "withheld_outcome": outcome}),
                run_id,
            ],
        )
        kept_why = (
            dict(
                db.rows(
                    "SELECT outcome_note, count(*) FROM withheld_archives "
                    "WHERE run_id = ? AND outcome = 'kept' GROUP BY ALL ORDER BY ALL",
                    [run_id],
                )
            )
            if decision == "approve"
            else {}
        )
        audit(
            db,
            actor,
            f"run.withheld.{decision}",
            target_kind="run",
            target_id=run_id,
            details={"reason": reason, **outcome, "kept_why": kept_why},
        )
    return outcome


def drop_withheld_of_reverted(db: Database, run_id: int, revert_run_id: int) -> None:
    """Inside the revert's apply: the archives run `run_id` withheld and nobody decided are
    dropped, since the run they belonged to is undone (approving them later would archive what
    the revert restored). Recorded as a decision, by the revert."""
    decided, summary = db.rows(
        "SELECT withheld_decision, summary_json FROM runs WHERE run_id = ?", [run_id]
    )[0]
    pending = int(db.one(_count(run_id)))
    if decided is not None or not pending:
        return
    summary = {**json.loads(summary or "{}"), "withheld_outcome": {"dropped": pending}}
    db.execute(
        """UPDATE runs SET withheld_decision = 'dropped', withheld_decided_by = ?,
                  withheld_decided_at = current_timestamp, withheld_reason = ?, summary_json = ?
           WHERE run_id = ?""",
        [
            f"run {revert_run_id}",
            f"run {run_id} was reverted by run {revert_run_id}",
            json.dumps(summary),
            run_id,
        ],
    )


def _count(run_id: int) -> str:
    return f"SELECT count(*) FROM withheld_archives WHERE run_id = {int(run_id)}"


def _state(db: Database, run_id: int) -> dict[str, Any]:
    rows = db.dicts(
        """SELECT status, withheld_why, withheld_decision, withheld_decided_by, decided_at,
                  summary_json FROM runs WHERE run_id = ?""",
        [run_id],
    )
    if not rows:
        raise WithheldError(f"there is no run {run_id}")
    run = rows[0]
    if run["withheld_why"] is None or not db.one(_count(run_id)):
        raise WithheldError(f"run {run_id} withheld no archives; there is nothing to decide")
    if run["withheld_decision"] is not None:
        raise WithheldError(
            f"the withheld archives of run {run_id} were already {run['withheld_decision']} "
            f"by {run['withheld_decided_by']}"
        )
    if run["status"] in ("planned", "held"):
        raise WithheldError(
            f"run {run_id} is {run['status']}: its withheld archives wait until the rest of it "
            f"is applied (roster-sync apply {run_id})"
        )
    if run["status"] != "applied":
        raise WithheldError(
            f"run {run_id} is {run['status']}: it changed nothing, so its withheld archives "
            "were never due"
        )
    run["summary"] = json.loads(run.pop("summary_json") or "{}")
    return run


# Tables in the order their archives are decided: a record's parents before it, so a membership
# whose person was kept is kept too; and a school after the classes and people in it, so one
# that keeps any of them is kept too.
ORDER = ("classrooms", "users", "schools", "enrollments", "guardian_links", "student_attributes")


def _approve(db: Database, run_id: int, applied_at: Any) -> dict[str, int]:
    for name in ORDER:
        table = kinds.table_named(name)
        _decide_table(db, run_id, table, applied_at)
        _add_what_goes_with_them(db, run_id, table)
        db.execute(
            f"""UPDATE {name} SET status = 'archived', archived_run = {int(run_id)},
                       archived_at = current_timestamp, last_run = {int(run_id)}
                FROM withheld_archives w
                WHERE w.run_id = {int(run_id)} AND w.table_name = {sql_literal(name)}
                  AND w.outcome = 'archived' AND {name}.{table.id_col} = w.record_id"""
        )
    return {
        outcome: int(n)
        for outcome, n in db.rows(
            "SELECT outcome, count(*) FROM withheld_archives WHERE run_id = ? "
            "GROUP BY outcome ORDER BY outcome",
            [run_id],
        )
    }


def _decide_table(db: Database, run_id: int, table: kinds.Table, applied_at: Any) -> None:
    """Each withheld archive of `table`: archived, or kept with the reason it no longer holds."""
    run = int(run_id)
    name = table.name
    parent_kept = " ".join(
        f"""WHEN EXISTS (SELECT 1 FROM withheld_archives p WHERE p.run_id = {run}
                         AND p.table_name = {sql_literal(parent)} AND p.outcome = 'kept'
                         AND p.record_id = d.{column})
            THEN 'kept: its {"person" if parent == "users" else "classroom"} was kept'"""
        for column, parent in CASCADES.get(name, ())
    )
    # A membership, link or attribute whose person or classroom is not active (archived by this
    # decision, ORDER, or since) goes with it whatever else holds for it, as a night's archive
    # takes them (sync/diff.py CASCADES): none stays active without it.
    parent_gone = " ".join(
        f"""WHEN d.{column} IN (SELECT {kinds.table_named(parent).id_col} FROM {parent}
                                 WHERE status <> 'active') THEN NULL"""
        for column, parent in CASCADES.get(name, ())
    )
    # What such a one is archived for, said when it is not what the night withheld it for (a
    # link withheld with its student, who is kept, goes because its guardian is archived).
    gone_why = " ".join(
        f"""WHEN d.{column} IN (SELECT {kinds.table_named(parent).id_col} FROM {parent}
                                 WHERE status <> 'active')
            THEN {sql_literal(CASCADE_NOTES[(name, column)])}"""
        for column, parent in CASCADES.get(name, ())
    )
    gone = f"CASE {gone_why} END" if gone_why else "NULL"
    at = sql_literal(str(applied_at)) if applied_at is not None else "NULL"
    stays_in_it = _kept_for_what_stays_in_it() if name == "schools" else ""
    db.execute(
        f"""
        UPDATE withheld_archives SET outcome = CASE WHEN x.note IS NULL THEN 'archived' ELSE 'kept' END,
               outcome_note = CASE WHEN x.note IS NULL
                                   THEN nullif(x.gone, coalesce(x.withheld_for, '')) ELSE x.note END
        FROM (
            SELECT w.seq, w.note AS withheld_for, {gone} AS gone,
                   CASE WHEN d.{table.id_col} IS NULL THEN 'no longer in the directory'
                        WHEN d.status = 'merged' THEN 'merged into another record since'
                        WHEN d.status = 'archived' THEN
                             'already archived' || coalesce(' by run ' || d.archived_run, ' by hand')
                        WHEN d.origin = 'hand' THEN 'managed by hand now'
                        {parent_gone}
                        WHEN d.last_run > {run} THEN 're-created or changed by run ' || d.last_run || ' since'
                        WHEN d.updated_at > CAST({at} AS TIMESTAMP) THEN 'edited by hand since'
                        {parent_kept}
                        WHEN later.run_id IS NOT NULL THEN 'in the feed of run ' || later.run_id || ' since'
                        {stays_in_it}
                   END AS note
            FROM withheld_archives w
            LEFT JOIN {name} d ON d.{table.id_col} = w.record_id
            LEFT JOIN ({_later_feeds(run, table)}) later ON later.record_id = w.record_id
            WHERE w.run_id = {run} AND w.table_name = {sql_literal(name)}
        ) x
        WHERE withheld_archives.run_id = {run} AND withheld_archives.seq = x.seq
        """
    )


def _kept_for_what_stays_in_it() -> str:
    """CASE branches over a school `d`: a class or person the sync made is still active in it
    (decided before it, ORDER), so archiving it would leave them in a school the directory,
    its export and every LMS no longer show (as a night keeps a school something still names:
    sync/feed/classes.py keep_schools_still_named)."""
    people = schools_in_orgs(
        "SELECT user_id AS who, org_sis_ids FROM users WHERE status = 'active' AND origin = 'sync'"
    )
    return f"""WHEN d.school_id IN (SELECT school_id FROM classrooms
                                    WHERE status = 'active' AND origin = 'sync')
               THEN 'kept: a class in it stays active'
               WHEN d.school_id IN (SELECT school_id FROM ({people}))
               THEN 'kept: a person in it stays active'"""


def _add_what_goes_with_them(db: Database, run_id: int, table: kinds.Table) -> None:
    """The memberships, links and attributes the sync made that a later night gave a person or
    classroom whose archive this approval does (a changes-only night enrolling a student who
    has left, say): archived with it, as a night's archive takes them (sync/diff.py CASCADES),
    and listed with the run's withheld archives, each with why, so that every archive the
    approval does is traced. Those the run withheld itself were decided with it."""
    run = int(run_id)
    name = table.name
    if name == "guardian_links" and not load_settings(db).manage_guardians:
        return  # the district's links: no night archives them, not even with their people
    for column, parent in CASCADES.get(name, ()):
        taken = f"""SELECT record_id FROM withheld_archives WHERE run_id = {run}
                    AND table_name = {sql_literal(parent)} AND outcome = 'archived'"""
        kind = table.change_kind or name
        sis = "d.sis_id" if "sis_id" in table.compared else "NULL"
        db.execute(
            f"""INSERT INTO withheld_archives
                SELECT {run}, (SELECT coalesce(max(seq), 0) FROM withheld_archives
                               WHERE run_id = {run}) + row_number() OVER (ORDER BY d.{table.id_col}),
                       {sql_literal(kind)}, {sql_literal(name)}, d.{table.id_col}, {sis},
                       {_label(table)},
                       d.source_file, d.source_line,
                       {sql_literal(CASCADE_NOTES[(name, column)])}, 'archived', NULL
                FROM {name} d
                WHERE d.status = 'active' AND d.origin = 'sync' AND d.{column} IN ({taken})
                  AND d.{table.id_col} NOT IN (SELECT record_id FROM withheld_archives
                                               WHERE run_id = {run}
                                                 AND table_name = {sql_literal(name)})"""
        )


def _label(table: kinds.Table) -> str:
    """SQL over `d`: a membership or link as its change reads ('stu-9 in cls-a2'), an attribute
    by its name."""
    named = kinds.reference_label(table.name)
    if named is not None:
        return named
    return "d.name" if table.name == "student_attributes" else "NULL"


def _refuse_a_broken_directory(run_id: int, broken: list[Violation]) -> None:
    """Before the commit, as an apply does (sync/runs.py): the invariants of `roster-sync
    check` over what the run wrote, the archives approved now included. Only what the
    approval broke refuses it: a directory synced before a rule may hold pairs of the run's
    that `check` reports, which the approval did not make."""
    if broken:
        raise WithheldError(
            f"the withheld archives of run {run_id} were not approved: they would break the "
            "directory (" + "; ".join(v.describe() for v in broken) + "); nothing was archived. "
            "Please report this with the run's drop."
        )


# SQL over a later run `r` and a withheld archive `w`: that run's settings let it archive the
# record at all (manage_guardians = false archives no guardian and no link, sync/diff.py _scope).
_RUN_MAY_ARCHIVE = """(w.kind NOT IN ('guardians', 'guardian_links')
                       OR coalesce(json_extract(r.settings_json, '$.manage_guardians'), 'true')
                          <> 'false')"""


def _later_feeds(run: int, table: kinds.Table) -> str:
    """Records of `table` withheld by `run` that a later applied run's full (bulk) file still
    had: that run neither archived nor withheld them, though it could have (its settings let
    it, and the file was read whole), so its feed spoke for them."""
    name = table.name
    return f"""
        SELECT w.record_id, min(r.run_id) AS run_id
        FROM withheld_archives w
        JOIN {name} d ON d.{table.id_col} = w.record_id
        JOIN run_files f ON lower(f.file_name) = lower(d.source_file) AND f.mode = 'bulk'
                        AND f.note IS DISTINCT FROM {sql_literal(READ_AS_CHANGES)}
        JOIN runs r ON r.run_id = f.run_id AND r.run_id > {run} AND r.status = 'applied'
                   AND (r.scope IS NULL OR len(r.scope) = 0) AND {_RUN_MAY_ARCHIVE}
        WHERE w.run_id = {run} AND w.table_name = {sql_literal(name)}
          AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.run_id = r.run_id AND c.op = 'archive'
                          AND c.record_id = w.record_id AND c.kind = w.kind)
          AND NOT EXISTS (SELECT 1 FROM withheld_archives o WHERE o.run_id = r.run_id
                          AND o.table_name = w.table_name AND o.record_id = w.record_id)
        GROUP BY w.record_id"""
