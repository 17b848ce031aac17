"""The feed's schools, classrooms and enrollments as desired rows (see feed.users for the shape)."""

from __future__ import annotations

from daemon.db import rows_sharing_a_hash, sql_literal
from daemon.directory.orgs import schools_in_orgs
from daemon.sync import not_synced
from daemon.sync.context import PlanContext
from daemon.sync.diff import ABSENT_NOTE, TOBEDELETED_NOTE, LeftOutBySetting, add_archives
from daemon.sync.kinds import ENROLLMENTS
from daemon.sync.scope import record_filter
from daemon.sync.unchanged import enrollment_source_hash
from daemon.words import counted, line_ranges


def build_desired_schools(ctx: PlanContext) -> None:
    """Schools by SIS id (a directory school may answer to several); the org_ids the others use."""
    base = ctx.max_id("schools", "school_id")
    create = ctx.settings.school_matching == "create_missing"
    if ctx.present("orgs"):
        ctx.keep_missing(
            "schools",
            "orgs",
            {"name": "name", "identifier": "identifier", "parent_sis_id": "parentSourcedId"},
        )
        rows = f"""
            SELECT o.sourcedId AS sis_id, lower(o.type) AS org_type,
                   {ctx.column("orgs", "name", "o")} AS name,
                   {ctx.column("orgs", "identifier", "o")} AS identifier,
                   {ctx.column("orgs", "parentSourcedId", "o")} AS parent_sis_id,
                   coalesce(lower(o.status), '') = 'tobedeleted' AS _deleted,
                   {sql_literal(ctx.file("orgs"))} AS _file, o._line AS _line
            FROM {ctx.good("orgs")} o"""
    else:
        # No orgs.csv: schools are known by the ids classes and users name.
        rows = f"""
            SELECT DISTINCT ON (sis_id) sis_id, 'school' AS org_type, 'School ' || sis_id AS name,
                   NULL AS identifier, NULL AS parent_sis_id, false AS _deleted, _file, _line
            FROM (SELECT schoolSourcedId AS sis_id, {sql_literal(ctx.file("classes"))} AS _file, _line
                  FROM {ctx.good("classes")}
                  UNION ALL
                  SELECT trim(unnest(string_split(orgSourcedIds, ','))), {sql_literal(ctx.file("users"))}, _line
                  FROM {ctx.good("users")} WHERE orgSourcedIds IS NOT NULL)
            WHERE sis_id <> '' AND sis_id NOT IN (SELECT sis_id FROM school_sis_ids)
            ORDER BY sis_id, _file, _line"""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("desired_schools")} AS
        WITH f AS ({rows}),
        matched AS (
            SELECT f.*, m.school_id AS _target_id,
                   m.school_id IS NOT NULL AND s.sis_id IS DISTINCT FROM f.sis_id AS _alias
            FROM f LEFT JOIN school_sis_ids m ON m.sis_id = f.sis_id
                   LEFT JOIN schools s ON s.school_id = m.school_id
        )
        SELECT *, name AS _label,
               _alias OR (_target_id IS NULL AND NOT {create}) AS _skip,
               CASE WHEN _target_id IS NULL AND NOT {create}
                    THEN 'matches no directory school (school_matching = match_only)' END AS _skip_why,
               _target_id IS NULL AND NOT {create} AS _unmatched,
               coalesce(_target_id, {base} + row_number() OVER (PARTITION BY _target_id IS NULL ORDER BY _line)) AS _id
        FROM matched
        """
    )
    # Ids that users, classes and enrollments may name: the feed's schools that will exist,
    # and every SIS id the directory's active schools answer to (a row under a second SIS id
    # of a school speaks for nothing, plan_table: it resolves only while the school is
    # active). A school the directory has archived, which no row of this drop brings back,
    # keeps what its archive took: a class or person naming it is not synced (as for an
    # archived class, build_desired_classrooms), rather than made active in a school the
    # directory, its export and every LMS no longer show (not_synced says why).
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("org_ids")} AS
        SELECT sis_id, _id AS school_id FROM {ctx.t("desired_schools")}
        WHERE NOT _deleted AND NOT _unmatched AND NOT _alias
        UNION
        SELECT m.sis_id, m.school_id FROM school_sis_ids m JOIN schools s USING (school_id)
        WHERE s.status = 'active'
          AND m.sis_id NOT IN (SELECT sis_id FROM {ctx.t("desired_schools")} WHERE _unmatched)
        """
    )


def keep_schools_still_named(ctx: PlanContext) -> str | None:
    """SQL: the ids of the schools this plan would archive (marked tobedeleted, or left out of a
    whole orgs.csv) that something staying active still names: a row of this drop that is not
    marked tobedeleted (in error or not), or a classroom or person of the directory that a
    changes-only or absent classes.csv or users.csv leaves as it is. Such a school is kept,
    and the run says what names it: archiving it would leave its classes and people active in
    a school the directory, its export and every LMS no longer show. None when the plan
    archives no school so named (most nights archive no school at all)."""
    plan = ctx.keep("plan_schools")
    if not ctx.db.one(f"SELECT EXISTS (FROM {plan} WHERE op = 'archive')"):
        return None
    naming = _what_names_schools(ctx)
    if not naming:
        return None
    kept = ctx.t("schools_still_named")
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {kept} AS
        SELECT p.id AS school_id, coalesce(f.sis_id, s.sis_id, '#' || p.id) AS sis_id, p._file,
               p._line, n.what, count(*) AS n,
               list(DISTINCT n._line ORDER BY n._line) FILTER (WHERE n._line IS NOT NULL) AS lines
        FROM {plan} p JOIN ({" UNION ALL ".join(naming)}) n(what, _line, school_id)
          ON n.school_id = p.id
        JOIN schools s ON s.school_id = p.id
        -- the tobedeleted row's own id (a second SIS id of the school, say)
        LEFT JOIN {ctx.t("desired_schools")} f ON f._line = p._line AND f._file = p._file
        WHERE p.op = 'archive'
        GROUP BY ALL
        """
    )
    said: dict[tuple[str, str | None, int | None], list[tuple[str, int, list[int]]]] = {}
    for _, sis_id, file, line, what, n, lines in ctx.db.rows(
        f"SELECT * FROM {kept} ORDER BY school_id, what"
    ):
        said.setdefault((sis_id, file, line), []).append((what, n, lines or []))
    for (sis_id, file, line), namers in said.items():
        why = _still_named(namers)
        if line is None:
            ctx.note(
                "schools",
                f"school '{sis_id}' is not in {ctx.file('orgs')}, but {why}, "
                "so it is kept until nothing does",
            )
        else:
            ctx.db.execute(
                "INSERT INTO row_issues VALUES (?, ?, ?, ?, 'WARNING', 'status', "
                "'school_still_named', ?)",
                [
                    ctx.run_id, file, line, sis_id,
                    f"{file} line {line}: school '{sis_id}' is marked tobedeleted, but {why}, "
                    "so it is kept until nothing does",
                ],
            )  # fmt: skip
    return f"SELECT school_id AS id FROM {kept}"


def note_what_hand_made_stays_in_archived_schools(ctx: PlanContext) -> None:
    """A school the plan archives in which a class or person made by hand stays active: the run
    says so (a revert's plan too). The SIS's end of a school is not held for them (a night
    keeps a school only for what the feed and its export speak for): what a person made is in
    no export, and stays as they made it."""
    plan = ctx.keep("plan_schools")
    if not ctx.db.one(f"SELECT EXISTS (FROM {plan} WHERE op = 'archive')"):
        return
    people = schools_in_orgs(
        "SELECT user_id AS who, org_sis_ids FROM users WHERE status = 'active' AND origin = 'hand'"
    )
    for sis_id, school, classes, persons in ctx.db.rows(
        f"""SELECT coalesce(s.sis_id, '#' || s.school_id), s.name,
                   (SELECT count(*) FROM classrooms c WHERE c.school_id = p.id
                      AND c.status = 'active' AND c.origin = 'hand'),
                   (SELECT count(*) FROM ({people}) n WHERE n.school_id = p.id)
            FROM {plan} p JOIN schools s ON s.school_id = p.id
            WHERE p.op = 'archive' ORDER BY 1"""
    ):
        if not classes and not persons:
            continue
        made = _listed(
            [
                counted(n, word, many)
                for n, word, many in ((classes, "class", "classes"), (persons, "person", "people"))
                if n
            ]
        )
        one = classes + persons == 1
        ctx.note(
            "schools",
            f"school '{sis_id}' ({school}) is archived, and {made} made by hand "
            f"{'stays' if one else 'stay'} active in it as {'it is' if one else 'they are'} "
            "(in no export)",
        )


def _what_names_schools(ctx: PlanContext) -> list[str]:
    """SQL pieces, each (what, _line, school_id): what stays active tonight and names a school.
    A row of this drop not marked tobedeleted names the school it says; a row in error, or
    rejected by the reader, the school it says and the school of the record it holds as it is
    (its own values may be what is wrong); a classroom or person of the directory that a
    changes-only or absent file leaves as it is, its own school. Under homeroom_only only
    homerooms stay."""
    live = "coalesce(lower(status), '') <> 'tobedeleted'"
    homeroom = ctx.settings.classroom_filter == "homeroom_only"
    by_sis = []  # (what, _line, an org's SIS id)
    by_id = []  # (what, _line, a school's id)
    for entity, column in (("classes", "schoolSourcedId"), ("users", "orgSourcedIds"),
                           ("users", "primaryOrgSourcedId"), ("roles", "orgSourcedId")):  # fmt: skip
        if not ctx.present(entity) or column not in ctx.columns.get(entity, set()):
            continue
        named = (
            f"trim(unnest(string_split({column}, ',')))" if column == "orgSourcedIds" else column
        )
        kept = (
            " AND coalesce(lower(classType) = 'homeroom', false)"
            if entity == "classes" and homeroom
            else ""
        )
        by_sis.append(
            f"""SELECT {sql_literal(ctx.file(entity))} AS what, _line, {named} AS sis_id
                FROM {ctx.good(entity)} WHERE {live} AND {column} IS NOT NULL {kept}"""
        )
    homerooms = "AND coalesce(c.class_type = 'homeroom', false)" if homeroom else ""
    if ctx.present("classes"):
        file = sql_literal(ctx.file("classes"))
        by_id.append(
            f"""SELECT {file}, e._line, c.school_id
                FROM {ctx.errored("classes")} e JOIN classrooms c ON c.sis_id = e.sourcedId
                WHERE c.status = 'active' {homerooms}"""
        )
        by_sis.append(
            f"""SELECT {file}, _line, schoolSourcedId FROM {ctx.errored("classes")}
                WHERE schoolSourcedId IS NOT NULL"""
        )
    if ctx.present("users"):
        held = f"""SELECT e._line AS who, u.org_sis_ids
                   FROM {ctx.errored("users")} e JOIN users u ON u.sis_id = e.sourcedId
                   WHERE u.status = 'active'"""
        by_id.append(
            f"""SELECT {sql_literal(ctx.file("users"))}, who, school_id
                FROM ({schools_in_orgs(held)})"""
        )
    if ctx.mode("classes") != "bulk":
        by_id.append(
            f"""SELECT 'classroom', NULL::BIGINT, c.school_id FROM classrooms c
                WHERE c.status = 'active' AND c.origin = 'sync' {homerooms}
                  AND c.sis_id NOT IN ({_sourced_ids(ctx, "classes")})"""
        )
    # The people whose schools no row gives tonight: left out of a changes-only or absent
    # users.csv, or (OneRoster 1.2, a person's schools being their roles') named by a row
    # while roles.csv is changes-only or absent.
    people = None
    if ctx.mode("users") != "bulk":
        people = f"u.sis_id NOT IN ({_sourced_ids(ctx, 'users')})"
    elif (
        "roles" in ctx.specs
        and ctx.mode("roles") != "bulk"
        and "orgSourcedIds" not in ctx.columns.get("users", set())
    ):
        people = f"u.sis_id IN (SELECT sourcedId FROM {ctx.good('users')} WHERE {live})"
    if people:
        staying = f"""SELECT u.user_id AS who, u.org_sis_ids FROM users u
                      WHERE u.status = 'active' AND u.origin = 'sync' AND {people}"""
        by_id.append(f"SELECT 'person', NULL::BIGINT, school_id FROM ({schools_in_orgs(staying)})")
    if by_sis:
        by_id.append(
            f"""SELECT n.what, n._line, m.school_id
                FROM ({" UNION ALL ".join(by_sis)}) n(what, _line, sis_id)
                JOIN school_sis_ids m ON m.sis_id = n.sis_id"""
        )
    return by_id


def _sourced_ids(ctx: PlanContext, entity: str) -> str:
    """SQL: the sourcedIds of a file's rows tonight (none when the drop has no such file)."""
    if not ctx.present(entity):
        return "SELECT NULL::VARCHAR WHERE false"
    return f"SELECT sourcedId FROM {ctx.t(entity)} WHERE sourcedId IS NOT NULL"


def _still_named(namers: list[tuple[str, int, list[int]]]) -> str:
    """'1 classes.csv row (line 4) and 9 users.csv rows (lines 8-11, 18-21, 23) still name it',
    '2 classrooms that this drop does not name are still in it'."""
    rows = [(len(lines), what, lines) for what, _, lines in namers if lines]
    kept = [(n, what) for what, n, lines in namers if not lines]
    clauses = []
    if rows:
        one = len(rows) == 1 and rows[0][0] == 1
        listed = _listed(
            [f"{counted(n, f'{what} row')} ({line_ranges(lines)})" for n, what, lines in rows]
        )
        clauses.append(f"{listed} still {'names' if one else 'name'} it")
    if kept:
        one = len(kept) == 1 and kept[0][0] == 1
        listed = _listed(
            [counted(n, what, "people" if what == "person" else None) for n, what in kept]
        )
        clauses.append(
            f"{listed} that this drop does not name {'is' if one else 'are'} still in it"
        )
    return " and ".join(clauses)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def build_desired_classrooms(ctx: PlanContext) -> None:
    base = ctx.max_id("classrooms", "classroom_id")
    ctx.keep_missing(
        "classrooms",
        "classes",
        {
            "name": "title",
            "class_code": "classCode",
            "grades": "grades",
            "subjects": "subjects",
            "subject_codes": "subjectCodes",
            "periods": "periods",
            "location": "location",
        },
    )
    ctx.checked_fields["classrooms"] = ["grades"]
    homeroom_only = ctx.settings.classroom_filter == "homeroom_only"
    # A class the setting leaves out is, for the sync, one the feed ends: its classroom is
    # archived (with its memberships) whatever the file's mode, as a person asked; in a delta
    # file too, where being absent ends nothing.
    filtered = "NOT coalesce(lower(c.classType) = 'homeroom', false)" if homeroom_only else "false"
    if homeroom_only:
        skipped = ctx.one(f"SELECT count(*) FROM {ctx.good('classes')} c WHERE {filtered}")
        if skipped:
            ctx.note(
                "classrooms",
                f"{skipped} scheduled classes are not synced (classroom_filter = homeroom_only)",
            )
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("desired_classrooms")} AS
        WITH f AS (
            SELECT c.sourcedId AS sis_id, o.school_id,
                   {ctx.column("classes", "title", "c")} AS name,
                   {ctx.column("classes", "classCode", "c")} AS class_code,
                   lower({ctx.column("classes", "classType", "c")}) AS class_type,
                   {ctx.checked("classes", "grades", "grades", "c")},
                   {ctx.column("classes", "subjects", "c")} AS subjects,
                   {ctx.column("classes", "subjectCodes", "c")} AS subject_codes,
                   {ctx.column("classes", "courseSourcedId", "c")} AS course_sis_id,
                   {ctx.column("classes", "termSourcedIds", "c")} AS term_sis_ids,
                   {ctx.column("classes", "periods", "c")} AS periods,
                   {ctx.column("classes", "location", "c")} AS location,
                   coalesce(lower(c.status), '') = 'tobedeleted' OR {filtered} AS _deleted,
                   {filtered} AS _filtered,
                   {sql_literal(ctx.file("classes"))} AS _file, c._line AS _line,
                   c.schoolSourcedId AS _school_sis_id
            FROM {ctx.good("classes")} c
            LEFT JOIN {ctx.t("org_ids")} o ON o.sis_id = c.schoolSourcedId
        ),
        keys AS (SELECT sis_id, min(classroom_id) AS cid, count(*) AS n
                 FROM classrooms WHERE sis_id IS NOT NULL GROUP BY sis_id)
        SELECT f.*, CASE WHEN k.n = 1 THEN k.cid END AS _target_id,
               coalesce(k.n, 0) > 1 AND NOT f._filtered AS _ambiguous,
               f.school_id IS NULL AS _no_school,
               (coalesce(k.n, 0) > 1 OR f.school_id IS NULL) AND NOT f._filtered AS _skip,
               CASE WHEN f._filtered THEN NULL
                    WHEN coalesce(k.n, 0) > 1 THEN 'is claimed by more than one directory classroom'
                    WHEN f.school_id IS NULL THEN 'has no school that is synced in this run'
               END AS _skip_why,
               f.name AS _label,
               coalesce(CASE WHEN k.n = 1 THEN k.cid END,
                        {base} + f._line) AS _id
        FROM f LEFT JOIN keys k ON k.sis_id = f.sis_id
        """
    )
    if homeroom_only:
        _leave_out_scheduled_classrooms(ctx)
    # Directory classrooms a row may name without a good row in this drop: all of them when
    # classes.csv is a delta (or absent), those whose row is in error; under homeroom_only,
    # homerooms only (a row in error holds only a homeroom, see plan._classrooms).
    if ctx.mode("classes") != "bulk":
        known = "true"
    else:
        known = f"sis_id IN (SELECT sourcedId FROM {ctx.errored('classes')})"
    if homeroom_only:
        known = f"({known}) AND lower(class_type) = 'homeroom'"
    # A classroom the directory has archived, which no row of this drop brings back, keeps
    # what its archive took: a row naming it does not sync (an enrollment would be an active
    # membership of a class the directory, its export and every LMS no longer show). As a
    # person archived and named only by reference (feed/users.py build_user_map).
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("classroom_map")} AS
        SELECT sis_id, _id AS classroom_id FROM {ctx.t("desired_classrooms")}
        WHERE NOT _skip AND NOT _deleted
        UNION ALL
        SELECT sis_id, min(classroom_id) FROM classrooms
        WHERE sis_id IS NOT NULL
          AND sis_id NOT IN (SELECT sis_id FROM {ctx.t("desired_classrooms")})
          AND ({known})
        GROUP BY sis_id HAVING count(*) = 1 AND bool_and(status = 'active')
        """
    )
    in_error = (
        f"AND sis_id NOT IN (SELECT sourcedId FROM {ctx.errored('classes')})"
        if ctx.present("classes")
        else ""
    )
    brings_back = f"is archived, and no {ctx.file('classes')} row of this drop brings it back"
    ctx.db.execute(
        f"""INSERT INTO {ctx.t("not_synced")}
            SELECT 'class', sis_id, {sql_literal(brings_back)}, false
            FROM classrooms
            WHERE sis_id IS NOT NULL AND status = 'archived' AND ({known}) {in_error}
              AND sis_id NOT IN (SELECT sis_id FROM {ctx.t("desired_classrooms")})
            GROUP BY sis_id HAVING count(*) = 1"""
    )


def _leave_out_scheduled_classrooms(ctx: PlanContext) -> None:
    """The directory's scheduled classrooms no good row names tonight (classes.csv a delta, or
    absent, or their row in error): the setting leaves them out all the same, so what it
    decides does not hang on which files a night brings. A row in error holds only a homeroom
    (plan._classrooms); a SIS id claimed twice is held by the row naming it."""
    desired = ctx.t("desired_classrooms")
    ctx.db.execute(
        f"""
        INSERT INTO {desired} BY NAME
        SELECT d.sis_id, d.school_id, d.name, d.class_type, d.classroom_id AS _target_id,
               d.classroom_id AS _id, d.name AS _label, true AS _deleted, true AS _filtered,
               false AS _ambiguous, false AS _no_school, false AS _skip
        FROM classrooms d
        WHERE d.status = 'active' AND d.origin = 'sync' AND d.sis_id IS NOT NULL
          AND NOT coalesce(d.class_type = 'homeroom', false)
          AND d.sis_id NOT IN (SELECT sis_id FROM {desired} WHERE sis_id IS NOT NULL)
          AND {record_filter(ctx.scope, "classrooms")}
        """
    )


HOMEROOM_ONLY_NOTE = "classroom_filter = homeroom_only leaves out this scheduled class"


def left_out_by_homeroom_only(ctx: PlanContext) -> LeftOutBySetting | None:
    """Under homeroom_only, a classroom archived while its row is still in the feed (a good row of
    a scheduled class, or a row in error) is left out by the setting, neither missing from the
    file nor marked tobedeleted: its change says so and names the row."""
    if ctx.settings.classroom_filter != "homeroom_only":
        return None
    # A row in error's line is the closer trace than none (its class left out by the setting).
    errored = (
        f"UNION ALL SELECT sourcedId, _line FROM {ctx.errored('classes')}"
        if ctx.present("classes")
        else ""
    )
    return LeftOutBySetting(
        f"""SELECT sis_id, {sql_literal(HOMEROOM_ONLY_NOTE)} AS note, NULL::VARCHAR AS _file,
                   min(_line) AS _line
            FROM (SELECT sis_id, _line FROM {ctx.t("desired_classrooms")} WHERE _filtered
                  {errored})
            GROUP BY sis_id""",
        replaces=(ABSENT_NOTE, TOBEDELETED_NOTE),
    )


def find_repeated_enrollments(ctx: PlanContext) -> None:
    """Rows that send a membership another row already sends (same class and user, another
    sourcedId). The row that already holds the membership (its sourcedId is the record's SIS id)
    keeps it, else the smallest sourcedId: every night the same one, and a copy that comes later
    never takes the record's SIS id away. The others are reported and not synced."""
    # Only the rare rows whose pair's hash another row shares are compared by their values.
    live = f"""(SELECT _line, sourcedId, classSourcedId, userSourcedId,
                       hash(classSourcedId, userSourcedId) AS pair
                FROM {ctx.good("enrollments")}
                WHERE coalesce(lower(status), '') <> 'tobedeleted')"""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("repeated_enrollments")} AS
        WITH candidates AS MATERIALIZED (
            SELECT e.* FROM {live} e
            SEMI JOIN ({rows_sharing_a_hash(live, "_line", "pair")}) r ON r._line = e._line
        ),
        holders AS (
            SELECT c._line FROM candidates c
            JOIN enrollments d ON d.sis_id = c.sourcedId
            JOIN {ctx.t("classroom_map")} cm
              ON cm.sis_id = c.classSourcedId AND cm.classroom_id = d.classroom_id
            JOIN {ctx.t("user_map")} um ON um.sis_id = c.userSourcedId AND um.user_id = d.user_id
        ),
        keepers AS (
            SELECT classSourcedId, userSourcedId,
                   coalesce(min(sourcedId) FILTER (WHERE _line IN (SELECT _line FROM holders)),
                            min(sourcedId)) AS keeper
            FROM candidates GROUP BY ALL HAVING count(*) > 1
        )
        SELECT e._line, e.sourcedId AS sis_id, k.keeper, w._line AS keeper_line
        FROM candidates e JOIN keepers k
          ON k.classSourcedId = e.classSourcedId AND k.userSourcedId = e.userSourcedId
        JOIN candidates w ON w.sourcedId = k.keeper
         AND w.classSourcedId = k.classSourcedId AND w.userSourcedId = k.userSourcedId
        WHERE e.sourcedId <> k.keeper
        """
    )


def build_desired_enrollments(ctx: PlanContext, rows: str) -> None:
    """One membership per classroom and user, from `rows` (the staging rows that are neither
    unchanged nor repeated); rows whose class or user did not sync are reported.

    The directory holds at most one enrollment per classroom and user (in any status), so a
    plain join matches; ids of new rows are the base plus the file line (no sort needed). Two
    rows that resolve to one membership (through a merged student, say) are settled like
    repeated rows: the row that already holds the membership keeps it (an unchanged row, or one
    whose sourcedId is the membership's SIS id: the same row either way, so the shortcut and the
    full path agree; a source's own ids never are a SIS id, so find_unchanged_enrollments leaves
    such rows to the full path), otherwise the smallest sourcedId wins.
    """
    base = ctx.max_id("enrollments", "enrollment_id")
    e = "enrollments"
    ctx.keep_missing(
        "enrollments",
        e,
        {"is_primary": "primary", "begin_date": "beginDate", "end_date": "endDate"},
    )
    begin, end, primary = (ctx.broken(e, c, "e") for c in ("beginDate", "endDate", "primary"))
    held_class = f"coalesce(e.classSourcedId IN ({ctx.held_sis('class')}), false)"
    held_user = f"coalesce(e.userSourcedId IN ({ctx.held_sis('user')}), false)"
    # what not_synced.report_enrollments reports: unresolved, or naming a held class or person
    unsynced = f"cm.classroom_id IS NULL OR um.user_id IS NULL OR {held_class} OR {held_user}"
    shared = _maps_share_an_id(ctx)
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("desired_enrollments")} AS
        WITH f AS {"" if shared else "NOT "}MATERIALIZED (
            SELECT cm.classroom_id, um.user_id, lower(e.role) AS role, e.sourcedId AS sis_id,
                   CASE lower(e."primary") WHEN 'true' THEN true WHEN 'false' THEN false END AS is_primary,
                   CASE WHEN NOT {begin} THEN e.beginDate END AS begin_date,
                   CASE WHEN NOT {end} THEN e.endDate END AS end_date,
                   {primary} AS _broken_is_primary, {begin} AS _broken_begin_date,
                   {end} AS _broken_end_date,
                   coalesce(lower(e.status), '') = 'tobedeleted' AS _deleted,
                   -- the file's name and the label (the sourcedId again) are written once the
                   -- rows are settled: carried through the joins, they were two more strings
                   -- on each of millions of rows (a first load of 21.75M: 18.4 s, not 24.7)
                   NULL::VARCHAR AS _file, e._line AS _line, NULL::VARCHAR AS _label,
                   -- the ids the row names, for the report of a row that does not sync (and
                   -- only then: two more ids on each of millions of rows, 36 characters each
                   -- where the SIS sends GUIDs)
                   CASE WHEN {unsynced} THEN e.classSourcedId END AS _class_sis_id,
                   CASE WHEN {unsynced} THEN e.userSourcedId END AS _user_sis_id,
                   {enrollment_source_hash(ctx, "e")} AS _source_hash,
                   {held_class} AS _held_class, {held_user} AS _held_user
            FROM {rows} e
            LEFT JOIN {ctx.t("classroom_map")} cm ON cm.sis_id = e.classSourcedId
            LEFT JOIN {ctx.t("user_map")} um ON um.sis_id = e.userSourcedId AND NOT um.kept_archived
        ),
        matched AS (
            SELECT f.*, d.enrollment_id AS _target_id, u.id IS NOT NULL AS _held_by_unchanged,
                   d.sis_id AS _target_sis_id
            FROM f
            LEFT JOIN enrollments d ON d.classroom_id = f.classroom_id AND d.user_id = f.user_id
            LEFT JOIN {ctx.t("unchanged_enrollments")} u ON u.id = d.enrollment_id
        ),
        keepers AS ({_keepers(ctx) if shared else _NO_KEEPERS})
        -- A new membership is labelled by its person and class when listed (sync/queries.py),
        -- as once created: its SIS id again was a copy of millions of ids on a first load.
        SELECT m.* EXCLUDE (_held_by_unchanged, _target_sis_id)
                   REPLACE ({sql_literal(ctx.file("enrollments"))} AS _file,
                            CASE WHEN m._target_id IS NOT NULL THEN m.sis_id END AS _label),
               CASE WHEN m._held_by_unchanged THEN m._target_sis_id ELSE k.keeper END AS _keeper,
               m.classroom_id IS NULL OR m.user_id IS NULL AS _unresolved,
               NOT m._deleted AND (m._held_by_unchanged OR k.keeper IS DISTINCT FROM m.sis_id AND k.keeper IS NOT NULL) AS _repeated,
               m.classroom_id IS NULL OR m.user_id IS NULL OR m._held_class OR m._held_user
                 OR (NOT m._deleted AND (m._held_by_unchanged OR (k.keeper IS NOT NULL AND k.keeper <> m.sis_id))) AS _skip,
               coalesce(m._target_id, {base} + m._line) AS _id
        FROM matched m
        LEFT JOIN keepers k ON k.classroom_id = m.classroom_id AND k.user_id = m.user_id
        """
    )
    ctx.checked_fields["enrollments"] = ["is_primary", "begin_date", "end_date"]


def _maps_share_an_id(ctx: PlanContext) -> bool:
    """Two rows can name one membership only through a class or a person the maps reach from
    two entries (repeated_enrollments already left one row per pair of SIS ids): a merged
    student's two ids, say. Most nights, and every first load of a district with one id per
    person, have none: then no row needs a keeper, and the rows are not kept aside for it."""
    return bool(
        ctx.db.one(
            f"""SELECT EXISTS (SELECT classroom_id FROM {ctx.t("classroom_map")}
                               GROUP BY classroom_id HAVING count(*) > 1)
                    OR EXISTS (SELECT user_id FROM {ctx.t("user_map")} WHERE NOT kept_archived
                               GROUP BY user_id HAVING count(*) > 1)"""
        )
    )


_NO_KEEPERS = """SELECT NULL::BIGINT AS classroom_id, NULL::BIGINT AS user_id,
                        NULL::VARCHAR AS keeper WHERE false"""


def _keepers(ctx: PlanContext) -> str:
    """SQL over the rows `f`: of the rows naming one membership through a class or person the
    maps share, the one that already holds it (its sourcedId is the record's SIS id) keeps it,
    whether or not it took the unchanged-row shortcut; else the smallest. Only those rows are
    grouped: a handful (the maps are grouped, not the rows: reading the rows again cost
    seconds on a first load of millions)."""
    return f"""
            WITH shared_classrooms AS (
                SELECT classroom_id FROM {ctx.t("classroom_map")}
                GROUP BY classroom_id HAVING count(*) > 1
            ),
            shared_users AS (
                SELECT user_id FROM {ctx.t("user_map")} WHERE NOT kept_archived
                GROUP BY user_id HAVING count(*) > 1
            )
            SELECT g.classroom_id, g.user_id,
                   coalesce(min(g.sis_id) FILTER (WHERE g.sis_id = d.sis_id), min(g.sis_id)) AS keeper
            FROM (SELECT classroom_id, user_id, sis_id FROM f
                  WHERE classroom_id IS NOT NULL AND user_id IS NOT NULL AND NOT _deleted
                    AND (classroom_id IN (SELECT classroom_id FROM shared_classrooms)
                         OR user_id IN (SELECT user_id FROM shared_users))) g
            LEFT JOIN enrollments d ON d.classroom_id = g.classroom_id AND d.user_id = g.user_id
            GROUP BY ALL HAVING count(*) > 1"""


MOVED_SIS_ID_NOTE = "its sourcedId now names another membership"


def keep_enrollment_sis_ids_unique(ctx: PlanContext) -> None:
    """A row whose sourcedId names an active membership of another class or person moves the
    id: memberships match on class and person, so the one holding the id is archived (in a
    whole file it already is, being left out; in a changes-only file nothing else would end it).
    Where that membership is kept as it is (a row in error names it, its class or person is
    held, a scoped upload does not speak for its school), the row is left out of the plan
    instead: it would make a second record with that id, and an export would repeat the
    sourcedId. It is not synced and says which membership holds its id.

    Only the SIS ids the plan gives are looked up. Leaving a row out can leave the record it
    moved away from an id holding it still, so this repeats until nothing more is found. The
    moved memberships are listed in `moved_enrollments`, for their changes' note."""
    plan = ctx.keep("plan_enrollments")
    taken, claims = ctx.t("enrollment_sis_ids_taken"), ctx.t("enrollment_sis_id_claims")
    moved = ctx.t("moved_enrollments")
    ctx.db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {taken} AS
            SELECT CAST(NULL AS BIGINT) AS _line, CAST(NULL AS VARCHAR) AS sis_id,
                   CAST(NULL AS BIGINT) AS holder WHERE false"""
    )
    ctx.db.execute(f"CREATE OR REPLACE TEMP TABLE {moved} AS SELECT NULL::BIGINT AS id WHERE false")
    # Nothing active holds an id yet (a first load): a good row's sourcedId is its file's only.
    while ctx.db.one("SELECT EXISTS (FROM enrollments WHERE status = 'active')"):
        ctx.db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {claims} AS
            WITH claims AS MATERIALIZED (
                SELECT id, sis_id, _line FROM {plan}
                WHERE op IN ('create', 'update', 'unarchive') AND sis_id IS NOT NULL
            ),
            -- memberships this plan archives, or gives another id: they hold theirs no longer
            leaving AS (
                SELECT id FROM {plan} WHERE op = 'archive'
                UNION ALL
                SELECT p.id FROM {plan} p JOIN enrollments d ON d.enrollment_id = p.id
                WHERE p.op = 'update' AND p.sis_id IS DISTINCT FROM d.sis_id
            )
            SELECT c.id, c.sis_id, c._line, min(d.enrollment_id) AS holder
            FROM claims c JOIN enrollments d ON d.sis_id = c.sis_id
            WHERE d.status = 'active' AND d.enrollment_id <> c.id
              AND d.enrollment_id NOT IN (SELECT id FROM leaving)
            GROUP BY ALL
            """
        )
        if not ctx.db.one(f"SELECT EXISTS (FROM {claims})"):
            break
        if _move_ids_from_memberships_not_kept(ctx, claims):
            continue
        ctx.db.execute(f"INSERT INTO {taken} SELECT _line, sis_id, holder FROM {claims}")
        ctx.db.execute(
            f"DELETE FROM {plan} WHERE op <> 'archive' AND id IN (SELECT id FROM {claims})"
        )
    not_synced.report(
        ctx,
        "enrollments",
        f"""SELECT t._line, t.sis_id AS sourced_id, u.sis_id AS holder_user,
                   c.sis_id AS holder_class
            FROM {taken} t JOIN enrollments d ON d.enrollment_id = t.holder
            LEFT JOIN users u ON u.user_id = d.user_id
            LEFT JOIN classrooms c ON c.classroom_id = d.classroom_id""",
        "sourcedId",
        "'sourcedId ''' || r.sourced_id || ''' already names the membership of '"
        " || coalesce('''' || r.holder_user || '''', 'a person') || ' in '"
        " || coalesce('class ''' || r.holder_class || '''', 'a class')"
        " || ', which stays active; this row was not synced, so no two memberships share it'",
    )


def _move_ids_from_memberships_not_kept(ctx: PlanContext, claims: str) -> bool:
    """Archive the memberships holding a claimed id that nothing keeps as they are (not present
    tonight, synced, within the run's scope); True when there were any."""
    moving = ctx.t("enrollments_moving")
    ctx.db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {moving} AS
            SELECT c.holder AS id, {sql_literal(ctx.file("enrollments"))} AS _file,
                   min(c._line) AS _line
            FROM {claims} c JOIN enrollments d ON d.enrollment_id = c.holder
            WHERE d.origin = 'sync' AND {record_filter(ctx.scope, "enrollments")}
              AND c.holder NOT IN (SELECT id FROM {ctx.t("present_enrollments")})
            GROUP BY c.holder"""
    )
    if not ctx.db.one(f"SELECT EXISTS (FROM {moving})"):
        return False
    add_archives(ctx, ENROLLMENTS, f"FROM {moving}")
    ctx.db.execute(f"INSERT INTO {ctx.t('moved_enrollments')} SELECT id FROM {moving}")
    return True
