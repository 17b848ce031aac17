"""Parents do not give two of their children one full name: two records of one given and family
name, in one grade, with a guardian in common are one child, whatever the birth dates say (a
sibling's date copied onto the record, two digits mistyped)."""

from __future__ import annotations

from tests.district import TinyDistrict
from tests.duplicates.conftest import add_student_like, open_pairs, pair

STU_4_BORN = "2015-05-14"  # tests/district.py
A_SIBLINGS_DATE = "2014-02-20"  # another year, another day and month: no typo of STU_4_BORN


def entered_again(tiny: TinyDistrict, guardian: bool = True, **changes: str) -> None:
    """A second record of stu-4 (same name, school and grade) with its own student number, no
    e-mail and the changes; linked to stu-4's guardian when `guardian`."""
    add_student_like(
        tiny,
        "stu-4",
        "stu-40",
        identifier="S40",
        email="",
        agentSourcedIds="gdn-4" if guardian else "",
        **changes,
    )
    if guardian:
        tiny.row("users.csv", "gdn-4")["agentSourcedIds"] += ",stu-40"


def test_a_siblings_birth_date_on_a_second_record_is_no_evidence_against(sync, tiny):
    assert tiny.row("demographics.csv", "stu-4")["birthDate"] == STU_4_BORN
    entered_again(tiny, birthDate=A_SIBLINGS_DATE)
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert pair(sync.engine, "stu-4", "stu-40") == {
        candidate.left.user_id,
        candidate.right.user_id,
    }
    assert candidate.evidence_detail["guardians"] == "exact"
    assert candidate.evidence_detail["birth_date"] == "inconsistent"
    assert candidate.field_points["birth_date"] == 0


def test_without_a_guardian_in_common_a_different_birth_date_still_counts(sync, tiny):
    """Two children of one name in one grade, born on different days: namesakes, as far as
    anything else shows."""
    entered_again(tiny, guardian=False, birthDate=A_SIBLINGS_DATE)
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_in_another_grade_a_different_birth_date_still_counts(sync, tiny):
    """One name in one household two grades apart: the dates agree with the grades."""
    entered_again(tiny, birthDate="2013-03-02", grades="03")
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()
