"""A labelled duplicate data set, built set-based in DuckDB and loaded into a directory database.

Families of 1-4 children (5% of families with two or more children have twins, some with
look-alike names) with one or two guardians sharing a home phone; Zipf-distributed names so
common names share schools; three schools (KG-5, 6-8, 9-12) per zone of about 1,500 children.
Then duplicates of known kinds are injected: every record carries `person_id` (the real person),
so a pair is a true duplicate exactly when both records have the same person_id.
"""

from __future__ import annotations

from benchmarks.duplicates import names as N
from daemon.db import Database
from daemon.duplicates.nicknames import load_nicknames

# Injected student duplicate kinds and their shares (cumulative thresholds are built from these).
KINDS = {
    "typo": 0.15,
    "nickname": 0.12,
    "swapped_names": 0.08,
    "hyphenated_surname": 0.10,
    "changed_id": 0.15,
    "dob_typo": 0.12,
    "missing_fields": 0.08,
    "hand_made_archived": 0.20,
}
DUP_RATE = 0.03  # of children get a second record
GUARDIAN_DUP_RATE = 0.01
ZONE_SIZE = 1500


def _macros(db: Database, seed: int) -> None:
    db.execute(
        f"CREATE OR REPLACE TEMP MACRO rnd(tag, x) AS (hash({seed}, tag, x) % 1000003) / 1000003.0"
    )
    db.execute("CREATE OR REPLACE TEMP MACRO cap(s) AS upper(left(s, 1)) || substr(s, 2)")
    # One keyboard slip after the first letter: substitute, delete, insert or transpose.
    pos = "(2 + CAST(floor(a * (length(s) - 2)) AS INTEGER))"
    letter = "chr(97 + CAST(floor(b * 26) AS INTEGER))"
    db.execute(
        f"""CREATE OR REPLACE TEMP MACRO typo(s, a, b, c) AS CASE
            WHEN length(s) < 3 THEN s || {letter}
            ELSE (CASE CAST(floor(c * 4) AS INTEGER)
                WHEN 0 THEN left(s, {pos} - 1) || {letter} || substr(s, {pos} + 1)
                WHEN 1 THEN left(s, {pos} - 1) || substr(s, {pos} + 1)
                WHEN 2 THEN left(s, {pos} - 1) || {letter} || substr(s, {pos})
                ELSE left(s, {pos} - 1) || substr(s, {pos} + 1, 1) || substr(s, {pos}, 1)
                     || substr(s, {pos} + 2) END)
            END"""
    )


def _zipf(db: Database, table: str, head: list[str], tail: int, s: float, tag: str) -> None:
    """(rank, name, lo): a Zipf(s) distribution over the head names then `tail` made-up ones;
    draw with ASOF JOIN ON u >= lo."""
    syllables = [o + n + c for o in N.ONSETS for n in N.NUCLEI for c in N.CODAS]
    pick = "{syl}[1 + CAST(hash('{tag}{k}', r) % {n} AS BIGINT)]"
    parts = [
        pick.format(syl=N.sql_list(syllables), tag=tag, k=k, n=len(syllables)) for k in (1, 2, 3)
    ]
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        WITH made AS (
            SELECT r, cap({parts[0]} || {parts[1]}
                          || CASE WHEN hash('{tag}x', r) % 3 = 0 THEN {parts[2]} ELSE '' END) AS name
            FROM range(1, {tail} + 1) t(r)
        ),
        all_names AS (
            SELECT name, min(r) AS r FROM (
                SELECT unnest({N.sql_list(head)}) AS name, generate_subscripts({N.sql_list(head)}, 1) AS r
                UNION ALL SELECT name, {len(head)} + r FROM made)
            GROUP BY name
        ),
        w AS (SELECT name, pow(row_number() OVER (ORDER BY r), -{s}) AS w FROM all_names)
        SELECT row_number() OVER (ORDER BY w DESC, name) AS rank, name,
               (sum(w) OVER (ORDER BY w DESC, name) - w) / sum(w) OVER () AS lo
        FROM w
        """
    )


def build(db: Database, students: int, seed: int) -> dict[str, int]:
    """Fill users, guardian_links, schools of an empty directory; bench_map says who is who."""
    _macros(db, seed)
    load_nicknames(db)
    _zipf(db, "b_given", N.HEAD_GIVEN, 8000, 0.8, "g")
    _zipf(db, "b_family", N.HEAD_FAMILY, 60000, 0.85, "f")
    zones = max(1, students // ZONE_SIZE)
    families = int(students / 1.6) + 10
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE b_fam AS
        SELECT f.*, n.name AS fname, n2.name AS fname2 FROM (
            SELECT x AS family_id, x % {zones} AS zone,
                   CASE WHEN rnd('k', x) < 0.45 THEN 1 WHEN rnd('k', x) < 0.80 THEN 2
                        WHEN rnd('k', x) < 0.95 THEN 3 ELSE 4 END AS kids,
                   rnd('twins', x) < 0.05 AS twins, rnd('tn', x) < 0.15 AS twin_lookalike,
                   rnd('fam', x) AS u1, rnd('fam2', x) AS u2, rnd('compound', x) < 0.05 AS compound,
                   DATE '2008-09-01' + CAST(floor(rnd('dob', x) * 2800) AS INTEGER) AS eldest,
                   400 + CAST(floor(rnd('gap', x) * 500) AS INTEGER) AS gap
            FROM range({families}) t(x)) f
        ASOF JOIN b_family n ON f.u1 >= n.lo
        ASOF JOIN b_family n2 ON f.u2 >= n2.lo
        """
    )
    pairs = N.TWIN_NAME_PAIRS
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE b_kids AS
        WITH k AS (
            SELECT f.family_id, j, f.family_id * 4 + j AS person_id, f.zone, f.fname, f.fname2,
                   f.compound, f.twins AND f.kids >= 2 AND j <= 2 AS is_twin, f.twin_lookalike,
                   f.eldest + CAST((CASE WHEN f.twins AND j >= 2 THEN j - 2 ELSE j - 1 END) * f.gap AS INTEGER) AS dob,
                   rnd('given', f.family_id * 4 + j) AS u
            FROM b_fam f, range(1, f.kids + 1) t(j)
        ),
        named AS (
            SELECT k.*, CASE WHEN k.is_twin AND k.twin_lookalike
                  THEN {N.sql_list([a for a, _ in pairs])}[1 + CAST(k.family_id % {len(pairs)} AS BIGINT)]
                  ELSE g.name END AS g1, g.rank
            FROM k ASOF JOIN b_given g ON k.u >= g.lo
        ),
        fixed AS (  -- siblings never share a given name; look-alike twins get the pair's other name
            SELECT n.*, CASE
                WHEN n.is_twin AND n.twin_lookalike AND n.j = 2
                    THEN {N.sql_list([b for _, b in pairs])}[1 + CAST(n.family_id % {len(pairs)} AS BIGINT)]
                WHEN row_number() OVER (PARTITION BY n.family_id, n.g1 ORDER BY n.j) > 1
                    THEN (SELECT name FROM b_given WHERE rank = 1 + (n.rank + 7 * n.j) % 8000)
                ELSE n.g1 END AS given
            FROM named n
        )
        SELECT *, CASE WHEN compound THEN fname || '-' || fname2 ELSE fname END AS family,
               2026 - 5 - year(dob + INTERVAL 4 MONTH) AS grade
        FROM fixed WHERE dob <= DATE '2021-08-31'
        ORDER BY person_id LIMIT {students}
        """
    )
    _records(db, zones)
    return _load(db, zones)


def _records(db: Database, zones: int) -> None:
    """Every record (originals and injected duplicates) with its person_id and dup kind."""
    cuts, acc = [], 0.0
    for kind, share in KINDS.items():
        acc += share
        cuts.append(f"WHEN rnd('kind', person_id) < {acc:.4f} THEN '{kind}'")
    kind_case = "CASE " + " ".join(cuts) + f" ELSE '{next(iter(KINDS))}' END"
    adults = N.sql_list(N.ADULT_GIVEN)
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE b_guardians AS
        SELECT 10000000000 + f.family_id * 2 + g AS person_id, f.family_id,
               {adults}[1 + CAST((hash('ad', f.family_id) + g * 7) % {len(N.ADULT_GIVEN)} AS BIGINT)] AS given,
               CASE WHEN rnd('gfam', f.family_id * 2 + g) < CASE g WHEN 0 THEN 0.85 ELSE 0.6 END
                    THEN f.fname ELSE f.fname2 END AS family,
               '555' || lpad(CAST(f.family_id * 2 + g AS VARCHAR), 7, '0') AS mobile,
               CASE WHEN rnd('home', f.family_id) < 0.5 THEN '556' || lpad(CAST(f.family_id AS VARCHAR), 7, '0') END AS home,
               lower(replace({adults}[1 + CAST((hash('ad', f.family_id) + CASE WHEN g = 1 AND rnd('sharedmail', f.family_id) < 0.1 THEN 0 ELSE g * 7 END) % {len(N.ADULT_GIVEN)} AS BIGINT)], ' ', '')
                     || '.' || f.family_id || '@example.net') AS email
        FROM b_fam f, range(0, CASE WHEN rnd('g2', f.family_id) < 0.6 THEN 2 ELSE 1 END) t(g)
        WHERE f.family_id IN (SELECT family_id FROM b_kids)
        """
    )
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE b_dups AS
        SELECT k.*, CASE WHEN kind = 'nickname' AND nick IS NULL THEN 'typo' ELSE kind END AS dup_kind
        FROM (SELECT k.*, {kind_case} AS kind,
                     (SELECT cap(arg_min(n.b, hash(k.person_id, n.b))) FROM dup_nick n
                      WHERE n.a = lower(k.given)) AS nick
              FROM b_kids k WHERE rnd('dup', k.person_id) < {DUP_RATE}) k
        """
    )
    school = "(zone * 3 + CASE WHEN grade <= 5 THEN 0 WHEN grade <= 8 THEN 1 ELSE 2 END + 1)"
    email = "CASE WHEN grade >= 6 THEN lower(left(given, 1) || regexp_replace(family, '[^A-Za-z]', '', 'g')) || {id} || '@students.example.org' END"
    sec = "rnd('sec', person_id) < 0.3"  # a secondary gap: e-mail or grade not filled in
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE b_records AS
        SELECT person_id, 0 AS copy, family_id, 'student' AS kind, NULL AS dup_kind,
               'stu-' || person_id AS sis_id, 'S' || person_id AS identifier, given, family,
               {email.format(id="person_id")} AS email, NULL AS mobile, NULL AS home,
               lpad(CAST(grade AS VARCHAR), 2, '0') AS grades, CAST(dob AS VARCHAR) AS birth_date,
               'sch-' || {school} AS org, 'active' AS status, 'sync' AS origin, dob
        FROM b_kids
        UNION ALL
        SELECT person_id, 1, family_id, 'student', dup_kind,
               CASE WHEN dup_kind <> 'hand_made_archived' THEN 'dup-' || person_id END,
               CASE WHEN dup_kind = 'changed_id' AND rnd('sameid', person_id) < 0.5 THEN 'S' || person_id
                    WHEN dup_kind IN ('hand_made_archived', 'missing_fields') THEN NULL
                    ELSE 'D' || person_id END,
               CASE dup_kind WHEN 'nickname' THEN nick WHEN 'swapped_names' THEN family
                    WHEN 'typo' THEN CASE WHEN rnd('tg', person_id) < 0.5
                        THEN typo(given, rnd('t1', person_id), rnd('t2', person_id), rnd('t3', person_id)) ELSE given END
                    ELSE given END,
               CASE dup_kind WHEN 'swapped_names' THEN given
                    WHEN 'hyphenated_surname' THEN CASE WHEN contains(family, '-') THEN split_part(family, '-', 1)
                                                        ELSE family || '-' || fname2 END
                    WHEN 'typo' THEN CASE WHEN rnd('tg', person_id) >= 0.5
                        THEN typo(family, rnd('t1', person_id), rnd('t2', person_id), rnd('t3', person_id)) ELSE family END
                    ELSE family END,
               CASE WHEN dup_kind IN ('missing_fields') OR {sec} THEN NULL
                    WHEN dup_kind = 'hand_made_archived' AND rnd('hm', person_id) < 0.7 THEN NULL
                    ELSE {email.format(id="'0' || person_id")} END,
               NULL, NULL,
               CASE WHEN dup_kind IN ('missing_fields', 'hand_made_archived') OR {sec} THEN NULL
                    ELSE lpad(CAST(grade AS VARCHAR), 2, '0') END,
               CASE WHEN dup_kind IN ('missing_fields', 'hand_made_archived') THEN NULL
                    WHEN dup_kind = 'dob_typo' THEN CAST(CASE
                        WHEN rnd('dm', person_id) < 0.5 AND day(dob) <= 12 AND day(dob) <> month(dob)
                            THEN make_date(year(dob), day(dob), month(dob))
                        ELSE coalesce(try_cast(strftime(dob, '%Y-%m-') || lpad(CAST((day(dob) // 10) * 10
                                 + (day(dob) % 10 + 1 + CAST(floor(rnd('dd', person_id) * 8) AS INTEGER)) % 10 AS VARCHAR), 2, '0') AS DATE),
                                 dob + 1) END AS VARCHAR)
                    ELSE CAST(dob AS VARCHAR) END,
               CASE WHEN dup_kind = 'hand_made_archived' THEN '#' || {school} ELSE 'sch-' || {school} END,
               CASE WHEN dup_kind = 'hand_made_archived' THEN 'archived' ELSE 'active' END,
               CASE WHEN dup_kind = 'hand_made_archived' THEN 'hand' ELSE 'sync' END, dob
        FROM b_dups
        UNION ALL
        SELECT person_id, 0, family_id, 'guardian', NULL, 'gdn-' || person_id, NULL, given, family,
               email, mobile, home, NULL, NULL, 'dist-1', 'active', 'sync', NULL
        FROM b_guardians
        UNION ALL  -- a guardian entered twice in the SIS
        SELECT person_id, 1, family_id, 'guardian', 'guardian_twice', 'gdn2-' || person_id, NULL,
               CASE WHEN rnd('gk', person_id) < 0.2
                    THEN typo(given, rnd('g1', person_id), rnd('g2', person_id), rnd('g3', person_id))
                    ELSE given END, family,
               CASE WHEN rnd('gm', person_id) < 0.5 THEN email END,
               CASE WHEN rnd('gp', person_id) < 0.7 THEN mobile ELSE '557' || right(mobile, 7) END,
               NULL, NULL, NULL, 'dist-1', 'active', 'sync', NULL
        FROM b_guardians WHERE rnd('gdup', person_id) < {GUARDIAN_DUP_RATE}
        UNION ALL  -- the hand-made parent of a hand-made student record
        SELECT g.person_id, 2, g.family_id, 'guardian', 'guardian_hand_made', NULL, NULL, g.given,
               g.family, NULL, CASE WHEN rnd('hp', g.person_id) < 0.7 THEN g.mobile ELSE '558' || right(g.mobile, 7) END,
               NULL, NULL, NULL, NULL, 'active', 'hand', NULL
        FROM b_guardians g
        WHERE g.person_id % 2 = 0 AND g.family_id IN (
            SELECT family_id FROM b_dups WHERE dup_kind = 'hand_made_archived')
          AND rnd('hg', g.family_id) < 0.8
        """
    )
    db.execute(
        """CREATE OR REPLACE TEMP TABLE b_records AS
           SELECT row_number() OVER (ORDER BY person_id, copy) AS user_id, * FROM b_records"""
    )


def _load(db: Database, zones: int) -> dict[str, int]:
    db.execute(
        f"""INSERT INTO schools (school_id, sis_id, org_type, name, status, origin)
            SELECT 0, 'dist-1', 'district', 'District', 'active', 'sync'
            UNION ALL
            SELECT s, 'sch-' || s, 'school', 'School ' || s, 'active', 'sync'
            FROM range(1, {zones * 3} + 1) t(s)"""
    )
    db.execute("INSERT INTO school_sis_ids SELECT sis_id, school_id, NULL, 'bench' FROM schools")
    db.execute(
        """INSERT INTO users (user_id, kind, role, sis_id, identifier, given_name, family_name, email,
                              mobile_phone, home_phone, grades, birth_date, org_sis_ids, enabled,
                              status, origin, created_at, updated_at)
           SELECT user_id, kind, CASE kind WHEN 'student' THEN 'student' ELSE 'parent' END, sis_id,
                  identifier, given, family, email, mobile, home, grades, birth_date, org, true,
                  status, origin, current_timestamp, current_timestamp
           FROM b_records"""
    )
    # Links: each child record to its family's guardians; hand-made records to hand-made parents.
    db.execute(
        """INSERT INTO guardian_links (link_id, student_id, guardian_id, relationship, status, origin)
           SELECT row_number() OVER (), s.user_id, g.user_id, 'parent', 'active', s.origin
           FROM b_records s JOIN b_records g ON g.family_id = s.family_id AND g.kind = 'guardian'
           WHERE s.kind = 'student'
             AND ((s.origin = 'sync' AND g.origin = 'sync' AND g.copy = 0
                   AND (s.copy = 0 OR rnd('links', s.person_id) < 0.7))
                  OR (s.origin = 'sync' AND s.copy = 0 AND g.dup_kind = 'guardian_twice'
                      AND rnd('glinks', g.person_id) < 0.8)
                  OR (s.origin = 'hand' AND g.origin = 'hand'))"""
    )
    db.execute(
        """CREATE OR REPLACE TABLE bench_map AS
           SELECT user_id, person_id, family_id, kind, dup_kind, dob FROM b_records"""
    )
    return dict(
        zip(
            ("students", "student_records", "guardian_records", "links"),
            db.rows(
                """SELECT (SELECT count(DISTINCT person_id) FROM b_records WHERE kind = 'student'),
                          (SELECT count(*) FROM users WHERE kind = 'student'),
                          (SELECT count(*) FROM users WHERE kind = 'guardian'),
                          (SELECT count(*) FROM guardian_links)"""
            )[0],
            strict=True,
        )
    )
