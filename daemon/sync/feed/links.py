"""Guardian links and student attributes of the feed as desired rows."""

from __future__ import annotations

from daemon.db import sql_literal
from daemon.sync.context import PlanContext
from daemon.sync.unchanged import feed_people


def build_desired_links(ctx: PlanContext) -> None:
    """Pairs from agentSourcedIds on either side and from guardians.csv, one row per pair.

    People are resolved to ids first, so pairs are grouped as integers; a pair naming someone
    the sync does not carry (a relative not synced, a dangling id) simply does not form. New
    links are numbered in file order, so two databases loaded from the same drop agree.
    """
    base = ctx.max_id("guardian_links", "link_id")
    user_map = ctx.t("user_map")
    # A pair one of whose rows names a held person (its row in error, say) keeps its link as
    # it is: those rows say why (not_synced), and the link is not made, changed or archived.
    held = ctx.held_sis("user")
    agents = f"""(SELECT sis_id, rs_clean(unnest(string_split(agents, ','))) AS agent, role, _line
                  FROM {feed_people(ctx, "sis_id", "agents", "role", "_line")}
                  WHERE agents IS NOT NULL)"""
    sources = [
        f"""SELECT s.user_id AS student_id, g.user_id AS guardian_id, g.role, false AS _deleted, 0 AS _src, a._line,
                   a.sis_id IN ({held}) OR a.agent IN ({held}) AS _held
            FROM {agents} a JOIN {user_map} s ON s.sis_id = a.sis_id AND s.kind = 'student'
            JOIN {user_map} g ON g.sis_id = a.agent AND g.kind = 'guardian'
            WHERE a.role = 'student'""",
        f"""SELECT s.user_id, g.user_id, g.role, false, 0, a._line,
                   a.sis_id IN ({held}) OR a.agent IN ({held})
            FROM {agents} a JOIN {user_map} g ON g.sis_id = a.sis_id AND g.kind = 'guardian'
            JOIN {user_map} s ON s.sis_id = a.agent AND s.kind = 'student'
            WHERE a.role IN ('parent', 'guardian', 'relative')""",
    ]
    if ctx.present("guardians"):
        # Each row is one guardian and one child, with its own relationship: a pair whose
        # relationship guardian_roles does not count is no guardian's link.
        counted = ", ".join(sql_literal(r) for r in ctx.settings.guardian_roles)
        sources.append(
            f"""SELECT s.user_id, g.user_id, lower(x.relationship),
                       coalesce(lower(rs_clean(x.status)), '') = 'tobedeleted',
                       1, x._line,
                       rs_clean(x.studentSourcedId) IN ({held}) OR rs_clean(x.sourcedId) IN ({held})
                FROM {ctx.good("guardians")} x
                JOIN {user_map} s ON s.sis_id = rs_clean(x.studentSourcedId) AND s.kind = 'student'
                JOIN {user_map} g ON g.sis_id = rs_clean(x.sourcedId) AND g.kind = 'guardian'
                WHERE lower(x.relationship) IN ({counted})"""
        )
    # guardians.csv says the pair's relationship; users.csv the person's role. Its earliest
    # line, guardians.csv's first, as one integer (a line is far below 2^62): a list [-_src,
    # _line] per row cost 0.5 s of CPU at 1M. Without guardians.csv every row is users.csv's
    # and none is deleted: two aggregates fewer over 3.3M rows at 1M (0.8 s of CPU).
    pair = """arg_min(role, _line) AS relationship, false AS _deleted, 0 AS _src"""
    if ctx.present("guardians"):
        pair = """arg_min(role, _line - _src * 4611686018427387904) AS relationship,
                  bool_and(_deleted) AS _deleted, arg_min(_src, _line) AS _src"""
    # Sources are numbered (0: users.csv, 1: guardians.csv) so pairs group on integers only.
    users_file, guardians_file = sql_literal(ctx.file("users")), sql_literal(ctx.file("guardians"))
    managed = "" if ctx.settings.manage_guardians else "WHERE false"
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("desired_guardian_links")} AS
        WITH f AS (
            SELECT student_id, guardian_id, {pair}, min(_line) AS _line, bool_or(_held) AS _held
            FROM ({" UNION ALL ".join(sources)}) {managed}
            GROUP BY student_id, guardian_id
        ),
        linked AS MATERIALIZED (
            SELECT f.* EXCLUDE (_src, _deleted), f._deleted AND NOT f._held AS _deleted,
                   CASE f._src WHEN 0 THEN {users_file} ELSE {guardians_file} END AS _file,
                   CAST(NULL AS VARCHAR) AS _label, false AS _unresolved, k.link_id AS _target_id,
                   f._held AS _skip
            FROM f LEFT JOIN guardian_links k
              ON k.student_id = f.student_id AND k.guardian_id = f.guardian_id
        )
        -- Only the new links are numbered (in file order): a window over every link sorted the
        -- 1.65M links that keep their id too (1.6 s of CPU at 1M students).
        SELECT *, _target_id AS _id FROM linked WHERE _target_id IS NOT NULL
        UNION ALL
        SELECT *, {base} + row_number() OVER (ORDER BY _line, student_id, guardian_id) AS _id
        FROM linked WHERE _target_id IS NULL
        """
    )


def build_desired_attributes(ctx: PlanContext) -> None:
    base = ctx.max_id("student_attributes", "attribute_id")
    rows = "SELECT NULL AS student_sis, NULL AS name, NULL AS value, false AS _deleted, NULL AS _file, NULL::BIGINT AS _line WHERE false"
    if ctx.present("student_attributes"):
        rows = f"""SELECT a.studentSourcedId AS student_sis, a.name AS name,
                          a.value AS value,
                          coalesce(lower(a.status), '') = 'tobedeleted' AS _deleted,
                          {sql_literal(ctx.file("student_attributes"))} AS _file, a._line AS _line
                   FROM {ctx.good("student_attributes")} a"""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("desired_student_attributes")} AS
        WITH f AS (
            SELECT s.user_id AS student_id, r.name, r.value, r._deleted, r._file, r._line,
                   r.student_sis || ': ' || r.name AS _label, s.user_id IS NULL AS _unresolved,
                   coalesce(r.student_sis IN ({ctx.held_sis("user")}), false) AS _held
            FROM ({rows}) r
            LEFT JOIN {ctx.t("user_map")} s
              ON s.sis_id = r.student_sis AND s.kind = 'student' AND NOT s.kept_archived
        ),
        keys AS (SELECT student_id, name, attribute_id AS aid FROM student_attributes)
        SELECT f.*, k.aid AS _target_id,
               -- a held student keeps its attributes as they are (not_synced says why)
               f._unresolved OR f._held AS _skip,
               coalesce(k.aid, {base} + f._line) AS _id
        FROM f LEFT JOIN keys k ON k.student_id = f.student_id AND k.name = f.name
        """
    )
