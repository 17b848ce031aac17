"""The directory's invariants, in one place: `roster-sync check` verifies them over the whole
directory, and every apply verifies them over the records it wrote before it commits.

Large tables carry no database constraints (they would slow bulk loads of millions of rows), so
the invariants are checked here instead: by a district or a test after a kill, and by apply,
which refuses to commit a directory that breaks one (nothing changes, the run fails and names
the records).
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.db import Database
from daemon.directory.orgs import schools_in_orgs
from daemon.directory.records import archived_with

# The school rule for people, in the form an apply can afford at 1M students: the candidates are
# the people it wrote, or all of them when it archived a school (most nights archive none), who
# name a school that is not active (few or none: a first load has none); only their schools are
# read then. Active people the sync made count, not one a person brought back by hand.
_ORGS_OF_PEOPLE = """SELECT p.user_id AS who, p.last_run,
           trim(unnest(string_split(p.org_sis_ids, ','))) AS org
    FROM users p WHERE p.status = 'active' AND p.origin = 'sync'
      AND p.unarchived_by_hand_at IS NULL AND p.org_sis_ids IS NOT NULL"""
_ORGS_OF_CLOSED_SCHOOLS = """SELECT m.sis_id AS org, x.archived_run
    FROM school_sis_ids m JOIN schools x ON x.school_id = m.school_id
    WHERE x.status <> 'active' AND x.org_type <> 'district'
    UNION ALL SELECT '#' || x.school_id, x.archived_run FROM schools x
    WHERE x.status <> 'active' AND x.org_type <> 'district'"""
_PEOPLE_NAMING_CLOSED_SCHOOLS = f"""
    SELECT o.who FROM ({_ORGS_OF_PEOPLE} AND {{scope:p}}) o
    JOIN ({_ORGS_OF_CLOSED_SCHOOLS}) a ON a.org = o.org
    UNION
    SELECT o.who FROM ({_ORGS_OF_PEOPLE}) o
    JOIN ({_ORGS_OF_CLOSED_SCHOOLS}) a ON a.org = o.org AND {{archived:a}}"""


@dataclass(frozen=True)
class Invariant:
    """`offenders` selects the ids (`id`) of rows that break the rule. `{scope}` narrows it to
    rows an apply wrote (`last_run = R` on the alias the rule names), `{archived}` to rows it
    archived (`archived_run = R`); over the whole directory both are `true`."""

    name: str
    offenders: str
    whole_directory_only: bool = False
    # The same rule as one pass over `table`, for when the scope is most of it (a first load,
    # `check`): `offenders` first narrows to the scoped rows' keys, a join that then costs as
    # much as the grouping it saves (1.1 -> 0.5 s for the 7.25M enrollments of a 1M first load).
    table: str | None = None
    offenders_in_one_pass: str | None = None


def _unique_ids(name: str, table: str, id_col: str) -> Invariant:
    return Invariant(
        name,
        f"""SELECT t.{id_col} AS id FROM {table} t
            WHERE t.{id_col} IN (SELECT x.{id_col} FROM {table} x WHERE {{scope:x}})
            GROUP BY t.{id_col} HAVING count(*) > 1""",
        table=table,
        # Repeats are neighbours once the ids are sorted: a first load writes its ids in order,
        # which DuckDB's sort finds at once (7.25M enrollments of a 1M first load: 0.4-0.5 s
        # against 0.9-1.1 s for a grouping; about the same when the ids are shuffled).
        offenders_in_one_pass=f"""SELECT id FROM (
                SELECT t.{id_col} AS id, {{scope:t}} AS in_scope,
                       lag(t.{id_col}) OVER w AS before, lead(t.{id_col}) OVER w AS after
                FROM {table} t WINDOW w AS (ORDER BY t.{id_col}))
            WHERE id = before OR id = after
            GROUP BY id HAVING bool_or(in_scope)""",
    )


def _one_per_pair(name: str, table: str, id_col: str, a: str, b: str) -> Invariant:
    return Invariant(
        name,
        f"""SELECT min(t.{id_col}) AS id FROM {table} t
            SEMI JOIN (SELECT x.{a}, x.{b} FROM {table} x WHERE {{scope:x}}) k
              ON k.{a} = t.{a} AND k.{b} = t.{b}
            GROUP BY t.{a}, t.{b} HAVING count(*) > 1""",
        table=table,
        # a NULL never matches in the join above: such rows form no pair there either
        offenders_in_one_pass=f"""SELECT min(t.{id_col}) AS id FROM {table} t
            WHERE t.{a} IS NOT NULL AND t.{b} IS NOT NULL
            GROUP BY t.{a}, t.{b} HAVING count(*) > 1 AND bool_or({{scope:t}})""",
    )


INVARIANTS: tuple[Invariant, ...] = (
    _unique_ids("users have unique ids", "users", "user_id"),
    _unique_ids("schools have unique ids", "schools", "school_id"),
    _unique_ids("classrooms have unique ids", "classrooms", "classroom_id"),
    _unique_ids("enrollments have unique ids", "enrollments", "enrollment_id"),
    _unique_ids("guardian links have unique ids", "guardian_links", "link_id"),
    _unique_ids("attributes have unique ids", "student_attributes", "attribute_id"),
    _one_per_pair(
        "one enrollment per classroom and person",
        "enrollments",
        "enrollment_id",
        "classroom_id",
        "user_id",
    ),
    _one_per_pair(
        "one link per student and guardian",
        "guardian_links",
        "link_id",
        "student_id",
        "guardian_id",
    ),
    _one_per_pair(
        "one value per student and attribute",
        "student_attributes",
        "attribute_id",
        "student_id",
        "name",
    ),
    # Memberships match on class and person, so nothing but this rule keeps two of them from
    # answering to one sourcedId (an export would repeat it). Grouped on the ids' hashes, a
    # collision only adds a group for the second grouping to clear.
    Invariant(
        "active enrollments have unique SIS ids",
        """SELECT min(t.enrollment_id) AS id FROM enrollments t
           WHERE t.status = 'active'
             AND t.sis_id IN (SELECT x.sis_id FROM enrollments x
                              WHERE {scope:x} AND x.status = 'active')
           GROUP BY t.sis_id HAVING count(*) > 1""",
        table="enrollments",
        offenders_in_one_pass="""SELECT min(t.enrollment_id) AS id FROM enrollments t
           WHERE t.status = 'active' AND hash(t.sis_id) IN (
                 SELECT hash(x.sis_id) FROM enrollments x
                 WHERE x.status = 'active' AND x.sis_id IS NOT NULL
                 GROUP BY hash(x.sis_id) HAVING count(*) > 1)
           GROUP BY t.sis_id HAVING count(*) > 1 AND bool_or({scope:t})""",
    ),
    # A row missing either side, by one anti join per side; a row missing both is found twice
    # and named once (the union is over its place in the table, so rows that share an id are
    # still counted apart). `NOT EXISTS (..) OR NOT EXISTS (..)` kept a join per side for every
    # row: 0.9-1.2 s of CPU for the 7.25M enrollments of a 1M first load, against 0.4-0.5 s.
    Invariant(
        "enrollments name existing classrooms and people",
        """SELECT id FROM (
               SELECT e.rowid AS place, e.enrollment_id AS id FROM enrollments e
               ANTI JOIN classrooms c ON c.classroom_id = e.classroom_id WHERE {scope:e}
               UNION
               SELECT e.rowid, e.enrollment_id FROM enrollments e
               ANTI JOIN users u ON u.user_id = e.user_id WHERE {scope:e})""",
    ),
    Invariant(
        "guardian links name existing people",
        """SELECT id FROM (
               SELECT l.rowid AS place, l.link_id AS id FROM guardian_links l
               ANTI JOIN users u ON u.user_id = l.student_id WHERE {scope:l}
               UNION
               SELECT l.rowid, l.link_id FROM guardian_links l
               ANTI JOIN users u ON u.user_id = l.guardian_id WHERE {scope:l})""",
    ),
    Invariant(
        "attributes name existing students",
        """SELECT a.attribute_id AS id FROM student_attributes a
           WHERE {scope:a}
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = a.student_id)""",
    ),
    # What a person takes with them when archived (by a run, a revert or by hand): what the
    # sync made of their memberships, links and attributes. Hand-made ones are the district's.
    # An apply checks the pairs it made: a row it wrote active under an archived person, or a
    # person it archived who keeps an active row. A database from before hand archives took
    # memberships along may hold other such pairs; `check` reports them, but a run that did not
    # make them does not fail for them.
    Invariant(
        "enrollments of archived people are archived",
        """SELECT e.enrollment_id AS id FROM enrollments e JOIN users u ON u.user_id = e.user_id
           WHERE e.status = 'active' AND e.origin = 'sync' AND u.status = 'archived'
             AND ({scope:e} OR {archived:u})""",
    ),
    # As for people: a classroom archived (by a run, a revert or an approval of withheld
    # archives) takes the memberships the sync made in it.
    Invariant(
        "enrollments of archived classrooms are archived",
        """SELECT e.enrollment_id AS id FROM enrollments e
           JOIN classrooms c ON c.classroom_id = e.classroom_id
           WHERE e.status = 'active' AND e.origin = 'sync' AND c.status = 'archived'
             AND ({scope:e} OR {archived:c})""",
    ),
    Invariant(
        "guardian links of archived people are archived",
        # one equality join per side: `u.user_id IN (l.student_id, l.guardian_id)` is a join
        # DuckDB cannot hash: it compared every link with every archived person (most of a
        # day-2 apply's 55 s at 1M students)
        """SELECT id FROM (
               SELECT l.link_id AS id FROM guardian_links l
               JOIN users u ON u.user_id = l.student_id
               WHERE l.status = 'active' AND l.origin = 'sync' AND u.status = 'archived'
                 AND ({scope:l} OR {archived:u})
               UNION
               SELECT l.link_id FROM guardian_links l
               JOIN users u ON u.user_id = l.guardian_id
               WHERE l.status = 'active' AND l.origin = 'sync' AND u.status = 'archived'
                 AND ({scope:l} OR {archived:u}))
           -- manage_guardians = false: links are the district's, the sync leaves them
           WHERE coalesce((SELECT value FROM settings WHERE key = 'manage_guardians'), 'true')
                 <> 'false'""",
    ),
    # What the sync made for a student, as a student, goes when a run makes them staff or a
    # guardian (sync/diff.py KIND_CASCADES): an export would write it under a person no
    # OneRoster row can give it to, and the export synced back would archive it.
    Invariant(
        "guardian links the sync made join a student and a guardian",
        """SELECT id FROM (
               SELECT l.link_id AS id FROM guardian_links l
               JOIN users u ON u.user_id = l.student_id
               WHERE l.status = 'active' AND l.origin = 'sync' AND u.kind <> 'student'
                 AND ({scope:l} OR {scope:u})
               UNION
               SELECT l.link_id FROM guardian_links l
               JOIN users u ON u.user_id = l.guardian_id
               WHERE l.status = 'active' AND l.origin = 'sync' AND u.kind <> 'guardian'
                 AND ({scope:l} OR {scope:u}))
           WHERE coalesce((SELECT value FROM settings WHERE key = 'manage_guardians'), 'true')
                 <> 'false'""",
    ),
    Invariant(
        "attributes the sync made belong to students",
        """SELECT a.attribute_id AS id FROM student_attributes a
           JOIN users u ON u.user_id = a.student_id
           WHERE a.status = 'active' AND a.origin = 'sync' AND u.kind <> 'student'
             AND ({scope:a} OR {scope:u})""",
    ),
    Invariant(
        "attributes of archived students are archived",
        """SELECT a.attribute_id AS id FROM student_attributes a
           JOIN users u ON u.user_id = a.student_id
           WHERE a.status = 'active' AND a.origin = 'sync' AND u.status = 'archived'
             AND ({scope:a} OR {archived:u})""",
    ),
    # A merge moves a record's memberships, links and attributes to the survivor or archives
    # them on the tombstone (duplicates/merge.py): an active one on a merged record is seen by
    # nobody (exports and lookups follow the survivor) and would come back wrong on an undo.
    Invariant(
        "memberships of merged records are archived",
        """SELECT e.enrollment_id AS id FROM enrollments e JOIN users u ON u.user_id = e.user_id
           WHERE e.status = 'active' AND u.status = 'merged' AND {scope:e}
           UNION ALL
           SELECT link_id FROM (
               SELECT l.link_id FROM guardian_links l JOIN users u ON u.user_id = l.student_id
               WHERE l.status = 'active' AND {scope:l} AND u.status = 'merged'
               UNION
               SELECT l.link_id FROM guardian_links l JOIN users u ON u.user_id = l.guardian_id
               WHERE l.status = 'active' AND {scope:l} AND u.status = 'merged')
           UNION ALL
           SELECT a.attribute_id FROM student_attributes a JOIN users u ON u.user_id = a.student_id
           WHERE a.status = 'active' AND u.status = 'merged' AND {scope:a}""",
    ),
    # A membership or link a person made is archived with one of its owners (its person or
    # classroom, a link's student or guardian: directory/records.py archive_attached,
    # set_classroom_archived), or handed since to the archive of the one that keeps it out
    # (hand_to_what_keeps_them_out), so that it comes back with that archive (`archived_with`).
    # One stamped with an archive that never happened or is over would never come back. One
    # on a merged record's tombstone is the merge's duplicate (duplicates/merge.py) and waits
    # for nothing. An apply checks those it wrote; `check`, every one.
    Invariant(
        "archived hand-made memberships and links wait for an archived owner",
        f"""SELECT e.enrollment_id AS id FROM enrollments e
            JOIN users u ON u.user_id = e.user_id
            JOIN classrooms c ON c.classroom_id = e.classroom_id
            WHERE e.status = 'archived' AND e.origin = 'hand' AND {{scope:e}}
              AND u.status <> 'merged'
              AND NOT coalesce(u.status = 'archived' AND {archived_with("e", "u")}, false)
              AND NOT coalesce(c.status = 'archived' AND {archived_with("e", "c")}, false)
            UNION ALL
            SELECT l.link_id FROM guardian_links l
            JOIN users s ON s.user_id = l.student_id
            JOIN users g ON g.user_id = l.guardian_id
            WHERE l.status = 'archived' AND l.origin = 'hand' AND {{scope:l}}
              AND 'merged' NOT IN (s.status, g.status)
              AND NOT coalesce(s.status = 'archived' AND {archived_with("l", "s")}, false)
              AND NOT coalesce(g.status = 'archived' AND {archived_with("l", "g")}, false)""",
    ),
    Invariant(
        "classrooms belong to existing schools",
        """SELECT c.classroom_id AS id FROM classrooms c
           WHERE {scope:c} AND c.school_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM schools s WHERE s.school_id = c.school_id)""",
    ),
    # A night never archives a school that the classes it keeps name, nor brings a class back in
    # a school it leaves archived (sync/feed/classes.py keep_schools_still_named, org_ids);
    # neither does a revert (sync/revert.py) nor an approval of withheld archives
    # (sync/withheld.py). An apply checks the pairs it made, as for people and their
    # memberships: a directory synced before the rule may hold others, which `check` reports.
    Invariant(
        "active classrooms the sync made belong to active schools",
        """SELECT c.classroom_id AS id FROM classrooms c JOIN schools s ON s.school_id = c.school_id
           WHERE c.status = 'active' AND c.origin = 'sync' AND s.status <> 'active'
             AND ({scope:c} OR {archived:s})""",
    ),
    # As for classrooms, a person the sync keeps active is in an active school: a night keeps
    # a school a person it leaves still names (sync/feed/classes.py keep_schools_still_named)
    # and takes no one back into an archived one, nor does a revert (sync/revert.py). The
    # schools a person is in are read as the rules that keep them read them (schools_in_orgs);
    # someone named only at the district, or at no school the directory knows, is in none and
    # breaks nothing, and so does one a person brought back by hand (what they decided).
    # Reported by `check`, not refused at apply: a night still unarchives a person the feed
    # lists at the district and a school it left archived (their stored orgs kept; a strict
    # xfail in tests/sync/test_school_still_named.py), and refusing that night would stop the
    # district's sync until the feed changed. Written in the form an apply could afford.
    Invariant(
        "active people the sync made are in an active school",
        f"""SELECT n.who AS id
            FROM ({schools_in_orgs(f"SELECT user_id AS who, org_sis_ids FROM users WHERE user_id IN ({_PEOPLE_NAMING_CLOSED_SCHOOLS})")}) n
            JOIN schools s ON s.school_id = n.school_id AND s.org_type <> 'district'
            GROUP BY n.who HAVING NOT bool_or(s.status = 'active')""",
        whole_directory_only=True,
    ),
    Invariant(
        "merged records point at a survivor that is not merged",
        """SELECT m.user_id AS id FROM users m LEFT JOIN users s ON s.user_id = m.merged_into
           WHERE m.status = 'merged' AND ({scope:m} OR {scope:s})
             AND (s.user_id IS NULL OR s.status = 'merged')""",
    ),
    Invariant(
        "every school SIS id belongs to an existing school",
        """SELECT m.school_id AS id FROM school_sis_ids m
           WHERE NOT EXISTS (SELECT 1 FROM schools s WHERE s.school_id = m.school_id)""",
    ),
    Invariant(
        "statuses are known",
        """SELECT user_id AS id FROM users x
           WHERE {scope:x} AND status NOT IN ('active', 'archived', 'merged')
           UNION ALL SELECT enrollment_id FROM enrollments x
           WHERE {scope:x} AND status NOT IN ('active', 'archived')
           UNION ALL SELECT classroom_id FROM classrooms x
           WHERE {scope:x} AND status NOT IN ('active', 'archived')""",
    ),
    Invariant(
        "no run is left loading",
        "SELECT run_id AS id FROM runs WHERE status = 'loading'",
        whole_directory_only=True,
    ),
)


@dataclass(frozen=True)
class Violation:
    name: str
    count: int
    examples: list[int]  # a few offending ids, to name the records

    def describe(self) -> str:
        shown = ", ".join(str(i) for i in self.examples)
        more = (
            f" and {self.count - len(self.examples)} more"
            if self.count > len(self.examples)
            else ""
        )
        return f"{self.name}: {self.count} row{'s' if self.count != 1 else ''} (ids {shown}{more})"


_PLACEHOLDERS = {"{scope:": "last_run", "{archived:": "archived_run"}


def _render(sql: str, run_id: int | None) -> str:
    """Fill each `{scope:alias}` with the rows a run wrote and each `{archived:alias}` with the
    rows it archived, or both with `true`."""
    for opening, column in _PLACEHOLDERS.items():
        out, rest = [], sql
        while opening in rest:
            before, _, after = rest.partition(opening)
            alias, _, rest = after.partition("}")
            out.append(before)
            out.append("true" if run_id is None else f"{alias}.{column} = {int(run_id)}")
        out.append(rest)
        sql = "".join(out)
    return sql


# Up to this many rows in the tables the rules read, the rules run as one statement: on a
# small directory each rule's cost is DuckDB's planning, not its reading (23 statements were
# a tenth of a small apply). Above it, one at a time, as each was measured at 1M students.
ONE_STATEMENT_ROWS = 100_000


def _sizes(db: Database, run_id: int | None) -> dict[str, tuple[int, int]]:
    """Per table a rule reads in one pass: (rows run `run_id` wrote, rows), in one statement."""
    tables = sorted({i.table for i in INVARIANTS if i.table is not None})
    written = "count(*) FILTER (WHERE last_run = $run)" if run_id is not None else "0"
    counted = db.rows(
        "SELECT " + ", ".join(f"(SELECT [{written}, count(*)] FROM {t})" for t in tables),
        {"run": run_id} if run_id is not None else None,
    )[0]
    return {t: (int(pair[0]), int(pair[1])) for t, pair in zip(tables, counted, strict=True)}


def _offenders(invariant: Invariant, run_id: int | None, sizes: dict[str, tuple[int, int]]) -> str:
    """The form of the rule that costs least for this scope: one pass when the run wrote at
    least half of the table (or over the whole directory), else narrowed to what it wrote."""
    if invariant.offenders_in_one_pass is None or invariant.table is None:
        return invariant.offenders
    if run_id is None:
        return invariant.offenders_in_one_pass
    written, total = sizes[invariant.table]
    return invariant.offenders_in_one_pass if 2 * written >= total else invariant.offenders


def violations(db: Database, run_id: int | None = None) -> list[Violation]:
    """The broken invariants: over the whole directory, or over the records run `run_id` wrote."""
    rules = [i for i in INVARIANTS if run_id is None or not i.whole_directory_only]
    sizes = _sizes(db, run_id)
    counts = [
        f"""SELECT {n} AS rule, count(*), list(id ORDER BY id)[1:5]
            FROM ({_render(_offenders(invariant, run_id, sizes), run_id)})"""
        for n, invariant in enumerate(rules)
    ]
    if sum(total for _, total in sizes.values()) <= ONE_STATEMENT_ROWS:
        results = db.rows(" UNION ALL ".join(f"({c})" for c in counts) + " ORDER BY rule")
    else:
        results = [db.rows(c)[0] for c in counts]
    return [
        Violation(rules[n].name, int(count), [int(i) for i in examples or []])
        for n, count, examples in results
        if count
    ]


def broken_by_runs(db: Database, run_ids: list[int]) -> dict[str, int]:
    """Per broken invariant, its offending rows among what the runs `run_ids` wrote: taken
    before a decision outside an apply (a conflict taken, withheld archives approved), so that
    `broken_since` refuses what the decision breaks, not what a directory synced before a rule
    already held."""
    counts: dict[str, int] = {}
    for run_id in run_ids:
        for v in violations(db, run_id):
            counts[v.name] = counts.get(v.name, 0) + v.count
    return counts


def broken_since(db: Database, run_ids: list[int], before: dict[str, int]) -> list[Violation]:
    """The invariants broken among what the runs `run_ids` wrote with more offending rows than
    `before` (broken_by_runs) counted."""
    now: dict[str, Violation] = {}
    for run_id in run_ids:
        for v in violations(db, run_id):
            seen = now.get(v.name)
            now[v.name] = (
                v
                if seen is None
                else Violation(v.name, seen.count + v.count, (seen.examples + v.examples)[:5])
            )
    return [v for v in now.values() if v.count > before.get(v.name, 0)]


def check_directory(db: Database) -> list[tuple[str, int]]:
    """(invariant, number of offending rows) for every invariant, over the whole directory."""
    broken = {v.name: v.count for v in violations(db)}
    return [(i.name, broken.get(i.name, 0)) for i in INVARIANTS]
