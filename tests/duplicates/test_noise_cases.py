"""The noise the evaluation found missed (docs/duplicates.md, "Evaluation"), kept as fixed cases:
each a child entered twice in the SIS with one kind of census-style noise, and its twin trap."""

from __future__ import annotations

from tests.district import TinyDistrict
from tests.duplicates.conftest import add_student_like, open_pairs, pair


def make_common(tiny: TinyDistrict, given: str, *sids: str) -> None:
    """Several children of the district share a given name (as common names are)."""
    for sid in sids:
        tiny.row("users.csv", sid)["givenName"] = given


def test_digits_read_as_letters_are_the_same_name(sync, tiny):
    """A scanned form: 8 for B, 1 for l."""
    add_student_like(tiny, "stu-2", "stu-20", givenName="8en", identifier="S20", email="")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert candidate.evidence_detail["given_name"] == "exact"


def test_a_parents_birth_date_copied_onto_the_child_is_no_evidence_against(sync, tiny):
    """Two records one grade apart or less, born years apart: one date is wrong."""
    add_student_like(tiny, "stu-4", "stu-40", birthDate="1979-03-12", identifier="S40", email="")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert pair(sync.engine, "stu-4", "stu-40") == {candidate.left.user_id, candidate.right.user_id}
    assert candidate.evidence_detail["birth_date"] == "inconsistent"
    assert candidate.field_points["birth_date"] == 0


def test_a_misspelt_common_given_name_is_proposed(sync, tiny):
    """'Micholas' is nobody's name in the district, and Nicholas is common: a misspelling, not a
    twin's name, although birth date and family name agree."""
    make_common(tiny, "Nicholas", "stu-1", "stu-5", "stu-7")
    add_student_like(tiny, "stu-1", "stu-100", givenName="Micholas", identifier="S100", email="")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert pair(sync.engine, "stu-1", "stu-100") == {
        candidate.left.user_id,
        candidate.right.user_id,
    }
    assert candidate.evidence_detail["given_name"] == "close"


def test_a_twin_with_a_rare_look_alike_name_and_an_email_of_its_own_is_not_proposed(sync, tiny):
    """Jalen beside a common Jaden is as rare as a misspelling, but the twins' e-mails differ."""
    make_common(tiny, "Jaden", "stu-1", "stu-5", "stu-7")
    add_student_like(
        tiny,
        "stu-1",
        "stu-100",
        givenName="Jalen",
        identifier="S100",
        email="jalen@students.example.org",
    )
    tiny.row("users.csv", "gdn-1")["agentSourcedIds"] = "stu-1,stu-100"
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_a_misspelt_rare_given_name_is_still_a_twin_pattern(sync, tiny):
    """Neither name is common: Jaden and Jalen, born the same day, are twins."""
    tiny.row("users.csv", "stu-1")["givenName"] = "Jaden"
    add_student_like(tiny, "stu-1", "stu-100", givenName="Jalen", identifier="S100", email="")
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_a_family_name_found_on_no_one_else_two_letters_off_is_close(sync, tiny):
    """Patel typed as Pqtwl: nobody else is called that, so it is a misspelling, not a family."""
    add_student_like(tiny, "stu-4", "stu-40", familyName="Pqtwl", identifier="S40", email="")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert candidate.evidence_detail["family_name"] == "close"
