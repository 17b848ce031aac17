"""A given name that differs while birth date and family name agree: a misspelling of one child's
name, or the name of a twin? (docs/duplicates.md, "Evaluation through the real sync")

A name spelled by ear or with slips of the finger is the same name; twins are given names that
can be called apart, and a neighbouring key rarely makes another name."""

from __future__ import annotations

from typing import Any

from tests.district import TinyDistrict
from tests.duplicates.conftest import add_student_like, open_pairs, pair


def entered_again_as(tiny: TinyDistrict, given: str, copied_as: str) -> None:
    """stu-5 is called `given`; the SIS has a second record of the child as `copied_as`, with its
    own student number and no e-mail (the same birth date, family name, school and guardian)."""
    tiny.row("users.csv", "stu-5")["givenName"] = given
    add_student_like(tiny, "stu-5", "stu-50", givenName=copied_as, identifier="S50", email="")


def twins_named(tiny: TinyDistrict, given: str, twin: str) -> None:
    """stu-5 is called `given` and has a twin called `twin` (no e-mail: the names alone decide)."""
    tiny.row("users.csv", "stu-5").update(givenName=given, email="")
    add_student_like(tiny, "stu-5", "stu-50", givenName=twin, identifier="S50", email="")
    tiny.row("users.csv", "gdn-5")["agentSourcedIds"] += ",stu-50"


def only_candidate(engine: Any) -> Any:
    [candidate] = engine.duplicates_list(kind="student").items
    return candidate


def assert_proposed_with_close_given_names(engine: Any) -> None:
    """The one candidate is the child and its second record, their given names close."""
    candidate = only_candidate(engine)
    assert pair(engine, "stu-5", "stu-50") == {candidate.left.user_id, candidate.right.user_id}
    assert candidate.evidence_detail["given_name"] == "close"


def test_a_d_written_as_t_is_the_same_name(sync, tiny):
    """Edward and Edwart sound alike (as do Adelyn/Atelyn, Dovid/Dovit): a spelling by ear."""
    entered_again_as(tiny, "Edward", "Edwart")
    sync.apply(tiny)
    assert_proposed_with_close_given_names(sync.engine)


def test_ph_written_as_f_is_the_same_name(sync, tiny):
    entered_again_as(tiny, "Joseph", "Josef")
    sync.apply(tiny)
    assert only_candidate(sync.engine).evidence_detail["given_name"] == "close"


def test_a_doubled_letter_written_once_is_the_same_name(sync, tiny):
    """Emma and Ema: one letter fewer, but the same sound (not Julian/Julia)."""
    entered_again_as(tiny, "Emma", "Ema")
    sync.apply(tiny)
    assert only_candidate(sync.engine).evidence_detail["given_name"] == "close"


def test_a_name_spelled_by_ear_on_records_with_school_emails_of_their_own_is_not_proposed(
    sync, tiny
):
    """Sofia and Sophia, each with a school e-mail: twins never share one, and a misspelling is
    trusted only where nothing says two children."""
    twins_named(tiny, "Sophia", "Sofia")
    tiny.row("users.csv", "stu-5")["email"] = "sophia@students.example.org"
    tiny.row("users.csv", "stu-50")["email"] = "sofia@students.example.org"
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_twins_whose_names_differ_by_g_and_k_are_not_proposed(sync, tiny):
    """Marco and Margo sound alike too, and are a boy's and a girl's name: g/k is not folded."""
    twins_named(tiny, "Marco", "Margo")
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_two_slips_to_neighbouring_keys_are_the_same_name(sync, tiny):
    """Kenzie typed as Kebzir: n/b and e/r are neighbouring keys."""
    entered_again_as(tiny, "Kenzie", "Kebzir")
    sync.apply(tiny)
    assert_proposed_with_close_given_names(sync.engine)


def test_twins_whose_names_differ_by_two_letters_far_apart_on_the_keyboard_are_not_proposed(
    sync, tiny
):
    """Brandon and Brendan: two letters changed, neither a neighbouring key."""
    twins_named(tiny, "Brandon", "Brendan")
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()
