"""No statement a run plans or applies with is a loop over pairs of rows: a join DuckDB cannot
hash (an OR of equalities, a list tested against every row of a table, an inequality) compares
every row with every other, and grows with the square of the district. Two did: the users whose
orgs are all unknown (5.6 s at 3M students, 0.14 s at 1M) and the people an ambiguous row
names. Read from DuckDB's own plan of each statement, just before it runs, on small drops: the
plan's shape, not its cost, is what carries over to millions of rows."""

from __future__ import annotations

import pytest

from daemon.db.database import Database
from tests.conftest import SAMPLE

LOOP_JOINS = ("Blockwise Nl Join", "Nested Loop Join", "Piecewise Merge Join")
# Statements that may loop, and why that stays small.
ALLOWED = {
    "is its own parent": "the orgs' parent cycles: a walk up the few thousand orgs of orgs.csv",
}


@pytest.fixture
def looping(monkeypatch) -> dict[str, list[str]]:
    """Every statement run from now on whose plan holds a loop join, with the joins."""
    found: dict[str, list[str]] = {}
    execute = Database.execute

    def explained(self: Database, sql: str, params=None) -> None:
        if sql.lstrip().split()[0].upper() in ("SELECT", "WITH", "CREATE", "INSERT", "UPDATE"):
            plan = self.con.execute("EXPLAIN " + sql, params or []).fetchall()
            text = "\n".join(row[1] for row in plan).lower()
            loops = [join for join in LOOP_JOINS if join.lower() in text]
            if loops and not any(marker in sql for marker in ALLOWED):
                found[" ".join(sql.split())[:300]] = loops
        execute(self, sql, params)

    monkeypatch.setattr(Database, "execute", explained)
    return found


def test_no_statement_of_two_nights_of_the_sample_loops(sync, looping) -> None:
    sync.apply(SAMPLE / "day1")
    sync.apply(SAMPLE / "day2", override=True)
    assert looping == {}


def test_no_statement_of_a_night_with_archives_and_updates_loops(sync, tiny, looping) -> None:
    sync.apply(tiny)
    tiny.row("users.csv", "stu-2")["familyName"] = "Okafor-Bell"
    tiny.remove("users.csv", sourcedId="stu-3")
    sync.apply(tiny, override=True)
    assert looping == {}


def test_no_statement_of_a_night_bringing_back_people_archived_by_hand_loops(
    sync, tiny, looping
) -> None:
    """What their archive took comes back with them (sync/diff.py `back_with_their_person`)."""
    sync.apply(tiny)
    aunt = sync.engine.create_user("guardian", "Aunt", "Patel")
    sync.engine.link_guardian(str(aunt), "stu-4")
    sync.engine.archive_user("stu-4")
    looping.clear()
    run = sync.apply(tiny)
    assert run.changes["guardian_links"]["unarchive"] == 2  # stu-4's synced link, and the aunt's
    assert looping == {}


def test_a_list_tested_against_every_known_id_is_seen_as_a_loop(sync, tiny, looping) -> None:
    """The check itself: the form the users' orgs were checked with is caught."""
    sync.apply(tiny)
    looping.clear()
    sync.engine.db.execute(
        """CREATE TEMP TABLE listed AS SELECT u.user_id FROM users u WHERE NOT EXISTS (
               SELECT 1 FROM schools s
               WHERE list_contains(string_split(u.org_sis_ids, ','), s.sis_id))"""
    )
    assert list(looping.values()) == [["Blockwise Nl Join"]]
