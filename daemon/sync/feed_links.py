"""Guardian links and student attributes of the feed as desired rows."""

from __future__ import annotations

from daemon.db import sql_literal
from daemon.sync.context import PlanContext


def build_desired_links(ctx: PlanContext) -> None:
    """Pairs from agentSourcedIds on either side and from guardians.csv, one row per pair."""
    base = ctx.max_id("guardian_links", "link_id")
    sources = [
        f"""SELECT u.sis_id AS student_sis, trim(a.agent) AS guardian_sis, false AS _deleted, u._file, u._line
            FROM {ctx.t("feed_users")} u, unnest(u.agent_sis_ids) AS a(agent)
            WHERE u.role = 'student'""",
        f"""SELECT trim(a.agent), u.sis_id, false, u._file, u._line
            FROM {ctx.t("feed_users")} u, unnest(u.agent_sis_ids) AS a(agent)
            WHERE u.role IN ('parent', 'guardian', 'relative')""",
    ]
    if ctx.present("guardians"):
        sources.append(
            f"""SELECT trim(g.studentSourcedId), trim(g.sourcedId),
                       coalesce(lower(trim(g.status)), '') = 'tobedeleted',
                       {sql_literal(ctx.file("guardians"))}, g._line
                FROM {ctx.good("guardians")} g"""
        )
    managed = "" if ctx.settings.manage_guardians else "WHERE false"
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TABLE {ctx.t("desired_guardian_links")} AS
        WITH pairs AS (
            SELECT student_sis, guardian_sis, bool_and(_deleted) AS _deleted,
                   arg_min(_file, _line) AS _file, min(_line) AS _line
            FROM ({" UNION ALL ".join(sources)}) {managed}
            GROUP BY student_sis, guardian_sis
        ),
        f AS (
            SELECT s.user_id AS student_id, g.user_id AS guardian_id, gu.role AS relationship,
                   p._deleted, p._file, p._line, p.guardian_sis || ' for ' || p.student_sis AS _label,
                   s.user_id IS NULL OR g.user_id IS NULL AS _unresolved
            FROM pairs p
            LEFT JOIN {ctx.t("user_map")} s ON s.sis_id = p.student_sis AND s.kind = 'student'
            LEFT JOIN {ctx.t("user_map")} g ON g.sis_id = p.guardian_sis AND g.kind = 'guardian'
            LEFT JOIN (SELECT _id AS user_id, role FROM {ctx.t("desired_users")} WHERE NOT _skip
                       UNION ALL
                       SELECT user_id, role FROM users
                       WHERE user_id NOT IN (SELECT _id FROM {ctx.t("desired_users")})) gu
                   ON gu.user_id = g.user_id
        ),
        keys AS (SELECT student_id, guardian_id, min(link_id) AS lid
                 FROM guardian_links GROUP BY student_id, guardian_id)
        SELECT f.*, k.lid AS _target_id, f._unresolved AS _skip,
               coalesce(k.lid, {base} + row_number() OVER (PARTITION BY k.lid IS NULL ORDER BY f._file, f._line)) AS _id
        FROM f LEFT JOIN keys k ON k.student_id = f.student_id AND k.guardian_id = f.guardian_id
        """
    )


def build_desired_attributes(ctx: PlanContext) -> None:
    base = ctx.max_id("student_attributes", "attribute_id")
    rows = "SELECT NULL AS student_sis, NULL AS name, NULL AS value, false AS _deleted, NULL AS _file, NULL::BIGINT AS _line WHERE false"
    if ctx.present("student_attributes"):
        rows = f"""SELECT trim(a.studentSourcedId) AS student_sis, trim(a.name) AS name,
                          a.value AS value,
                          coalesce(lower(trim(a.status)), '') = 'tobedeleted' AS _deleted,
                          {sql_literal(ctx.file("student_attributes"))} AS _file, a._line AS _line
                   FROM {ctx.good("student_attributes")} a"""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TABLE {ctx.t("desired_student_attributes")} AS
        WITH f AS (
            SELECT s.user_id AS student_id, r.name, r.value, r._deleted, r._file, r._line,
                   r.student_sis || ': ' || r.name AS _label, s.user_id IS NULL AS _unresolved
            FROM ({rows}) r
            LEFT JOIN {ctx.t("user_map")} s ON s.sis_id = r.student_sis AND s.kind = 'student'
        ),
        keys AS (SELECT student_id, name, min(attribute_id) AS aid
                 FROM student_attributes GROUP BY student_id, name)
        SELECT f.*, k.aid AS _target_id, f._unresolved AS _skip,
               coalesce(k.aid, {base} + row_number() OVER (PARTITION BY k.aid IS NULL ORDER BY f._line)) AS _id
        FROM f LEFT JOIN keys k ON k.student_id = f.student_id AND k.name = f.name
        """
    )
