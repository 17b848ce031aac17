"""Finding duplicate candidates: after each applied run and on demand.

A full scan rebuilds the candidate set from scratch (set-based, a few seconds per million
people); an incremental scan (the default once a full scan has run) rebuilds only what the
people who changed since the last scan can touch. Either way the result is reconciled with the
stored candidates: a pair found again keeps its id and decision, a new pair is added as open, an
open or skipped pair no longer found goes away. Decided pairs (merged, rejected) are history and
stay. Scanning writes only the candidate table and its own cache: it is not a directory change,
so it bumps no version and supersedes no plan.

The cache (tables duplicate_scan_*, see migration 0013) holds what a full scan computed: each
person's kind, status, plain names and the scalars the bounds before scoring read, with a hash
of the raw columns their comparable form is built from; their blocking keys, how common each
name is (with how many have it), the size of every block over its cap, every scored pair before
the re-key rule picks the best, and the student duplicates each guardian's children have. An
incremental scan does work in proportion to the people who changed, not to everyone:

1. hashes everyone's raw columns (cheap) and rebuilds the people whose hash changed: created,
   updated in a scored field, archived or unarchived, merged, a guardian or school link changed
   (a student's hash covers its guardians' columns, a guardian's its children);
2. counts names from the cached counts and the changed people's names before and after; a
   person whose name's rarity points or class changed is affected too;
3. reads the cached keys of the affected people, then the members of those keys' blocks (not
   of blocks over their cap, whose size is cached: they pair nobody), each one narrow scan of
   the cached keys against a small set (DuckDB has no index join; reading every block a
   changed person touched, name blocks of hundreds of people included, took most of the time);
4. compares the pairs in every block that holds a changed person (before or after the change)
   and every pair of an affected person, and re-decides the stored pairs that touch them;
   pairs of two unchanged people elsewhere keep their score;
5. picks the best re-keyed pairs and guardians' child clusters over the whole (small) scored set,
   so a pair that depends on another pair is decided as a full scan would.

The result is the same as a full scan's (tests/duplicates/test_incremental.py).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.db import Database
from daemon.duplicates import people, scoring
from daemon.duplicates.nicknames import load_nicknames

_TEMP_TABLES = (
    people.PEOPLE,
    people.KEYS,
    people.PAIRS,
    people.FREQ,
    people.SOURCE,
    people.EXTRA,
    scoring.SCORED,
    scoring.BOUNDED,
    scoring.BOUND_PEOPLE,
    scoring.BOUND_IDS,
    scoring.NARROW,
    scoring.MAYBE,
    f"{scoring.MAYBE}_names",
    scoring.NAME_PAIRS,
    "dup_nick",
    "dup_nick_parent",
    "dup_base",
    "dup_people_next",
    "dup_changed",
    "dup_affected",
    "dup_bkeys",
    "dup_all_scored",
    "dup_redecide",
    "dup_students",
    "dup_names_now",
    "dup_bmembers",
    people.BLOCKS,
    "dup_old",
    "dup_names_changed",
    "dup_ukeys",
    "dup_delta",
    "dup_want",
    "dup_members",
    "dup_counts",
    "dup_live",
    "dup_gathered",
    "dup_more",
    "dup_mpeople",
    people.SCOPE,
    people.SCOPE_LINKS,
)
# The cache (main schema): rebuilt by every full scan, updated by incremental ones.
C_PEOPLE = "duplicate_scan_people"
C_KEYS = "duplicate_scan_keys"
C_NAMES = "duplicate_scan_names"
C_SCORED = "duplicate_scan_scored"
C_EXTRA = "duplicate_scan_extra"
C_BIG = "duplicate_scan_big"
_CACHE = (C_PEOPLE, C_KEYS, C_NAMES, C_SCORED, C_EXTRA, C_BIG)
# More changed people than this share of everyone: a full scan is cheaper.
FULL_SHARE = 0.2


def cache_format() -> str:
    """The scan's code and nickname list: a cache written by other code is not used."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("scan.py", "people.py", "scoring.py", "nicknames.py", "nicknames.csv"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def scan(db: Database, threshold: int = scoring.THRESHOLD, full: bool = False) -> dict[str, Any]:
    """Recompute candidates; returns counts and the time each step took. Incremental unless
    `full`, there is no usable cache (none yet, another version's, another threshold) or so many
    people changed that a full scan is cheaper."""
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[name] = round(now - started, 3)
        started = now

    for table in _TEMP_TABLES:
        db.execute(f"DROP TABLE IF EXISTS temp.{table}")
    try:
        with db.unordered():
            load_nicknames(db)
            result = None
            if not full and _cache_usable(db, threshold):
                result = _incremental(db, threshold, step)
            if result is None:
                result = _full(db, threshold, step)
    finally:
        for table in _TEMP_TABLES:
            db.execute(f"DROP TABLE IF EXISTS temp.{table}")
    return {**result, "seconds": round(sum(timings.values()), 3), "timings": timings}


def scan_after_apply(db: Database) -> dict[str, Any]:
    """The engine calls this after each applied run: only the people the run changed (and
    what they touch) are compared again."""
    return scan(db)


def _cache_usable(db: Database, threshold: int) -> bool:
    if not all(db.table_exists(t) for t in _CACHE):
        return False
    row = db.rows("SELECT format, threshold FROM duplicate_scan_state")
    return bool(row) and row[0] == (_format(db), int(threshold))


def _format(db: Database) -> str:
    """The cache's format: the code's, and how org ids map to schools."""
    return f"{cache_format()}:{people.schools_token(db)}"


# ------------------------------------------------------------------------------- full scan
def _full(db: Database, threshold: int, step: Callable[[str], None]) -> dict[str, Any]:
    people.source_hashes(db)
    n_people = people.build_people(db)  # with FREQ and each person's name frequencies
    step("people")
    n_keys = people.build_keys(db)
    step("keys")
    n_pairs = people.build_pairs(db)
    # The cache is written before the state that says it is usable (a scan that stops half-way
    # leaves no state: the next scan is full). Keys and blocks go to it as soon as the pairs are
    # made: held to the end, they crowded scoring out of memory (18M keys at 1M students).
    db.execute("DELETE FROM duplicate_scan_state")
    db.execute(f"CREATE OR REPLACE TABLE {C_KEYS} AS SELECT user_id, k, cap FROM {people.KEYS}")
    db.execute(f"CREATE OR REPLACE TABLE {C_BIG} AS SELECT k, n FROM {people.BLOCKS} WHERE n > cap")
    for table in (people.KEYS, people.BLOCKS):
        db.execute(f"DROP TABLE IF EXISTS temp.{table}")
    step("pairs")
    # the cache's people first: the first bounds read their scalars from it, as an incremental
    # scan's do (computed once, not again for each kind's bound)
    db.execute(f"CREATE OR REPLACE TABLE {C_PEOPLE} AS {_cached_people_sql()}")
    scoring.score_pairs(db, "student", threshold, best=False, narrow=_cached_narrow_sql("student"))
    db.execute(f"CREATE OR REPLACE TEMP TABLE dup_all_scored AS SELECT * FROM {scoring.SCORED}")
    scoring.keep_best_rekeyed(db, "student")
    people.add_student_clusters(db, scoring.SCORED)
    db.execute(f"CREATE OR REPLACE TEMP TABLE dup_students AS SELECT * FROM {scoring.SCORED}")
    scoring.score_pairs(
        db, "guardian", threshold, best=False, narrow=_cached_narrow_sql("guardian")
    )
    db.execute(f"INSERT INTO dup_all_scored SELECT * FROM {scoring.SCORED}")
    scoring.keep_best_rekeyed(db, "guardian")
    db.execute(f"INSERT INTO {scoring.SCORED} SELECT * FROM dup_students")
    found = int(db.one(f"SELECT count(*) FROM {scoring.SCORED}"))
    step("score")
    db.execute(f"CREATE OR REPLACE TABLE {C_NAMES} AS {_names_sql()}")
    db.execute(f"CREATE OR REPLACE TABLE {C_SCORED} AS SELECT * FROM dup_all_scored")
    db.execute(f"CREATE OR REPLACE TABLE {C_EXTRA} AS SELECT * FROM {people.EXTRA}")
    step("cache")
    with db.transaction():
        counts = _reconcile(db)
        _save_state(db, threshold, full=True, rebuilt=n_people)
    step("store")
    return {
        "people": n_people,
        "keys": n_keys,
        "pairs_compared": n_pairs,
        "found": found,
        "incremental": False,
        "changed": n_people,
        **counts,
    }


def _cached_people_sql() -> str:
    """What the cache keeps of each person in PEOPLE: what finds the changed and affected
    people, whether a pair may be compared, and the scalars the first bounds before scoring read
    (scoring.NARROW_SCALARS). Not everyone's comparable form, lists and all: writing it took
    longer than the rest of a full scan, and an incremental scan builds again the few people
    whose pairs pass those bounds."""
    return f"""SELECT user_id, kind, status, gp, fp, {scoring.NARROW_SCALARS}, s.src
               FROM {people.PEOPLE} p JOIN {people.SOURCE} s USING (user_id)"""


def _cached_narrow_sql(kind: str, only_paired: bool = False) -> str:
    """The first bounds' people (scoring.NARROW) of `kind` from the cache's people, with today's
    name frequencies and (guardians) their children's duplicates. A guardian's family is only
    tested for being empty there, which its children's duplicates never change. `only_paired`:
    only the people of PAIRS (an incremental scan's few)."""
    points = scoring.exact_name_points
    extra = f"LEFT JOIN {people.EXTRA} x ON x.user_id = c.user_id" if kind == "guardian" else ""
    nfam = "c.nfam + coalesce(len(x.extra), 0)" if kind == "guardian" else "c.nfam"
    paired = (
        f"AND c.user_id IN (SELECT a FROM {people.PAIRS} UNION ALL SELECT b FROM {people.PAIRS})"
        if only_paired
        else ""
    )
    return f"""
        SELECT c.* EXCLUDE (status, src, nfam), {nfam} AS nfam,
               {points("fg.freq")} AS gx, {points("ff.freq")} AS fx
        FROM {C_PEOPLE} c
        LEFT JOIN {people.FREQ} fg ON fg.kind = c.kind AND fg.field = 'g' AND fg.name = c.gp
        LEFT JOIN {people.FREQ} ff ON ff.kind = c.kind AND ff.field = 'f' AND ff.name = c.fp
        {extra}
        WHERE c.kind = '{kind}' {paired}"""


def _names_sql() -> str:
    """What scoring reads from a name's frequency: its exact-name points and whether it is
    found once, twice or COMMON_NAME times or more (see scoring.scored_sql); and how many have
    it (an incremental scan counts from there)."""
    points = scoring.exact_name_points("freq")
    return f"""SELECT kind, field, name, cnt, {points} AS points,
                      least(cnt, {int(scoring.COMMON_NAME)}) AS cls FROM {people.FREQ}"""


def _save_state(db: Database, threshold: int, full: bool, rebuilt: int) -> None:
    previous = db.one("SELECT max(full_scan_at) FROM duplicate_scan_state")
    db.execute("DELETE FROM duplicate_scan_state")
    db.execute(
        """INSERT INTO duplicate_scan_state VALUES (?, ?, current_timestamp,
                  CASE WHEN ? THEN current_timestamp ELSE ? END, ?)""",
        [_format(db), int(threshold), full, previous, rebuilt],
    )


# ------------------------------------------------------------------------ incremental scan
def _incremental(
    db: Database, threshold: int, step: Callable[[str], None]
) -> dict[str, Any] | None:
    """None when a full scan is cheaper (too many changes)."""
    people.source_hashes(db)
    people.changed_people(db, C_PEOPLE, "dup_changed")
    n_changed = int(db.one("SELECT count(*) FROM dup_changed"))
    n_all = int(db.one(f"SELECT count(*) FROM {people.SOURCE}"))
    if n_changed > FULL_SHARE * max(n_all, 1) and n_changed > 1000:
        return None
    # 1. the changed people, rebuilt, with their keys
    people.build_people(db, only="dup_changed")
    people.build_keys(db)
    step("people")
    with db.transaction():
        result = _incremental_store(db, threshold, step, n_changed)
    step("store")
    return result


def _incremental_store(
    db: Database, threshold: int, step: Callable[[str], None], n_changed: int
) -> dict[str, Any]:
    changed = "(SELECT user_id FROM dup_changed)"
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_old AS
            SELECT user_id, kind, gp, fp FROM {C_PEOPLE} WHERE user_id IN {changed}"""
    )
    db.execute(f"DELETE FROM {C_PEOPLE} WHERE user_id IN (SELECT user_id FROM dup_old)")
    db.execute(f"INSERT INTO {C_PEOPLE} {_cached_people_sql()}")
    # 2. names counted again from the cached counts and the changed people's names before and
    # after; the people of a name whose rarity points or class changed are affected
    _count_names(db)
    db.execute("""CREATE OR REPLACE TEMP TABLE dup_affected AS SELECT user_id FROM dup_changed""")
    if int(db.one("SELECT count(*) FROM dup_names_changed")):
        db.execute(
            f"""INSERT INTO dup_affected
                SELECT p.user_id FROM {C_PEOPLE} p
                JOIN dup_names_changed n ON n.kind = p.kind AND n.field = 'g' AND n.name = p.gp
                UNION
                SELECT p.user_id FROM {C_PEOPLE} p
                JOIN dup_names_changed n ON n.kind = p.kind AND n.field = 'f' AND n.name = p.fp
                EXCEPT SELECT user_id FROM dup_changed"""
        )
    n_affected = int(db.one("SELECT count(*) FROM dup_affected"))
    step("names")
    # 3. the blocks that matter, looked up by key rather than by scanning every block
    n_blocks = _blocks(db)
    step("blocks")
    # 4. students, then guardians (their children's duplicates count as shared children)
    n_pairs = _rescore(db, "student", threshold)
    db.execute(f"CREATE OR REPLACE TEMP TABLE dup_students AS SELECT * FROM {scoring.SCORED}")
    people.student_clusters(db, scoring.SCORED)
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_gathered AS
            SELECT coalesce(n.user_id, o.user_id) AS user_id FROM {people.EXTRA} n
            FULL JOIN {C_EXTRA} o ON o.user_id = n.user_id
            WHERE n.extra IS DISTINCT FROM o.extra
            EXCEPT SELECT user_id FROM dup_affected"""
    )
    if int(db.one("SELECT count(*) FROM dup_gathered")):
        db.execute("INSERT INTO dup_affected SELECT user_id FROM dup_gathered")
        _gather(db, "dup_gathered")
    db.execute(f"CREATE OR REPLACE TABLE {C_EXTRA} AS SELECT * FROM {people.EXTRA}")
    n_pairs += _rescore(db, "guardian", threshold)
    db.execute(f"INSERT INTO {scoring.SCORED} SELECT * FROM dup_students")
    db.execute("DROP TABLE temp.dup_students")
    found = int(db.one(f"SELECT count(*) FROM {scoring.SCORED}"))
    step("score")
    counts = _reconcile(db)
    _save_state(db, threshold, full=False, rebuilt=n_changed)
    return {
        "people": int(db.one(f"SELECT count(*) FROM {C_PEOPLE}")),
        "keys": n_blocks,
        "pairs_compared": n_pairs,
        "found": found,
        "incremental": True,
        "changed": n_changed,
        "affected": n_affected,
        **counts,
    }


def _count_names(db: Database) -> None:
    """FREQ and the cached names from the cached counts, less the changed people's names before
    (dup_old), plus their names now (PEOPLE): the same counts as a full scan's, without counting
    everyone's names again. dup_names_changed: the names whose points or class changed (a
    change to how many people there are moves every name's frequency a little)."""
    delta = f"""
        SELECT kind, field, name, sum(d) AS d FROM (
            SELECT kind, 'g' AS field, gp AS name, 1 AS d FROM {people.PEOPLE} WHERE gp IS NOT NULL
            UNION ALL SELECT kind, 'f', fp, 1 FROM {people.PEOPLE} WHERE fp IS NOT NULL
            UNION ALL SELECT kind, 'g', gp, -1 FROM dup_old WHERE gp IS NOT NULL
            UNION ALL SELECT kind, 'f', fp, -1 FROM dup_old WHERE fp IS NOT NULL)
        GROUP BY ALL"""
    people.frequencies(
        db,
        counts=f"""SELECT * FROM (
                       SELECT kind, field, name,
                              CAST(coalesce(o.cnt, 0) + coalesce(d.d, 0) AS BIGINT) AS cnt
                       FROM {C_NAMES} o FULL JOIN ({delta}) d USING (kind, field, name))
                   WHERE cnt > 0""",
        totals=f"SELECT kind, count(*) AS total FROM {C_PEOPLE} GROUP BY kind",
    )
    db.execute(f"CREATE OR REPLACE TEMP TABLE dup_names_now AS {_names_sql()}")
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_names_changed AS
            SELECT coalesce(n.kind, o.kind) AS kind, coalesce(n.field, o.field) AS field,
                   coalesce(n.name, o.name) AS name
            FROM dup_names_now n FULL JOIN {C_NAMES} o
                 ON o.kind = n.kind AND o.field = n.field AND o.name = n.name
            WHERE n.points IS DISTINCT FROM o.points OR n.cls IS DISTINCT FROM o.cls"""
    )
    db.execute(f"CREATE OR REPLACE TABLE {C_NAMES} AS SELECT * FROM dup_names_now")
    db.execute("DROP TABLE temp.dup_names_now")


def _blocks(db: Database) -> int:
    """Updates the cached keys and the cached blocks over their cap (C_BIG) with the changed
    people's keys, and gathers what the comparisons need: dup_members, every member of the
    blocks of the changed people's keys (before or after the change) and of the affected
    people's (not of blocks over their cap: they pair nobody); dup_live, which of those blocks
    pair their members; dup_bkeys, the blocks that became, or stopped being, small enough to
    pair their members (crossed the cap, or down to one member): all their pairs are new or
    gone; in other blocks only the changed people's pairs can change. Returns how many blocks
    changed so.

    The cached keys are read by the people or keys asked for, each time one narrow scan with a
    small hash table (DuckDB has no index join): the affected people's keys (the changed
    people's keys before the change among them), then the members of their blocks and of the
    blocks that shrank under their cap (one scan), then the blocks of the people of stored pairs
    that a changed block held (see _gather)."""
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_ukeys AS
            SELECT user_id, k, cap FROM {C_KEYS}
            WHERE user_id IN (SELECT user_id FROM dup_affected)"""
    )
    changed = "(SELECT user_id FROM dup_changed)"
    db.execute(f"DELETE FROM {C_KEYS} WHERE user_id IN {changed}")
    db.execute(f"INSERT INTO {C_KEYS} SELECT user_id, k, cap FROM {people.KEYS}")
    # how each block of a changed person's keys grew or shrank, and its size before (known for
    # the blocks over their cap; the others are counted below)
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_delta AS
            SELECT d.k, d.cap, d.d, b.n AS big FROM (
                SELECT k, min(cap) AS cap, sum(d) AS d FROM (
                    SELECT k, cap, 1 AS d FROM {people.KEYS}
                    UNION ALL
                    SELECT k, cap, -1 FROM dup_ukeys WHERE user_id IN {changed})
                GROUP BY k) d
            LEFT JOIN {C_BIG} b USING (k)"""
    )
    # the blocks whose members are needed: the changed people's (before and after), the
    # affected people's and the stored pairs' people's (unchanged: the same before and after);
    # and the blocks over their cap before the change and not after (in C_BIG, so none of the
    # others), read in the same scan of every key (a second one took 0.13 s at 1M students)
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_want AS
            (SELECT k FROM dup_delta WHERE big IS NULL
             UNION
             SELECT k FROM dup_ukeys ANTI JOIN dup_changed USING (user_id)
             EXCEPT SELECT k FROM {C_BIG})
            UNION ALL
            SELECT k FROM dup_delta WHERE big + d <= cap"""
    )
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_members AS
            SELECT user_id, k, cap FROM {C_KEYS} SEMI JOIN dup_want USING (k)"""
    )
    db.execute(
        """CREATE OR REPLACE TEMP TABLE dup_counts AS
           SELECT k, count(*) AS n, min(cap) AS cap FROM dup_members GROUP BY k"""
    )
    db.execute(
        """CREATE OR REPLACE TEMP TABLE dup_live AS
           SELECT k FROM dup_counts WHERE n BETWEEN 2 AND cap"""
    )
    # sizes now: counted for the blocks whose members were read, else over the cap before and
    # after (d added to the cached size)
    db.execute(
        """CREATE OR REPLACE TEMP TABLE dup_bkeys AS
           SELECT k FROM (
               SELECT d.k, d.cap, coalesce(c.n, d.big + d.d, 0) AS n, d.d FROM dup_delta d
               LEFT JOIN dup_counts c USING (k))
           WHERE (n BETWEEN 2 AND cap) <> (n - d BETWEEN 2 AND cap)"""
    )
    db.execute(f"DELETE FROM {C_BIG} WHERE k IN (SELECT k FROM dup_delta)")
    db.execute(
        f"""INSERT INTO {C_BIG}
            SELECT d.k, coalesce(c.n, d.big + d.d) AS n FROM dup_delta d
            LEFT JOIN dup_counts c USING (k)
            WHERE coalesce(c.n, d.big + d.d) > d.cap"""
    )
    db.execute(
        """CREATE OR REPLACE TEMP TABLE dup_bmembers AS
           SELECT user_id, k FROM dup_members SEMI JOIN dup_bkeys USING (k)"""
    )
    db.execute("DROP TABLE temp.dup_ukeys")
    # a stored pair of two unaffected people in a changed block is decided again when they
    # still share a block: their blocks are needed too
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_gathered AS
            WITH p AS (
                SELECT s.a, s.b FROM {C_SCORED} s
                JOIN dup_bmembers ka ON ka.user_id = s.a
                JOIN dup_bmembers kb ON kb.user_id = s.b AND kb.k = ka.k
            )
            (SELECT a AS user_id FROM p UNION SELECT b FROM p)
            EXCEPT SELECT user_id FROM dup_affected"""
    )
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_mpeople AS
            SELECT user_id, kind, status FROM {C_PEOPLE} LIMIT 0"""
    )
    _gather(db, "dup_gathered", members=True)
    return int(db.one("SELECT count(*) FROM dup_bkeys"))


def _gather(db: Database, ids: str, members: bool = False) -> None:
    """Adds to dup_members and dup_live the blocks of the people in `ids` (unchanged people:
    the same keys before and after), and to dup_mpeople the kind and status of the members
    (which pairs may be compared), read once for every member. `members`: also those of the
    members gathered before (the first call)."""
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_want AS
            SELECT k FROM {C_KEYS} WHERE user_id IN (SELECT user_id FROM {ids})
            EXCEPT (SELECT k FROM {C_BIG} UNION SELECT k FROM dup_counts)"""
        if int(db.one(f"SELECT count(*) FROM {ids}"))
        else "CREATE OR REPLACE TEMP TABLE dup_want AS SELECT k FROM dup_counts LIMIT 0"
    )
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_more AS
            SELECT user_id, k, cap FROM {C_KEYS} SEMI JOIN dup_want USING (k)"""
        if int(db.one("SELECT count(*) FROM dup_want"))
        else "CREATE OR REPLACE TEMP TABLE dup_more AS FROM dup_members LIMIT 0"
    )
    db.execute("INSERT INTO dup_members SELECT * FROM dup_more")
    db.execute("""INSERT INTO dup_counts SELECT k, count(*), min(cap) FROM dup_more GROUP BY k""")
    db.execute(
        """INSERT INTO dup_live
           SELECT k FROM dup_more GROUP BY k HAVING count(*) BETWEEN 2 AND min(cap)"""
    )
    new = "dup_members" if members else "dup_more"
    db.execute(
        f"""INSERT INTO dup_mpeople
            SELECT user_id, kind, status FROM {C_PEOPLE}
            WHERE user_id IN (SELECT user_id FROM {new} EXCEPT SELECT user_id FROM dup_mpeople)"""
    )
    db.execute("DROP TABLE temp.dup_more")


def _rescore(db: Database, kind: str, threshold: int) -> int:
    """Compare again the pairs of one kind the changes can touch, merge them with the cached
    scored pairs the changes cannot touch, keep the best re-keyed pairs: SCORED holds this
    kind's candidates, the cache every scored pair. Returns the pairs compared."""
    affected = "(SELECT user_id FROM dup_affected)"
    # stored pairs to decide again: a side affected, or both in a block that changed
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_redecide AS
            SELECT s.a, s.b FROM {C_SCORED} s
            WHERE s.kind = '{kind}' AND (s.a IN {affected} OR s.b IN {affected})
            UNION
            SELECT s.a, s.b FROM {C_SCORED} s
            JOIN dup_bmembers ka ON ka.user_id = s.a
            JOIN dup_bmembers kb ON kb.user_id = s.b AND kb.k = ka.k
            WHERE s.kind = '{kind}'"""
    )
    # pairs: every pair of a changed block; an affected person with everyone in its blocks; a
    # re-decided pair that still shares a block (the members of the blocks that pair their
    # members, gathered in _blocks)
    raw = f"""
        WITH kk AS MATERIALIZED (
            SELECT m.user_id, m.k FROM dup_members m SEMI JOIN dup_live USING (k)
            SEMI JOIN dup_mpeople p ON p.user_id = m.user_id AND p.kind = '{kind}'
        ),
        mine AS MATERIALIZED (SELECT user_id, k FROM kk WHERE user_id IN {affected}),
        -- the changed blocks' members first: joined after the self-join, the filter came after
        -- every pair of every block read (millions of pairs at 1M students)
        bk AS MATERIALIZED (SELECT user_id, k FROM kk SEMI JOIN dup_bkeys USING (k))
        SELECT DISTINCT a, b FROM (
            SELECT x.user_id AS a, y.user_id AS b
            FROM bk x JOIN bk y ON x.k = y.k AND x.user_id < y.user_id
            UNION ALL
            SELECT least(x.user_id, y.user_id), greatest(x.user_id, y.user_id)
            FROM mine x JOIN kk y ON x.k = y.k AND x.user_id <> y.user_id
            UNION ALL
            SELECT r.a, r.b FROM dup_redecide r
            JOIN kk x ON x.user_id = r.a JOIN kk y ON y.user_id = r.b AND y.k = x.k)
    """
    n_pairs = people.keep_pairs(db, raw, "dup_mpeople", kind)
    # the first bounds read the cached scalars with today's name frequencies (and a guardian's
    # children's duplicates); the people of the pairs they let through are built as a full
    # scan builds them (they are unchanged since it, or rebuilt above), guardians with their
    # children's duplicates
    narrow = _cached_narrow_sql(kind, only_paired=True)

    def build(ids: str) -> None:
        people.build_people(db, only=ids)
        people.attach_frequencies(db)
        if kind == "guardian":
            people.with_extra(db, people.PEOPLE)

    if n_pairs:
        scoring.score_pairs(db, kind, threshold, best=False, narrow=narrow, build=build)
    else:  # nothing to compare (the scoring query alone takes a while to plan)
        db.execute(f"CREATE OR REPLACE TEMP TABLE {scoring.SCORED} AS FROM {C_SCORED} LIMIT 0")
    db.execute(
        f"""DELETE FROM {C_SCORED} s WHERE s.kind = '{kind}'
              AND (EXISTS (SELECT 1 FROM dup_redecide r WHERE r.a = s.a AND r.b = s.b)
                   OR EXISTS (SELECT 1 FROM duplicate_rejections x
                              WHERE x.left_id = s.a AND x.right_id = s.b))"""
    )
    db.execute(f"INSERT INTO {C_SCORED} SELECT * FROM {scoring.SCORED}")
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE {scoring.SCORED} AS "
        f"SELECT * FROM {C_SCORED} WHERE kind = '{kind}'"
    )
    scoring.keep_best_rekeyed(db, kind)
    return n_pairs


# ------------------------------------------------------------------------------ reconcile
def _reconcile(db: Database) -> dict[str, Any]:
    scored = scoring.SCORED
    # found again: seen now; points and evidence written only where they changed (DuckDB
    # updates a STRUCT column slowly: rewriting every candidate's took seconds at 1M students)
    db.execute(
        f"""
        UPDATE duplicate_candidates SET score = s.score, points = s.points, evidence = s.evidence,
               field_points = s.field_points
        FROM {scored} s
        WHERE duplicate_candidates.left_id = s.a AND duplicate_candidates.right_id = s.b
          AND (duplicate_candidates.score IS DISTINCT FROM s.score
               OR duplicate_candidates.points IS DISTINCT FROM s.points
               OR duplicate_candidates.evidence IS DISTINCT FROM s.evidence
               OR duplicate_candidates.field_points IS DISTINCT FROM s.field_points)
        """
    )
    db.execute(
        f"""
        UPDATE duplicate_candidates SET last_seen_at = current_timestamp
        FROM {scored} s
        WHERE duplicate_candidates.left_id = s.a AND duplicate_candidates.right_id = s.b
        """
    )
    gone = int(
        db.one(
            f"""SELECT count(*) FROM duplicate_candidates c
                WHERE c.status IN ('open', 'skipped')
                  AND NOT EXISTS (SELECT 1 FROM {scored} s WHERE s.a = c.left_id AND s.b = c.right_id)"""
        )
    )
    db.execute(
        f"""DELETE FROM duplicate_candidates
            WHERE status IN ('open', 'skipped')
              AND NOT EXISTS (SELECT 1 FROM {scored} s
                              WHERE s.a = duplicate_candidates.left_id AND s.b = duplicate_candidates.right_id)"""
    )
    new = int(
        db.one(
            f"""SELECT count(*) FROM {scored} s
                ANTI JOIN duplicate_candidates c ON c.left_id = s.a AND c.right_id = s.b"""
        )
    )
    db.execute(
        f"""
        INSERT INTO duplicate_candidates
            (candidate_id, left_id, right_id, record_kind, score, points, evidence, field_points,
             status, found_at, last_seen_at)
        SELECT (SELECT coalesce(max(candidate_id), 0) FROM duplicate_candidates)
                   + row_number() OVER (ORDER BY s.points DESC, s.a, s.b),
               s.a, s.b, s.kind, s.score, s.points, s.evidence, s.field_points,
               'open', current_timestamp, current_timestamp
        FROM {scored} s
        ANTI JOIN duplicate_candidates c ON c.left_id = s.a AND c.right_id = s.b
        """
    )
    by_kind = dict(
        db.rows(
            """SELECT record_kind, count(*) FROM duplicate_candidates WHERE status = 'open'
               GROUP BY record_kind ORDER BY record_kind"""
        )
    )
    return {
        "new": new,
        "gone": gone,
        "open": sum(int(v) for v in by_kind.values()),
        "open_by_kind": {k: int(v) for k, v in by_kind.items()},
    }
