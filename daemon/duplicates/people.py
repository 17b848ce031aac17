"""The scan's working tables: people in comparable form, their family contacts, blocking keys.

Everything is set-based SQL on temporary tables (gone with the connection). Blocking keys are
hashes of narrow equi-join keys, so candidate pairs come from one self-join on a UBIGINT and
never from comparing all pairs; a key shared by too many people (a very common name) is dropped
rather than exploding into millions of pairs.
"""

from __future__ import annotations

from daemon.db import Database
from daemon.directory.orgs import direct_schools
from daemon.duplicates.nicknames import NICK_PARENTS

PEOPLE = "dup_people"
KEYS = "dup_keys"
PAIRS = "dup_pairs"
FREQ = "dup_freq"
SOURCE = "dup_src"
EXTRA = "dup_extra"
BLOCKS = "dup_blocks"
SCOPE = "dup_scope"
SCOPE_LINKS = "dup_scope_links"

# Names: lower case, accents off, digits and a bar read as the letters they are mistaken for
# (a scanned or retyped form: "8ryan" is Bryan, "Ange1" Angel; names hold no digits), other
# punctuation dropped, hyphens as spaces ("O'Brien-López" -> "obrien lopez"). The plain form (no
# spaces) is compared; the tokens catch hyphenated names.
_NORM = (
    "nullif(trim(regexp_replace(regexp_replace(translate(lower(strip_accents({x})),"
    " '0134578|', 'oleastbl'), '[^a-z -]', '', 'g'), '[ -]+', ' ', 'g')), '')"
)
# Phones: the last ten digits, when there are at least seven ({d}: the number's digits,
# regexp_replace(x, '[^0-9]', '', 'g'), computed once per number).
_PHONE_DIGITS = "CASE WHEN length({d}) >= 7 THEN right({d}, 10) END"
# userIds ("{SIS:S1},{LDAP:ava},{StateID:123}") as lower-case "type:value" strings.
_USER_IDS = (
    r"list_filter(list_transform(regexp_extract_all(lower(coalesce(user_ids, '')), '\{([^}]*)\}', 1),"
    r" lambda x: regexp_replace(x, '\s+', '', 'g')), lambda x: x LIKE '%:_%')"
)
_GRADE = """CASE WHEN {g} IS NULL THEN NULL
    WHEN upper({g}) IN ('KG', 'K', 'TK') THEN 0
    WHEN upper({g}) IN ('PK', 'PR', 'IT', 'P3', 'P4') THEN -1
    ELSE try_cast({g} AS INTEGER) END"""

# Largest block per key kind: a pair of people is compared when they share a key in a block of
# at most this many people. Family contacts are small by nature (siblings).
CAPS = {
    "s_dob_family": 100,
    "s_dob_given": 100,
    "s_dob_names": 100,
    "s_dob_prefix": 30,
    "s_school_family": 100,
    "s_school_grade_given": 100,
    "s_school_grade_family": 30,
    "s_names": 30,
    "s_nick_family": 30,
    "s_number": 10,
    "s_email": 10,
    "s_ids": 10,
    "s_mobile": 10,
    "g_email": 10,
    "g_phone": 10,
    "g_names": 30,
    "g_nick_family": 30,
    "g_student": 8,
}


def norm(expr: str) -> str:
    return _NORM.format(x=expr)


def contact(kind: str, value: str) -> str:
    """A family contact as a UBIGINT (NULL when the value is): 'g' a guardian's id, 'e' an
    e-mail, 'p' a phone's digits, 's' a student's id (or a child's cluster of duplicates). Only
    compared for equality, so hashed: lists of integers are built, joined and compared in a
    fraction of the time lists of strings took (a 64-bit collision between two families'
    contacts is far rarer than a shared phone)."""
    cast = "BIGINT" if kind in ("g", "s") else "VARCHAR"
    return f"CASE WHEN {value} IS NOT NULL THEN hash('{kind}', CAST({value} AS {cast})) END"


def source_hashes(db: Database) -> None:
    """SOURCE: (user_id, src) for everyone build_people would build, src a hash of the raw
    columns their row is built from: their own columns (schools as the feed's org ids), the rank
    of the runs that created or archived them, and which guardians or students they are linked
    to. A row also depends on the linked people's columns (a student's guardians' contacts, a
    guardian's children's merges): see changed_people. Raw columns only, one pass over users and
    one over links: cheap next to the normalising that build_people does."""
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {SOURCE} AS
        WITH applied AS (
            SELECT run_id, row_number() OVER (ORDER BY run_id) AS n FROM runs WHERE status = 'applied'
        ),
        linked AS (
            SELECT user_id, sum(h) AS h FROM (
                SELECT student_id AS user_id, hash('g', guardian_id) AS h FROM guardian_links
                UNION ALL
                SELECT guardian_id, hash('s', student_id) FROM guardian_links)
            GROUP BY user_id
        )
        SELECT u.user_id,
               hash(u.kind, u.status, u.origin, u.given_name, u.family_name,
                    u.preferred_given_name, u.birth_date, u.grades, u.identifier, u.email,
                    u.user_ids, u.mobile_phone, u.home_phone, u.org_sis_ids, ca.n, aa.n, l.h) AS src
        FROM users u
        LEFT JOIN applied ca ON ca.run_id = u.created_run
        LEFT JOIN applied aa ON aa.run_id = u.archived_run
        LEFT JOIN linked l ON l.user_id = u.user_id
        WHERE u.kind IN ('student', 'guardian') AND u.status IN ('active', 'archived')
        """
    )


def changed_people(db: Database, cached: str, target: str) -> None:
    """`target`: the user_ids whose row must be rebuilt: their SOURCE hash differs from the one
    in `cached` (new, changed, gone), and the people linked to one of those (a student's row
    holds its guardians' contacts and names, a guardian's row its children's merges)."""
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        WITH own AS (
            SELECT coalesce(s.user_id, c.user_id) AS user_id
            FROM {SOURCE} s FULL JOIN {cached} c ON c.user_id = s.user_id
            WHERE s.src IS DISTINCT FROM c.src
        )
        SELECT user_id FROM own
        UNION SELECT l.student_id FROM guardian_links l SEMI JOIN own ON own.user_id = l.guardian_id
        UNION SELECT l.guardian_id FROM guardian_links l SEMI JOIN own ON own.user_id = l.student_id
        """
    )


def schools_token(db: Database) -> str:
    """A hash of how the feed's org ids map to schools: people's schools are read through it,
    so a change to it (schools merged) makes the next scan full."""
    return str(
        db.one(
            """SELECT coalesce(sum(hash(m.sis_id, m.school_id, s.org_type)), 0)
               FROM school_sis_ids m LEFT JOIN schools s USING (school_id)"""
        )
    )


def build_people(db: Database, only: str | None = None) -> int:
    """Students and guardians that may be candidates (active or archived, never merged), each
    with its family contacts: a student's guardians (their ids, phones and e-mails, so a parent
    entered twice still counts as shared) and, as a weaker second list, their full names (many
    mothers are Maria Garcia); a guardian's students. `only`: a table of the user_ids to build
    (an incremental scan), else everyone, and then with how common their names are (FREQ,
    FREQ_COLUMNS: counted here rather than in a second copy of everyone by attach_frequencies)."""
    grade = _GRADE.format(g="nullif(trim(split_part(grades, ',', 1)), '')")
    # an incremental build needs the people asked for and their students' guardians; their
    # links and ids are written first, so DuckDB sees how few they are and reads only their rows
    # of users (from a subquery it expected many, and read everyone's columns into a hash table)
    scope = final = ""
    links = "guardian_links"
    if only is not None:
        ids = f"(SELECT user_id FROM {only})"
        db.execute(
            f"""CREATE OR REPLACE TEMP TABLE {SCOPE_LINKS} AS
                SELECT rowid AS r, student_id, guardian_id FROM guardian_links
                WHERE student_id IN {ids}
                UNION
                SELECT rowid, student_id, guardian_id FROM guardian_links WHERE guardian_id IN {ids}"""
        )
        db.execute(
            f"""CREATE OR REPLACE TEMP TABLE {SCOPE} AS
                SELECT user_id FROM {only}
                UNION SELECT guardian_id FROM {SCOPE_LINKS} WHERE student_id IN {ids}"""
        )
        scope = f"AND user_id IN (SELECT user_id FROM {SCOPE})"
        final = f"WHERE b.user_id IN {ids}"
        links = SCOPE_LINKS
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE dup_base AS
        WITH src AS (
            SELECT user_id, kind, status, origin, given_name, family_name, preferred_given_name,
                   birth_date, grades, identifier, email, user_ids, created_run, archived_run,
                   org_sis_ids, regexp_replace(mobile_phone, '[^0-9]', '', 'g') AS mobile_digits,
                   regexp_replace(home_phone, '[^0-9]', '', 'g') AS home_digits
            FROM users
            WHERE kind IN ('student', 'guardian') AND status IN ('active', 'archived') {scope}
        ),
        -- names repeat (a district has far fewer names than people): each normalised once
        names AS MATERIALIZED (
            SELECT x, {norm("x")} AS n FROM (
                SELECT given_name AS x FROM src
                UNION SELECT family_name FROM src
                UNION SELECT preferred_given_name FROM src)
            WHERE x IS NOT NULL
        ),
        u AS (
            SELECT user_id, kind, status, origin,
                   g.n AS gn, f.n AS fn, replace(pg.n, ' ', '') AS pgp,
                   try_cast(birth_date AS DATE) AS dob,
                   CASE WHEN kind = 'student' THEN {grade} END AS grade,
                   nullif(lower(trim(identifier)), '') AS ident,
                   nullif(lower(trim(email)), '') AS email,
                   CASE WHEN user_ids IS NULL OR user_ids = '' THEN CAST([] AS VARCHAR[])
                        ELSE {_USER_IDS} END AS ids,
                   {_PHONE_DIGITS.format(d="mobile_digits")} AS mobile,
                   list_filter([{_PHONE_DIGITS.format(d="mobile_digits")},
                                {_PHONE_DIGITS.format(d="home_digits")}],
                               lambda x: x IS NOT NULL) AS phones,
                   created_run, archived_run
            FROM src
            LEFT JOIN names g ON g.x = src.given_name
            LEFT JOIN names f ON f.x = src.family_name
            LEFT JOIN names pg ON pg.x = src.preferred_given_name
        ),
        applied AS (  -- applied runs in order: "within a few runs" counts runs that changed things
            SELECT run_id, row_number() OVER (ORDER BY run_id) AS n FROM runs WHERE status = 'applied'
        ),
        -- a student's schools: the view user_direct_schools (migration 0018) for the students
        -- in scope only (the view reads everyone's org ids)
        orgs AS (
            SELECT user_id, trim(unnest(string_split(org_sis_ids, ','))) AS org FROM src
            WHERE kind = 'student' AND org_sis_ids IS NOT NULL
        ),
        direct_schools AS ({direct_schools("orgs")}),
        -- distinct already (the UNION above): a DISTINCT aggregate is planned as a grouping of
        -- its own joined back (four groupings of 1M rows at 1M students)
        direct AS (
            SELECT user_id, list_sort(list(school_id)) AS schools
            FROM direct_schools GROUP BY user_id
        )
        SELECT u.* EXCLUDE (gn, fn, origin, created_run, archived_run),
               replace(gn, ' ', '') AS gp, replace(fn, ' ', '') AS fp,
               string_split(gn, ' ') AS gt, string_split(fn, ' ') AS ft,
               strftime(dob, '%Y%m%d') AS ds,
               CASE WHEN u.kind = 'student' THEN d.schools END AS schools,
               ca.n AS arrived, aa.n AS left_feed
        FROM u LEFT JOIN direct d USING (user_id)
        LEFT JOIN applied ca ON ca.run_id = u.created_run
        LEFT JOIN applied aa ON aa.run_id = u.archived_run
        """
    )
    freq_columns = freq_joins = ""
    if only is None:
        build_frequencies(db, source="dup_base")
        freq_columns = ", fg.cnt AS g_cnt, ff.cnt AS f_cnt, fg.freq AS g_freq, ff.freq AS f_freq"
        freq_joins = f"""LEFT JOIN {FREQ} fg ON fg.kind = b.kind AND fg.field = 'g' AND fg.name = b.gp
        LEFT JOIN {FREQ} ff ON ff.kind = b.kind AND ff.field = 'f' AND ff.name = b.fp"""
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {PEOPLE} AS
        WITH links AS (
            SELECT l.student_id, l.guardian_id, coalesce(s.merged_into, s.user_id) AS child
            FROM {links} l JOIN users s ON s.user_id = l.student_id
        ),
        of_students AS (
            SELECT l.student_id AS user_id,
                   list_distinct(list_filter(flatten(list(
                       list_concat([{contact("g", "g.user_id")}, {contact("e", "g.email")}],
                                   list_transform(g.phones, lambda x: {contact("p", "x")})))),
                       lambda c: c IS NOT NULL)) AS fam,
                   list(DISTINCT hash(g.gp, g.fp)) FILTER (WHERE g.gp IS NOT NULL AND g.fp IS NOT NULL)
                       AS fam_names
            FROM links l JOIN dup_base g ON g.user_id = l.guardian_id
            GROUP BY l.student_id
        ),
        of_guardians AS (
            SELECT guardian_id AS user_id, list(DISTINCT {contact("s", "child")}) AS fam
            FROM links GROUP BY guardian_id
        )
        SELECT b.*, coalesce(s.fam, g.fam, CAST([] AS UBIGINT[])) AS fam,
               coalesce(s.fam_names, CAST([] AS UBIGINT[])) AS fam_names {freq_columns}
        FROM dup_base b
        LEFT JOIN of_students s ON s.user_id = b.user_id AND b.kind = 'student'
        LEFT JOIN of_guardians g ON g.user_id = b.user_id AND b.kind = 'guardian'
        {freq_joins}
        {final}
        """
    )
    for table in ("dup_base", SCOPE, SCOPE_LINKS):
        db.execute(f"DROP TABLE IF EXISTS temp.{table}")
    return int(db.one(f"SELECT count(*) FROM {PEOPLE}"))


def build_frequencies(db: Database, source: str = PEOPLE) -> None:
    """How common each plain given and family name is, per kind: agreeing on a rare name is
    stronger evidence than agreeing on a common one (smoothed, so small districts still score)."""
    frequencies(
        db,
        counts=f"""SELECT kind, 'g' AS field, gp AS name, count(*) AS cnt FROM {source}
                   WHERE gp IS NOT NULL GROUP BY ALL
                   UNION ALL
                   SELECT kind, 'f', fp, count(*) FROM {source} WHERE fp IS NOT NULL GROUP BY ALL""",
        totals=f"SELECT kind, count(*) AS total FROM {source} GROUP BY kind",
    )


def frequencies(db: Database, counts: str, totals: str) -> None:
    """FREQ from `counts` (kind, field, name, cnt: BIGINT, above 0) and `totals` (kind, total:
    how many people of that kind): an incremental scan counts its names from the cache's."""
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {FREQ} AS
        WITH n AS ({totals})
        SELECT c.kind, c.field, c.name, c.cnt,
               (c.cnt + 10.0) / (n.total + 5000.0) AS freq
        FROM ({counts}) c JOIN n USING (kind)
        """
    )


FREQ_COLUMNS = ("g_cnt", "f_cnt", "g_freq", "f_freq")


def attach_frequencies(db: Database, people: str = PEOPLE) -> None:
    """PEOPLE from `people`, each with how common their names are (FREQ): joined once per
    person here rather than four times per compared pair in scoring."""
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE dup_people_next AS
        SELECT p.*, g.cnt AS g_cnt, f.cnt AS f_cnt, g.freq AS g_freq, f.freq AS f_freq
        FROM {people} p
        LEFT JOIN {FREQ} g ON g.kind = p.kind AND g.field = 'g' AND g.name = p.gp
        LEFT JOIN {FREQ} f ON f.kind = p.kind AND f.field = 'f' AND f.name = p.fp
        """
    )
    db.execute(f"DROP TABLE IF EXISTS temp.{PEOPLE}")
    if people != PEOPLE:
        db.execute(f"DROP TABLE IF EXISTS temp.{people}")
    db.execute(f"ALTER TABLE dup_people_next RENAME TO {PEOPLE}")


def build_keys(db: Database) -> int:
    """(user_id, key, cap) rows; the key hashes its kind with its values. Each row also says
    whether the person is a student and archived: build_pairs then filters the pairs as it makes
    them, without looking both people up (two joins of millions of pairs at 1M students)."""
    student = "kind = 'student'"
    guardian = "kind = 'guardian'"

    def head(name: str) -> str:
        """A key kind's cap and whether it is a student's, as constants (not the kind's name
        on every row: 18M rows at 1M students)."""
        return f"CAST({CAPS[name]} AS SMALLINT) AS cap, {name.startswith('s_')} AS student"

    # a family name of one word is its only token (most are: the lambda only for the others)
    tokens = """(CASE WHEN len(ft) = 1 THEN [fp]
                 ELSE list_distinct(list_append(list_filter(ft, lambda t: length(t) >= 2), fp)) END)"""
    parts = [
        # birth date + any family-name token (hyphenated names) or the whole family name
        f"""SELECT user_id, status, {head("s_dob_family")}, hash('s1', dob, unnest({tokens})) AS k
            FROM {PEOPLE} WHERE {student} AND dob IS NOT NULL AND fp IS NOT NULL""",
        f"""SELECT user_id, status, {head("s_dob_given")}, hash('s2', dob, gp)
            FROM {PEOPLE} WHERE {student} AND dob IS NOT NULL AND gp IS NOT NULL""",
        # birth date + the first three letters of a name: both names mistyped
        f"""SELECT user_id, status, {head("s_dob_prefix")}, hash('s14', dob, unnest([
                    'g' || left(gp, 3), 'f' || left(fp, 3)]))
            FROM {PEOPLE} WHERE {student} AND dob IS NOT NULL AND gp IS NOT NULL AND fp IS NOT NULL""",
        # swapped given/family: the sorted pair of names
        f"""SELECT user_id, status, {head("s_dob_names")}, hash('s3', dob, least(gp, fp), greatest(gp, fp))
            FROM {PEOPLE} WHERE {student} AND dob IS NOT NULL AND gp IS NOT NULL AND fp IS NOT NULL""",
        f"""SELECT user_id, status, {head("s_school_family")}, hash('s4', school, t, left(gp, 1)) FROM (
                SELECT user_id, status, gp, unnest(schools) AS school, {tokens} AS ts
                FROM {PEOPLE} WHERE {student} AND fp IS NOT NULL AND gp IS NOT NULL
            ), unnest(ts) AS x(t)""",
        f"""SELECT user_id, status, {head("s_school_grade_given")}, hash('s5', unnest(schools), grade, gp)
            FROM {PEOPLE} WHERE {student} AND gp IS NOT NULL AND grade IS NOT NULL""",
        # school + grade + family-name token: a given name whose first letter was misread
        f"""SELECT user_id, status, {head("s_school_grade_family")}, hash('s7', school, grade, t) FROM (
                SELECT user_id, status, grade, unnest(schools) AS school, {tokens} AS ts
                FROM {PEOPLE} WHERE {student} AND fp IS NOT NULL AND grade IS NOT NULL
            ), unnest(ts) AS x(t)""",
        f"""SELECT user_id, status, {head("s_names")}, hash('s6', least(gp, fp), greatest(gp, fp))
            FROM {PEOPLE} WHERE {student} AND gp IS NOT NULL AND fp IS NOT NULL""",
        f"""SELECT user_id, status, {head("s_number")}, hash('s8', ident) FROM {PEOPLE}
            WHERE {student} AND ident IS NOT NULL""",
        f"""SELECT user_id, status, {head("s_email")}, hash('s9', split_part(email, '@', 1)) FROM {PEOPLE}
            WHERE {student} AND length(split_part(email, '@', 1)) >= 3""",
        # identifiers twins never share: an id of userIds (a state id), a personal mobile
        f"""SELECT user_id, status, {head("s_ids")}, hash('s12', unnest(ids)) FROM {PEOPLE}
            WHERE {student} AND len(ids) > 0""",
        f"""SELECT user_id, status, {head("s_mobile")}, hash('s13', mobile) FROM {PEOPLE}
            WHERE {student} AND mobile IS NOT NULL""",
        f"""SELECT user_id, status, {head("g_email")}, hash('g1', email) FROM {PEOPLE}
            WHERE {guardian} AND email IS NOT NULL""",
        f"""SELECT user_id, status, {head("g_phone")}, hash('g2', unnest(phones)) FROM {PEOPLE}
            WHERE {guardian} AND len(phones) > 0""",
        f"""SELECT user_id, status, {head("g_names")}, hash('g3', least(gp, fp), greatest(gp, fp))
            FROM {PEOPLE} WHERE {guardian} AND gp IS NOT NULL AND fp IS NOT NULL""",
        f"""SELECT user_id, status, {head("g_student")}, hash('g4', unnest(fam)) FROM {PEOPLE}
            WHERE {guardian} AND len(fam) > 0""",
        # nickname + family name: a nickname keys its full names, a full name itself, so Bill
        # Smith and William Smith share the key (smith, william)
        f"""SELECT p.user_id, p.status,
                   CAST(CASE WHEN p.kind = 'student' THEN {CAPS["s_nick_family"]}
                             ELSE {CAPS["g_nick_family"]} END AS SMALLINT),
                   p.kind = 'student', hash('s11', p.kind, p.fp, coalesce(n.parent, p.gp))
            FROM {PEOPLE} p LEFT JOIN {NICK_PARENTS} n ON n.nick = p.gp
            WHERE p.fp IS NOT NULL
              AND (n.parent IS NOT NULL OR p.gp IN (SELECT parent FROM {NICK_PARENTS}))""",
    ]
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {KEYS} AS
        SELECT user_id, k, CAST(cap AS SMALLINT) AS cap, student, status = 'archived' AS archived
        FROM ({" UNION ALL ".join(parts)})
        """
    )
    return int(db.one(f"SELECT count(*) FROM {KEYS}"))


def build_pairs(db: Database) -> int:
    """PAIRS: distinct (a, b) with a < b of one kind sharing a small enough block, minus rejected
    pairs and pairs where both are archived (nothing to clean up there; see keep_pairs, here
    read from KEYS). BLOCKS keeps the size of every block of
    two or more (the scan's cache keeps those over their cap)."""
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {BLOCKS} AS
            SELECT k, count(*) AS n, min(cap) AS cap FROM {KEYS} GROUP BY k HAVING count(*) >= 2"""
    )
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {PAIRS} AS
        WITH kk AS (
            SELECT user_id, k, student, archived FROM {KEYS}
            SEMI JOIN (SELECT k FROM {BLOCKS} WHERE n <= cap) USING (k)
        )
        SELECT r.a, r.b FROM (
            SELECT DISTINCT a.user_id AS a, b.user_id AS b
            FROM kk a JOIN kk b ON a.k = b.k AND a.user_id < b.user_id
            WHERE a.student = b.student AND NOT (a.archived AND b.archived)) r
        ANTI JOIN duplicate_rejections x ON x.left_id = r.a AND x.right_id = r.b
        """
    )
    return int(db.one(f"SELECT count(*) FROM {PAIRS}"))


def keep_pairs(db: Database, raw: str, people: str, kind: str | None = None) -> int:
    """PAIRS: the (a, b) of the query `raw` that may be candidates: of one kind (`kind` if
    given), not both archived, not rejected."""
    only = (
        "" if kind is None else f"AND pa.kind = '{'student' if kind == 'student' else 'guardian'}'"
    )
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {PAIRS} AS
        SELECT r.a, r.b FROM ({raw}) r
        JOIN {people} pa ON pa.user_id = r.a
        JOIN {people} pb ON pb.user_id = r.b
        ANTI JOIN duplicate_rejections x ON x.left_id = r.a AND x.right_id = r.b
        WHERE pa.kind = pb.kind AND NOT (pa.status = 'archived' AND pb.status = 'archived') {only}
        """
    )
    return int(db.one(f"SELECT count(*) FROM {PAIRS}"))


def student_clusters(db: Database, scored: str) -> None:
    """EXTRA: per guardian, the student duplicates found for their children ('s' and the
    smallest id of the child's pairs, sorted), so two records of a parent, each linked to one
    record of the same child, share a child (run after scoring students)."""
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {EXTRA} AS
        WITH cluster AS (
            SELECT s, min(o) AS cluster FROM (
                SELECT a AS s, least(a, b) AS o FROM {scored} WHERE kind = 'student'
                UNION ALL
                SELECT b, least(a, b) FROM {scored} WHERE kind = 'student')
            GROUP BY s
        )
        SELECT l.guardian_id AS user_id, list_sort(list(DISTINCT {contact("s", "c.cluster")})) AS extra
        FROM guardian_links l JOIN cluster c ON c.s = l.student_id
        GROUP BY l.guardian_id
        """
    )


def add_student_clusters(db: Database, scored: str) -> None:
    """A guardian's children include the duplicates found for them (see student_clusters)."""
    student_clusters(db, scored)
    with_extra(db, PEOPLE)


def with_extra(db: Database, people: str) -> None:
    """PEOPLE from `people` (which may be PEOPLE), each guardian's family with its EXTRA (in
    place when `people` is PEOPLE: only the guardians with an EXTRA change)."""
    if people == PEOPLE:
        db.execute(
            f"""UPDATE {PEOPLE} SET fam = list_distinct(list_concat({PEOPLE}.fam, x.extra))
                FROM {EXTRA} x WHERE x.user_id = {PEOPLE}.user_id"""
        )
        return
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE dup_people_next AS
        SELECT p.* REPLACE (CASE WHEN x.extra IS NULL THEN p.fam
                                 ELSE list_distinct(list_concat(p.fam, x.extra)) END AS fam)
        FROM {people} p LEFT JOIN {EXTRA} x USING (user_id)
        """
    )
    db.execute(f"DROP TABLE IF EXISTS temp.{PEOPLE}")
    db.execute(f"ALTER TABLE dup_people_next RENAME TO {PEOPLE}")
