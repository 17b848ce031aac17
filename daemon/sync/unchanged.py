"""Telling unchanged feed rows apart cheaply, so a nightly run resolves only what changed.

A synced enrollment or user remembers the hash of the feed row it came from (`source_hash`) and
of its own values as the sync wrote them (`synced_hash`). A feed row whose hash equals the
remembered one, for a record nobody has touched since (its values still hash to `synced_hash`),
needs no matching, lookups or comparison: it is present and unchanged. Everything else takes the
full path. What shapes a row (settings, the columns the file has) is part of its hash, so
changing it sends every row through the full path once.

Apply writes both hashes for every record it creates, updates or refreshes (`refresh`: a record
that matched its feed row but remembered another hash). Any other write (a hand edit, a merge,
a revert) changes the values without the hash, so the record takes the full path again. A record
whose values a rule kept instead of the row's (the contacts of an activated or hand-edited
account, policies._protect_contacts) remembers no source hash: a flag cleared later changes no
value, and the row must then be compared again.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from daemon.db import sql_ident, sql_literal
from daemon.ingest.row_memo import FULL_PATH_ENV  # the test hook: no shortcut, no memory
from daemon.sync.context import PlanContext
from daemon.sync.kinds import ENROLLMENTS, USERS, Table


def _shortcut_allowed() -> str:
    return "false" if os.environ.get(FULL_PATH_ENV) else "true"


def synced_hash_of(table: Table, value: Callable[[str], str], status: str, origin: str) -> str:
    """The hash of a record's own values (`value(column)` gives each) with a status and origin."""
    cols = ", ".join(value(c) for c in table.compared)
    return f"hash({cols}, {status}, {origin})"


def synced_hash(table: Table, alias: str) -> str:
    """The hash a record's current values have (equal to `synced_hash` when untouched)."""
    return synced_hash_of(table, lambda c: f"{alias}.{c}", f"{alias}.status", f"{alias}.origin")


def enrollment_source_hash(ctx: PlanContext, alias: str) -> str:
    """The hash of a feed row's values and of the settings that decide what they become."""
    # The columns the file has: without one, records keep the field (not the same as empty).
    columns = ",".join(sorted(ctx.columns.get("enrollments", set())))
    shaping = sql_literal(
        f"{ctx.settings.classroom_filter}|{ctx.settings.school_matching}|{columns}"
    )
    cols = ", ".join(
        f"{alias}.{sql_ident(c)}"
        for c in (
            "classSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
            "status",
        )
    )
    return f"hash({cols}, {shaping})"


def find_unchanged_enrollments(ctx: PlanContext) -> str:
    """Feed lines whose enrollment is synced, untouched since, sent again as it was, and whose
    class and person resolve to the record's own (`unchanged_enrollments`); and, from the same
    pass, the other lines (`changed_enrollments`), which are all the desired rows are built from.

    The directory side is narrowed to integers before the join: a line finds its record by the
    hash of its sourcedId, and the record's hash of the row it came from, its class and its
    person must all match too. The SIS id strings on both sides of millions of rows were what
    made the join outgrow memory at 3M students (14.6 s, 9.2 s with the hash). A line taken for
    another record's needs a 64-bit collision of the ids and then the record's class, person and
    row hash equal to what the line resolves to and hashes to.

    Every line is kept with a flag (left joins) rather than the unchanged ones alone: the lines
    that are left were an anti join of the day with the unchanged ones (0.66 s of a 1M night).
    A line has one row here unless two records answer to its sourcedId's hash (a collision);
    such a line is unchanged if any of its rows says so, and then not among the changed.

    Returns the staging rows the desired rows are built from (a subquery)."""
    if not ctx.db.one(
        "SELECT EXISTS (FROM enrollments WHERE status = 'active' AND origin = 'sync')"
    ):
        # A first load: no line can be unchanged, and a flag on each of millions is all cost.
        ctx.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE {ctx.t("unchanged_enrollments")} AS
                SELECT CAST(NULL AS BIGINT) AS _line, CAST(NULL AS BIGINT) AS id WHERE false"""
        )
        return ctx.good_except("enrollments", ctx.t("repeated_enrollments"))
    # Ids the source made itself name no record (sync/derived_ids.py): the class and person
    # joins below are then the whole match (DuckDB plans them as hash joins on both keys).
    derived = ctx.derived("enrollments")
    match = "true" if derived else "d._sis_hash = hash(e.sourcedId)"
    with_sis_id = "" if derived else "AND sis_id IS NOT NULL"
    # Where two lines reach one membership through a merged record, the full path keeps the
    # line whose sourcedId is the record's SIS id (build_desired_enrollments), which a line
    # with an id the source made never is: such lines take the full path, so both agree.
    shared = "true"
    if derived:
        shared = f"""coalesce(d.user_id NOT IN (
                         SELECT user_id FROM {ctx.t("user_map")} WHERE NOT kept_archived
                         GROUP BY user_id HAVING count(*) > 1), false)
                     AND coalesce(d.classroom_id NOT IN (
                         SELECT classroom_id FROM {ctx.t("classroom_map")}
                         GROUP BY classroom_id HAVING count(*) > 1), false)"""
    lines = ctx.t("enrollment_lines")
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {lines} AS
        SELECT e._line, e._rid, d.enrollment_id AS id,
               um.user_id IS NOT NULL
               -- neither is held (a row naming a held record is not synced: the full path
               -- says why)
               AND coalesce(e.classSourcedId NOT IN ({ctx.held_sis("class")}), false)
               AND coalesce(e.userSourcedId NOT IN ({ctx.held_sis("user")}), false)
               AND {shared} AND {_shortcut_allowed()} AS unchanged
        FROM {ctx.good("enrollments")} e
        ANTI JOIN {ctx.t("repeated_enrollments")} r ON r._line = e._line
        LEFT JOIN (SELECT hash(sis_id) AS _sis_hash, enrollment_id, classroom_id, user_id, source_hash
                   FROM enrollments
                   WHERE status = 'active' AND origin = 'sync' {with_sis_id}
                     AND synced_hash = {synced_hash(ENROLLMENTS, "enrollments")}) d
          ON {match} AND d.source_hash = {enrollment_source_hash(ctx, "e")}
        -- The class and the person still resolve to the record's (neither is skipped, archived
        -- or re-keyed in this run), as the full path would resolve them.
        LEFT JOIN {ctx.t("classroom_map")} cm ON cm.sis_id = e.classSourcedId
         AND cm.classroom_id = d.classroom_id
        LEFT JOIN {ctx.t("user_map")} um ON um.sis_id = e.userSourcedId AND um.user_id = d.user_id
         AND NOT um.kept_archived AND cm.classroom_id IS NOT NULL
        """
    )
    ctx.db.execute(
        f"""CREATE OR REPLACE TEMP VIEW {ctx.t("unchanged_enrollments")} AS
            SELECT _line, id FROM {lines} WHERE unchanged"""
    )
    ctx.db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ctx.t("changed_enrollments")} AS
            WITH other AS MATERIALIZED (SELECT _line, _rid FROM {lines} WHERE NOT unchanged)
            SELECT o._line, o._rid FROM other o
            ANTI JOIN (SELECT _line FROM {lines}
                       WHERE unchanged AND _line IN (SELECT _line FROM other)) u
              ON u._line = o._line"""
    )
    return f"""(SELECT s.* FROM {ctx.t("enrollments")} s
                WHERE s._rid IN (SELECT _rid FROM {ctx.t("changed_enrollments")}))"""


def _shaping(ctx: PlanContext, table: str) -> str:
    """What decides how a feed row becomes a record, besides the row: every setting and the
    fields the feed does not speak for in this run."""
    kept = ",".join(sorted(ctx.keep_fields.get(table, set())))
    return sql_literal(f"{ctx.settings.model_dump_json()}|{kept}")


def user_source_hash(ctx: PlanContext, alias: str) -> str:
    """The hash of a normalised feed person (`feed_users`, line aside) and what shaped it.

    Normalised rather than raw: a person's orgs depend on which orgs the run knows, and a
    district guardian's on its students' schools, and both are already worked into the row."""
    feed = ctx.db.columns(ctx.t("feed_users").strip('"'), temporary=True)
    columns = [name for name in feed if name != "_line"]
    values = ", ".join(f"{alias}.{sql_ident(c)}" for c in columns)
    return f"hash({values}, {_shaping(ctx, 'users')})"


def find_unchanged_users(ctx: PlanContext, managed: str) -> None:
    """Feed people whose record is synced, untouched since, and sent again as it was (with
    their place in `feed_users`, `_rid`, by which the others are told apart).

    Only plain cases take the shortcut: one directory record answers to the SIS id and nothing
    else may claim it (no merged record points at it; a student matched by identifier goes the
    full path), the row was normalised without a problem (every org known, no value broken),
    and no rule could say anything about the record (activated or hand-edited contacts).

    As for enrollments, the directory side is narrowed to integers before the join (the SIS id
    strings of 2.5M people on both sides at 1M students): a row taken for another record's
    needs a 64-bit collision of the SIS ids and then the record's source hash, of which the
    SIS id is part, equal to the row's. SIS ids are told apart by their hash too: two records
    whose ids share one both take the full path, as two with one id do."""
    feed = ctx.t("feed_users")
    by_identifier = ctx.settings.student_id == "identifier"
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("unchanged_users")} AS
        SELECT f._file, f._line, f.sis_id, d.user_id AS id, f.kind, f.role, f._rid
        FROM (SELECT *, rowid AS _rid FROM {feed}
              WHERE ({managed}) AND kind IS NOT NULL AND NOT _deleted AND unmatched_orgs IS NULL
                AND NOT coalesce(_broken_org_sis_ids, false) AND NOT coalesce(_broken_birth_date, false)
                AND NOT coalesce(_broken_language, false) AND NOT coalesce(starts_with(role, 'ext:'), true)
                {"AND kind <> 'student'" if by_identifier else ""}) f
        JOIN (SELECT hash(d.sis_id) AS _sis_hash, d.user_id, d.source_hash FROM users d
              WHERE d.status = 'active' AND d.origin = 'sync' AND d.merged_into IS NULL
                AND NOT d.account_active AND NOT d.contacts_edited AND d.sis_id IS NOT NULL
                AND d.synced_hash = {synced_hash(USERS, "d")} AND {_shortcut_allowed()}
                AND d.user_id NOT IN (SELECT merged_into FROM users WHERE merged_into IS NOT NULL)
                AND hash(d.sis_id) NOT IN (SELECT hash(sis_id) FROM users WHERE sis_id IS NOT NULL
                                           GROUP BY 1 HAVING count(*) > 1)) d
          ON d._sis_hash = hash(f.sis_id) AND d.source_hash = {user_source_hash(ctx, "f")}
        """
    )
