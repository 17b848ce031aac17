"""How a user's orgs name schools: the one rule every reader and writer of them follows.

users.org_sis_ids lists the feed's org sourcedIds, and '#<school id>' for a school a person chose
by hand (create_user). The two share one namespace, and a SIS may send an org whose sourcedId
starts with '#'. So the SIS reading always wins: an entry is a hand reference only when no school
answers to it as a SIS id (school_sis_ids) and a whole number follows the '#'. The view
user_direct_schools (migration 0018) spells the same rule in SQL.

A hand reference must keep naming the school the person chose. So a school that is about to
answer to '#N' while people's orgs hold '#N' for school N (`hand_references_taken`) first
has them name school N by its own SIS id (`rename_hand_references`, org_naming's rule); if
school N has none, the SIS id is refused, naming both.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.db import Database, sql_literal
from daemon.directory.errors import EditRefused

# The SIS ids of schools that start with '#' (few or none), as one row holding one list. A lambda
# cannot hold a subquery: a query telling orgs apart inside one cross-joins this and names
# its column in is_hand_reference.
HASH_SIS_IDS = """SELECT coalesce(list(sis_id), CAST([] AS VARCHAR[])) AS hash_sis_ids
                  FROM school_sis_ids WHERE starts_with(sis_id, '#')"""


def is_hand_reference(org: str, hash_sis_ids: str = f"({HASH_SIS_IDS})") -> str:
    """SQL: the org entry `org` names a school by its directory id ('#42'), not by a SIS id."""
    # LIKE first: most orgs do not start with '#', and it is the cheapest test of that
    return (
        f"({org} LIKE '#%' AND regexp_full_match({org}, '#[0-9]{{1,18}}') "
        f"AND NOT list_contains({hash_sis_ids}, {org}))"
    )


def direct_schools(orgs: str) -> str:
    """SQL: the schools (user_id, school_id, distinct) that the (user_id, org) rows of `orgs`
    name: a SIS id of a school that is not the district, or a hand reference."""
    return f"""
        SELECT o.user_id, s.school_id FROM {orgs} o
        JOIN school_sis_ids m ON m.sis_id = o.org
        JOIN schools s ON s.school_id = m.school_id AND s.org_type <> 'district'
        UNION
        SELECT o.user_id, TRY_CAST(substr(o.org, 2) AS BIGINT) FROM {orgs} o
        WHERE {is_hand_reference("o.org")}"""


def schools_in_orgs(rows: str) -> str:
    """SQL (who, school_id), distinct: every school, the district's included, that the orgs of
    the rows of `rows` (columns `who`, any key, and `org_sis_ids`, as users keep them) name, by
    a SIS id or by a hand reference. The one reading of "the schools a person is in" for the
    rules that keep a school while someone is still in it (a night's, an approval's, a
    revert's), so that a person chosen at a school by hand keeps it as one the SIS put there."""
    # An org that is some school's SIS id names that school, even '#42'; one that is not, and
    # reads '#<digits>', is a hand reference (is_hand_reference, as one join: the rules that
    # run at every apply are never planned as a loop over pairs, tests/directory)
    return f"""
        WITH orgs AS (SELECT who, trim(unnest(string_split(org_sis_ids, ','))) AS org
                      FROM ({rows}) WHERE org_sis_ids IS NOT NULL)
        SELECT DISTINCT o.who, coalesce(m.school_id, TRY_CAST(substr(o.org, 2) AS BIGINT)) AS school_id
        FROM orgs o LEFT JOIN school_sis_ids m ON m.sis_id = o.org
        WHERE m.school_id IS NOT NULL
           OR (o.org LIKE '#%' AND regexp_full_match(o.org, '#[0-9]{{1,18}}'))"""


def org_naming(db: Database, school_id: int) -> str:
    """The org entry a person's choice of school is written as: '#<id>', or the school's own SIS
    id when another school answers to '#<id>' as its SIS id (which would win)."""
    hand = f"#{school_id}"
    owner = db.one("SELECT min(school_id) FROM school_sis_ids WHERE sis_id = ?", [hand])
    if owner is None or owner == school_id:
        return hand
    sis_id = db.one("SELECT min(sis_id) FROM school_sis_ids WHERE school_id = ?", [school_id])
    if sis_id is None:
        raise EditRefused(
            f"school {school_id} cannot be named in a person's orgs: '{hand}' is the SIS id of "
            f"school {owner}; give school {school_id} a SIS id first (schools add-sis-id)"
        )
    return str(sis_id)


@dataclass(frozen=True)
class HandReferenceTaken:
    """A school about to answer to `sis_id` (`taker` says which), which people's orgs hold as
    a hand reference to another school: `school_id`, named `name`, whose own SIS id (`naming`,
    None if it has none) names it for them instead."""

    taker: str
    sis_id: str
    school_id: int
    name: str
    naming: str | None
    user_ids: list[int]

    def people(self) -> str:
        shown = ", ".join(str(u) for u in self.user_ids[:5])
        more = f" and {len(self.user_ids) - 5:,} more" if len(self.user_ids) > 5 else ""
        n = len(self.user_ids)
        return f"{n:,} {'person' if n == 1 else 'people'} (user {shown}{more})"

    def refusal(self) -> str:
        return (
            f"{self.taker} would answer to SIS id '{self.sis_id}', which is how {self.people()} "
            f"chosen by hand name school {self.school_id} ({self.name}), a school with no SIS "
            f"id: they would move to it. Give school {self.school_id} a SIS id first "
            f"(roster-sync schools add-sis-id {self.school_id} SIS_ID), which they are then "
            "named by"
        )

    def renaming(self) -> str:
        return (
            f"'{self.sis_id}' becomes a school's SIS id: {self.people()} chosen by hand at school "
            f"{self.school_id} ({self.name}) name it by its SIS id '{self.naming}' instead, so "
            "they stay there"
        )


def hand_references_taken(db: Database, taking: str) -> list[HandReferenceTaken]:
    """The hand references that the SIS ids of `taking` (SQL: rows of sis_id, the school_id
    about to answer to it and words naming that school) would take over, were they added to
    school_sis_ids now. Only a person writes one, in a record made by hand (create_user): the
    orgs of a record the sync manages are the feed's."""
    hashes = f"SELECT * FROM ({taking}) WHERE regexp_full_match(sis_id, '#[0-9]{{1,18}}')"
    if not db.one(f"SELECT count(*) FROM ({hashes})"):
        return []  # nearly always: no need to read every person's orgs
    rows = db.rows(
        f"""WITH taking AS ({hashes}),
            orgs AS (SELECT user_id, trim(unnest(string_split(org_sis_ids, ','))) AS org
                     FROM users WHERE origin = 'hand' AND org_sis_ids LIKE '%#%')
            SELECT t.taker, t.sis_id, s.school_id, s.name,
                   (SELECT min(m.sis_id) FROM school_sis_ids m WHERE m.school_id = s.school_id),
                   list(DISTINCT o.user_id ORDER BY o.user_id)
            FROM taking t JOIN orgs o ON o.org = t.sis_id
            JOIN schools s ON s.school_id = TRY_CAST(substr(t.sis_id, 2) AS BIGINT)
            WHERE {is_hand_reference("t.sis_id")} AND s.school_id IS DISTINCT FROM t.school_id
            GROUP BY ALL ORDER BY ALL"""
    )
    return [
        HandReferenceTaken(str(taker), str(sis_id), int(school), str(name), naming, list(users))
        for taker, sis_id, school, name, naming, users in rows
    ]


def rename_hand_references(db: Database, taken: list[HandReferenceTaken]) -> None:
    """Each hand reference of `taken` becomes its school's own SIS id, in the same people's
    orgs (the school they name is the same; the caller audits it)."""
    for t in taken:
        assert t.naming is not None, "a school without a SIS id cannot be renamed"
        old, new = sql_literal(t.sis_id), sql_literal(t.naming)
        db.execute(
            f"""UPDATE users SET org_sis_ids = array_to_string(list_transform(
                       string_split(org_sis_ids, ','),
                       lambda x: CASE WHEN trim(x) = {old} THEN {new} ELSE x END), ',')
                WHERE user_id IN ({", ".join(str(u) for u in t.user_ids)})"""
        )
