"""Planning: from validated staging tables to plan tables, changes and conflicts. Never touches
the directory."""

from __future__ import annotations

from daemon.db import sql_literal
from daemon.progress import Progress
from daemon.sync import kinds
from daemon.sync.context import PlanContext
from daemon.sync.diff import build_present, count_changes, plan_table, record_changes
from daemon.sync.feed_links import build_desired_attributes, build_desired_links
from daemon.sync.feed_people import build_desired_users, build_feed_users, build_user_map
from daemon.sync.feed_structure import (
    build_desired_classrooms,
    build_desired_enrollments,
    build_desired_schools,
)
from daemon.sync.policies import (
    classroom_rules,
    link_rules,
    school_rules,
    user_rules,
)
from daemon.sync.unchanged import find_unchanged_enrollments

SCHOOL_SIS = "(SELECT sis_id FROM schools WHERE school_id = {v})"


def make_plan(ctx: PlanContext, progress: Progress) -> dict[str, dict[str, int]]:
    """Build every plan table; returns the change counts per kind and operation."""
    progress.start("Planning", total=6)
    _schools(ctx)
    progress.advance()
    _classrooms(ctx)
    progress.advance()
    _users(ctx)
    progress.advance()
    _enrollments(ctx)
    progress.advance()
    _links(ctx)
    progress.advance()
    _attributes(ctx)
    progress.advance()
    progress.finish()
    counts: dict[str, dict[str, int]] = {k: {op: 0 for op in kinds.OPS} for k in kinds.CHANGE_KINDS}
    for table in kinds.TABLES:
        for kind, op, n in count_changes(ctx, table):
            counts[kind][op] = int(n)
    return counts


def _finish(
    ctx: PlanContext,
    table: kinds.Table,
    extra_present: str | None = None,
    display: dict[str, str] | None = None,
) -> None:
    build_present(ctx, table, extra_present)
    plan_table(ctx, table)
    record_changes(ctx, table, display)


def _schools(ctx: PlanContext) -> None:
    build_desired_schools(ctx)
    school_rules(ctx)
    extra = None
    if ctx.present("orgs"):
        extra = f"""SELECT m.school_id AS id FROM school_sis_ids m
                    JOIN {ctx.errored("orgs")} e ON e.sourcedId = m.sis_id"""
    _finish(ctx, kinds.SCHOOLS, extra)


def _classrooms(ctx: PlanContext) -> None:
    build_desired_classrooms(ctx)
    classroom_rules(ctx)
    held = "SELECT NULL::BIGINT AS id WHERE false"
    if ctx.present("classes"):
        held = f"""SELECT c.classroom_id AS id FROM classrooms c
                   JOIN {ctx.errored("classes")} e ON e.sourcedId = c.sis_id
                   UNION ALL
                   SELECT c.classroom_id FROM classrooms c
                   JOIN {ctx.t("desired_classrooms")} f ON f._ambiguous AND f.sis_id = c.sis_id"""
    _hold(ctx, "classrooms", held)
    _finish(ctx, kinds.CLASSROOMS, _held(ctx, "classrooms"), {"school_id": SCHOOL_SIS})


def _hold(ctx: PlanContext, what: str, sql: str) -> None:
    """Records the feed names but this run cannot process (rows in error, or claimed twice).

    They, and everything attached to them, are kept as they are: a bad row never archives."""
    ctx.db.execute(f"CREATE OR REPLACE TEMP TABLE {ctx.t(f'held_{what}')} AS {sql}")


def _held(ctx: PlanContext, what: str) -> str:
    return f"SELECT id FROM {ctx.t(f'held_{what}')}"


def _users(ctx: PlanContext) -> None:
    build_feed_users(ctx)
    build_desired_users(ctx)
    user_rules(ctx)
    parts = [
        f"""SELECT coalesce(u.merged_into, u.user_id) AS id FROM users u
                 JOIN {ctx.t("desired_users")} f ON f._ambiguous
                  AND ((f._key_type = 'sis' AND u.sis_id = f._match_key)
                       OR (f._key_type = 'ident' AND u.identifier = f._match_key))""",
        # A row without its key (student_id = identifier) still names its record by sourcedId.
        f"""SELECT coalesce(u.merged_into, u.user_id) FROM users u
                 JOIN {ctx.t("desired_users")} f ON f._no_key AND u.sis_id = f.sis_id""",
    ]
    if ctx.present("users"):
        parts.append(f"""SELECT coalesce(u.merged_into, u.user_id) FROM users u
                         JOIN {ctx.errored("users")} e ON e.sourcedId = u.sis_id""")
    _hold(ctx, "users", " UNION ALL ".join(parts))
    present = _held(ctx, "users")
    if ctx.present("guardians"):
        # A guardians.csv row speaks for one guardian and one pair only (see _links), so the
        # guardian is kept but not, through it, every link it has.
        present += f""" UNION ALL SELECT coalesce(u.merged_into, u.user_id) FROM users u
                        JOIN {ctx.errored("guardians")} e ON e.sourcedId = u.sis_id"""
    _finish(ctx, kinds.USERS, present)
    build_user_map(ctx)
    ctx.drop("users", "demographics", "roles", "present_users")


def _enrollments(ctx: PlanContext) -> None:
    find_unchanged_enrollments(ctx)
    build_desired_enrollments(ctx)
    extra = f"""SELECT id FROM {ctx.t("unchanged_enrollments")}
                UNION ALL SELECT enrollment_id FROM enrollments
                WHERE user_id IN ({_held(ctx, "users")}) OR classroom_id IN ({_held(ctx, "classrooms")})"""
    if ctx.present("enrollments"):
        extra += f""" UNION ALL SELECT d.enrollment_id AS id FROM enrollments d
                    JOIN (SELECT cm.classroom_id, um.user_id FROM {ctx.errored("enrollments")} e
                          JOIN {ctx.t("classroom_map")} cm ON cm.sis_id = e.classSourcedId
                          JOIN {ctx.t("user_map")} um ON um.sis_id = e.userSourcedId) x
                      ON x.classroom_id = d.classroom_id AND x.user_id = d.user_id"""
    _finish(ctx, kinds.ENROLLMENTS, extra)
    _report_unresolved_enrollments(ctx)
    ctx.drop("enrollments", "desired_enrollments", "present_enrollments")


def _links(ctx: PlanContext) -> None:
    build_desired_links(ctx)
    link_rules(ctx)
    held = _held(ctx, "users")
    extra = f"SELECT link_id AS id FROM guardian_links WHERE student_id IN ({held}) OR guardian_id IN ({held})"
    if ctx.present("guardians"):
        user_map = ctx.t("user_map")
        extra += f""" UNION ALL SELECT l.link_id FROM guardian_links l
                    JOIN (SELECT g.user_id AS guardian_id, s.user_id AS student_id
                          FROM {ctx.errored("guardians")} e
                          JOIN {user_map} g ON g.sis_id = e.sourcedId
                          JOIN {user_map} s ON s.sis_id = e.studentSourcedId) x
                      ON l.guardian_id = x.guardian_id AND l.student_id = x.student_id"""
    _finish(ctx, kinds.GUARDIAN_LINKS, extra)


def _attributes(ctx: PlanContext) -> None:
    build_desired_attributes(ctx)
    extra = f"SELECT attribute_id AS id FROM student_attributes WHERE student_id IN ({_held(ctx, 'users')})"
    if ctx.present("student_attributes"):
        extra += f""" UNION ALL SELECT a.attribute_id FROM student_attributes a
                    JOIN (SELECT um.user_id, e.name FROM {ctx.errored("student_attributes")} e
                          JOIN {ctx.t("user_map")} um ON um.sis_id = e.studentSourcedId) x
                      ON x.user_id = a.student_id AND x.name = a.name"""
    _finish(ctx, kinds.STUDENT_ATTRIBUTES, extra)


def _report_unresolved_enrollments(ctx: PlanContext) -> None:
    if not ctx.present("enrollments"):
        return
    file = ctx.file("enrollments")
    filtered_classes = "SELECT NULL AS sis_id WHERE false"
    if ctx.settings.classroom_filter == "homeroom_only" and ctx.present("classes"):
        filtered_classes = (
            f"SELECT sourcedId AS sis_id FROM {ctx.t('classes')} "
            "WHERE lower(classType) <> 'homeroom'"
        )
    ctx.db.execute(
        f"""
        INSERT INTO row_issues
        SELECT {ctx.run_id}, {sql_literal(file)}, f._line, f._label, 'WARNING',
               CASE WHEN f.classroom_id IS NULL THEN 'classSourcedId' ELSE 'userSourcedId' END,
               'not_synced',
               {sql_literal(file)} || ' line ' || f._line || ': ' ||
               CASE WHEN f.classroom_id IS NULL THEN 'class ''' || f._class_sis_id || ''''
                    ELSE 'user ''' || f._user_sis_id || '''' END
               || ' is not synced in this run, so this enrollment was skipped'
        FROM {ctx.t("desired_enrollments")} f
        WHERE f._unresolved AND f._class_sis_id NOT IN ({filtered_classes})
        """
    )
