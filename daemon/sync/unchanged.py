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

A person's record remembers a third hash, of the raw rows their feed row was normalised from
(`raw_hash`, see raw_key): written with `source_hash`, by the same applies, so a person whose raw
rows are tonight's is recognised before their row is normalised, and is the very person the
normalised row would have found unchanged. The code that normalises is part of that hash:
changing it sends every person through the full path once, and refreshes them.
"""

from __future__ import annotations

import hashlib
import json
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
    district guardian's on its students' schools, and both are already worked into the row.
    The raw row's key (`_raw_key`, see raw_key) is not part of the person."""
    feed = ctx.db.columns(ctx.t("feed_users").strip('"'), temporary=True)
    columns = [name for name in feed if name not in ("_line", "_raw_key")]
    values = ", ".join(f"{alias}.{sql_ident(c)}" for c in columns)
    return f"hash({values}, {_shaping(ctx, 'users')})"


def plain_feed_person(ctx: PlanContext, managed: str) -> str:
    """SQL over a `feed_users` row: normalised without a problem (a kind the sync manages, every
    org known, no value broken, not marked tobedeleted), so its record may take the shortcut."""
    by_identifier = ctx.settings.student_id == "identifier"
    return f"""(({managed}) AND kind IS NOT NULL AND NOT _deleted AND unmatched_orgs IS NULL
                AND NOT coalesce(_broken_org_sis_ids, false) AND NOT coalesce(_broken_birth_date, false)
                AND NOT coalesce(_broken_language, false) AND NOT coalesce(starts_with(role, 'ext:'), true)
                {"AND kind <> 'student'" if by_identifier else ""})"""


def unchanged_user_records(ctx: PlanContext) -> str:
    """The people the shortcut may find (a temporary table, made once a night): synced, untouched
    since (their values hash to `synced_hash`), not merged nor a merge's survivor, no rule to
    say anything of them (activated or hand-edited contacts), alone with their SIS id's hash."""
    records = ctx.t("unchanged_user_records")
    made = ctx.db.one(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'temp' AND table_name = ?",
        [records.strip('"')],
    )
    if not made:
        ctx.db.execute(
            f"""
            CREATE TEMP TABLE {records} AS
            SELECT hash(d.sis_id) AS _sis_hash, d.user_id, d.source_hash, d.raw_hash FROM users d
            WHERE d.status = 'active' AND d.origin = 'sync' AND d.merged_into IS NULL
              AND NOT d.account_active AND NOT d.contacts_edited AND d.sis_id IS NOT NULL
              AND d.synced_hash = {synced_hash(USERS, "d")} AND {_shortcut_allowed()}
              AND d.user_id NOT IN (SELECT merged_into FROM users WHERE merged_into IS NOT NULL)
              AND hash(d.sis_id) NOT IN (SELECT hash(sis_id) FROM users WHERE sis_id IS NOT NULL
                                         GROUP BY 1 HAVING count(*) > 1)
            """
        )
    return records


def find_unchanged_users(ctx: PlanContext, managed: str, recognised: str) -> None:
    """Feed people whose record is synced, untouched since, and sent again as it was (with
    their place in `feed_users`, `_rid`, by which the others are told apart): those recognised
    from their raw row already (`recognised`, SQL: see raw_key), who are not in `feed_users`,
    and the others by their normalised row (`unchanged_users_normalised`).

    Only plain cases take the shortcut: one directory record answers to the SIS id and nothing
    else may claim it (no merged record points at it; a student matched by identifier goes the
    full path), the row was normalised without a problem (every org known, no value broken),
    and no rule could say anything about the record (activated or hand-edited contacts).

    As for enrollments, the directory side is narrowed to integers before the join (the SIS id
    strings of 2.5M people on both sides at 1M students): a row taken for another record's
    needs a 64-bit collision of the SIS ids and then the record's source hash, of which the
    SIS id is part, equal to the row's. SIS ids are told apart by their hash too: two records
    whose ids share one both take the full path, as two with one id do.

    On a night the raw rows are recognised, a record must remember tonight's raw row too (or
    the row none, NULL): one sent again as it was normalised but from another raw row (the
    first night after schema 23, a demographics.csv row changed to the same birth date) is
    refreshed, so the next night knows it from its raw row."""
    feed, normalised = ctx.t("feed_users"), ctx.t("unchanged_users_normalised")
    same_raw = "AND d.raw_hash IS NOT DISTINCT FROM f._raw_key" if raw_shortcut_allowed(ctx) else ""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {normalised} AS
        SELECT f._file, f._line, f.sis_id, d.user_id AS id, f.kind, f.role, f._rid
        FROM (SELECT *, rowid AS _rid FROM {feed} WHERE {plain_feed_person(ctx, managed)}) f
        JOIN {unchanged_user_records(ctx)} d
          ON d._sis_hash = hash(f.sis_id) AND d.source_hash = {user_source_hash(ctx, "f")}
          {same_raw}
        """
    )
    ctx.db.execute(
        f"""CREATE OR REPLACE TEMP VIEW {ctx.t("unchanged_users")} AS
            SELECT _file, _line, sis_id, id, kind, role FROM {recognised}
            UNION ALL SELECT _file, _line, sis_id, id, kind, role FROM {normalised}"""
    )


# What a users.csv row becomes is decided by the SQL hashed into raw_key, and by this: raise it
# when a change outside that SQL (a macro such as rs_clean, the directory's columns) changes
# what a row becomes, so that every person is normalised again once.
RAW_KEY_VERSION = 1


def raw_shortcut_allowed(ctx: PlanContext) -> bool:
    """Whether tonight's people may be recognised from their raw users.csv rows (raw_key).
    The full path (ROSTER_SYNC_FULL_PATH) keys them too, and recognises no one: the records
    then remember the same keys either way.

    Not where a person's row is shaped by rows of other files this key does not hold: roles.csv
    (OneRoster 1.2: a role and orgs from another file, or the directory's), guardians.csv
    (people and the fields a file lacks, row by row), a school-level upload (district guardians
    left out by their students' schools); those nights find the unchanged by their normalised
    rows alone, as before."""
    if ctx.mode("users") == "absent":
        return False
    if "roles" in ctx.specs or ctx.present("guardians") or ctx.scope:
        return False
    hashed = ["users", *(["demographics"] if ctx.present("demographics") else [])]
    return all("_h" in ctx.staged_columns(e) for e in hashed)


def _raw_shaping(ctx: PlanContext, feed_sql: str) -> str:
    """What decides how a raw row becomes a feed person besides the row and its demographics
    row: the SQL that normalises it (this run's names taken out), every setting, the fields
    kept, each file's columns in order (the row hash is of the values in that order), modes,
    file names and vocabularies."""
    text = feed_sql.replace(f'"run{ctx.run_id}_', '"run_').replace(
        f"run_id = {ctx.run_id}", "run_id = ?"
    )
    files = {
        e: [
            ctx.mode(e),
            ctx.file(e),
            sorted(ctx.columns.get(e, set())),
            ctx.staged_columns(e),
        ]
        for e in ("users", "demographics")
    }
    signature = json.dumps(
        [
            RAW_KEY_VERSION,
            text,
            ctx.settings.model_dump_json(),
            sorted(ctx.keep_fields.get("users", set())),
            files,
            ctx.ext_terms,
            sorted(ctx.derived_ids),
        ]
    )
    return sql_literal(hashlib.sha256(signature.encode()).hexdigest())


def raw_key(ctx: PlanContext, feed_sql: str) -> tuple[str, str]:
    """SQL: a users.csv staging row `u`'s raw key, and the join it needs (to demographics.csv).

    A person's feed row (feed/users.py) is made of their users.csv row, their demographics.csv
    row (the birth date), and what shapes both (_raw_shaping, of which `feed_sql`, the SQL that
    normalises the row, is part), besides the orgs the run knows. The key is the hash of the
    first three: the rows' hashes taken as they were read (ingest/load.py `_h`, of which the
    sourcedId is part). A person has a demographics row in the key when one staged row of the
    file has the hash of their sourcedId; with two (a repeat, a collision) or a row in error
    naming them, the key is NULL and they take the full path.

    Apply remembers the key with the source hash, only for a person whose row was normalised
    into a plain one (plain_feed_person): so a record remembering tonight's key was applied
    from the very row tonight's would become, and its source hash is that row's. The record
    must still be untouched since (unchanged_user_records, as for the normalised row), and
    what the key leaves out must give the same tonight (feed/users.py `_placed_as_before`: its
    orgs known, and none whose guardians follow their students' schools). Such a person is the
    one the full path would find unchanged; every other row is normalised."""
    shaping = _raw_shaping(ctx, feed_sql)
    if not ctx.present("demographics"):
        return f"hash(u._h, NULL, {shaping})", ""
    key = f"""CASE WHEN coalesce(dm.n, 1) = 1
                        AND hash(u.sourcedId) NOT IN (
                            SELECT hash(sourcedId) FROM {ctx.errored("demographics")}
                            WHERE sourcedId IS NOT NULL)
                   THEN hash(u._h, dm.h, {shaping}) END"""
    join = f"""LEFT JOIN (
            SELECT hash(sourcedId) AS sh, any_value(_h) AS h, count(*) AS n
            FROM {ctx.t("demographics")} WHERE sourcedId IS NOT NULL GROUP BY 1) dm
          ON dm.sh = hash(u.sourcedId)"""
    return key, join


def anyone_to_recognise(ctx: PlanContext) -> bool:
    """Whether any person may be found unchanged (not on a first load)."""
    return bool(
        ctx.db.one("SELECT EXISTS (FROM users WHERE status = 'active' AND origin = 'sync')")
    )


# What a feed row of a person recognised from their raw row holds, as SQL over `user_lines`
# (sync/feed/users.py): those later steps read of every person.
_RECOGNISED = (
    "id",
    "sis_id",
    "role",
    "kind",
    "agents",
    "org_sis_ids",
    "_line",
    "_file",
    "_deleted",
)


def recognised_people(ctx: PlanContext, *columns: str) -> str:
    """SQL: the people recognised from their raw rows tonight (not in feed_users), with
    `columns` (all unless told) of: their record (`id`), and as a feed row has them, sis_id,
    role, kind, agents, org_sis_ids, _line, _file and _deleted (never: a row marked
    tobedeleted is not plain)."""
    made = {"_file": f"{sql_literal(ctx.file('users'))} AS _file", "_deleted": "false AS _deleted"}
    names = ", ".join(made.get(c, c) for c in columns or _RECOGNISED)
    return f"(SELECT {names} FROM {ctx.t('user_lines')} WHERE id IS NOT NULL)"


def feed_people(ctx: PlanContext, *columns: str) -> str:
    """SQL: every person of the feed with `columns` (of those recognised_people gives but the
    id): the normalised ones (feed_users) and those recognised from their raw rows."""
    names = ", ".join(columns)
    return f"""(SELECT {names} FROM {ctx.t("feed_users")}
                UNION ALL SELECT {names} FROM {recognised_people(ctx, *columns)})"""
