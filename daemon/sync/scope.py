"""School-level uploads: a run scoped to some schools plans only within them.

A scope comes from `run --school SIS_ID` (repeatable) or from the drop's manifest
(`source.schools`, SIS ids separated by commas, semicolons or spaces). Within a scoped run:
- records of other schools are never archived for being absent (the file speaks for its schools
  only): a school outside the scope, its classrooms and their memberships, and people whose every
  school is outside the scope (or who have none) are left alone;
- a row naming another school is a WARNING (rule `out_of_scope`) and is not synced: the records
  it names are kept as they are, as a row in error keeps them;
- the deletion threshold counts the active records within the scope.
"""

from __future__ import annotations

from daemon.db import Database, sql_literal
from daemon.formats.drop import SCOPE_PROPERTY, listed
from daemon.sync.context import PlanContext

OUT_OF_SCOPE = "out_of_scope"
MANIFEST_KEY = SCOPE_PROPERTY.lower()  # the manifest reader lowercases property names


def parse_scope(values: list[str] | str | None) -> list[str]:
    """SIS ids as given (repeated options, or one manifest value), trimmed, in order, once each."""
    if not values:
        return []
    items = [values] if isinstance(values, str) else values
    found: list[str] = []
    for item in items:
        for part in listed(item):
            if part not in found:
                found.append(part)
    return found


def _ids(scope: list[str]) -> str:
    return ", ".join(sql_literal(s) for s in scope)


def scoped_schools(scope: list[str]) -> str:
    """SQL: the directory ids of the scope's schools."""
    return f"SELECT school_id FROM school_sis_ids WHERE sis_id IN ({_ids(scope)})"


def scoped_users(scope: list[str]) -> str:
    """SQL: people every one of whose schools is in the scope (someone with a school outside it,
    or none, is spoken for by another upload)."""
    return f"""SELECT user_id FROM users WHERE org_sis_ids IS NOT NULL AND org_sis_ids <> ''
               AND list_has_all([{_ids(scope)}], string_split(org_sis_ids, ','))"""


def record_filter(scope: list[str], table: str, alias: str = "d") -> str:
    """SQL on `alias`: the record of `table` is within the scope (always true when unscoped)."""
    if not scope:
        return "true"
    a = alias
    return {
        "schools": f"{a}.school_id IN ({scoped_schools(scope)})",
        "classrooms": f"{a}.school_id IN ({scoped_schools(scope)})",
        "users": f"{a}.user_id IN ({scoped_users(scope)})",
        "enrollments": f"""{a}.classroom_id IN (SELECT classroom_id FROM classrooms
                                                 WHERE school_id IN ({scoped_schools(scope)}))""",
        "guardian_links": f"{a}.student_id IN ({scoped_users(scope)})",
        "student_attributes": f"{a}.student_id IN ({scoped_users(scope)})",
    }[table]


def check_scope(db: Database, ctx: PlanContext) -> str | None:
    """Why the scope cannot be planned (a school neither in the directory nor in the drop)."""
    known = {
        r[0]
        for r in db.rows(f"SELECT sis_id FROM school_sis_ids WHERE sis_id IN ({_ids(ctx.scope)})")
    }
    if ctx.present("orgs"):
        known |= {
            r[0]
            for r in db.rows(
                f"SELECT sourcedId FROM {ctx.t('orgs')} WHERE sourcedId IN ({_ids(ctx.scope)})"
            )
        }
    unknown = [s for s in ctx.scope if s not in known]
    if unknown:
        return (
            f"the run is scoped to {', '.join(unknown)}, which is no school of the directory nor "
            "of this drop's orgs.csv; name schools by their SIS id"
        )
    return None


def mark_out_of_scope(ctx: PlanContext) -> int:
    """Rows naming another school get a WARNING and are left out of the plan; returns how many."""
    scope = ctx.scope
    ids = _ids(scope)
    parts: list[tuple[str, str, str, str]] = []  # entity, column, condition, school expression
    if ctx.present("orgs"):
        parts.append(
            ("orgs", "sourcedId",
             f"sourcedId NOT IN ({ids}) AND lower(coalesce(type, '')) <> 'district'", "sourcedId")
        )  # fmt: skip
    if ctx.present("classes") and "schoolSourcedId" in ctx.columns.get("classes", set()):
        parts.append(
            ("classes", "schoolSourcedId", f"schoolSourcedId NOT IN ({ids})", "schoolSourcedId")
        )
    if ctx.present("enrollments") and "schoolSourcedId" in ctx.columns.get("enrollments", set()):
        parts.append(
            ("enrollments", "schoolSourcedId", f"schoolSourcedId NOT IN ({ids})", "schoolSourcedId")
        )
    if ctx.present("users") and "orgSourcedIds" in ctx.columns.get("users", set()):
        other_school = f"""orgSourcedIds IS NOT NULL AND NOT list_has_any([{ids}],
                     list_transform(string_split(orgSourcedIds, ','), lambda x: trim(x)))
                 AND NOT list_has_any((SELECT list(sourcedId) FROM {_districts(ctx)}),
                     list_transform(string_split(orgSourcedIds, ','), lambda x: trim(x)))"""
        parts.append(("users", "orgSourcedIds", other_school, "orgSourcedIds"))
        if ctx.present("guardians"):
            # A guardians.csv row is about its student: one of another school is left out too.
            parts.append(
                ("guardians", "studentSourcedId",
                 f"""studentSourcedId IN (SELECT sourcedId FROM {ctx.t("users")}
                                          WHERE {other_school})""",
                 f"""'student ' || studentSourcedId || ' at ' || coalesce(
                     (SELECT any_value(u.orgSourcedIds) FROM {ctx.t("users")} u
                      WHERE u.sourcedId = studentSourcedId), 'another school')""")
            )  # fmt: skip
    message = f", outside this run's schools ({', '.join(scope)}); not synced"
    total = 0
    for entity, column, condition, school in parts:
        total += ctx.one(f"SELECT count(*) FROM {ctx.t(entity)} WHERE {condition}")
        # Stored at once: the plan reads which rows it leaves out from row_issues (ctx.good).
        ctx.db.execute(
            f"""INSERT INTO row_issues
                SELECT {ctx.run_id}, {sql_literal(ctx.file(entity))}, _line, sourcedId, 'WARNING',
                       {sql_literal(column)}, {sql_literal(OUT_OF_SCOPE)},
                       'names ' || {school} || {sql_literal(message)}
                FROM {ctx.t(entity)} WHERE {condition}"""
        )
    return total


def _districts(ctx: PlanContext) -> str:
    if not ctx.present("orgs"):
        return "(SELECT NULL::VARCHAR AS sourcedId WHERE false)"
    return f"(SELECT sourcedId FROM {ctx.t('orgs')} WHERE lower(coalesce(type, '')) = 'district')"
