"""Why a row that names another record was not synced, said on the row itself.

A record the feed marks tobedeleted, whose row has an error, or that a rule skips, is not in the
feed for this run. Every row that references it (an enrollment naming its class or user, an
agentSourcedIds entry, a guardians.csv or student_attributes.csv row, a class naming its school)
gets a WARNING that names the record and why, and is not synced. One table of reasons per kind
of record (`not_synced`) feeds every report, so the words are the same everywhere.
"""

from __future__ import annotations

from daemon.db import sql_literal
from daemon.ingest.issues import WARNING
from daemon.sync.context import PlanContext
from daemon.sync.unchanged import feed_people

# desired table -> (kind in `not_synced`, the file its rows come from)
_SOURCES = (
    ("desired_schools", "org", "orgs"),
    ("desired_classrooms", "class", "classes"),
    ("desired_users", "user", "users"),
)


def _where(file_sql: str, line_sql: str) -> str:
    return f"' (' || {file_sql} || ' line ' || {line_sql} || ')'"


def start(ctx: PlanContext) -> None:
    # held: a row naming the record is not synced and the record keeps what it has (a record
    # marked tobedeleted is archived instead, with what is attached to it)
    ctx.db.execute(
        f"CREATE OR REPLACE TEMP TABLE {ctx.t('not_synced')} "
        "(kind VARCHAR, sis_id VARCHAR, why VARCHAR, held BOOLEAN)"
    )


def build_not_synced(ctx: PlanContext, kind: str) -> None:
    """Reasons for one kind (org, class or user), from its desired rows and its rows in error.

    Called once the kind's desired rows are final (after the rules that skip rows)."""
    table, _, entity = next(s for s in _SOURCES if s[1] == kind)
    # A person kept archived (policies._archived_people) is asked about instead (a feed link
    # to one is a conflict or left out, see policies.link_rules; their enrollments and
    # attributes do not resolve).
    kept_archived = "_kept_archived" if kind == "user" else "false"
    parts = [
        f"""SELECT {sql_literal(kind)} AS kind, {"_feed_sis_id" if kind == "user" else "sis_id"} AS sis_id,
                   CASE WHEN _deleted THEN 'is marked tobedeleted' ELSE _skip_why END
                   || {_where("_file", "_line")} AS why,
                   NOT _deleted AND NOT {kept_archived} AS held
            FROM {ctx.t(table)}
            WHERE _deleted OR (_skip AND _skip_why IS NOT NULL)"""
    ]
    if ctx.present(entity):
        parts.append(
            f"""SELECT {sql_literal(kind)}, sourcedId, 'has an error'
                       || {_where(sql_literal(ctx.file(entity)), "_line")}, true
                FROM {ctx.errored(entity)} WHERE sourcedId IS NOT NULL"""
        )
    if kind == "org":
        # A school the directory has archived and no row brings back (feed/classes.py org_ids)
        orgs = sql_literal(ctx.file("orgs"))
        parts.append(
            f"""SELECT 'org', m.sis_id,
                       CASE WHEN a._line IS NULL
                            THEN 'is archived, and no ' || {orgs} || ' row of this drop brings it back'
                            ELSE 'is archived, and its ' || {orgs} || ' row (line ' || a._line
                                 || ') names it by a second SIS id, which does not bring it back'
                       END, false
                FROM school_sis_ids m JOIN schools s USING (school_id)
                LEFT JOIN {ctx.t("desired_schools")} a ON a.sis_id = m.sis_id AND a._alias
                WHERE s.status = 'archived'
                  AND m.sis_id NOT IN (SELECT sis_id FROM {ctx.t("org_ids")})"""
        )
    # one reason per record, so `reason` reads one row: a row's own ('has an error', 'is
    # marked tobedeleted', naming its line) before what the directory holds ('is archived')
    ctx.db.execute(
        f"INSERT INTO {ctx.t('not_synced')} SELECT * FROM ({' UNION ALL '.join(parts)}) "
        "QUALIFY row_number() OVER (PARTITION BY kind, sis_id "
        "ORDER BY why LIKE 'is archived, %', why) = 1"
    )


def reason(ctx: PlanContext, kind: str, sis_id_sql: str) -> str:
    """SQL: why the `kind` record named by `sis_id_sql` is not synced (a generic reason when
    nothing more precise is known)."""
    return (
        f"coalesce((SELECT n.why FROM {ctx.t('not_synced')} n "
        f"WHERE n.kind = {sql_literal(kind)} AND n.sis_id = {sis_id_sql}), "
        "'is not synced in this run')"
    )


def report(
    ctx: PlanContext,
    entity: str,
    rows_sql: str,
    column: str,
    message_sql: str,
    column_sql: str | None = None,
) -> None:
    """One WARNING per row of `rows_sql` (which yields _line and sourced_id) on `entity`'s file,
    naming `column` (or the column `column_sql` picks per row)."""
    file = sql_literal(ctx.file(entity))
    ctx.db.execute(
        f"""
        INSERT INTO row_issues
        SELECT {ctx.run_id}, {file}, r._line, r.sourced_id, {sql_literal(WARNING)},
               {column_sql or sql_literal(column)},
               'not_synced', {file} || ' line ' || r._line || ': ' || ({message_sql})
        FROM ({rows_sql}) r
        """
    )


def report_class_schools(ctx: PlanContext) -> None:
    """Classes skipped because their school is not synced."""
    report(
        ctx,
        "classes",
        f"""SELECT _line, sis_id AS sourced_id, _school_sis_id FROM {ctx.t("desired_classrooms")}
            WHERE school_id IS NULL AND NOT _deleted""",
        "schoolSourcedId",
        f"'school ''' || r._school_sis_id || ''' ' || {reason(ctx, 'org', 'r._school_sis_id')}"
        " || ', so this class was not synced'",
    )


def report_user_orgs(ctx: PlanContext) -> None:
    """Users naming an org the feed marks tobedeleted (or whose row has an error): the row
    does not change the user's orgs (a new user is synced without that org)."""
    report(
        ctx,
        "users",
        f"""SELECT f._line, f.sis_id AS sourced_id, x.org, f.org_sis_ids IS NULL AS nowhere
            FROM (SELECT _line, sis_id, org_sis_ids, unmatched_orgs, _file, _deleted
                  FROM {ctx.t("desired_users")} WHERE unmatched_orgs IS NOT NULL) f,
                 unnest(f.unmatched_orgs) AS x(org)
            JOIN {ctx.t("not_synced")} n ON n.kind = 'org' AND n.sis_id = x.org
            WHERE f._file = {sql_literal(ctx.file("users"))} AND NOT f._deleted""",
        "orgSourcedIds",
        f"'org ''' || r.org || ''' ' || {reason(ctx, 'org', 'r.org')}"
        " || CASE WHEN r.nowhere THEN ', and no other org of the user is, so the row was not "
        "synced' ELSE '; this row does not change the user''s orgs' END",
    )


def report_agents(ctx: PlanContext) -> None:
    """agentSourcedIds entries naming a person who is not synced: that link is not made."""
    report(
        ctx,
        "users",
        f"""SELECT a._line, a.sis_id AS sourced_id, a.agent
            FROM (SELECT sis_id, _line, rs_clean(unnest(string_split(agents, ','))) AS agent
                  FROM {feed_people(ctx, "sis_id", "_line", "agents", "_file", "_deleted")}
                  WHERE agents IS NOT NULL AND _file = {sql_literal(ctx.file("users"))}
                    AND NOT _deleted) a
            SEMI JOIN {ctx.t("not_synced")} n ON n.kind = 'user' AND n.sis_id = a.agent""",
        "agentSourcedIds",
        f"'agent ''' || r.agent || ''' ' || {reason(ctx, 'user', 'r.agent')}"
        " || ', so that link was not made'",
    )


def report_student_rows(ctx: PlanContext, entity: str, what: str) -> None:
    """guardians.csv and student_attributes.csv rows naming a student who is not synced."""
    if not ctx.present(entity):
        return
    key = "sourcedId" if entity == "guardians" else "studentSourcedId"
    outcome = sql_literal(f", so this {what} was not synced")
    if entity == "guardians":
        # A guardian new tonight whose rows name no synced student is not created either
        # (feed/users.leave_out_new_guardians_without_a_student).
        new = ctx.t("guardians_without_a_student")
        outcome = f"""CASE WHEN r.sourced_id IN (SELECT sis_id FROM {new} WHERE sis_id IS NOT NULL)
                           THEN ', so neither this guardian nor its link was synced'
                           ELSE {outcome} END"""
    report(
        ctx,
        entity,
        f"""SELECT x._line, x.{key} AS sourced_id, x.studentSourcedId AS student
            FROM {ctx.good(entity)} x
            SEMI JOIN {ctx.t("not_synced")} n ON n.kind = 'user' AND n.sis_id = x.studentSourcedId
             -- a tobedeleted row naming a held student changes nothing either (one naming a
             -- tobedeleted student goes with it)
             AND (n.held OR coalesce(lower(x.status), '') <> 'tobedeleted')""",
        "studentSourcedId",
        f"'student ''' || r.student || ''' ' || {reason(ctx, 'user', 'r.student')} || {outcome}",
    )


def report_enrollments(ctx: PlanContext) -> None:
    """Enrollments whose class or user is not synced, and rows repeating a membership."""
    if not ctx.present("enrollments"):
        return
    filtered_classes = "SELECT NULL AS sis_id WHERE false"
    if ctx.settings.classroom_filter == "homeroom_only":
        # Said once in the run's notes, not on every enrollment of every scheduled class: the
        # file's, and the directory's a file without them leaves as they are.
        # (never a NULL: `x NOT IN (..., NULL)` would silence every row)
        filtered_classes = """SELECT sis_id FROM classrooms WHERE sis_id IS NOT NULL
                              AND NOT coalesce(class_type = 'homeroom', false)"""
        if ctx.present("classes"):
            classes = ctx.t("classes")
            filtered_classes += f"""
                AND sis_id NOT IN (SELECT sourcedId FROM {classes} WHERE sourcedId IS NOT NULL)
                UNION ALL SELECT sourcedId FROM {classes} WHERE sourcedId IS NOT NULL
                AND NOT coalesce(lower(classType) = 'homeroom', false)"""
    report(
        ctx,
        "enrollments",
        f"""SELECT _line, sis_id AS sourced_id, classroom_id IS NULL OR _held_class AS by_class,
                   _class_sis_id, _user_sis_id
            FROM {ctx.t("desired_enrollments")}
            -- a held class or user (its row in error, say) keeps its memberships as they are:
            -- a row naming it changes nothing, a tobedeleted one included
            WHERE ((_unresolved AND NOT _deleted) OR _held_class OR _held_user)
              AND _class_sis_id NOT IN ({filtered_classes})""",
        "classSourcedId",
        f"""CASE WHEN r.by_class
                 THEN 'class ''' || r._class_sis_id || ''' ' || {reason(ctx, "class", "r._class_sis_id")}
                 ELSE 'user ''' || r._user_sis_id || ''' ' || {reason(ctx, "user", "r._user_sis_id")}
            END || ', so this enrollment was not synced'""",
        column_sql="CASE WHEN r.by_class THEN 'classSourcedId' ELSE 'userSourcedId' END",
    )
    report(
        ctx,
        "enrollments",
        f"""SELECT r._line, r.sis_id AS sourced_id, r.keeper, r.keeper_line
            FROM {ctx.t("repeated_enrollments")} r""",
        "sourcedId",
        "'the same class and user as ''' || r.keeper || ''' (line ' || r.keeper_line || '); "
        "only that row is synced'",
    )
    report(
        ctx,
        "enrollments",
        f"""SELECT _line, sis_id AS sourced_id, _keeper AS keeper
            FROM {ctx.t("desired_enrollments")} WHERE _repeated""",
        "sourcedId",
        "'names the same membership as ''' || coalesce(r.keeper, '?') || '''"
        " (through a merged record); only that one is synced'",
    )
