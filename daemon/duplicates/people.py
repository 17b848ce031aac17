"""The scan's working tables: people in comparable form, their family contacts, blocking keys.

Everything is set-based SQL on temporary tables (gone with the connection). Blocking keys are
hashes of narrow equi-join keys, so candidate pairs come from one self-join on a UBIGINT and
never from comparing all pairs; a key shared by too many people (a very common name) is dropped
rather than exploding into millions of pairs.
"""

from __future__ import annotations

from daemon.db import Database
from daemon.duplicates.nicknames import NICK_TABLE

PEOPLE = "dup_people"
KEYS = "dup_keys"
PAIRS = "dup_pairs"
FREQ = "dup_freq"

# Names: lower case, accents off, punctuation dropped, hyphens as spaces ("O'Brien-López" ->
# "obrien lopez"). The plain form (no spaces) is compared; the tokens catch hyphenated names.
_NORM = (
    "nullif(trim(regexp_replace(regexp_replace(lower(strip_accents({x})), '[^a-z -]', '', 'g'),"
    " '[ -]+', ' ', 'g')), '')"
)
# Phones: the last ten digits, when there are at least seven.
_PHONE = (
    "CASE WHEN length(regexp_replace({x}, '[^0-9]', '', 'g')) >= 7 "
    "THEN right(regexp_replace({x}, '[^0-9]', '', 'g'), 10) END"
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
    "s_school_family": 100,
    "s_school_grade_given": 100,
    "s_names": 30,
    "s_nick_family": 30,
    "s_number": 10,
    "s_email": 10,
    "s_family": 12,
    "g_email": 10,
    "g_phone": 10,
    "g_names": 30,
    "g_nick_family": 30,
    "g_student": 8,
}


def norm(expr: str) -> str:
    return _NORM.format(x=expr)


def build_people(db: Database) -> int:
    """Students and guardians that may be candidates (active or archived, never merged)."""
    grade = _GRADE.format(g="nullif(trim(split_part(grades, ',', 1)), '')")
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {PEOPLE} AS
        WITH u AS (
            SELECT user_id, kind, status, origin,
                   {norm("given_name")} AS gn, {norm("family_name")} AS fn,
                   replace({norm("preferred_given_name")}, ' ', '') AS pgp,
                   try_cast(birth_date AS DATE) AS dob,
                   CASE WHEN kind = 'student' THEN {grade} END AS grade,
                   nullif(lower(trim(identifier)), '') AS ident,
                   nullif(lower(trim(email)), '') AS email,
                   list_filter([{_PHONE.format(x="mobile_phone")}, {_PHONE.format(x="home_phone")}],
                               lambda x: x IS NOT NULL) AS phones,
                   org_sis_ids
            FROM users
            WHERE kind IN ('student', 'guardian') AND status IN ('active', 'archived')
        ),
        direct AS (
            SELECT user_id, list(DISTINCT school_id ORDER BY school_id) AS schools
            FROM user_direct_schools GROUP BY user_id
        )
        SELECT u.* EXCLUDE (org_sis_ids, gn, fn),
               replace(gn, ' ', '') AS gp, replace(fn, ' ', '') AS fp,
               string_split(gn, ' ') AS gt, string_split(fn, ' ') AS ft,
               strftime(dob, '%Y%m%d') AS ds,
               CASE WHEN u.kind = 'student' THEN d.schools END AS schools,
               CAST([] AS VARCHAR[]) AS fam, CAST([] AS VARCHAR[]) AS fam_names
        FROM u LEFT JOIN direct d USING (user_id)
        """
    )
    _family(db)
    return int(db.one(f"SELECT count(*) FROM {PEOPLE}"))


def _family(db: Database) -> None:
    """Each person's family contacts as one list: a student's guardians (their ids, phones and
    e-mails, so a parent entered twice still counts as shared), a guardian's students. A
    student's guardians' full names are a second, weaker list (many mothers are Maria Garcia)."""
    phone = _PHONE.format(x="{c}")
    db.execute(
        f"""
        UPDATE {PEOPLE} SET fam = f.contacts
        FROM (
            SELECT user_id, list(DISTINCT contact) AS contacts FROM (
                SELECT l.student_id AS user_id, 'g' || coalesce(g.merged_into, g.user_id) AS contact
                FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
                UNION ALL
                SELECT l.student_id, 'p' || {phone.format(c="g.mobile_phone")}
                FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
                UNION ALL
                SELECT l.student_id, 'p' || {phone.format(c="g.home_phone")}
                FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
                UNION ALL
                SELECT l.student_id, 'e' || nullif(lower(trim(g.email)), '')
                FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
                UNION ALL
                SELECT l.guardian_id, 's' || coalesce(s.merged_into, s.user_id)
                FROM guardian_links l JOIN users s ON s.user_id = l.student_id
            ) WHERE contact IS NOT NULL GROUP BY user_id
        ) f
        WHERE {PEOPLE}.user_id = f.user_id
        """
    )
    db.execute(
        f"""
        UPDATE {PEOPLE} SET fam_names = f.names
        FROM (
            SELECT l.student_id AS user_id,
                   list(DISTINCT replace({norm("g.given_name")} || {norm("g.family_name")}, ' ', '')) AS names
            FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
            WHERE g.given_name IS NOT NULL AND g.family_name IS NOT NULL
            GROUP BY l.student_id
        ) f
        WHERE {PEOPLE}.user_id = f.user_id
        """
    )


def build_frequencies(db: Database) -> None:
    """How common each plain given and family name is, per kind: agreeing on a rare name is
    stronger evidence than agreeing on a common one (smoothed, so small districts still score)."""
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {FREQ} AS
        WITH n AS (SELECT kind, count(*) AS total FROM {PEOPLE} GROUP BY kind)
        SELECT c.kind, c.field, c.name,
               (c.cnt + 10.0) / (n.total + 5000.0) AS freq
        FROM (SELECT kind, 'g' AS field, gp AS name, count(*) AS cnt FROM {PEOPLE}
              WHERE gp IS NOT NULL GROUP BY ALL
              UNION ALL
              SELECT kind, 'f', fp, count(*) FROM {PEOPLE} WHERE fp IS NOT NULL GROUP BY ALL) c
        JOIN n USING (kind)
        """
    )


def build_keys(db: Database) -> int:
    """(user_id, key, cap) rows; the key hashes its kind with its values."""
    student = "kind = 'student'"
    guardian = "kind = 'guardian'"
    tokens = "list_distinct(list_append(list_filter(ft, lambda t: length(t) >= 2), fp))"
    parts = [
        # birth date + any family-name token (hyphenated names) or the whole family name
        f"""SELECT user_id, 's_dob_family' AS kk, hash('s1', dob, unnest({tokens})) AS k
            FROM {PEOPLE} WHERE {student} AND dob IS NOT NULL AND fp IS NOT NULL""",
        f"""SELECT user_id, 's_dob_given', hash('s2', dob, gp)
            FROM {PEOPLE} WHERE {student} AND dob IS NOT NULL AND gp IS NOT NULL""",
        # swapped given/family: the sorted pair of names
        f"""SELECT user_id, 's_dob_names', hash('s3', dob, least(gp, fp), greatest(gp, fp))
            FROM {PEOPLE} WHERE {student} AND dob IS NOT NULL AND gp IS NOT NULL AND fp IS NOT NULL""",
        f"""SELECT user_id, 's_school_family', hash('s4', school, t, left(gp, 1)) FROM (
                SELECT user_id, gp, unnest(schools) AS school, {tokens} AS ts
                FROM {PEOPLE} WHERE {student} AND fp IS NOT NULL AND gp IS NOT NULL
            ), unnest(ts) AS x(t)""",
        f"""SELECT user_id, 's_school_grade_given', hash('s5', unnest(schools), grade, gp)
            FROM {PEOPLE} WHERE {student} AND gp IS NOT NULL AND grade IS NOT NULL""",
        f"""SELECT user_id, 's_names', hash('s6', least(gp, fp), greatest(gp, fp))
            FROM {PEOPLE} WHERE {student} AND gp IS NOT NULL AND fp IS NOT NULL""",
        f"""SELECT user_id, 's_number', hash('s8', ident) FROM {PEOPLE}
            WHERE {student} AND ident IS NOT NULL""",
        f"""SELECT user_id, 's_email', hash('s9', split_part(email, '@', 1)) FROM {PEOPLE}
            WHERE {student} AND length(split_part(email, '@', 1)) >= 3""",
        f"""SELECT user_id, 's_family', hash('s10', unnest(fam)) FROM {PEOPLE}
            WHERE {student} AND len(fam) > 0""",
        f"""SELECT user_id, 'g_email', hash('g1', email) FROM {PEOPLE}
            WHERE {guardian} AND email IS NOT NULL""",
        f"""SELECT user_id, 'g_phone', hash('g2', unnest(phones)) FROM {PEOPLE}
            WHERE {guardian} AND len(phones) > 0""",
        f"""SELECT user_id, 'g_names', hash('g3', least(gp, fp), greatest(gp, fp))
            FROM {PEOPLE} WHERE {guardian} AND gp IS NOT NULL AND fp IS NOT NULL""",
        f"""SELECT user_id, 'g_student', hash('g4', unnest(fam)) FROM {PEOPLE}
            WHERE {guardian} AND len(fam) > 0""",
        # nickname + family name: Bill Smith and William Smith share the key (smith, william)
        f"""SELECT p.user_id, CASE WHEN p.kind = 'student' THEN 's_nick_family' ELSE 'g_nick_family' END,
                   hash('s11', p.kind, p.fp, n.b)
            FROM {PEOPLE} p JOIN {NICK_TABLE} n ON n.a = p.gp WHERE p.fp IS NOT NULL""",
    ]
    caps = "CASE kk " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in CAPS.items()) + " END"
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {KEYS} AS
        SELECT user_id, k, kk, CAST({caps} AS SMALLINT) AS cap FROM ({" UNION ALL ".join(parts)})
        """
    )
    return int(db.one(f"SELECT count(*) FROM {KEYS}"))


def build_pairs(db: Database) -> int:
    """Distinct (a, b) with a < b sharing a small enough block, minus rejected pairs and pairs
    where both are archived (nothing to clean up there)."""
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {PAIRS} AS
        WITH blocks AS (
            SELECT k FROM {KEYS} GROUP BY k HAVING count(*) BETWEEN 2 AND min(cap)
        ),
        kk AS (SELECT user_id, k FROM {KEYS} SEMI JOIN blocks USING (k)),
        raw AS (
            SELECT DISTINCT a.user_id AS a, b.user_id AS b
            FROM kk a JOIN kk b ON a.k = b.k AND a.user_id < b.user_id
        )
        SELECT r.a, r.b FROM raw r
        JOIN {PEOPLE} pa ON pa.user_id = r.a
        JOIN {PEOPLE} pb ON pb.user_id = r.b
        ANTI JOIN duplicate_rejections x ON x.left_id = r.a AND x.right_id = r.b
        WHERE pa.kind = pb.kind AND NOT (pa.status = 'archived' AND pb.status = 'archived')
        """
    )
    return int(db.one(f"SELECT count(*) FROM {PAIRS}"))


def add_student_clusters(db: Database, scored: str) -> None:
    """A guardian's children include the duplicates found for them: two records of a parent,
    each linked to one record of the same child, share a child (run after scoring students)."""
    db.execute(
        f"""
        UPDATE {PEOPLE} SET fam = list_distinct(fam || x.extra)
        FROM (
            SELECT l.guardian_id AS user_id, list(DISTINCT 's' || c.cluster) AS extra
            FROM guardian_links l
            JOIN (SELECT s, min(o) AS cluster FROM (
                      SELECT a AS s, least(a, b) AS o FROM {scored} WHERE kind = 'student'
                      UNION ALL
                      SELECT b, least(a, b) FROM {scored} WHERE kind = 'student')
                  GROUP BY s) c ON c.s = l.student_id
            GROUP BY l.guardian_id
        ) x
        WHERE {PEOPLE}.user_id = x.user_id
        """
    )
