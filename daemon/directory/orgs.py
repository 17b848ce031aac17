"""How a user's orgs name schools: the one rule every reader and writer of them follows.

users.org_sis_ids lists the feed's org sourcedIds, and '#<school id>' for a school a person chose
by hand (create_user). The two share one namespace, and a SIS may send an org whose sourcedId
starts with '#'. So the SIS reading always wins: an entry is a hand reference only when no school
answers to it as a SIS id (school_sis_ids) and a whole number follows the '#'. The view
user_direct_schools (migration 0018) spells the same rule in SQL.
"""

from __future__ import annotations

from daemon.db import Database
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
