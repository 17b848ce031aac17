"""The feed's people (students, staff, guardians), their links and attributes, as desired rows.

Each `desired_*` table holds one row per record the feed wants, shaped like the directory table,
with `_target_id` (the matched directory record, NULL when new), `_id` (the id it will have) and
provenance (`_file`, `_line`, `_label`). Matching honours merged tombstones and the student_id
setting.
"""

from __future__ import annotations

from daemon.db import sql_literal
from daemon.formats.spec import STAFF_ROLES
from daemon.sync.context import PlanContext

LANGUAGE_OK = r"^[a-z]{2,3}([-_][a-z0-9]{2,8})*$"


def build_feed_users(ctx: PlanContext) -> None:
    """Normalise users.csv (+ roles.csv, demographics.csv, guardians.csv) into feed_users."""
    s = ctx.settings
    roles_in = ", ".join(sql_literal(r) for r in s.guardian_roles)
    staff_in = ", ".join(sql_literal(r) for r in STAFF_ROLES)
    mobile, home = ("sms", "phone") if s.phone_credential_column == "sms" else ("phone", "sms")
    language = f"lower(coalesce({ctx.column('users', 'language', 'u')}, {ctx.column('users', 'metadata.language', 'u')}))"
    role = f"lower({ctx.column('users', 'role', 'u')})"
    orgs = f"{ctx.column('users', 'orgSourcedIds', 'u')}"
    role_source = ""
    if ctx.present("roles"):
        role_source = f"""LEFT JOIN (
            SELECT userSourcedId AS sis_id,
                   arg_min(lower(role), CASE lower(roleType) WHEN 'primary' THEN 0 ELSE 1 END) AS role,
                   string_agg(DISTINCT orgSourcedId, ',') AS orgs
            FROM {ctx.good("roles")} GROUP BY ALL) r ON r.sis_id = u.sourcedId"""
        role = f"coalesce({role}, r.role)"
        orgs = f"coalesce({orgs}, r.orgs)"
    if ctx.mode("roles") != "bulk" and "roles" in ctx.specs:
        # OneRoster 1.2 without a whole roles.csv: a user the drop gives no role keeps the
        # role and orgs the directory has for it.
        role_source += """ LEFT JOIN (SELECT sis_id, role, org_sis_ids FROM users
                                      WHERE sis_id IS NOT NULL
                                      QUALIFY count(*) OVER (PARTITION BY sis_id) = 1) dir
                           ON dir.sis_id = u.sourcedId"""
        role = f"coalesce({role}, dir.role)"
        orgs = f"coalesce({orgs}, dir.org_sis_ids)"
    role = _mapped_role(ctx, role)
    demographics, birth_broken = "CAST(NULL AS VARCHAR)", "false"
    demo_join = ""
    if ctx.present("demographics"):
        demo_join = f"""LEFT JOIN (
            SELECT sourcedId AS sis_id, arg_min(birthDate, _line) AS birth_date,
                   arg_min({ctx.broken("demographics", "birthDate")}, _line) AS birth_broken
            FROM {ctx.good("demographics")} GROUP BY ALL) dm
            ON dm.sis_id = u.sourcedId"""
        demographics = "CASE WHEN dm.birth_broken THEN NULL ELSE dm.birth_date END"
        birth_broken = "coalesce(dm.birth_broken, false)"
    else:
        ctx.keep_fields.setdefault("users", set()).add("birth_date")
    ctx.keep_missing(
        "users",
        "users",
        {
            "middle_name": "middleName",
            "identifier": "identifier",
            "email": "email",
            "grades": "grades",
            "preferred_given_name": "preferredGivenName",
            "user_ids": "userIds",
        },
    )
    if not s.update_language or not (
        {"language", "metadata.language"} & ctx.columns.get("users", set())
    ):
        ctx.keep_fields.setdefault("users", set()).add("language")
    if mobile not in ctx.columns.get("users", set()):
        ctx.keep_fields.setdefault("users", set()).add("mobile_phone")
    if home not in ctx.columns.get("users", set()):
        ctx.keep_fields.setdefault("users", set()).add("home_phone")
    known_orgs = f"SELECT sis_id AS id FROM {ctx.t('org_ids')}"
    users_sql = f"""
        SELECT rs_clean(u.sourcedId) AS sis_id, {role} AS role,
               {ctx.column("users", "identifier", "u")} AS identifier,
               {ctx.column("users", "username", "u")} AS username,
               {ctx.column("users", "userIds", "u")} AS user_ids,
               {ctx.column("users", "givenName", "u")} AS given_name,
               {ctx.column("users", "familyName", "u")} AS family_name,
               {ctx.column("users", "middleName", "u")} AS middle_name,
               {ctx.column("users", "preferredGivenName", "u")} AS preferred_given_name,
               {ctx.column("users", "email", "u")} AS email,
               {ctx.column("users", mobile, "u")} AS mobile_phone,
               {ctx.column("users", home, "u")} AS home_phone,
               CASE WHEN {ctx.settings.update_language} AND regexp_full_match({language}, '{LANGUAGE_OK}') THEN {language} END AS language,
               {language} IS NOT NULL AND NOT regexp_full_match({language}, '{LANGUAGE_OK}') AS _broken_language,
               {ctx.column("users", "grades", "u")} AS grades,
               {demographics} AS birth_date, {birth_broken} AS _broken_birth_date,
               {orgs} AS raw_orgs,
               lower({ctx.column("users", "enabledUser", "u")}) = 'true' AS enabled,
               {ctx.column("users", "agentSourcedIds", "u")} AS agents,
               coalesce(lower(rs_clean(u.status)), '') = 'tobedeleted' AS _deleted,
               {sql_literal(ctx.file("users"))} AS _file, u._line AS _line
        FROM {ctx.good("users")} u {role_source} {demo_join}"""
    # Orgs: keep the ones that are known (dangling ones were reported and are ignored). Most
    # users name one org: those are looked up directly, only lists are split.
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("feed_users")} AS
        WITH raw AS MATERIALIZED ({users_sql}),
        known AS (SELECT DISTINCT id FROM ({known_orgs})),
        multi AS (
            SELECT sis_id,
                   array_to_string(list_sort(list_distinct(list(org) FILTER (WHERE known))), ',') AS org_sis_ids,
                   list_distinct(list(org) FILTER (WHERE NOT known)) AS unmatched_orgs
            FROM (SELECT x.sis_id, x.org, k.id IS NOT NULL AS known
                  FROM (SELECT sis_id, trim(unnest(string_split(raw_orgs, ','))) AS org
                        FROM raw WHERE contains(raw_orgs, ',')) x
                  LEFT JOIN known k ON k.id = x.org
                  WHERE x.org <> '')
            GROUP BY sis_id)
        SELECT f.* EXCLUDE (raw_orgs),
               CASE WHEN contains(f.raw_orgs, ',') THEN m.org_sis_ids ELSE k.id END AS org_sis_ids,
               CASE WHEN f.role = 'student' THEN 'student'
                    WHEN f.role IN ({staff_in}) THEN 'staff'
                    WHEN f.role IN ({roles_in}) THEN 'guardian' END AS kind,
               CASE WHEN contains(f.raw_orgs, ',') THEN m.unmatched_orgs
                    WHEN f.raw_orgs IS NOT NULL AND k.id IS NULL THEN [f.raw_orgs] END AS unmatched_orgs,
               -- Naming an org that is not synced (tobedeleted, in error): the user's orgs
               -- are not changed by this row (see not_synced.report_user_orgs).
               coalesce(list_has_any(
                   CASE WHEN contains(f.raw_orgs, ',') THEN m.unmatched_orgs
                        WHEN f.raw_orgs IS NOT NULL AND k.id IS NULL THEN [f.raw_orgs] END,
                   (SELECT coalesce(list(sis_id), []) FROM {ctx.t("not_synced")} WHERE kind = 'org')),
                   false) AS _broken_org_sis_ids
        FROM raw f
        LEFT JOIN known k ON k.id = f.raw_orgs
        LEFT JOIN multi m ON m.sis_id = f.sis_id
        """
    )
    if "orgSourcedIds" not in ctx.columns.get("users", set()) and "roles" not in ctx.specs:
        ctx.keep_fields.setdefault("users", set()).add("org_sis_ids")
    ctx.checked_fields["users"] = ["birth_date", "language", "org_sis_ids"]
    report_users_without_a_role(ctx)
    if ctx.present("guardians"):
        _add_guardians_file_people(ctx, mobile, home)


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
                           ON re.sis_id = f.sis_id"""
        why = (
            f"CASE WHEN re.line IS NOT NULL THEN ' (its row on ' || {roles_file} || ' line ' "
            "|| re.line || ' has an error)' ELSE '' END"
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


def _add_guardians_file_people(ctx: PlanContext, mobile: str, home: str) -> None:
    roles_in = ", ".join(sql_literal(r) for r in ctx.settings.guardian_roles)
    language = f"lower({ctx.column('guardians', 'language', 'g')})"
    ctx.db.execute(
        f"""
        INSERT INTO {ctx.t("feed_users")} BY NAME
        SELECT g.sourcedId AS sis_id, lower(g.relationship) AS role,
               {ctx.column("guardians", "givenName", "g")} AS given_name,
               {ctx.column("guardians", "familyName", "g")} AS family_name,
               {ctx.column("guardians", "email", "g")} AS email,
               {ctx.column("guardians", mobile, "g")} AS mobile_phone,
               {ctx.column("guardians", home, "g")} AS home_phone,
               CASE WHEN {ctx.settings.update_language} AND regexp_full_match({language}, '{LANGUAGE_OK}') THEN {language} END AS language,
               {language} IS NOT NULL AND NOT regexp_full_match({language}, '{LANGUAGE_OK}') AS _broken_language,
               true AS enabled, CAST(NULL AS VARCHAR) AS agents, false AS _deleted,
               {sql_literal(ctx.file("guardians"))} AS _file, g._line AS _line,
               CASE WHEN lower(g.relationship) IN ({roles_in}) THEN 'guardian' END AS kind
        FROM {ctx.good("guardians")} g
        ANTI JOIN {ctx.t("feed_users")} u ON u.sis_id = g.sourcedId
        QUALIFY row_number() OVER (PARTITION BY g.sourcedId ORDER BY g._line) = 1
        """
    )


def build_desired_users(ctx: PlanContext) -> None:
    """Match feed people to directory users (through merged tombstones) and give new ones ids."""
    ident = ctx.settings.student_id == "identifier"
    # A row marked tobedeleted names its record whatever its role says (a 1.2 delta may send
    # no role for it); the record's own kind decides what archiving it means.
    kinds = (
        "(kind IS NOT NULL"
        + (")" if ctx.settings.manage_guardians else " AND kind <> 'guardian')")
        + " OR _deleted"
    )
    ident_keys = (
        """UNION ALL
           SELECT 'ident', identifier, coalesce(merged_into, user_id), merged_into IS NOT NULL
           FROM users WHERE kind = 'student' AND identifier IS NOT NULL"""
        if ident
        else ""
    )
    key_type = "CASE WHEN kind = 'student' THEN 'ident' ELSE 'sis' END" if ident else "'sis'"
    match_key = "CASE WHEN kind = 'student' THEN identifier ELSE sis_id END" if ident else "sis_id"
    base = ctx.max_id("users", "user_id")
    users_file = sql_literal(ctx.file("users"))
    offset = ctx.one(
        f"SELECT coalesce(max(_line), 0) FROM {ctx.t('feed_users')} WHERE _file = {users_file}"
    )
    # A row whose orgs are all left out of this run belongs nowhere: it is not synced (and the
    # record it names is kept). Orgs the feed marks tobedeleted or whose row has an error are
    # said on the row (report_user_orgs); under match_only, each unmatched school is reported
    # once.
    unplaced = "(f.org_sis_ids IS NULL AND coalesce(f._broken_org_sis_ids, false))"
    if ctx.settings.school_matching == "match_only":
        unplaced = f"""(f.org_sis_ids IS NULL AND (coalesce(f._broken_org_sis_ids, false) OR EXISTS (
            SELECT 1 FROM {ctx.t("desired_schools")} s
            WHERE s._unmatched AND s.org_type <> 'district' AND list_contains(f.unmatched_orgs, s.sis_id))))"""
    # Who claims which record is worked out on narrow rows (keys and line numbers only); the
    # wide feed rows are read once, at the end.
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("desired_users")} AS
        WITH f AS NOT MATERIALIZED (
            SELECT *, sis_id AS _feed_sis_id, {key_type} AS _key_type, {match_key} AS _match_key
            FROM {ctx.t("feed_users")} WHERE {kinds}
        ),
        keys AS MATERIALIZED (
            SELECT kt, key, min(uid) AS uid, min(uid) <> max(uid) AS _many, bool_and(via_tombstone) AS via_tombstone
            FROM (SELECT 'sis' AS kt, sis_id AS key, coalesce(merged_into, user_id) AS uid,
                         merged_into IS NOT NULL AS via_tombstone
                  FROM users WHERE sis_id IS NOT NULL {ident_keys})
            GROUP BY kt, key
        ),
        claims AS MATERIALIZED (
            SELECT k.uid AS _target_id, f._file, f._line, k.via_tombstone
            FROM (SELECT {key_type} AS _key_type, {match_key} AS _match_key, _file, _line
                  FROM {ctx.t("feed_users")} WHERE {kinds}) f
            JOIN keys k ON k.kt = f._key_type AND k.key = f._match_key
            WHERE NOT k._many
        ),
        keepers AS (
            SELECT _target_id, arg_min(_file || ':' || _line,
                                       CAST(via_tombstone AS INT) * 10000000000 + _line) AS keeper
            FROM claims
            WHERE _target_id IN (SELECT _target_id FROM claims GROUP BY _target_id HAVING count(*) > 1)
            GROUP BY _target_id
        ),
        matched AS (
            SELECT f.*, CASE WHEN NOT k._many THEN k.uid END AS _target_id,
                   coalesce(k._many, false) AS _ambiguous,
                   coalesce(k.via_tombstone, false) AS _via_tombstone,
                   f._match_key IS NULL AS _no_key,
                   {unplaced} AS _unplaced,
                   c.keeper IS NOT NULL AND c.keeper <> f._file || ':' || f._line AS _claimed_elsewhere
            FROM f LEFT JOIN keys k ON k.kt = f._key_type AND k.key = f._match_key
            LEFT JOIN keepers c ON c._target_id = k.uid AND NOT k._many
        )
        SELECT * EXCLUDE (_unplaced),
               _ambiguous OR _no_key OR _claimed_elsewhere OR _unplaced AS _skip,
               CASE WHEN _ambiguous THEN 'is claimed by more than one directory record'
                    WHEN _no_key THEN 'has no identifier (student_id = identifier)'
                    WHEN _unplaced THEN 'belongs to no org that is synced in this run'
               END AS _skip_why,
               false AS _kept_archived,
               CAST(NULL AS VARCHAR) AS _label,
               coalesce(_target_id, {base} + _line + CASE WHEN _file = {users_file} THEN 0 ELSE {offset} END) AS _id
        FROM matched
        """
    )
    _report_unkeyed_students(ctx)


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

    A student kept archived maps to its record (a feed link to it is a question for a person,
    see link_rules) but gains no enrollment or attribute (`kept_archived`)."""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("user_map")} AS
        SELECT _feed_sis_id AS sis_id, CASE WHEN _skip THEN _target_id ELSE _id END AS user_id,
               kind, role, _kept_archived AS kept_archived
        FROM {ctx.t("desired_users")}
        WHERE (NOT _skip OR _target_id IS NOT NULL) AND NOT _deleted
        UNION ALL
        SELECT u.sis_id, u.survivor, s.kind, s.role, false
        FROM (SELECT sis_id, coalesce(merged_into, user_id) AS survivor FROM users
              ANTI JOIN (SELECT sis_id FROM {ctx.t("feed_users")} WHERE sis_id IS NOT NULL) f
                ON f.sis_id = users.sis_id
              WHERE users.sis_id IS NOT NULL AND ({_known_without_a_row(ctx)})
              QUALIFY count(*) OVER (PARTITION BY users.sis_id) = 1) u
        JOIN users s ON s.user_id = u.survivor
        WHERE s.status <> 'merged'
        """
    )
