"""The re-keyed rollover: a feed whose students or classes are mostly the same under new ids.

Some SIS exports change every sourcedId at the summer rollover. Planned as usual, such a drop
archives the district's students and creates them again: their history, accounts, links and
hand edits stay with the archived records. A run where most students it would archive come back
as new students with the same name and birth date (or the same student number) is held with its
own reason instead; an override is still possible, with a reason.

Classes alike: a class is the course an LMS keeps its teacher's work in, by the class's
sourcedId, so a class archived and made again under a new id is a new, empty course there. A
class the run archives that comes back under a new id in the same school, with the same title
and terms, is that class re-keyed (a new year's classes have new terms). Most of the run's
archived classes so: held, as students are; fewer: the run says which, so that whoever reviews
it can ask the SIS before applying.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.db import Database
from daemon.words import counted

REKEY_SHARE = 0.5  # of the students (or classes) the run would archive
REKEY_MIN = 5  # fewer is ordinary churn (a family leaving and enrolling again)


@dataclass(frozen=True)
class _Rematched:
    matched: int  # archived records that come back under a new id
    archived: int  # records of that kind the run would archive
    examples: list[tuple[str, str]]  # (old SIS id, new SIS id)

    @property
    def held(self) -> bool:
        return self.matched >= REKEY_MIN and self.matched >= REKEY_SHARE * self.archived


class Rekeyed(_Rematched):
    """Students."""

    def reason(self) -> str:
        shown = ", ".join(f"{old} -> {new}" for old, new in self.examples)
        return (
            f"the SIS appears to have re-keyed {self.matched:,} students: {self.matched:,} of the "
            f"{self.archived:,} students this run would archive come back under new ids with the "
            f"same name and birth date or student number (e.g. {shown}); applying would archive "
            "them and create them again. Ask the SIS to keep its ids, or override and merge the "
            "pairs on the duplicates screen (roster-sync duplicates list)"
        )


def _columns(db: Database, schema: str) -> set[str]:
    return set(db.columns("plan_users", schema.strip('"')))


def find_rekeyed(db: Database, schema: str) -> Rekeyed:
    """Students the plan archives that a created student matches (same person, new id)."""
    cols = _columns(db, schema)
    if "kind" not in cols:
        return Rekeyed(0, 0, [])

    def new(col: str) -> str:
        return f"c.{col}" if col in cols else "CAST(NULL AS VARCHAR)"

    plan = f"{schema}.plan_users"
    archived = int(
        db.one(
            f"SELECT count(*) FROM {plan} p JOIN users u ON u.user_id = p.id "
            "WHERE p.op = 'archive' AND u.kind = 'student'"
        )
        or 0
    )
    if archived < REKEY_MIN:
        return Rekeyed(0, archived, [])
    # Two equality joins rather than one join on an OR, which DuckDB can only run as a nested
    # loop (archives x creates: 10,000 x 10,000 on a nightly run at 1M students).
    archived_students = f"""(SELECT u.* FROM {plan} a JOIN users u ON u.user_id = a.id
                             WHERE a.op = 'archive' AND u.kind = 'student')"""
    created_students = f"(SELECT * FROM {plan} c WHERE c.op = 'create' AND c.kind = 'student')"
    pairs = db.rows(
        f"""
        SELECT sis_id, min(new_sis) AS new_sis FROM (
            SELECT u.sis_id, {new("sis_id")} AS new_sis
            FROM {archived_students} u JOIN {created_students} c
              ON lower({new("given_name")}) = lower(u.given_name)
             AND lower({new("family_name")}) = lower(u.family_name)
             AND {new("birth_date")} = u.birth_date
            UNION ALL
            SELECT u.sis_id, {new("sis_id")}
            FROM {archived_students} u JOIN {created_students} c
              ON {new("identifier")} = u.identifier
            WHERE {new("sis_id")} <> u.sis_id)
        GROUP BY sis_id ORDER BY sis_id
        """
    )
    return Rekeyed(len(pairs), archived, [(str(o), str(n)) for o, n in pairs[:3]])


class RekeyedClasses(_Rematched):
    """Classes."""

    def _shown(self) -> str:
        more = self.matched - len(self.examples)
        return ", ".join(f"{old} -> {new}" for old, new in self.examples) + (
            f" and {more:,} more" if more else ""
        )

    def reason(self) -> str:
        return (
            f"the SIS appears to have re-keyed {counted(self.matched, 'class', 'classes')}: "
            f"{self.matched:,} of the {counted(self.archived, 'class', 'classes')} this run would "
            "archive come back under new ids in the same school with the same title and terms "
            f"({self._shown()}); applying would archive them with their enrollments and create "
            "them again, which an LMS takes for new, empty courses. Ask the SIS to keep its ids, "
            "or override with a reason"
        )

    def note(self) -> str:
        one = self.matched == 1
        return (
            f"{counted(self.matched, 'class', 'classes')} this run archives "
            f"{'comes' if one else 'come'} back under {'a new id' if one else 'new ids'} in the "
            f"same school with the same title and terms ({self._shown()}): if the SIS re-keyed "
            f"{'it' if one else 'them'}, an LMS takes {'it' if one else 'them'} for "
            f"{'a new, empty course' if one else 'new, empty courses'}; ask the SIS to keep its "
            "ids before applying"
        )


def find_rekeyed_classes(db: Database, schema: str) -> RekeyedClasses:
    """Classes the plan archives that a class it creates or brings back matches (same school,
    title, terms in any order and class code, case and spaces aside): the same class under a
    new id. Paired one to one within each such group (six sections of one title merged into
    one are one class that may be re-keyed, not six), in the order of their ids."""
    cols = set(db.columns("plan_classrooms", schema.strip('"')))
    if not {"school_id", "name", "sis_id"} <= cols:
        return RekeyedClasses(0, 0, [])  # a night without those columns changes neither
    plan = f"{schema}.plan_classrooms"
    archived = int(db.one(f"SELECT count(*) FROM {plan} WHERE op = 'archive'") or 0)
    if not archived:
        return RekeyedClasses(0, 0, [])
    terms = (
        "array_to_string(list_sort(list_transform(string_split(term_sis_ids, ','), "
        "lambda t: trim(t))), ',')"
        if "term_sis_ids" in cols
        else "NULL"
    )
    code = "lower(trim(class_code))" if "class_code" in cols else "NULL"
    pairs = db.rows(
        f"""WITH ends AS (
                SELECT op = 'archive' AS ending, sis_id,
                       row_number() OVER (PARTITION BY op = 'archive', school_id,
                                          lower(trim(name)), {terms}, {code}
                                          ORDER BY sis_id) AS n,
                       school_id, lower(trim(name)) AS title, {terms} AS terms, {code} AS code
                FROM {plan}
                WHERE op IN ('archive', 'create', 'unarchive') AND name IS NOT NULL)
            SELECT a.sis_id, c.sis_id FROM ends a JOIN ends c
              ON a.ending AND NOT c.ending AND c.n = a.n AND c.school_id = a.school_id
             AND c.title = a.title AND c.terms IS NOT DISTINCT FROM a.terms
             AND c.code IS NOT DISTINCT FROM a.code AND c.sis_id <> a.sis_id
            ORDER BY a.sis_id"""
    )
    return RekeyedClasses(len(pairs), archived, [(str(o), str(n)) for o, n in pairs[:3]])
