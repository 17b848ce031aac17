"""Courses, academic sessions and roles: reference data, kept as the SIS sent it.

Classes name courses and sessions (an export must carry them); a user's schools are the orgs of
all of the user's roles (1.2), which a changes-only roles.csv names one at a time. They make no
directory changes of their own (nothing to review): a run carries a copy of the drop's rows
(`plan_courses`, `plan_academic_sessions`, `plan_sis_roles`) and apply brings the tables in
line, in the same transaction as the rest. Like everything else they are never deleted: a row
marked tobedeleted, or missing from a bulk file, is archived. A row in error keeps what its
sourcedId had, as everywhere (it is carried as `_kept`, with no values). Apply keeps each row
it updates as it was (`reference_history`; created_run and archived_run tell the rest), so that
a revert restores what the run changed (`plan_reference_revert`): a row written again by a
later run since is left as the SIS last sent it, and the revert's note says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.db import Database, sql_literal
from daemon.models import REFERENCE_NOTE
from daemon.sync.context import PlanContext

# The spec's exact spelling of each vocabulary term, by its lower case (values are compared
# case-insensitively on the way in; they leave in the spec's spelling).
CANONICAL_TERMS = {
    term.lower(): term
    for term in (
        "gradingPeriod",
        "schoolYear",
        "districtAdministrator",
        "siteAdministrator",
        "systemAdministrator",
    )
}


def canonical_sql(expr: str) -> str:
    """SQL: the term in the spec's spelling (ext: terms and unknown values as they are)."""
    cases = " ".join(
        f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in CANONICAL_TERMS.items()
    )
    return f"(CASE lower({expr}) {cases} ELSE {expr} END)"


@dataclass(frozen=True)
class ReferenceTable:
    name: str  # directory table
    entity: str  # drop file entity
    columns: dict[str, str]  # directory column -> the file's column
    vocabulary: tuple[str, ...] = ()  # directory columns kept in the spec's spelling


COURSES = ReferenceTable(
    "courses",
    "courses",
    {
        "title": "title",
        "course_code": "courseCode",
        "grades": "grades",
        "org_sis_id": "orgSourcedId",
        "subjects": "subjects",
        "subject_codes": "subjectCodes",
        "school_year_sis_id": "schoolYearSourcedId",
    },
)
ACADEMIC_SESSIONS = ReferenceTable(
    "academic_sessions",
    "academicSessions",
    {
        "title": "title",
        "session_type": "type",
        "start_date": "startDate",
        "end_date": "endDate",
        "parent_sis_id": "parentSourcedId",
        "school_year": "schoolYear",
    },
    vocabulary=("session_type",),
)
REFERENCE_TABLES = (COURSES, ACADEMIC_SESSIONS)
ROLES = ReferenceTable(
    "sis_roles",
    "roles",
    {
        "user_sis_id": "userSourcedId",
        "role_type": "roleType",
        "role": "role",
        "begin_date": "beginDate",
        "end_date": "endDate",
        "org_sis_id": "orgSourcedId",
    },
    vocabulary=("role",),
)


def plan_reference_data(ctx: PlanContext) -> None:
    """Keep the drop's courses and sessions with the run, for apply (staging does not last)."""
    for ref in REFERENCE_TABLES:
        _plan_reference(ctx, ref)


def plan_roles(ctx: PlanContext, not_applied: str) -> None:
    """Keep the drop's roles.csv rows with the run. `not_applied` selects the lines of rows
    that change nothing tonight (their user has no users.csv row in a changes-only drop, or
    its row is in error): they are kept out, as a row in error is, so that the stored roles are
    those the directory follows."""
    _plan_reference(ctx, ROLES, not_applied)


def _plan_reference(ctx: PlanContext, ref: ReferenceTable, not_applied: str | None = None) -> None:
    """Ids the source made itself (sync/derived_ids.py) never archive the SIS's rows for being
    absent: the classrooms keep naming them. Nor does a school-level upload: it speaks for its
    schools only. A sourcedId is kept as it is (`_kept`) only where no good row speaks for it
    (a repeated id: the first row speaks, the repeat is in error). A column the file lacks (or
    the drop does not carry) is not spoken for: each row keeps the table's value."""
    if not ctx.present(ref.entity):
        return
    values, from_stored = [], []
    # A column the file lacks, or the drop does not carry, keeps what the table has.
    unread = [c for c, f in ref.columns.items() if f not in ctx.columns.get(ref.entity, set())]
    for column, file_column in ref.columns.items():
        value = ctx.column(ref.entity, file_column, "r")
        if column in unread:
            value = f"stored.{column}"
            from_stored.append(column)
        else:
            value = canonical_sql(value) if column in ref.vocabulary else value
            # A value that breaks its type rule (a course's grades '5th', a role's beginDate
            # 2026-13-01: a WARNING) is not used: the stored one is kept, a new row has none.
            broken = ctx.broken(ref.entity, file_column, "r")
            if broken != "false":
                value = f"CASE WHEN {broken} THEN stored.{column} ELSE {value} END"
                from_stored.append(column)
        values.append(f"{value} AS {column}")
    stored = ""
    if from_stored:
        columns = ", ".join(f"any_value({c}) AS {c}" for c in from_stored)
        stored = f"""LEFT JOIN (SELECT sis_id, {columns} FROM {ref.name} GROUP BY sis_id) stored
                     ON stored.sis_id = r.sourcedId"""
    rows = ctx.good(ref.entity)
    kept = f"SELECT sourcedId FROM {ctx.errored(ref.entity)}"
    if not_applied:
        rows = f"(SELECT * FROM {rows} WHERE _line NOT IN ({not_applied}))"
        kept += (
            f" UNION ALL SELECT sourcedId FROM {ctx.t(ref.entity)} WHERE _line IN ({not_applied})"
        )
    kept = f"{kept} EXCEPT SELECT sourcedId FROM {rows}"
    bulk = ctx.mode(ref.entity) == "bulk" and not ctx.derived(ref.entity) and not ctx.scope
    nothing = ", ".join(f"NULL AS {column}" for column in ref.columns)
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TABLE {ctx.keep(f"plan_{ref.name}")} AS
        SELECT r.sourcedId AS sis_id, {", ".join(values)},
               coalesce(lower(r.status), '') = 'tobedeleted' AS _deleted, false AS _kept,
               {bulk} AS _bulk, {sql_literal(ctx.file(ref.entity))} AS _file, r._line AS _line
        FROM {rows} r {stored}
        UNION ALL
        SELECT k.sourcedId, {nothing}, false, true, {bulk}, NULL, NULL
        FROM ({kept}) k WHERE k.sourcedId IS NOT NULL
        """
    )


def _ended(ref: ReferenceTable, plan: str) -> str:
    """WHERE (on the table) of the rows apply archives: tobedeleted, or absent from a bulk
    file; never one a row in error names."""
    return f"""status = 'active' AND sis_id NOT IN (SELECT sis_id FROM {plan} WHERE _kept)
               AND (sis_id IN (SELECT sis_id FROM {plan} WHERE _deleted)
                    OR ((SELECT bool_or(_bulk) FROM {plan})
                        AND sis_id NOT IN (SELECT sis_id FROM {plan} WHERE NOT _deleted)))"""


def _changed(ref: ReferenceTable, plan: str) -> str:
    """FROM and WHERE of the rows apply updates (brought back, or a value changed)."""
    differs = " OR ".join(f"{ref.name}.{c} IS DISTINCT FROM p.{c}" for c in ref.columns)
    return f"""{plan} p
               WHERE {ref.name}.sis_id = p.sis_id AND NOT p._deleted AND NOT p._kept
                 AND ({ref.name}.status <> 'active' OR {differs})"""


def _new(ref: ReferenceTable, plan: str) -> str:
    """FROM and WHERE of the plan's rows apply inserts."""
    return f"""{plan} p WHERE NOT p._deleted AND NOT p._kept
               AND p.sis_id NOT IN (SELECT sis_id FROM {ref.name})"""


def note_reference_changes(ctx: PlanContext) -> None:
    """For a run with no record changes: what apply would change in the reference data, as a
    note. Otherwise the run reads as "no changes" and is left unapplied, and a later
    changes-only roles.csv is read against roles that were never kept."""
    said = []
    stored = ctx.db.tables(ctx.schema.strip('"'))
    for ref in (*REFERENCE_TABLES, ROLES):
        if f"plan_{ref.name}" not in stored:
            continue
        plan = ctx.keep(f"plan_{ref.name}")
        new, changed, ended = ctx.db.rows(
            f"""SELECT (SELECT count(*) FROM {_new(ref, plan)}),
                       (SELECT count(*) FROM {ref.name}, {_changed(ref, plan)}),
                       (SELECT count(*) FROM {ref.name} WHERE {_ended(ref, plan)})"""
        )[0]
        if new or changed or ended:
            said.append(f"{ctx.file(ref.entity)} {new:,} new, {changed:,} changed, {ended:,} ended")
    if said:
        ctx.note(
            REFERENCE_NOTE,
            f"No record changes, but applying this run keeps the drop's reference data "
            f"({'; '.join(said)}): a later changes-only roles.csv is read against the roles kept.",
        )


def apply_reference_data(db: Database, schema: str, run_id: int) -> None:
    """Inside apply's transaction: insert, update, archive (absent from bulk, or tobedeleted);
    or, for a revert, restore. A row updated is kept in reference_history as it was."""
    stored = db.tables(schema.strip('"'))
    for ref in (*REFERENCE_TABLES, ROLES):
        if f"revert_{ref.name}" in stored:
            _apply_revert(db, ref, f"{schema}.revert_{ref.name}", run_id)
        if f"plan_{ref.name}" in stored:
            _apply_drop(db, ref, f"{schema}.plan_{ref.name}", run_id)


def _apply_drop(db: Database, ref: ReferenceTable, plan: str, run_id: int) -> None:
    columns = list(ref.columns)
    db.execute(
        f"""UPDATE {ref.name} SET status = 'archived', archived_run = {run_id}, last_run = {run_id}
            WHERE {_ended(ref, plan)}"""
    )
    _remember(db, ref, run_id, "update", f"FROM {ref.name}, {_changed(ref, plan)}")
    db.execute(
        f"""UPDATE {ref.name} SET {", ".join(f"{c} = p.{c}" for c in columns)},
                   status = 'active', archived_run = NULL, last_run = {run_id},
                   source_file = p._file, source_line = p._line
            FROM {_changed(ref, plan)}"""
    )
    db.execute(
        f"""INSERT INTO {ref.name} (sis_id, {", ".join(columns)}, status, created_run, last_run,
                                   source_file, source_line)
            SELECT p.sis_id, {", ".join(f"p.{c}" for c in columns)}, 'active', {run_id},
                   {run_id}, p._file, p._line
            FROM {_new(ref, plan)}"""
    )


# What a revert restores of an updated row besides its columns (the source line names the drop
# row the restored values came from).
_STATE = ("status", "source_file", "source_line")


def _remember(db: Database, ref: ReferenceTable, run_id: int, op: str, rows: str) -> None:
    """Before a statement of apply that updates rows: each as it is (`rows`: the statement's
    FROM and WHERE, over the table by its own name), once per run. A row a run created or
    archived needs no history: created_run and archived_run say so, and archiving changes no
    value."""
    fields = [*ref.columns, *_STATE]
    state = f"to_json(struct_pack({', '.join(f'{c} := {ref.name}.{c}' for c in fields)}))"
    db.execute(
        f"""INSERT INTO reference_history (run_id, table_name, sis_id, op, before)
            SELECT {run_id}, {sql_literal(ref.name)}, {ref.name}.sis_id, {sql_literal(op)}, {state}
            {rows}
              AND {ref.name}.sis_id NOT IN (SELECT sis_id FROM reference_history
                                           WHERE run_id = {run_id}
                                             AND table_name = {sql_literal(ref.name)})"""
    )


def plan_reference_revert(ctx: PlanContext, target: int) -> None:
    """A revert's reference data, in `revert_<table>` for apply: what `target` created is
    archived, what it archived unarchived, what it updated restored, each row only where no
    later run wrote it since (last_run). What was changed again since is left as the SIS last
    sent it. Both are said in a note."""
    db, t, restored, left, unknown = ctx.db, int(target), [], [], 0
    for ref in (*REFERENCE_TABLES, ROLES):
        history = f"""SELECT sis_id, before FROM reference_history
                      WHERE run_id = {t} AND table_name = {sql_literal(ref.name)}"""
        archived_by_target = f"archived_run = {t} AND status = 'archived'"
        db.execute(
            f"""CREATE OR REPLACE TABLE {ctx.keep(f"revert_{ref.name}")} AS
                SELECT sis_id, 'archive' AS op, NULL AS before FROM {ref.name}
                WHERE created_run = {t} AND last_run = {t} AND status = 'active'
                UNION ALL
                SELECT sis_id, 'unarchive', NULL FROM {ref.name}
                WHERE {archived_by_target} AND last_run = {t}
                UNION ALL
                SELECT h.sis_id, 'restore', h.before FROM ({history}) h
                JOIN {ref.name} r ON r.sis_id = h.sis_id WHERE r.last_run = {t}"""
        )
        back, since, untold = db.rows(
            f"""SELECT (SELECT count(*) FROM {ctx.keep(f"revert_{ref.name}")}),
                       (SELECT count(*) FROM {ref.name}
                        WHERE last_run IS DISTINCT FROM {t}
                          AND (created_run = {t} OR sis_id IN (SELECT sis_id FROM ({history})))),
                       (SELECT count(*) FROM {ref.name}
                        WHERE last_run = {t} AND created_run IS DISTINCT FROM {t}
                          AND NOT ({archived_by_target})
                          AND sis_id NOT IN (SELECT sis_id FROM ({history})))"""
        )[0]
        file = f"{ref.entity}.csv"
        if back:
            restored.append(f"{file} {back:,}")
        if since:
            left.append(f"{file} {since:,}")
        unknown += untold
    if restored:
        ctx.note(
            REFERENCE_NOTE,
            f"Restores the reference data run {target} changed, as it was before it (rows it "
            f"created archived again): {'; '.join(restored)}.",
        )
    if left:
        ctx.note(
            "revert",
            f"Reference data run {target} changed that a later run changed again since is left "
            f"as the SIS last sent it: {'; '.join(left)}.",
        )
    if unknown:
        ctx.note(
            "revert",
            f"{unknown:,} reference row{'s' if unknown != 1 else ''} (courses, academic "
            f"sessions, roles) run {target} updated {'are' if unknown != 1 else 'is'} not "
            "restored: it was applied before Roster Sync kept what they were; the next whole "
            "drop of them sets them again.",
        )


def _apply_revert(db: Database, ref: ReferenceTable, plan: str, run_id: int) -> None:
    """A revert's rows: archived, unarchived, or back to the columns, status and source line
    they had before the run it undoes. What it unarchives or restores is kept in
    reference_history as it was, so that a revert of the revert puts it back."""
    mine = f"FROM {ref.name}, {plan} p WHERE {ref.name}.sis_id = p.sis_id"
    _remember(db, ref, run_id, "restore", f"{mine} AND p.op <> 'archive'")
    db.execute(
        f"""UPDATE {ref.name} SET status = 'archived', archived_run = {run_id}, last_run = {run_id}
            FROM {plan} p WHERE {ref.name}.sis_id = p.sis_id AND p.op = 'archive'"""
    )
    db.execute(
        f"""UPDATE {ref.name} SET status = 'active', archived_run = NULL, last_run = {run_id}
            FROM {plan} p WHERE {ref.name}.sis_id = p.sis_id AND p.op = 'unarchive'"""
    )
    status = "json_extract_string(p.before, '$.status')"
    values = ", ".join(
        f"{c} = json_extract_string(p.before, '$.{c}')" for c in (*ref.columns, "source_file")
    )
    db.execute(
        f"""UPDATE {ref.name} SET {values},
                   source_line = CAST(json_extract(p.before, '$.source_line') AS INTEGER),
                   archived_run = CASE WHEN {status} = 'active' THEN NULL
                                       WHEN status = 'archived' THEN archived_run
                                       ELSE {run_id} END,
                   status = {status}, last_run = {run_id}
            FROM {plan} p WHERE {ref.name}.sis_id = p.sis_id AND p.op = 'restore'"""
    )


def restored_reference(db: Database, run_id: int) -> dict[str, int]:
    """The reference rows a revert wrote, by table (for its audit)."""
    return {
        str(name): int(n)
        for name, n in db.rows(
            """SELECT table_name, count(*) FROM (
                   SELECT 'courses' AS table_name FROM courses WHERE last_run = ?
                   UNION ALL SELECT 'academic_sessions' FROM academic_sessions WHERE last_run = ?
                   UNION ALL SELECT 'sis_roles' FROM sis_roles WHERE last_run = ?)
               GROUP BY ALL ORDER BY ALL""",
            [run_id, run_id, run_id],
        )
    }
