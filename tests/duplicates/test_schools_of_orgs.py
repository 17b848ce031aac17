"""The duplicate scan and its list read a student's schools from their orgs as the directory's
view does: a SIS org whose sourcedId starts with '#' is that SIS school, never a school id."""

from __future__ import annotations

import pytest

from daemon.duplicates import people
from tests.duplicates.conftest import add_student_like, user_id


@pytest.mark.parametrize("org", ["#2", "#abc"])
def test_a_sis_org_starting_with_a_hash_is_the_scans_only_school_of_its_students(sync, tiny, org):
    tiny.rename_org("sch-b", org)
    sync.apply(tiny)
    db = sync.engine.db
    birch = db.one("SELECT school_id FROM school_sis_ids WHERE sis_id = ?", [org])
    people.build_people(db)
    schools = db.one(
        f"SELECT schools FROM {people.PEOPLE} WHERE user_id = ?", [user_id(sync.engine, "stu-7")]
    )
    assert schools == [birch]


def test_a_candidate_at_a_sis_org_named_like_a_school_id_is_listed_at_that_school_only(sync, tiny):
    tiny.rename_org("sch-b", "#2")
    add_student_like(tiny, "stu-7", "stu-70", familyName="Silvaa", identifier="S70", email="")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert (candidate.left.school, candidate.right.school) == ("Birch School", "Birch School")
