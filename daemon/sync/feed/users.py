"""The feed's people (students, staff, guardians), their links and attributes, as desired rows.

Each `desired_*` table holds one row per record the feed wants, shaped like the directory table,
with `_target_id` (the matched directory record, NULL when new), `_id` (the id it will have) and
provenance (`_file`, `_line`, `_label`). Matching honours merged tombstones and the student_id
setting.
"""

from __future__ import annotations

from daemon.db import sql_literal
from daemon.formats.spec import NOT_CARRIED_COLUMN, STAFF_ROLES
from daemon.ingest.value_rules import listed_names
from daemon.sync.context import NOT_A_GUARDIAN, PlanContext
from daemon.sync.diff import BY_HAND_NOTE, LeftOutBySetting, add_archives, record_changes
from daemon.sync.kinds import USER_CHANGE_KINDS_SQL, USERS
from daemon.sync.scope import OUT_OF_SCOPE, record_filter
from daemon.sync.unchanged import (
    anyone_to_recognise,
    feed_people,
    find_unchanged_users,
    plain_feed_person,
    raw_key,
    raw_shortcut_allowed,
    recognised_people,
    unchanged_user_records,
    user_source_hash,
)

LANGUAGE_OK = r"^[a-z]{2,3}([-_][a-z0-9]{2,8})*$"

# Directory fields and the users.csv column each comes from: a run whose file lacks the column,
# or whose drop does not carry it (`source.notCarried`), leaves the field as records have it.
USER_COLUMNS = {
    "given_name": "givenName",
    "family_name": "familyName",
    "username": "username",
    "enabled": "enabledUser",
    "middle_name": "middleName",
    "identifier": "identifier",
    "email": "email",
    "grades": "grades",
    "preferred_given_name": "preferredGivenName",
    "user_ids": "userIds",
}
# The orgs a user names that are not known this run (a list of one when only one is named).
UNMATCHED_ORGS = """CASE WHEN contains(f.raw_orgs, ',') THEN m.unmatched_orgs
                         WHEN f.raw_orgs IS NOT NULL AND k.id IS NULL THEN [f.raw_orgs] END"""


def build_feed_users(ctx: PlanContext) -> None:
    """Normalise users.csv (+ roles.csv, demographics.csv, guardians.csv) into feed_users.

    A person recognised from their raw row (sync/unchanged.py raw_key) is not normalised, nor
    in feed_users: `user_lines` holds them with what later steps read of everyone (their
    record, id, role and kind, agents, orgs, line; feed_people reads both)."""
    mobile, home = phone_columns(ctx)
    kept = users_fields_kept(ctx, mobile, home)
    if kept:
        ctx.keep_fields.setdefault("users", set()).update(kept)
    rows, keyed = _rows_to_normalise(ctx, mobile, home)
    ctx.db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ctx.t("feed_users")} AS
            {_feed_rows(ctx, mobile, home, rows, keyed)}"""
    )
    _district_guardians_at_their_students_schools(ctx)
    ctx.checked_fields["users"] = list(dict.fromkeys([
        "birth_date", "language", "org_sis_ids", "email", "mobile_phone", "home_phone", "grades",
        "user_ids", *_not_carried_per_row(ctx, mobile, home),
    ]))  # fmt: skip
    report_users_without_a_role(ctx)
    if ctx.present("guardians"):
        _report_guardian_rows_naming_no_guardian(ctx)
        _add_guardians_file_people(ctx, mobile, home)
        _rows_keep_what_their_file_lacks(ctx, mobile, home)
    if ctx.present("roles") and ctx.mode("users") != "bulk":
        _report_roles_without_their_user(ctx)
    if ctx.present("demographics") and ctx.mode("users") != "bulk":
        _add_demographics_only_people(ctx)


def _rows_to_normalise(ctx: PlanContext, mobile: str, home: str) -> tuple[str, bool]:
    """The users.csv rows to normalise (SQL), and whether they carry their raw key. Makes
    `user_lines`: tonight's people recognised from their raw rows (empty without any)."""
    lines = ctx.t("user_lines")
    ctx.db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {lines} (
                _rid BIGINT, _raw_key UBIGINT, id BIGINT, sis_id VARCHAR, role VARCHAR,
                kind VARCHAR, agents VARCHAR, org_sis_ids VARCHAR, _line BIGINT)"""
    )
    if not raw_shortcut_allowed(ctx):
        return ctx.good("users"), False
    key, demographics = raw_key(ctx, _feed_rows(ctx, mobile, home, ctx.good("users")))
    if not anyone_to_recognise(ctx):  # a first load: the key alone, for apply to remember
        return f"(SELECT u.*, {key} AS _raw_key FROM {ctx.good('users')} u {demographics})", True
    role, orgs, joins = _role_and_orgs(ctx)
    assert not joins, "roles.csv shapes the row: raw_shortcut_allowed says no"
    # Made anew rather than inserted into: a table made by its query is written in parallel.
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {lines} AS
        SELECT CAST(k._rid AS BIGINT) AS _rid, CAST(k._raw_key AS UBIGINT) AS _raw_key,
               CAST(CASE WHEN k.placed THEN d.user_id END AS BIGINT) AS id, k.sis_id, k.role,
               {_kind_of_role(ctx, "k.role")} AS kind, k.agents, k.org_sis_ids,
               CAST(k._line AS BIGINT) AS _line
        FROM (SELECT u._rid, {key} AS _raw_key, hash(rs_clean(u.sourcedId)) AS _sis_hash,
                     {_placed_as_before(ctx)} AS placed, rs_clean(u.sourcedId) AS sis_id,
                     {role} AS role, {ctx.column("users", "agentSourcedIds", "u")} AS agents,
                     {orgs} AS org_sis_ids, u._line
              FROM {ctx.good("users")} u {demographics}) k
        LEFT JOIN {unchanged_user_records(ctx)} d
          ON d._sis_hash = k._sis_hash AND d.raw_hash = k._raw_key
        """
    )
    return (
        f"""(SELECT s.*, l._raw_key FROM {ctx.t("users")} s
             JOIN (SELECT _rid, _raw_key FROM {lines} WHERE id IS NULL) l ON l._rid = s._rid)""",
        True,
    )


def _feed_rows(ctx: PlanContext, mobile: str, home: str, rows: str, keyed: bool = False) -> str:
    """SQL: the feed people normalised from users.csv's `rows` (good staging rows; `keyed`:
    with `_raw_key`, each row's raw key)."""
    raw = "u._raw_key" if keyed else "CAST(NULL AS UBIGINT)"
    # `raw` is read twice, and cheaper so: once whole, and once for the few users naming several
    # orgs (`orgs`: the good rows without their birth dates, whose join the second read needs
    # no more than the first's columns; a person recognised from a raw row names one org). Materialised, every column of every user was written aside first: at 3M students
    # 6 GB spilled, 14.4 s against 6.9 (in a 1.2 drop of 1M: no difference).
    return f"""
        WITH raw AS NOT MATERIALIZED ({_users_rows(ctx, mobile, home, rows=rows, raw_key=raw)}),
        orgs AS NOT MATERIALIZED ({_users_rows(ctx, mobile, home, birth_dates=False)}),
        known AS (SELECT DISTINCT id FROM ({_known_orgs(ctx)})),
        multi AS ({_org_lists_split("orgs")})
        SELECT f.* EXCLUDE (raw_orgs),
               CASE WHEN contains(f.raw_orgs, ',') THEN m.org_sis_ids ELSE k.id END AS org_sis_ids,
               {_kind_of_role(ctx, "f.role")} AS kind,
               {UNMATCHED_ORGS} AS unmatched_orgs,
               {_names_an_org_not_synced(ctx)} AS _broken_org_sis_ids
        FROM raw f
        LEFT JOIN known k ON k.id = f.raw_orgs
        LEFT JOIN multi m ON m.sis_id = f.sis_id"""


def _placed_as_before(ctx: PlanContext) -> str:
    """SQL over a staging row `u` of users.csv: its orgs make what they made when its raw key
    was remembered (the key holds the row, not which orgs the run knows): none, or one org the
    run knows (a list is split and sorted, so it goes the full path), and not one whose
    guardians follow their students' schools (a district: _district_guardians_at_...)."""
    orgs = ctx.column("users", "orgSourcedIds", "u")
    return f"""coalesce({orgs} IS NULL OR (NOT contains({orgs}, ',')
                   AND {orgs} IN ({_known_orgs(ctx)})
                   AND {orgs} NOT IN ({_district_orgs(ctx)})), false)"""


def _district_orgs(ctx: PlanContext) -> str:
    """SQL: the SIS ids of the district orgs, the drop's and the directory's."""
    return f"""SELECT sis_id FROM {ctx.t("desired_schools")}
               WHERE org_type = 'district' AND sis_id IS NOT NULL
               UNION
               SELECT m.sis_id FROM school_sis_ids m JOIN schools d USING (school_id)
               WHERE d.org_type = 'district' AND m.sis_id IS NOT NULL"""


def _district_guardians_at_their_students_schools(ctx: PlanContext) -> None:
    """A guardian whose only org is the district (common from ClassLink, whose contacts belong
    to the district) belongs to the schools of the students it is linked to, on either side of
    agentSourcedIds; one linked to no student keeps the district. The students the feed does
    not speak for tonight (left out of a delta users.csv, or named by a row in error) count as
    the directory holds them, with their links."""
    feed = ctx.t("feed_users")
    people = feed_people(ctx, "sis_id", "kind", "agents", "org_sis_ids", "_deleted")
    students_in_feed = f"SELECT sis_id FROM {people} WHERE kind = 'student'"
    as_stored = f"s.sis_id NOT IN ({students_in_feed})"
    if ctx.mode("users") == "bulk":
        as_stored += f""" AND s.sis_id IN (SELECT sourcedId FROM {ctx.errored("users")}
                                           WHERE sourcedId IS NOT NULL)"""
    directory_students = f"""UNION ALL
            SELECT s.sis_id, s.org_sis_ids FROM users s
            WHERE s.kind = 'student' AND s.status = 'active' AND s.sis_id IS NOT NULL
              AND {as_stored}"""
    directory_links = f"""UNION
            SELECT g.sis_id, s.sis_id FROM guardian_links l
            JOIN users g ON g.user_id = l.guardian_id JOIN users s ON s.user_id = l.student_id
            WHERE l.status = 'active' AND {as_stored}"""
    district_only = ctx.t("district_guardians")
    found = ctx.db.one(  # (CREATE TABLE AS answers with the number of rows it wrote)
        f"""CREATE OR REPLACE TEMP TABLE {district_only} AS
            SELECT sis_id, agents FROM {feed}
            WHERE kind = 'guardian' AND org_sis_ids IN ({_district_orgs(ctx)})"""
    )
    if not found:
        # Most districts place guardians at schools: then there is nothing to work out, and
        # pairing every student's agents only to find no district guardian among them cost
        # a second of a 1M-student night.
        ctx.db.execute(f"DROP TABLE {district_only}")
        return
    ctx.db.execute(
        f"""
        UPDATE {feed} f SET org_sis_ids = s.orgs
        FROM (
            WITH district_only AS (SELECT * FROM {district_only}),
            students AS (
                SELECT sis_id, org_sis_ids FROM {people} WHERE kind = 'student' AND NOT _deleted
                {directory_students}
            ),
            pairs AS (
                SELECT sis_id AS guardian, trim(unnest(string_split(agents, ','))) AS student
                FROM district_only WHERE agents IS NOT NULL
                UNION
                SELECT trim(unnest(string_split(st.agents, ','))) AS guardian, st.sis_id
                FROM {people} st
                WHERE st.kind = 'student' AND st.agents IS NOT NULL AND NOT st._deleted
                {directory_links}
            )
            SELECT p.guardian AS sis_id,
                   array_to_string(list_sort(list_distinct(list(o.org))), ',') AS orgs
            FROM pairs p
            JOIN students st ON st.sis_id = p.student
            CROSS JOIN unnest(string_split(st.org_sis_ids, ',')) AS o(org)
            WHERE p.guardian IN (SELECT sis_id FROM district_only) AND o.org <> ''
            GROUP BY p.guardian
        ) s
        WHERE f.sis_id = s.sis_id AND f.kind = 'guardian' AND s.orgs <> ''
        """
    )
    if ctx.scope:
        _leave_out_district_guardians_of_other_schools(ctx, district_only)
    ctx.db.execute(f"DROP TABLE {district_only}")


def _leave_out_district_guardians_of_other_schools(ctx: PlanContext, district_only: str) -> None:
    """A school-level upload speaks for a district guardian only when all its students' schools
    are the run's (sync/scope.py): the others are left out as rows naming another school are,
    so their records stay as they are (another upload, or a full run, speaks for them)."""
    feed, users_file = ctx.t("feed_users"), sql_literal(ctx.file("users"))
    scope = ", ".join(sql_literal(s) for s in ctx.scope)
    outside = f"""SELECT f._line, f.sis_id, f.org_sis_ids FROM {feed} f
                  SEMI JOIN {district_only} d ON d.sis_id = f.sis_id
                  WHERE f._file = {users_file} AND NOT list_has_all(
                      [{scope}], string_split(coalesce(f.org_sis_ids, ''), ','))"""
    ctx.db.execute(
        f"""INSERT INTO row_issues
            SELECT {ctx.run_id}, {users_file}, _line, sis_id, 'WARNING', 'orgSourcedIds',
                   {sql_literal(OUT_OF_SCOPE)},
                   {users_file} || ' line ' || _line || ': names the district, and its students '
                   || 'are at ' || coalesce(org_sis_ids, 'no school') || {
            sql_literal(f", not only this run's schools ({', '.join(ctx.scope)}); not synced")
        }
            FROM ({outside})"""
    )
    ctx.db.execute(
        f"DELETE FROM {feed} WHERE _line IN (SELECT _line FROM ({outside})) AND _file = {users_file}"
    )


def phone_columns(ctx: PlanContext) -> tuple[str, str]:
    """The users.csv columns of the mobile and the home number (phone_credential_column)."""
    return ("sms", "phone") if ctx.settings.phone_credential_column == "sms" else ("phone", "sms")


def users_fields_kept(ctx: PlanContext, mobile: str, home: str) -> set[str]:
    """Fields the feed cannot speak for in this run (no column, or a setting leaves them to the
    directory): records keep what they have."""
    columns = ctx.columns.get("users", set())
    kept = {field for field, column in USER_COLUMNS.items() if column not in columns}
    if "birthDate" not in ctx.columns.get("demographics", set()):
        kept.add("birth_date")
    if not ctx.settings.update_language or not ({"language", "metadata.language"} & columns):
        kept.add("language")
    if mobile not in columns:
        kept.add("mobile_phone")
    if home not in columns:
        kept.add("home_phone")
    if "orgSourcedIds" not in columns and "roles" not in ctx.specs:
        kept.add("org_sis_ids")
    # guardians.csv speaks for the names and contacts it has a column for, users.csv or not (a
    # drop of guardians.csv alone lost every e-mail and phone in it); which rows keep a field
    # their own file lacks is settled row by row (_rows_keep_what_their_file_lacks).
    kept -= _fields_carried(ctx, "guardians", mobile, home)
    return kept


def _fields_carried(ctx: PlanContext, entity: str, mobile: str, home: str) -> set[str]:
    """The names and contact fields a people file of this drop has a column for (and carries)."""
    if not ctx.present(entity):
        return set()
    columns = ctx.columns.get(entity, set())
    language = {"language", "metadata.language"} if entity == "users" else {"language"}
    carried = {
        "given_name": "givenName" in columns,
        "family_name": "familyName" in columns,
        "email": "email" in columns,
        "mobile_phone": mobile in columns,
        "home_phone": home in columns,
        "language": ctx.settings.update_language and bool(language & columns),
    }
    return {field for field, has in carried.items() if has}


def _rows_keep_what_their_file_lacks(ctx: PlanContext, mobile: str, home: str) -> None:
    """users.csv and guardians.csv rows side by side, one file with a name or contact column the
    other lacks (or does not carry): a row of the file without it keeps the record's value (a missing column is not an
    empty one), through the same per-row flag as a value that broke its rule."""
    users = _fields_carried(ctx, "users", mobile, home)
    guardians = _fields_carried(ctx, "guardians", mobile, home)
    feed = ctx.t("feed_users")
    for entity, fields in (("users", guardians - users), ("guardians", users - guardians)):
        for name in sorted(fields):
            flag = f"_broken_{name}"
            ctx.db.execute(f"ALTER TABLE {feed} ADD COLUMN IF NOT EXISTS {flag} BOOLEAN")
            ctx.db.execute(
                f"UPDATE {feed} SET {flag} = true WHERE _file = {sql_literal(ctx.file(entity))}"
            )
            if name not in ctx.checked_fields["users"]:
                ctx.checked_fields["users"].append(name)


def _not_carried_per_row(ctx: PlanContext, mobile: str, home: str) -> dict[str, str]:
    """Directory field -> users.csv column, for the columns a row may declare it has no data
    for (Roster Sync's `metadata.rosterSync.notCarried`: a hub with phones for contacts only,
    grades for students only). Empty when the file lacks that column."""
    if NOT_CARRIED_COLUMN not in ctx.columns.get("users", set()):
        return {}
    return {
        "mobile_phone": mobile,
        "home_phone": home,
        "grades": "grades",
        "identifier": "identifier",
    }


def _not_carried(ctx: PlanContext, mobile: str, home: str) -> dict[str, str]:
    """Directory field -> SQL, per declarable field: the row names the column as not carried
    and its cell is empty, so the record keeps its value (policies.keep_stored_values); a value
    the row does give is used. A new record simply gets none. A cell that cannot be read whole
    (a name that is none of them: its row has a WARNING) is read as naming them all."""
    fields = _not_carried_per_row(ctx, mobile, home)
    named = listed_names(ctx.column("users", NOT_CARRIED_COLUMN, "u"))
    unreadable = ctx.broken("users", NOT_CARRIED_COLUMN, "u")
    return {
        field: f"(coalesce(list_contains({named}, {sql_literal(column.lower())}), false) "
        f"OR {unreadable}) AND {ctx.column('users', column, 'u')} IS NULL"
        for field, column in fields.items()
    }


def _contact_columns(mobile: str, home: str) -> dict[str, str]:
    """Directory contact field -> the column of users.csv and guardians.csv it comes from."""
    return {"email": "email", "mobile_phone": mobile, "home_phone": home}


def _checked_values(
    ctx: PlanContext, entity: str, alias: str, fields: dict[str, str], kept: dict[str, str]
) -> str:
    """`PlanContext.checked` of each field (directory field -> the file's column)."""
    return ", ".join(
        ctx.checked(entity, column, field, alias, kept.get(field))
        for field, column in fields.items()
    )


def _users_rows(
    ctx: PlanContext,
    mobile: str,
    home: str,
    birth_dates: bool = True,
    rows: str | None = None,
    raw_key: str = "CAST(NULL AS UBIGINT)",
) -> str:
    """One row per users.csv row of `rows` (the good ones unless told), shaped like the
    directory's users (orgs still raw); without `birth_dates`, demographics.csv is not read
    (its join gives each row one match). `raw_key`: SQL, the row's raw key (`_raw_key`)."""
    role, orgs, role_joins = _role_and_orgs(ctx)
    birth_date, birth_broken, demographics_join = _birth_date(ctx)
    if not birth_dates:
        birth_date, birth_broken, demographics_join = "CAST(NULL AS VARCHAR)", "false", ""
    kept = _not_carried(ctx, mobile, home)
    language = f"lower(coalesce({ctx.column('users', 'language', 'u')}, {ctx.column('users', 'metadata.language', 'u')}))"
    return f"""
        SELECT rs_clean(u.sourcedId) AS sis_id, {role} AS role,
               {ctx.checked("users", "identifier", "identifier", "u", kept.get("identifier"))},
               {ctx.column("users", "username", "u")} AS username,
               {ctx.checked("users", "userIds", "user_ids", "u")},
               {ctx.column("users", "givenName", "u")} AS given_name,
               {ctx.column("users", "familyName", "u")} AS family_name,
               {ctx.column("users", "middleName", "u")} AS middle_name,
               {ctx.column("users", "preferredGivenName", "u")} AS preferred_given_name,
               {_checked_values(ctx, "users", "u", _contact_columns(mobile, home), kept)},
               {_language_columns(ctx, language)},
               {ctx.checked("users", "grades", "grades", "u", kept.get("grades"))},
               {birth_date} AS birth_date, {birth_broken} AS _broken_birth_date,
               {orgs} AS raw_orgs,
               lower({ctx.column("users", "enabledUser", "u")}) = 'true' AS enabled,
               {ctx.column("users", "agentSourcedIds", "u")} AS agents,
               coalesce(lower(rs_clean(u.status)), '') = 'tobedeleted' AS _deleted,
               {sql_literal(ctx.file("users"))} AS _file, u._line AS _line,
               {raw_key} AS _raw_key
        FROM {rows or ctx.good("users")} u {role_joins} {demographics_join}"""


def _role_and_orgs(ctx: PlanContext) -> tuple[str, str, str]:
    """A user's role and orgs (SQL), and the joins they need: users.csv's own columns, then
    roles.csv (1.2), then, without a whole roles.csv, what the directory has."""
    role = f"lower({ctx.column('users', 'role', 'u')})"
    orgs = ctx.column("users", "orgSourcedIds", "u")
    joins = ""
    if ctx.mode("roles") == "bulk":
        joins = _roles_file_join(ctx)
        role, orgs = f"coalesce({role}, r.role)", f"coalesce({orgs}, r.orgs)"
    elif "roles" in ctx.specs:
        joins = _directory_roles_join()
        if ctx.present("roles"):
            joins = _roles_changes_join(ctx) + " " + joins
            role = f"coalesce({role}, r.primary_role, dir.role, r.role)"
            orgs = f"coalesce({orgs}, {_orgs_after_role_changes()})"
        else:
            role, orgs = f"coalesce({role}, dir.role)", f"coalesce({orgs}, dir.org_sis_ids)"
    return _mapped_role(ctx, role), orgs, joins


_LIVE_ROLE = "coalesce(lower(status), '') <> 'tobedeleted'"


def _roles_at_unknown_orgs(ctx: PlanContext) -> str:
    """SQL: the roles.csv rows (`_line`, `sourcedId`, `userSourcedId`, `orgSourcedId`) whose org
    neither the drop nor the directory knows (validation's WARNING on orgSourcedId). Such a
    role is not used, as a users.csv org no one knows is not (1.1): the role stays as it was
    (roles_not_applied), and so does what it gives its user (_roles_file_join)."""
    roles_file = sql_literal(ctx.file("roles"))
    return f"""SELECT r._line, r.sourcedId, r.userSourcedId, r.orgSourcedId FROM {ctx.good("roles")} r
               SEMI JOIN (SELECT line FROM row_issues
                          WHERE run_id = {ctx.run_id} AND file_name = {roles_file}
                            AND rule = 'dangling_reference' AND column_name = 'orgSourcedId') i
                 ON i.line = r._line"""


def _roles_used(ctx: PlanContext) -> str:
    """The good roles.csv rows the plan reads a user's roles from (not those at an unknown org)."""
    return f"""(SELECT * FROM {ctx.good("roles")}
                WHERE _line NOT IN (SELECT _line FROM ({_roles_at_unknown_orgs(ctx)})))"""


def _roles_file_join(ctx: PlanContext) -> str:
    """roles.csv (1.2): a user's primary role (else the first listed), and every org it has a
    role in. Ties go to the earlier line, so the same file always gives the same role. A
    `tobedeleted` row is a role that ended, in a whole file as in a delta (as on users.csv): it
    gives neither the role nor its org; a user left with none has no role (an ERROR, the record
    kept). A row at an org no one knows is not used: the role it names counts as it was kept
    (`sis_roles`, where apply leaves it as it is), so its user keeps that school."""
    return f"""LEFT JOIN (
            SELECT userSourcedId AS sis_id,
                   arg_min(lower(role), [CASE lower(roleType) WHEN 'primary' THEN 0 ELSE 1 END, _line])
                       FILTER (WHERE {_LIVE_ROLE}) AS role,
                   string_agg(DISTINCT orgSourcedId, ',') FILTER (WHERE {_LIVE_ROLE}) AS orgs
            FROM (SELECT userSourcedId, role, roleType, orgSourcedId, status, _line
                  FROM {_roles_used(ctx)}
                  UNION ALL
                  SELECT s.user_sis_id, s.role, s.role_type, s.org_sis_id, NULL, x._line
                  FROM sis_roles s JOIN ({_roles_at_unknown_orgs(ctx)}) x ON x.sourcedId = s.sis_id
                  WHERE s.status = 'active')
            GROUP BY ALL) r ON r.sis_id = u.sourcedId"""


def _roles_changes_join(ctx: PlanContext) -> str:
    """roles.csv as changes (1.2 delta): each row is one role that changed, not all of the
    user's roles. A user keeps the roles the file does not name: the role changes only with a
    primary row. Their orgs are those of all of their roles after tonight's changes: the roles
    kept from earlier drops (`sis_roles`) that tonight's rows do not name, and tonight's live
    ones. (Read as the whole list, one re-sent role took a teacher out of every other school
    they work at; read against the directory's list of schools, ending one of two roles at one
    school took the school away.) Only rows that are applied tonight count (their user's
    users.csv row is sent and good, see roles_not_applied), and a user whose kept role another
    user's row now names is read again too. See _orgs_after_role_changes for users whose
    kept roles do not match their schools."""
    live = _LIVE_ROLE
    return f"""LEFT JOIN (
            WITH applied AS MATERIALIZED (
                SELECT * FROM {_roles_used(ctx)}
                WHERE userSourcedId IN (SELECT sourcedId FROM {ctx.good("users")})
            ),
            tonight AS (SELECT * FROM applied WHERE orgSourcedId IS NOT NULL),
            affected AS (
                SELECT userSourcedId AS sis_id FROM tonight
                UNION
                SELECT user_sis_id FROM sis_roles
                WHERE status = 'active' AND sis_id IN (SELECT sourcedId FROM applied)
            ),
            stored AS MATERIALIZED (
                SELECT s.sis_id, s.user_sis_id, s.org_sis_id FROM sis_roles s
                WHERE s.status = 'active' AND s.org_sis_id IS NOT NULL
                  AND s.user_sis_id IN (SELECT sis_id FROM affected)
            ),
            after AS (
                SELECT user_sis_id, list(DISTINCT org_sis_id) AS orgs FROM (
                    SELECT user_sis_id, org_sis_id FROM stored
                    WHERE sis_id NOT IN (SELECT sourcedId FROM applied WHERE sourcedId IS NOT NULL)
                    UNION ALL
                    SELECT userSourcedId, orgSourcedId FROM tonight WHERE {live})
                GROUP BY ALL
            ),
            kept AS (
                SELECT user_sis_id,
                       coalesce(list(DISTINCT org_sis_id)
                                FILTER (WHERE org_sis_id IN ({_known_orgs(ctx)})), []) AS orgs
                FROM stored GROUP BY ALL
            ),
            changes AS (
                SELECT userSourcedId AS sis_id,
                       arg_min(lower(role), _line) FILTER (WHERE {live} AND lower(roleType) = 'primary')
                           AS primary_role,
                       arg_min(lower(role), [CASE lower(roleType) WHEN 'primary' THEN 0 ELSE 1 END, _line])
                           FILTER (WHERE {live}) AS role,
                       coalesce(list(DISTINCT orgSourcedId) FILTER (WHERE {live}), []) AS added_orgs,
                       coalesce(list(DISTINCT orgSourcedId) FILTER (WHERE NOT ({live})), []) AS ended_orgs
                FROM tonight GROUP BY ALL
            )
            SELECT a.sis_id, c.primary_role, c.role,
                   coalesce(c.added_orgs, []) AS added_orgs, coalesce(c.ended_orgs, []) AS ended_orgs,
                   k.orgs AS stored_orgs, coalesce(x.orgs, []) AS orgs_after
            FROM affected a
            LEFT JOIN changes c ON c.sis_id = a.sis_id
            LEFT JOIN kept k ON k.user_sis_id = a.sis_id
            LEFT JOIN after x ON x.user_sis_id = a.sis_id) r
            ON r.sis_id = u.sourcedId"""


def _orgs_after_role_changes() -> str:
    """The user's orgs after tonight's role changes (see _roles_changes_join): the orgs of
    all of their roles, where the user's kept roles are at exactly the schools the directory
    has for them (a whole roles.csv, or every change since, was applied). Otherwise (roles
    kept from before this was stored, a revert since, a 1.1 drop since) the directory's orgs
    with tonight's changes made to them: an org with a live role tonight stays, whatever
    other role there ended (a role changed at one school is often sent as the old role
    tobedeleted and the new one added)."""
    directory = (
        "list_transform(string_split(coalesce(dir.org_sis_ids, ''), ','), lambda x: trim(x))"
    )
    return f"""CASE WHEN r.sis_id IS NULL THEN dir.org_sis_ids
                WHEN r.stored_orgs IS NOT NULL AND list_sort(r.stored_orgs)
                     = list_sort(list_distinct(list_filter({directory}, lambda x: x <> '')))
                THEN nullif(array_to_string(list_sort(r.orgs_after), ','), '')
                ELSE nullif(array_to_string(
                  list_filter(list_distinct(list_concat({directory}, r.added_orgs)),
                  lambda x: x <> '' AND (list_contains(r.added_orgs, x)
                                         OR NOT list_contains(r.ended_orgs, x))), ','), '') END"""


def _directory_roles_join() -> str:
    """1.2 without a whole roles.csv: a user the drop gives no role keeps the directory's role
    and orgs (only where one directory record has the SIS id)."""
    return """LEFT JOIN (SELECT sis_id, role, org_sis_ids FROM users
                                      WHERE sis_id IS NOT NULL
                                      QUALIFY count(*) OVER (PARTITION BY sis_id) = 1) dir
                           ON dir.sis_id = u.sourcedId"""


def _birth_date(ctx: PlanContext) -> tuple[str, str, str]:
    """Birth date, whether it broke its rule (SQL), and the join to demographics.csv they need;
    without the file there is none (and users_fields_kept keeps the directory's).

    A demographics row in error speaks for nothing: its student keeps the stored birth date,
    as with a broken value (unless an earlier good row names the student). A delta
    demographics.csv leaves out what has not changed: a person it has no row for keeps the
    stored birth date too (only a whole file, or a row, says a birth date is gone)."""
    if not ctx.present("demographics"):
        return "CAST(NULL AS VARCHAR)", "false", ""
    no_row_keeps = "" if ctx.mode("demographics") == "bulk" else "dm.sis_id IS NULL OR "
    join = f"LEFT JOIN ({_birth_dates(ctx)}) dm ON dm.sis_id = u.sourcedId"
    return (
        "CASE WHEN dm.birth_broken THEN NULL ELSE dm.birth_date END",
        f"({no_row_keeps}coalesce(dm.birth_broken, false))",
        join,
    )


def _birth_dates(ctx: PlanContext) -> str:
    """demographics.csv per person: the first row speaks (its line too); a first row in error
    says the birth date cannot be told (`birth_broken`), so the record keeps its own.

    The good rows name each person once (a repeated sourcedId is an ERROR on every row after
    the first: validation's duplicate_id), so only the people a row in error names too are
    grouped; grouping a million good rows to find that cost 1.2 s of CPU at 1M students."""
    good = f"""SELECT sourcedId AS sis_id, birthDate AS birth_date,
                      {ctx.broken("demographics", "birthDate")} AS broken, _line
               FROM {ctx.good("demographics")} WHERE sourcedId IS NOT NULL"""
    errored = f"""SELECT sourcedId AS sis_id, NULL AS birth_date, true AS broken, _line
                  FROM {ctx.errored("demographics")} WHERE sourcedId IS NOT NULL"""
    return f"""
            WITH errored AS MATERIALIZED ({errored})
            SELECT sis_id, birth_date, broken AS birth_broken, _line FROM ({good})
            WHERE sis_id NOT IN (SELECT sis_id FROM errored)
            UNION ALL
            SELECT sis_id, arg_min(birth_date, _line) AS birth_date,
                   arg_min(broken, _line) AS birth_broken, min(_line) AS _line
            FROM ({good} UNION ALL FROM errored)
            WHERE sis_id IN (SELECT sis_id FROM errored)
            GROUP BY sis_id"""


# Why a demographics.csv row for a person users.csv does not name tonight changes nothing
# (SQL over the person's directory records `d`, grouped by SIS id); NULL: it is applied.
_DEMOGRAPHICS_ONLY_WHY = """CASE
    WHEN count(*) > 1 THEN 'more than one directory record has this SIS id'
    WHEN any_value(d.merged_into) IS NOT NULL
        THEN 'the record was merged into another; send the surviving record''s rows'
    WHEN any_value(d.status) <> 'active' THEN 'the person is archived'
    WHEN any_value(d.origin) <> 'sync' THEN 'the record was made by hand, not by the sync'
    WHEN NOT bool_and(in_scope) THEN 'the person is outside this run''s schools'
END"""


def _add_demographics_only_people(ctx: PlanContext) -> None:
    """A changes-only drop may send a person's demographics.csv row without their users.csv
    row (only the birth date changed). The row speaks for the birth date alone: the person is
    added to the feed as the directory has them, with that birth date, so the change is
    planned, traced to its demographics.csv line, and everything else stays. Where the row
    cannot be applied (an archived, merged, hand-made or ambiguous record), it says why."""
    demographics = sql_literal(ctx.file("demographics"))
    in_scope = record_filter(ctx.scope, "users")
    named = _people_named(ctx, "users", "guardians")
    people = ctx.t("demographics_only")
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {people} AS
        SELECT x.sis_id, x.birth_date, x.birth_broken, x._line,
               {_DEMOGRAPHICS_ONLY_WHY} AS why, min(d.user_id) AS user_id
        FROM ({_birth_dates(ctx)}) x
        JOIN (SELECT *, {in_scope} AS in_scope FROM users d) d ON d.sis_id = x.sis_id
        WHERE NOT x.birth_broken AND x.sis_id NOT IN (SELECT sis_id FROM {named})
        GROUP BY ALL
        """
    )
    ctx.db.execute(
        f"""
        INSERT INTO row_issues
        SELECT {ctx.run_id}, {demographics}, _line, sis_id, 'WARNING', 'sourcedId',
               'demographics_not_applied',
               {demographics} || ' line ' || _line || ': users.csv has no row for ' || sis_id
               || ' in this drop and ' || why || ', so its birth date was not changed'
        FROM {people} WHERE why IS NOT NULL
        """
    )
    columns = ", ".join(f"d.{c}" for c in _DIRECTORY_PERSON)
    ctx.db.execute(
        f"""
        INSERT INTO {ctx.t("feed_users")} BY NAME
        SELECT {columns}, p.birth_date, false AS _broken_birth_date,
               CAST(NULL AS VARCHAR) AS agents, false AS _deleted,
               {demographics} AS _file, p._line AS _line
        FROM {people} p JOIN users d ON d.user_id = p.user_id
        WHERE p.why IS NULL
        """
    )


def roles_not_applied(ctx: PlanContext) -> str:
    """The roles.csv lines that change nothing tonight: a changes-only row whose user has no
    users.csv row (see _report_roles_without_their_user), a row whose user's users.csv row
    is in error (the record is kept as it is), and a row at an org no one knows (the role is
    not used)."""
    return f"""SELECT line FROM row_issues WHERE run_id = {ctx.run_id}
               AND file_name = {sql_literal(ctx.file("roles"))} AND rule = 'role_without_user_row'
               UNION ALL
               SELECT r._line FROM {ctx.t("roles")} r
               WHERE r.userSourcedId IN (SELECT sourcedId FROM {ctx.errored("users")}
                                         WHERE sourcedId IS NOT NULL)
               UNION ALL
               SELECT _line FROM ({_roles_at_unknown_orgs(ctx)})"""


def _report_roles_without_their_user(ctx: PlanContext) -> None:
    """A roles.csv row (1.2) is applied with its user's users.csv row (people are built from
    users.csv rows; a roles row names no one on its own). In a changes-only drop a row whose
    user users.csv does not send tonight changes nothing, and says so (it was silent)."""
    roles = sql_literal(ctx.file("roles"))
    named = _people_named(ctx, "users")
    ctx.db.execute(
        f"""
        INSERT INTO row_issues
        SELECT {ctx.run_id}, {roles}, r._line, r.sourcedId, 'WARNING', 'userSourcedId',
               'role_without_user_row',
               {roles} || ' line ' || r._line || ': users.csv has no row for '
               || r.userSourcedId || ' in this drop, so this role was not applied (a role is '
               || 'read with its user''s row: send the users.csv row with it)'
        FROM {ctx.good("roles")} r
        WHERE r.userSourcedId IS NOT NULL
          AND r.userSourcedId NOT IN (SELECT sis_id FROM {named})
          AND r.userSourcedId IN (SELECT sis_id FROM users WHERE sis_id IS NOT NULL)
        """
    )


# What a demographics.csv-only person keeps of their directory record: everything but the
# birth date (see _add_demographics_only_people).
_DIRECTORY_PERSON = (
    "sis_id", "kind", "role", "identifier", "username", "user_ids", "given_name", "family_name",
    "middle_name", "preferred_given_name", "email", "mobile_phone", "home_phone", "language",
    "grades", "org_sis_ids", "enabled",
)  # fmt: skip


def _language_columns(ctx: PlanContext, language: str) -> str:
    """`language` (a valid tag, only when update_language is on) and `_broken_language`."""
    valid = f"regexp_full_match({language}, {sql_literal(LANGUAGE_OK)})"
    used = f"CASE WHEN {valid} THEN {language} END" if ctx.settings.update_language else "NULL"
    return (
        f"CAST({used} AS VARCHAR) AS language, "
        f"{language} IS NOT NULL AND NOT {valid} AS _broken_language"
    )


def _known_orgs(ctx: PlanContext) -> str:
    """The orgs a user may belong to in this run (a dangling one was reported and is ignored)."""
    return f"SELECT sis_id AS id FROM {ctx.t('org_ids')}"


def _org_lists_split(rows: str) -> str:
    """Users naming several orgs (of `rows`, a CTE of users' rows): the known ones as a sorted
    list, the others apart. Most users name one org: those are looked up directly, only lists
    are split."""
    return f"""
            SELECT sis_id,
                   array_to_string(list_sort(list_distinct(list(org) FILTER (WHERE known))), ',') AS org_sis_ids,
                   list_distinct(list(org) FILTER (WHERE NOT known)) AS unmatched_orgs
            FROM (SELECT x.sis_id, x.org, k.id IS NOT NULL AS known
                  FROM (SELECT sis_id, trim(unnest(string_split(raw_orgs, ','))) AS org
                        FROM {rows} WHERE contains(raw_orgs, ',')) x
                  LEFT JOIN known k ON k.id = x.org
                  WHERE x.org <> '')
            GROUP BY sis_id"""


def _kind_of_role(ctx: PlanContext, role: str) -> str:
    """student, staff or guardian (the guardian_roles setting); NULL when the role is none."""
    staff_in = ", ".join(sql_literal(r) for r in STAFF_ROLES)
    guardians_in = ", ".join(sql_literal(r) for r in ctx.settings.guardian_roles)
    return f"""CASE WHEN {role} = 'student' THEN 'student'
                    WHEN {role} IN ({staff_in}) THEN 'staff'
                    WHEN {role} IN ({guardians_in}) THEN 'guardian' END"""


def _names_an_org_not_synced(ctx: PlanContext) -> str:
    """The user names an org that is not synced (tobedeleted, in error): this row does not
    change the user's orgs (see not_synced.report_user_orgs)."""
    return f"""coalesce(list_has_any({UNMATCHED_ORGS},
                   (SELECT coalesce(list(sis_id), []) FROM {ctx.t("not_synced")} WHERE kind = 'org')),
                   false)"""


def _mapped_role(ctx: PlanContext, role: str) -> str:
    """A 1.2 `ext:` role becomes the role the ext_roles setting maps it to (kept as it is when
    unmapped: such a user is not synced, see report_users_without_a_role)."""
    mapping = ctx.settings.ext_roles
    if not mapping:
        return role
    cases = " ".join(
        f"WHEN {sql_literal(term.lower())} THEN {sql_literal(target)}"
        for term, target in mapping.items()
    )
    return f"(CASE {role} {cases} ELSE {role} END)"


def report_users_without_a_role(ctx: PlanContext) -> None:
    """users.csv rows whose role cannot be told (1.2: no valid roles.csv row) are in error, so
    the record they name is kept; an unmapped `ext:` role is a WARNING and is not synced."""
    users_file = sql_literal(ctx.file("users"))
    roles_file = sql_literal(ctx.file("roles"))
    why, roles_errors = "''", ""
    if ctx.present("roles"):
        roles_errors = f"""LEFT JOIN (SELECT userSourcedId AS sis_id, min(_line) AS line
                                      FROM {ctx.errored("roles")} GROUP BY ALL) re
                           ON re.sis_id = f.sis_id
                           LEFT JOIN (SELECT userSourcedId AS sis_id, min(_line) AS line
                                      FROM {ctx.good("roles")} WHERE NOT ({_LIVE_ROLE})
                                      GROUP BY ALL) rd
                           ON rd.sis_id = f.sis_id
                           LEFT JOIN (SELECT userSourcedId AS sis_id,
                                             arg_min(orgSourcedId, _line) AS org, min(_line) AS line
                                      FROM ({_roles_at_unknown_orgs(ctx)}) GROUP BY ALL) ru
                           ON ru.sis_id = f.sis_id"""
        why = (
            f"CASE WHEN re.line IS NOT NULL THEN ' (its row on ' || {roles_file} || ' line ' "
            "|| re.line || ' has an error)' "
            f"WHEN ru.line IS NOT NULL THEN ' (its role on ' || {roles_file} || ' line ' "
            "|| ru.line || ' is at org ''' || ru.org || ''', which is not an org in orgs.csv)' "
            f"WHEN rd.line IS NOT NULL THEN ' (its role on ' || {roles_file} || ' line ' "
            "|| rd.line || ' is tobedeleted)' ELSE '' END"
        )
    missing = (
        "roles.csv has no valid row for it"
        if ctx.present("roles")
        else "the drop has no roles.csv and users.csv no role column"
    )
    no_role = f"'the user has no role: {missing}' || {why} || '; the row was skipped'"
    ext_role = (
        "'role ' || f.role || ' is an extension Roster Sync does not know; the user is not "
        "synced (map it with the ext_roles setting, e.g. ' || f.role || '=teacher)'"
    )
    ctx.db.execute(
        f"""
        INSERT INTO row_issues
        SELECT {ctx.run_id}, {users_file}, f._line, f.sis_id, 'ERROR', 'role', 'no_role',
               {users_file} || ' line ' || f._line || ': ' || {no_role}
        FROM {ctx.t("feed_users")} f {roles_errors}
        WHERE f.role IS NULL AND f._file = {users_file} AND NOT f._deleted
        UNION ALL
        SELECT {ctx.run_id}, {users_file}, f._line, f.sis_id, 'WARNING', 'role', 'ext_role',
               {users_file} || ' line ' || f._line || ': ' || {ext_role}
        FROM {ctx.t("feed_users")} f
        WHERE starts_with(f.role, 'ext:') AND f._file = {users_file} AND NOT f._deleted
        """
    )


def _people_named(ctx: PlanContext, *errored: str) -> str:
    """SIS ids the feed already speaks for (SQL): its people so far, and those whose row in one
    of the `errored` files is in error (such a record is kept as it is, so no other file may
    speak for it)."""
    parts = [f"SELECT sis_id FROM {feed_people(ctx, 'sis_id')} WHERE sis_id IS NOT NULL"]
    parts += [
        f"SELECT sourcedId FROM {ctx.errored(e)} WHERE sourcedId IS NOT NULL" for e in errored
    ]
    return "(" + " UNION ".join(parts) + ")"


def _report_guardian_rows_naming_no_guardian(ctx: PlanContext) -> None:
    """A guardians.csv row whose guardian is a student or staff member (as users.csv has them,
    else as the directory's active record is), or the student herself, is a WARNING
    (NOT_A_GUARDIAN) and is left out (PlanContext.good): it makes no link, and never makes the
    person a guardian. Called before any guardians.csv row is read for the plan."""
    guardians_file = sql_literal(ctx.file("guardians"))
    feed = feed_people(ctx, "sis_id", "kind", "role", "_file", "_line")
    people = f"""
        SELECT sis_id, kind, role, 'users.csv' AS source FROM {feed}
        WHERE sis_id IS NOT NULL AND _file = {sql_literal(ctx.file("users"))}
        QUALIFY row_number() OVER (PARTITION BY sis_id ORDER BY _line) = 1
        UNION ALL
        SELECT sis_id, kind, role, 'the directory' FROM users
        WHERE status = 'active' AND sis_id IS NOT NULL
          AND sis_id NOT IN (SELECT sis_id FROM {feed} WHERE sis_id IS NOT NULL)
        QUALIFY count(*) OVER (PARTITION BY sis_id) = 1"""
    what = """CASE WHEN g.sourcedId = g.student
                   THEN 'is the student this row names (studentSourcedId)'
                   ELSE 'is a ' || coalesce(p.role, p.kind) || ' in ' || p.source
                        || ', not a parent or guardian' END"""
    ctx.db.execute(
        f"""
        INSERT INTO row_issues
        SELECT {ctx.run_id}, {guardians_file}, g._line, g.sourcedId, 'WARNING', 'sourcedId',
               {sql_literal(NOT_A_GUARDIAN)},
               {guardians_file} || ' line ' || g._line || ': sourcedId ''' || g.sourcedId
               || ''' ' || {what} || '; this row makes no link'
        FROM (SELECT _line, rs_clean(sourcedId) AS sourcedId,
                     rs_clean(studentSourcedId) AS student FROM {ctx.good("guardians")}) g
        LEFT JOIN ({people}) p ON p.sis_id = g.sourcedId
        WHERE g.sourcedId = g.student OR p.kind IN ('student', 'staff')
        """
    )


def _add_guardians_file_people(ctx: PlanContext, mobile: str, home: str) -> None:
    """The people of guardians.csv that users.csv does not name. One it names speaks there
    only: its row in error (or left out of a school-level upload) keeps the record as it is,
    which guardians.csv, carrying fewer fields, would otherwise overwrite.

    The first row gives the details (validation warns when later ones differ); the role is the
    first relationship guardian_roles counts, since each row is one child's: a relative of one
    and parent of the next is a guardian, whichever row comes first."""
    language = f"lower({ctx.column('guardians', 'language', 'g')})"
    named = _people_named(ctx, "users")
    counted = f"coalesce({_guardian_kind(ctx, 'lower(x.relationship)')} IS NOT NULL, false)"
    rows = f"""(SELECT x.*, first_value(lower(x.relationship)) OVER (
                    PARTITION BY x.sourcedId ORDER BY {counted} DESC, x._line) AS _role
                FROM {ctx.good("guardians")} x)"""
    ctx.db.execute(
        f"""
        INSERT INTO {ctx.t("feed_users")} BY NAME
        SELECT g.sourcedId AS sis_id, g._role AS role,
               {ctx.column("guardians", "givenName", "g")} AS given_name,
               {ctx.column("guardians", "familyName", "g")} AS family_name,
               {_checked_values(ctx, "guardians", "g", _contact_columns(mobile, home), {})},
               {_language_columns(ctx, language)},
               true AS enabled, CAST(NULL AS VARCHAR) AS agents, false AS _deleted,
               {sql_literal(ctx.file("guardians"))} AS _file, g._line AS _line,
               {_guardian_kind(ctx, "g._role")} AS kind
        FROM {rows} g
        ANTI JOIN {named} u ON u.sis_id = g.sourcedId
        QUALIFY row_number() OVER (PARTITION BY g.sourcedId ORDER BY g._line) = 1
        """
    )


def left_out_by_guardian_roles(ctx: PlanContext) -> LeftOutBySetting | None:
    """A person archived while their row is still in the feed, with a role guardian_roles
    does not count (narrowed since, or an ext_roles mapping to it): neither missing from the
    file nor marked tobedeleted, they are left out by the setting. Their change says so and
    names the row (not "no longer in the feed")."""
    kept_out = [
        r for r in ("parent", "guardian", "relative") if r not in ctx.settings.guardian_roles
    ]
    if not kept_out:
        return None
    note = f"guardian_roles = {','.join(ctx.settings.guardian_roles)} leaves out its role "
    return LeftOutBySetting(
        f"""SELECT sis_id, {sql_literal(note)} || arg_min(role, _line) AS note,
                   arg_min(_file, _line) AS _file, min(_line) AS _line
            FROM {ctx.t("feed_users")}
            WHERE kind IS NULL AND NOT _deleted AND sis_id IS NOT NULL
              AND role IN ({", ".join(sql_literal(r) for r in kept_out)})
            GROUP BY sis_id"""
    )


def _guardian_kind(ctx: PlanContext, relationship: str) -> str:
    """guardians.csv people are guardians when their relationship is one of guardian_roles."""
    guardians_in = ", ".join(sql_literal(r) for r in ctx.settings.guardian_roles)
    return f"CASE WHEN {relationship} IN ({guardians_in}) THEN 'guardian' END"


def build_desired_users(ctx: PlanContext) -> None:
    """Match feed people to directory users (through merged tombstones) and give new ones ids."""
    managed = _people_the_sync_manages(ctx)
    key_type, match_key = _match_key(ctx)
    # People sent again as they were synced skip matching (see sync/unchanged.py); nothing
    # else can claim their records, so the rows left are matched among themselves.
    find_unchanged_users(ctx, managed, recognised_people(ctx))
    # Found on the narrow columns, then fetched whole by place: a few rows of millions, kept
    # apart because the matching below reads them three times (those recognised from their raw
    # rows are not in feed_users at all). When no row was set aside (a first load), copying
    # them all cost more than reading them thrice (1.7 s of 2.5M at 1M).
    feed, changed = ctx.t("feed_users"), ctx.t("changed_users")
    normalised = ctx.t("unchanged_users_normalised")
    if ctx.db.one(f"SELECT EXISTS (FROM {normalised})"):
        ctx.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE {changed} AS
                SELECT * FROM {feed} WHERE rowid IN (
                    SELECT x.rowid FROM {feed} x
                    ANTI JOIN {normalised} u ON u._rid = x.rowid
                    WHERE {managed})"""
        )
    else:
        ctx.db.execute(
            f"CREATE OR REPLACE TEMP VIEW {changed} AS SELECT * FROM {feed} WHERE {managed}"
        )
    # Who claims which record is worked out on narrow rows (keys and line numbers only); the
    # wide feed rows are read once, at the end.
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("desired_users")} AS
        WITH f AS NOT MATERIALIZED (
            SELECT *, sis_id AS _feed_sis_id, {key_type} AS _key_type, {match_key} AS _match_key,
                   {user_source_hash(ctx, "x")} AS _source_hash,
                   -- remembered with the source hash for a plain row only (unchanged.raw_key)
                   CASE WHEN {plain_feed_person(ctx, managed)} THEN x._raw_key END AS _raw_hash
            FROM {changed} x
        ),
        keys AS MATERIALIZED ({_directory_keys(ctx)}),
        shared AS MATERIALIZED ({_shared_identifiers(ctx)}),
        claims AS MATERIALIZED ({_claims(ctx, key_type, match_key)}),
        keepers AS ({_keepers()}),
        renumbered AS MATERIALIZED ({_renumbered(ctx)}),
        matched AS ({_matched(ctx)})
        SELECT * EXCLUDE (_unplaced),
               _ambiguous OR _no_key OR _shared_key OR _claimed_elsewhere OR _unplaced
                   OR _survivor_speaks AS _skip,
               CASE WHEN _ambiguous THEN 'is claimed by more than one directory record'
                    WHEN _no_key THEN 'has no identifier (student_id = identifier)'
                    WHEN _shared_key
                    THEN 'shares its identifier with another student (student_id = identifier)'
                    WHEN _unplaced THEN 'belongs to no org that is synced in this run'
               END AS _skip_why,
               false AS _kept_archived,
               CAST(NULL AS VARCHAR) AS _label,
               {_new_user_id(ctx)} AS _id
        FROM matched
        """
    )
    _report_unkeyed_students(ctx)
    _report_shared_identifiers(ctx)
    _report_rows_of_merged_records(ctx)
    _note_renumbered_students(ctx)


def _people_the_sync_manages(ctx: PlanContext) -> str:
    """Rows of a known kind (guardians only under manage_guardians). A row marked tobedeleted
    names its record whatever its role says (a 1.2 delta may send no role for it); the record's
    own kind decides what archiving it means."""
    known_kind = (
        "kind IS NOT NULL"
        if ctx.settings.manage_guardians
        else ("kind IS NOT NULL AND kind <> 'guardian'")
    )
    return f"({known_kind}) OR _deleted"


def _match_key(ctx: PlanContext) -> tuple[str, str]:
    """How a feed row finds its record: by SIS id, or a student by identifier (student_id)."""
    if ctx.settings.student_id == "identifier":
        return (
            "CASE WHEN kind = 'student' THEN 'ident' ELSE 'sis' END",
            "CASE WHEN kind = 'student' THEN identifier ELSE sis_id END",
        )
    return "'sis'", "sis_id"


def _directory_keys(ctx: PlanContext) -> str:
    """Every key a directory record answers to (a merged record answers for its survivor);
    a key more than one record answers to matches none (`_many`)."""
    # A student's row finds a record of another kind (a teacher who is a student again) by its
    # identifier only where its SIS id agrees too: identifiers of staff and guardians are not
    # the student numbers the setting speaks of, and may be another person's.
    ident_keys = (
        """UNION ALL
           SELECT 'ident', identifier, coalesce(merged_into, user_id), merged_into IS NOT NULL
           FROM users WHERE kind = 'student' AND identifier IS NOT NULL
           UNION ALL
           SELECT 'ident', u.identifier, coalesce(u.merged_into, u.user_id), u.merged_into IS NOT NULL
           FROM users u SEMI JOIN f ON f._key_type = 'ident' AND f._match_key = u.identifier
                                   AND f.sis_id = u.sis_id
           WHERE u.kind <> 'student' AND u.identifier NOT IN (
               SELECT identifier FROM users WHERE kind = 'student' AND identifier IS NOT NULL)"""
        if ctx.settings.student_id == "identifier"
        else ""
    )
    return f"""
            SELECT kt, key, min(uid) AS uid, min(uid) <> max(uid) AS _many, bool_and(via_tombstone) AS via_tombstone
            FROM (SELECT 'sis' AS kt, sis_id AS key, coalesce(merged_into, user_id) AS uid,
                         merged_into IS NOT NULL AS via_tombstone
                  FROM users WHERE sis_id IS NOT NULL {ident_keys})
            WHERE key IN (SELECT _match_key FROM f)
            GROUP BY kt, key"""


# SQL over a feed row `f`: a live student row whose identifier another live student row of
# the feed has too (student_id = identifier; `shared` is _shared_identifiers).
_SHARES_ITS_KEY = """(f._key_type = 'ident' AND NOT f._deleted
                      AND f._match_key IN (SELECT key FROM shared))"""


def _shared_identifiers(ctx: PlanContext) -> str:
    """The identifiers more than one live student row of the feed has (student_id =
    identifier). Such rows cannot say which record is whose: the first row winning archived the
    other student, or gave the first row's person the other's record and guardian. None of
    them claims a record; both students are kept as they are (plan._users holds them)."""
    if ctx.settings.student_id != "identifier":
        return "SELECT CAST(NULL AS VARCHAR) AS key WHERE false"
    return """SELECT _match_key AS key FROM f
              WHERE _key_type = 'ident' AND _match_key IS NOT NULL AND NOT _deleted
              GROUP BY _match_key HAVING count(*) > 1"""


def _claims(ctx: PlanContext, key_type: str, match_key: str) -> str:
    """Which feed rows (file and line only) claim which directory record. A tobedeleted row
    naming a merged record claims nothing: that record is already retired (see _matched); nor
    does a row whose identifier another row shares (_shared_identifiers)."""
    return f"""
            SELECT k.uid AS _target_id, f._file, f._line, k.via_tombstone
            FROM f JOIN keys k ON k.kt = f._key_type AND k.key = f._match_key
            WHERE NOT k._many AND NOT (f._deleted AND k.via_tombstone) AND NOT {_SHARES_ITS_KEY}"""


def _keepers() -> str:
    """A record claimed by several rows goes to one: a direct match before a match through a
    merged record, then the first line (then the file's name: the same input, the same keeper)."""
    return """
            SELECT _target_id, arg_min(_file || ':' || _line,
                                       {'tombstone': via_tombstone, 'line': _line, 'file': _file}) AS keeper
            FROM claims
            WHERE _target_id IN (SELECT _target_id FROM claims GROUP BY _target_id HAVING count(*) > 1)
            GROUP BY _target_id"""


# SQL over a feed row `f` and a directory user `u`: nothing the row says of its person
# contradicts the record (a name in common, no other birth date). A SIS may give a sourcedId
# it freed to a new student; the row must not then take the record of the one who left.
_SAME_PERSON = """((lower(f.given_name) = lower(u.given_name)
                    OR lower(f.family_name) = lower(u.family_name))
                   AND NOT coalesce(f.birth_date <> u.birth_date, false))"""


def _renumbered(ctx: PlanContext) -> str:
    """Student rows the SIS renumbered (student_id = identifier), with the record each keeps
    (`uid`): a live row whose identifier is no directory record's (of any kind: a staff
    member's is not the student's to take either), whose sourcedId is the SIS id of exactly
    one record, a student's, not merged; no feed row claims that record, no row of the drop
    has its identifier (live, tobedeleted, shared or in error) nor a row in error its sourcedId,
    and the row does not contradict its person (_SAME_PERSON); one row per record. Such a row
    updates the record in place (_matched), so what a person made or edited stays with the
    student. Anything less certain is matched as before (a new student; an absent record
    archived), never guessed.

    A changes-only users.csv says nothing of who is absent, but another person holding the old
    identifier would have a row in it (new, or changed to hold it), and the sourcedId says the
    row is the record's own; so the rule is the same in either mode."""
    if ctx.settings.student_id != "identifier":
        return (
            "SELECT NULL::BIGINT AS _line, NULL::VARCHAR AS _file, NULL::BIGINT AS uid WHERE false"
        )
    identifiers_named = (
        "SELECT _match_key FROM f WHERE _key_type = 'ident' AND _match_key IS NOT NULL"
    )
    sis_ids_in_error = "SELECT NULL::VARCHAR WHERE false"
    if ctx.present("users"):
        errored = ctx.errored("users")
        identifiers_named += f""" UNION ALL SELECT {ctx.column("users", "identifier", "e")}
                                 FROM {errored} e
                                 WHERE {ctx.column("users", "identifier", "e")} IS NOT NULL"""
        sis_ids_in_error = f"SELECT sourcedId FROM {errored} WHERE sourcedId IS NOT NULL"
    return f"""
            SELECT f._file, f._line, u.user_id AS uid
            FROM (-- the one record the row's sourcedId names, its identifier no record's
                  SELECT f.*, u.user_id FROM f
                  ANTI JOIN users x ON x.identifier = f._match_key
                  JOIN users u ON u.sis_id = f.sis_id
                  WHERE f._key_type = 'ident' AND f._match_key IS NOT NULL AND NOT f._deleted
                    AND NOT {_SHARES_ITS_KEY}
                  QUALIFY count(*) OVER (PARTITION BY f._file, f._line) = 1) f
            JOIN users u ON u.user_id = f.user_id
            WHERE u.kind = 'student' AND u.merged_into IS NULL AND u.status <> 'merged'
              AND u.user_id NOT IN (SELECT _target_id FROM claims)
              AND coalesce(u.identifier NOT IN ({identifiers_named}), true)
              AND u.sis_id NOT IN ({sis_ids_in_error})
              AND {_SAME_PERSON}
            QUALIFY count(*) OVER (PARTITION BY u.user_id) = 1"""


def _matched(ctx: PlanContext) -> str:
    """Each feed row with its record and every reason it may not be synced.

    A row naming a merged record (the SIS's id of the duplicate a person merged away) does not
    speak for the survivor's life: tobedeleted, it names a record already retired and archives
    nothing (`_retired`, no target); otherwise, while the survivor's own SIS id is in the feed,
    that id drives the survivor and this row is held (`_survivor_speaks`). Both are reported on
    the row (_report_rows_of_merged_records). `_merged_into` keeps the survivor for the report."""
    through_merged = "NOT k._many AND k.via_tombstone"
    return f"""
            SELECT f.*,
                   CASE WHEN NOT k._many AND NOT (f._deleted AND k.via_tombstone)
                             AND NOT {_SHARES_ITS_KEY} THEN k.uid
                        ELSE r.uid
                   END AS _target_id,
                   r.uid IS NOT NULL AS _renumbered,
                   {_SHARES_ITS_KEY} AS _shared_key,
                   coalesce(k._many, false) AS _ambiguous,
                   coalesce(k.via_tombstone, false) AS _via_tombstone,
                   CASE WHEN {through_merged} THEN k.uid END AS _merged_into,
                   coalesce({through_merged} AND f._deleted, false) AS _retired,
                   coalesce({through_merged} AND NOT f._deleted AND c.keeper IS NULL
                            AND sv.sis_id IS DISTINCT FROM f.sis_id AND {_survivor_in_feed(ctx)},
                            false) AS _survivor_speaks,
                   f._match_key IS NULL AS _no_key,
                   {_unplaced(ctx)} AS _unplaced,
                   c.keeper IS NOT NULL AND c.keeper <> f._file || ':' || f._line AS _claimed_elsewhere
            FROM f LEFT JOIN keys k ON k.kt = f._key_type AND k.key = f._match_key
            LEFT JOIN keepers c ON c._target_id = k.uid AND NOT k._many
            LEFT JOIN users sv ON sv.user_id = k.uid AND k.via_tombstone
            LEFT JOIN renumbered r ON r._file = f._file AND r._line = f._line"""


def _survivor_in_feed(ctx: PlanContext) -> str:
    """SQL on `sv`, the survivor of a merge: its own SIS id is in the feed tonight. A whole
    users.csv says so by naming it (a row in error names it too: it is kept, not replaced by
    its duplicate's row); a delta leaves out what has not changed, so the id counts as long as
    the survivor is active (the SIS removing it archives it first). A survivor without a SIS id
    (hand-made) has only its duplicate's rows to speak for it.

    With no merged record in the directory (a first load, most districts) no row matches
    through one, and the test is left out: over a whole users.csv it was a join of every row
    against every sourcedId of the feed (0.5 s at 1M)."""
    if not ctx.db.one("SELECT EXISTS (FROM users WHERE merged_into IS NOT NULL)"):
        return "false"
    if ctx.mode("users") != "bulk":
        return "sv.sis_id IS NOT NULL AND sv.status = 'active'"
    named = [
        f"""SELECT sis_id FROM {feed_people(ctx, "sis_id", "_deleted")}
            WHERE sis_id IS NOT NULL AND NOT _deleted""",
        f"SELECT sourcedId FROM {ctx.errored('users')} WHERE sourcedId IS NOT NULL",
    ]
    if ctx.present("guardians"):
        named.append(
            f"SELECT sourcedId FROM {ctx.errored('guardians')} WHERE sourcedId IS NOT NULL"
        )
    return f"sv.sis_id IN ({' UNION ALL '.join(named)})"


def _unplaced(ctx: PlanContext) -> str:
    """A row whose orgs are all left out of this run belongs nowhere: it is not synced (and the
    record it names is kept). Orgs the feed marks tobedeleted or whose row has an error are
    said on the row (report_user_orgs); under match_only, each unmatched school is reported
    once."""
    if ctx.settings.school_matching != "match_only":
        return "(f.org_sis_ids IS NULL AND coalesce(f._broken_org_sis_ids, false))"
    return f"""(f.org_sis_ids IS NULL AND (coalesce(f._broken_org_sis_ids, false) OR EXISTS (
            SELECT 1 FROM {ctx.t("desired_schools")} s
            WHERE s._unmatched AND s.org_type <> 'district' AND list_contains(f.unmatched_orgs, s.sis_id))))"""


def _new_user_id(ctx: PlanContext) -> str:
    """A matched row keeps its record's id; a new one gets the next ids in line order
    (guardians.csv people after every users.csv line)."""
    base = ctx.max_id("users", "user_id")
    users_file = sql_literal(ctx.file("users"))
    offset = ctx.one(
        f"""SELECT coalesce(max(_line), 0) FROM {feed_people(ctx, "_line", "_file")}
            WHERE _file = {users_file}"""
    )
    return (
        f"coalesce(_target_id, {int(base)} + _line + "
        f"CASE WHEN _file = {users_file} THEN 0 ELSE {int(offset)} END)"
    )


def _report_unkeyed_students(ctx: PlanContext) -> None:
    from daemon.ingest.issues import ERROR, Issue

    if ctx.settings.student_id != "identifier":
        return
    for sis_id, file, line in ctx.db.rows(
        f"SELECT sis_id, _file, _line FROM {ctx.t('desired_users')} WHERE _no_key ORDER BY _line LIMIT 10000"
    ):
        ctx.issues.append(
            Issue(
                file,
                line,
                sis_id,
                ERROR,
                "identifier",
                "student_key",
                f"{file} line {line}: identifier is required to identify a student "
                "(setting student_id = identifier); the row was skipped",
            )
        )


def _note_renumbered_students(ctx: PlanContext) -> None:
    """The run says how many students the SIS renumbered (_renumbered): each is an update of
    its record's identifier, which whoever reviews the run should see is not a new student."""
    if ctx.settings.student_id != "identifier":
        return
    n = ctx.one(f"SELECT count(*) FROM {ctx.t('desired_users')} WHERE _renumbered AND NOT _skip")
    if n:
        ctx.note(
            "users",
            f"{n} {'student' if n == 1 else 'students'} renumbered by the SIS (a new identifier, "
            f"the same sourcedId) {'keeps their record' if n == 1 else 'keep their records'}: "
            "see the students' updates",
        )


def renumbered_notes(ctx: PlanContext) -> list[tuple[str, str]]:
    """record_changes notes: a renumbered student's change names both identifiers (`p` the
    plan row, `d` the record as it is). One the feed brings back after a hand archive says so
    too. None when the feed does not speak for identifiers tonight (no users.csv, or no
    column): no row then has a key to be renumbered by."""
    if ctx.settings.student_id != "identifier" or "identifier" in ctx.keep_fields.get("users", ()):
        return []
    renumbered = f"SELECT _target_id FROM {ctx.t('desired_users')} WHERE _renumbered AND NOT _skip"
    return [
        (
            f"p.op IN ('update', 'unarchive') AND p.id IN ({renumbered})",
            f"""'renumbered by the SIS: identifier ' || coalesce(d.identifier, 'none') || ' -> '
                || p.identifier || ', same sourcedId'
                || CASE WHEN p.op = 'unarchive' AND d.archived_run IS NULL
                        THEN {sql_literal("; " + BY_HAND_NOTE)} ELSE '' END""",
        )
    ]


def _report_shared_identifiers(ctx: PlanContext) -> None:
    """An ERROR on each student row whose identifier another row has too, naming their lines."""
    ctx.db.execute(
        f"""
        INSERT INTO row_issues
        SELECT {ctx.run_id}, _file, _line, _feed_sis_id, 'ERROR', 'identifier',
               'shared_student_key',
               _file || ' line ' || _line || ': identifier ''' || _match_key || ''' is on '
               || count(*) OVER rows_of_key || ' students'' rows (lines '
               || string_agg(CAST(_line AS VARCHAR), ', ') OVER rows_of_key
               || '); under student_id = identifier it must be one student''s alone, so the '
               || 'row was skipped and the student kept as they are'
        FROM {ctx.t("desired_users")} WHERE _shared_key
        WINDOW rows_of_key AS (PARTITION BY _match_key ORDER BY _line
                               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        """
    )


def _report_rows_of_merged_records(ctx: PlanContext) -> None:
    """A WARNING on each row naming a record a person merged away, saying what it did not do."""
    merged = """(SELECT t.user_id FROM users t WHERE t.merged_into = f._merged_into
                 AND (CASE WHEN f._key_type = 'ident' THEN t.identifier ELSE t.sis_id END)
                     = f._match_key ORDER BY t.user_id LIMIT 1)"""
    ctx.db.execute(
        f"""
        INSERT INTO row_issues
        SELECT {ctx.run_id}, f._file, f._line, f._feed_sis_id, 'WARNING', 'sourcedId',
               'merged_record',
               f._file || ' line ' || f._line || ': ' || f._feed_sis_id || ' names user '
               || coalesce(CAST(f.merged AS VARCHAR), '?') || ', which was merged into user '
               || f._merged_into
               || coalesce(' (' || s.sis_id || ')', '')
               || coalesce(' by merge ' || (SELECT max(m.merge_id) FROM merges m
                                           WHERE m.merged_id = f.merged AND m.undone_at IS NULL), '')
               || CASE WHEN f._retired
                       THEN '; that record is already retired, so this tobedeleted archives nothing'
                       ELSE '; the survivor keeps what its own id ' || s.sis_id || ' says, and '
                            || 'this row was not applied (undo the merge if they are two people)'
                  END
        FROM (SELECT *, {merged} AS merged FROM {ctx.t("desired_users")} f
              WHERE _retired OR _survivor_speaks) f
        JOIN users s ON s.user_id = f._merged_into
        """
    )


def _known_without_a_row(ctx: PlanContext) -> str:
    """Directory people a row may name although the drop has no good row for them: everyone
    when users.csv is a delta (or absent), and people whose row is in error (kept as they are).
    A whole users.csv speaks for everyone: a person it leaves out is not in the feed."""
    if ctx.mode("users") != "bulk":
        return "true"
    errored = [f"SELECT sourcedId FROM {ctx.errored('users')}"]
    if ctx.present("guardians"):
        errored.append(f"SELECT sourcedId FROM {ctx.errored('guardians')}")
    return f"users.sis_id IN ({' UNION ALL '.join(errored)})"


def build_user_map(ctx: PlanContext) -> None:
    """Feed sourcedId -> user id (and kind and role), for enrollments, links and attributes.

    A person kept archived (policies._archived_people: a student under keep_archived, a
    guardian or staff member archived by hand) maps to their record (a feed link to a student
    kept archived is a question for a person, see link_rules) but gains no enrollment, link or
    attribute (`kept_archived`); so does a person the directory has archived whom the drop
    names only by reference (users.csv a delta)."""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("user_map")} AS
        SELECT _feed_sis_id AS sis_id, CASE WHEN _skip THEN _target_id ELSE _id END AS user_id,
               kind, role, _kept_archived AS kept_archived
        FROM {ctx.t("desired_users")}
        WHERE (NOT _skip OR _target_id IS NOT NULL) AND NOT _deleted
        UNION ALL
        SELECT sis_id, id, kind, role, false FROM {ctx.t("unchanged_users")}
        UNION ALL
        -- A person archived in the directory whom no row of this drop brings back keeps
        -- what their archive took: a row naming them does not sync (as one kept archived).
        SELECT u.sis_id, u.survivor, s.kind, s.role, s.status = 'archived'
        FROM (SELECT sis_id, coalesce(merged_into, user_id) AS survivor FROM users
              ANTI JOIN (SELECT sis_id FROM {feed_people(ctx, "sis_id")} WHERE sis_id IS NOT NULL) f
                ON f.sis_id = users.sis_id
              WHERE users.sis_id IS NOT NULL AND ({_known_without_a_row(ctx)})
              QUALIFY count(*) OVER (PARTITION BY users.sis_id) = 1) u
        JOIN users s ON s.user_id = u.survivor
        WHERE s.status <> 'merged'
        """
    )
    # Why, for those the drop has no row for (a feed row kept archived already says why).
    ctx.db.execute(
        f"""INSERT INTO {ctx.t("not_synced")}
            SELECT 'user', sis_id,
                   'is archived, and no users.csv row of this drop brings them back', false
            FROM {ctx.t("user_map")}
            WHERE kept_archived AND sis_id NOT IN (SELECT sis_id FROM {ctx.t("not_synced")}
                                                   WHERE kind = 'user' AND sis_id IS NOT NULL)"""
    )


def leave_out_new_guardians_without_a_student(ctx: PlanContext) -> None:
    """A guardians.csv row is a guardian of one student: a guardian new tonight none of whose
    rows names a student the drop syncs (a student not synced, held, or no student at all; a row
    marked tobedeleted names none) is not created. It would hold no link, so no export could write it (guardians.csv rows are
    links), and the export synced back would archive it. It comes with its first linkable row.

    Called once the people are mapped (build_user_map): the plan and the map forget it, and
    its rows say why (not_synced.report_student_rows)."""
    if not ctx.present("guardians"):
        return
    plan, user_map = ctx.keep("plan_users"), ctx.t("user_map")
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("guardians_without_a_student")} AS
        SELECT p.id, p.sis_id FROM {plan} p
        WHERE p.op = 'create' AND p._file = {sql_literal(ctx.file("guardians"))}
          AND p.sis_id NOT IN (
              SELECT g.sourcedId FROM {ctx.good("guardians")} g
              JOIN {user_map} s ON s.sis_id = rs_clean(g.studentSourcedId) AND s.kind = 'student'
              WHERE rs_clean(g.studentSourcedId) NOT IN ({ctx.held_sis("user")})
                AND g.sourcedId IS NOT NULL
                -- a row marked tobedeleted ends its link: it gives the guardian no student
                AND coalesce(lower(rs_clean(g.status)), '') <> 'tobedeleted')
        """
    )
    gone = f"SELECT id FROM {ctx.t('guardians_without_a_student')}"
    ctx.db.execute(f"DELETE FROM {plan} WHERE op = 'create' AND id IN ({gone})")
    ctx.db.execute(f"DELETE FROM {user_map} WHERE user_id IN ({gone})")


GUARDIAN_WITHOUT_A_STUDENT = "no longer the guardian of a student the sync keeps"


def archive_guardians_left_without_a_student(ctx: PlanContext) -> None:
    """A guardian only guardians.csv speaks for is a guardian of its students (its rows are
    links): one this run would leave active with no link (its last row or student marked
    tobedeleted, its student gone on a night without guardians.csv) is archived, and one it
    would unarchive stays archived. Kept active, no export could write it, and the export
    synced back would archive it then.

    The one step that looks back at the people's plan: which links a guardian keeps is known
    only once the links are planned, and they follow the people's plan (a student archived
    takes their links). A guardian held tonight (its own row in error, say) is kept as it is;
    one a person made or edited is never archived by the sync. The archive is counted by the
    thresholds and withheld as any other is."""
    if not ctx.settings.manage_guardians:
        return
    people, links = ctx.keep("plan_users"), ctx.keep("plan_guardian_links")
    gone = ctx.t("guardians_left_without_a_student")
    kept = ctx.held("users")
    if ctx.present("guardians"):
        kept += f""" UNION ALL SELECT u.user_id FROM users u
                     JOIN {ctx.errored("guardians")} e ON e.sourcedId = u.sis_id"""
    guardians_file = sql_literal(ctx.file("guardians").lower())
    # Guardians from guardians.csv the people's plan leaves or makes active: few, or none in a
    # district whose guardians are in users.csv, so the links are read for them alone.
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {gone} AS
        SELECT d.user_id AS id, d.status, {sql_literal(ctx.file("guardians"))} AS _file
        FROM users d
        LEFT JOIN (SELECT id, op, kind, _file FROM {people} WHERE op <> 'create') p
          ON p.id = d.user_id
        WHERE lower(coalesce(p._file, d.source_file)) = {guardians_file}
          AND coalesce(p.kind, d.kind) = 'guardian' AND {record_filter(ctx.scope, "users")}
          AND d.origin = 'sync'
          AND ((d.status = 'active' AND coalesce(p.op, '') <> 'archive') OR p.op = 'unarchive')
          AND d.user_id NOT IN ({kept})
        """
    )
    if not ctx.db.one(f"SELECT EXISTS (FROM {gone})"):
        return
    ctx.db.execute(
        f"""
        DELETE FROM {gone} WHERE id IN (
            SELECT guardian_id FROM guardian_links
            WHERE guardian_id IN (SELECT id FROM {gone}) AND status = 'active'
              AND link_id NOT IN (SELECT id FROM {links} WHERE op = 'archive')
            UNION ALL SELECT guardian_id FROM {links} WHERE op IN ('create', 'unarchive'))
        """
    )
    if not ctx.db.one(f"SELECT EXISTS (FROM {gone})"):
        return
    # What the people's plan did to them is taken back, and archived instead where active.
    ctx.db.execute(
        f"""DELETE FROM changes WHERE run_id = {ctx.run_id}
            AND kind IN {USER_CHANGE_KINDS_SQL} AND record_id IN (SELECT id FROM {gone})"""
    )
    ctx.db.execute(f"DELETE FROM {people} WHERE op <> 'create' AND id IN (SELECT id FROM {gone})")
    # The change names the guardian's own guardians.csv row, when tonight has one.
    rows = "SELECT NULL AS sourcedId, NULL::BIGINT AS _line WHERE false"
    if ctx.present("guardians"):
        rows = f"SELECT sourcedId, min(_line) AS _line FROM {ctx.good('guardians')} GROUP BY ALL"
    add_archives(
        ctx,
        USERS,
        f"""SELECT g.id, g._file, r._line FROM {gone} g JOIN users d ON d.user_id = g.id
            LEFT JOIN ({rows}) r ON r.sourcedId = d.sis_id WHERE g.status = 'active'""",
    )
    record_changes(
        ctx,
        USERS,
        only=f"p.op = 'archive' AND p.id IN (SELECT id FROM {gone})",
        notes=[("true", sql_literal(GUARDIAN_WITHOUT_A_STUDENT))],
    )
