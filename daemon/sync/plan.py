"""Planning: from validated staging tables to plan tables, changes and conflicts. Never touches
the directory."""

from __future__ import annotations

from collections.abc import Sequence

from daemon.db import sql_literal
from daemon.directory.orgs import hand_references_taken
from daemon.errors import RosterSyncError
from daemon.progress import Progress
from daemon.sync import kinds, not_synced
from daemon.sync.apply import new_school_sis_ids
from daemon.sync.context import PlanContext
from daemon.sync.derived_ids import (
    keep_classroom_references,
    keep_enrollment_ids,
    keep_former_ids,
)
from daemon.sync.diff import (
    LeftOutBySetting,
    build_present,
    count_changes,
    plan_table,
    record_changes,
)
from daemon.sync.feed.classes import (
    MOVED_SIS_ID_NOTE,
    build_desired_classrooms,
    build_desired_enrollments,
    build_desired_schools,
    find_repeated_enrollments,
    keep_enrollment_sis_ids_unique,
    keep_schools_still_named,
    left_out_by_homeroom_only,
    note_what_hand_made_stays_in_archived_schools,
)
from daemon.sync.feed.links import build_desired_attributes, build_desired_links
from daemon.sync.feed.users import (
    archive_guardians_left_without_a_student,
    build_desired_users,
    build_feed_users,
    build_user_map,
    leave_out_new_guardians_without_a_student,
    left_out_by_guardian_roles,
    renumbered_notes,
    roles_not_applied,
)
from daemon.sync.policies import (
    classroom_rules,
    keep_hand_unarchives,
    keep_stored_values,
    link_rules,
    school_rules,
    user_rules,
)
from daemon.sync.reference import note_reference_changes, plan_reference_data, plan_roles
from daemon.sync.unchanged import find_unchanged_enrollments

# A classroom's school as a change shows it: its SIS id, or `#id` for a school that has none (a
# hand-made one), so that a revert can put the classroom back there (sync/revert_values.py).
# A school may answer to '#id' as its SIS id (a SIS may send an org '#4'), which a revert reads
# first: a school without a SIS id whose '#id' is so taken is shown as '#id (no SIS id)'.
NO_SIS_ID = " (no SIS id)"
SCHOOL_SIS = (
    "coalesce((SELECT sis_id FROM schools WHERE school_id = {v}), '#' || {v} || CASE WHEN "
    "EXISTS (SELECT 1 FROM school_sis_ids WHERE sis_id = '#' || {v}) "
    f"THEN '{NO_SIS_ID}' ELSE '' END)"
)


def make_plan(ctx: PlanContext, progress: Progress) -> dict[str, dict[str, int]]:
    """Build every plan table; returns the change counts per kind and operation."""
    progress.start("Planning", total=6)
    keep_former_ids(ctx)  # before any step reads the users' sourcedIds
    not_synced.start(ctx)
    plan_reference_data(ctx)
    _schools(ctx)
    progress.advance()
    _classrooms(ctx)
    progress.advance()
    _users(ctx)
    progress.advance()
    _enrollments(ctx)
    progress.advance()
    _links(ctx)
    archive_guardians_left_without_a_student(ctx)
    progress.advance()
    _attributes(ctx)
    progress.advance()
    progress.finish()
    _refuse_two_operations_on_one_record(ctx)
    counts: dict[str, dict[str, int]] = {k: {op: 0 for op in kinds.OPS} for k in kinds.CHANGE_KINDS}
    for kind, op, n in count_changes(ctx, kinds.TABLES):
        counts[kind][op] = int(n)
    if not any(n for ops in counts.values() for n in ops.values()):
        note_reference_changes(ctx)
    return counts


class PlanWouldBreak(RosterSyncError):
    """The plan would do two things to one record; the run fails instead of guessing."""


def _refuse_two_operations_on_one_record(ctx: PlanContext) -> None:
    """A record appears at most once in a plan (never archived and updated at once)."""
    # A create's id is new (above every existing id, one per feed line), so only the other
    # operations can name one record twice. One statement for every table; the first table
    # with such a record is named.
    repeated = ctx.db.rows(
        " UNION ALL ".join(
            f"""(SELECT {n} AS place, id, list(op ORDER BY op) AS ops
                 FROM {ctx.keep(f"plan_{table.name}")}
                 WHERE op <> 'create' GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5)"""
            for n, table in enumerate(kinds.TABLES)
        )
        + " ORDER BY place, id"
    )
    if repeated:
        first = repeated[0][0]
        table = kinds.TABLES[first]
        shown = "; ".join(
            f"{table.name} {i}: {', '.join(ops)}" for place, i, ops in repeated if place == first
        )
        raise PlanWouldBreak(
            f"the plan would change a record twice ({shown}); nothing was planned. "
            "Please report this with the drop."
        )


def _finish(
    ctx: PlanContext,
    table: kinds.Table,
    extra_present: str | None = None,
    display: dict[str, str] | None = None,
    left_out: LeftOutBySetting | None = None,
    notes: Sequence[tuple[str, str]] = (),
) -> None:
    build_present(ctx, table, extra_present)
    plan_table(ctx, table)
    record_changes(ctx, table, display, notes=notes, left_out=left_out)


def _schools(ctx: PlanContext) -> None:
    build_desired_schools(ctx)
    school_rules(ctx)
    not_synced.build_not_synced(ctx, "org")
    extra = None
    if ctx.present("orgs"):
        extra = f"""SELECT m.school_id AS id FROM school_sis_ids m
                    JOIN {ctx.errored("orgs")} e ON e.sourcedId = m.sis_id"""
    # Planned, then planned again keeping the schools it would archive that something still
    # names (only on a night that archives a school: the schools are a few thousand rows).
    build_present(ctx, kinds.SCHOOLS, extra)
    plan_table(ctx, kinds.SCHOOLS)
    kept = keep_schools_still_named(ctx)
    if kept:
        build_present(ctx, kinds.SCHOOLS, f"{extra} UNION ALL {kept}" if extra else kept)
        plan_table(ctx, kinds.SCHOOLS)
    record_changes(ctx, kinds.SCHOOLS)
    note_what_hand_made_stays_in_archived_schools(ctx)
    # A new school answering to a hand reference in use (directory/orgs.py): said before apply
    # renames the people's orgs, or refuses.
    for taken in hand_references_taken(ctx.db, new_school_sis_ids(ctx.db, ctx.schema)):
        if taken.naming is not None:
            ctx.note("schools", f"{taken.renaming()}.")
        else:
            ctx.note("schools", f"{taken.refusal()}; until then this run cannot be applied.")


def _classrooms(ctx: PlanContext) -> None:
    build_desired_classrooms(ctx)
    keep_classroom_references(ctx)
    classroom_rules(ctx)
    not_synced.build_not_synced(ctx, "class")
    not_synced.report_class_schools(ctx)
    held = "SELECT NULL::BIGINT AS id WHERE false"
    if ctx.present("classes"):
        # Under homeroom_only a row in error keeps only a homeroom: the setting, a person's
        # decision, leaves a scheduled class out whatever its row says, and a row in error
        # cannot be read to say it became a homeroom.
        filtered = (
            "AND lower(c.class_type) = 'homeroom'"
            if ctx.settings.classroom_filter == "homeroom_only"
            else ""
        )
        held = f"""SELECT c.classroom_id AS id FROM classrooms c
                   JOIN {ctx.errored("classes")} e ON e.sourcedId = c.sis_id {filtered}
                   UNION ALL
                   SELECT c.classroom_id FROM classrooms c
                   JOIN {ctx.t("desired_classrooms")} f ON f._ambiguous AND f.sis_id = c.sis_id"""
    _hold(ctx, "classrooms", held)
    _finish(
        ctx,
        kinds.CLASSROOMS,
        ctx.held("classrooms"),
        {"school_id": SCHOOL_SIS},
        left_out_by_homeroom_only(ctx),
    )


def _hold(ctx: PlanContext, what: str, sql: str) -> None:
    """Records the feed names but this run cannot process (rows in error, or claimed twice).

    They, and everything attached to them, are kept as they are: a bad row never archives."""
    # never a NULL id: `x NOT IN (held)` would then be NULL for every x
    ctx.db.execute(
        f"CREATE OR REPLACE TEMP TABLE {ctx.t(f'held_{what}')} AS "
        f"SELECT id FROM ({sql}) WHERE id IS NOT NULL"
    )


def _users(ctx: PlanContext) -> None:
    build_feed_users(ctx)
    build_desired_users(ctx)
    user_rules(ctx)
    not_synced.build_not_synced(ctx, "user")
    not_synced.report_user_orgs(ctx)
    not_synced.report_agents(ctx)
    parts = [
        # One equality join per key (an OR of the two was a loop over every pair of rows).
        f"""SELECT coalesce(u.merged_into, u.user_id) AS id FROM users u
                 JOIN {ctx.t("desired_users")} f ON f._ambiguous AND f._key_type = 'sis'
                  AND u.sis_id = f._match_key""",
        f"""SELECT coalesce(u.merged_into, u.user_id) FROM users u
                 JOIN {ctx.t("desired_users")} f ON f._ambiguous AND f._key_type = 'ident'
                  AND u.identifier = f._match_key""",
        # A row without its key, or whose key another row shares (student_id = identifier),
        # still names its record by sourcedId; a shared key names its own record too.
        f"""SELECT coalesce(u.merged_into, u.user_id) FROM users u
                 JOIN {ctx.t("desired_users")} f ON (f._no_key OR f._shared_key)
                  AND u.sis_id = f.sis_id""",
        f"""SELECT coalesce(u.merged_into, u.user_id) FROM users u
                 JOIN {ctx.t("desired_users")} f ON f._shared_key AND u.kind = 'student'
                  AND u.identifier = f._match_key""",
        # A person kept archived keeps what is attached to them, and gains nothing.
        f"""SELECT _target_id FROM {ctx.t("desired_users")} WHERE _kept_archived""",
        # A role that is an unmapped extension: not synced, and not taken for an absence.
        f"""SELECT coalesce(u.merged_into, u.user_id) FROM users u
            JOIN {ctx.t("feed_users")} f ON starts_with(f.role, 'ext:') AND u.sis_id = f.sis_id""",
    ]
    if ctx.present("users"):
        parts.append(f"""SELECT coalesce(u.merged_into, u.user_id) FROM users u
                         JOIN {ctx.errored("users")} e ON e.sourcedId = u.sis_id""")
        if ctx.settings.student_id == "identifier":
            # A row in error names a student by identifier too (re-keyed: a new sourcedId).
            parts.append(f"""SELECT coalesce(u.merged_into, u.user_id) FROM users u
                             JOIN {ctx.errored("users")} e ON u.kind = 'student'
                              AND u.identifier = {ctx.column("users", "identifier", "e")}""")
    _hold(ctx, "users", " UNION ALL ".join(parts))
    present = f"{ctx.held('users')} UNION ALL SELECT id FROM {ctx.t('unchanged_users')}"
    if ctx.present("guardians"):
        # A guardians.csv row speaks for one guardian and one pair only (see _links), so the
        # guardian is kept but not, through it, every link it has.
        present += f""" UNION ALL SELECT coalesce(u.merged_into, u.user_id) FROM users u
                        JOIN {ctx.errored("guardians")} e ON e.sourcedId = u.sis_id"""
    build_present(ctx, kinds.USERS, present)
    plan_table(ctx, kinds.USERS)
    keep_hand_unarchives(ctx)
    record_changes(
        ctx, kinds.USERS, notes=renumbered_notes(ctx), left_out=left_out_by_guardian_roles(ctx)
    )
    build_user_map(ctx)
    leave_out_new_guardians_without_a_student(ctx)
    if ctx.present("roles"):
        plan_roles(ctx, roles_not_applied(ctx))
    ctx.drop(
        "users",
        "demographics",
        "roles",
        "present_users",
        "changed_users",
        "unchanged_users",
        "unchanged_users_normalised",
        "unchanged_user_records",
    )
    # What the links read of the people (build_desired_links, link_rules); the rest is done.
    ctx.narrow("feed_users", "sis_id", "agents", "role", "_line")
    ctx.narrow("user_lines", "id", "sis_id", "agents", "role", "_line")
    ctx.narrow("desired_users", "_target_id", "_skip")


def _enrollments(ctx: PlanContext) -> None:
    find_repeated_enrollments(ctx)
    build_desired_enrollments(ctx, find_unchanged_enrollments(ctx))
    keep_enrollment_ids(ctx)
    keep_stored_values(ctx, "enrollments", "enrollment_id")
    extra = f"""SELECT id FROM {ctx.t("unchanged_enrollments")}
                UNION ALL SELECT enrollment_id FROM enrollments
                WHERE user_id IN ({ctx.held("users")}) OR classroom_id IN ({ctx.held("classrooms")})"""
    if ctx.present("enrollments"):
        # A row in error keeps the membership it names: by its sourcedId, and by its class
        # and user where they can be read.
        extra += f""" UNION ALL SELECT d.enrollment_id AS id FROM enrollments d
                    JOIN (SELECT cm.classroom_id, um.user_id FROM {ctx.errored("enrollments")} e
                          JOIN {ctx.t("classroom_map")} cm ON cm.sis_id = e.classSourcedId
                          JOIN {ctx.t("user_map")} um ON um.sis_id = e.userSourcedId) x
                      ON x.classroom_id = d.classroom_id AND x.user_id = d.user_id
                    UNION ALL SELECT d.enrollment_id FROM enrollments d
                    JOIN {ctx.errored("enrollments")} e ON e.sourcedId = d.sis_id"""
    build_present(ctx, kinds.ENROLLMENTS, extra)
    plan_table(ctx, kinds.ENROLLMENTS)
    keep_enrollment_sis_ids_unique(ctx)
    moved = f"p.id IN (SELECT id FROM {ctx.t('moved_enrollments')})"
    record_changes(ctx, kinds.ENROLLMENTS, notes=[(moved, sql_literal(MOVED_SIS_ID_NOTE))])
    not_synced.report_enrollments(ctx)
    ctx.drop(
        "enrollments",
        "desired_enrollments",
        "present_enrollments",
        "unchanged_enrollments",
        "repeated_enrollments",
        "enrollment_lines",
        "changed_enrollments",
        "enrollment_sis_ids_taken",
        "enrollment_sis_id_claims",
        "moved_enrollments",
        "enrollments_moving",
    )


def _links(ctx: PlanContext) -> None:
    build_desired_links(ctx)
    link_rules(ctx)
    not_synced.report_student_rows(ctx, "guardians", "guardian link")
    held = ctx.held("users")
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
    not_synced.report_student_rows(ctx, "student_attributes", "attribute")
    extra = f"SELECT attribute_id AS id FROM student_attributes WHERE student_id IN ({ctx.held('users')})"
    if ctx.present("student_attributes"):
        extra += f""" UNION ALL SELECT a.attribute_id FROM student_attributes a
                    JOIN (SELECT um.user_id, e.name FROM {ctx.errored("student_attributes")} e
                          JOIN {ctx.t("user_map")} um ON um.sis_id = e.studentSourcedId) x
                      ON x.user_id = a.student_id AND x.name = a.name"""
    _finish(ctx, kinds.STUDENT_ATTRIBUTES, extra)
