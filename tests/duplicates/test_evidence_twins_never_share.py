"""What twins never share decides against the twin guard: identifiers and the feed's lifecycle.

Twins share family name, birth date, school, grade and guardians, so a pair whose given names
differ is never proposed on those. But twins never share a school e-mail, a student number, a
state id or a personal mobile, and they are in the feed together: a record that left the feed
as another arrived (a SIS that re-issued a child's id) is no twin.
"""

from __future__ import annotations

from typing import Any

from tests.district import TinyDistrict
from tests.duplicates.conftest import add_student_like, open_pairs, pair, user_id


def rekey(tiny: TinyDistrict, sid: str, new_sid: str, **changes: str) -> None:
    """The SIS re-issues `sid` as `new_sid` (with changes to its users row): every file names
    the new id, and the old one is gone from the feed."""
    row = tiny.row("users.csv", sid)
    row.update(sourcedId=new_sid, **changes)
    tiny.row("demographics.csv", sid)["sourcedId"] = new_sid
    for enrollment in tiny.rows("enrollments.csv"):
        if enrollment["userSourcedId"] == sid:
            enrollment["userSourcedId"] = new_sid
            enrollment["sourcedId"] += "-new"
    for user in tiny.rows("users.csv"):
        agents = user["agentSourcedIds"].split(",") if user["agentSourcedIds"] else []
        user["agentSourcedIds"] = ",".join(new_sid if a == sid else a for a in agents)


def add_twin(tiny: TinyDistrict, sid: str, twin_sid: str, given: str, **changes: str) -> None:
    """A twin of `sid`: same family name, birth date, school, grade and guardian."""
    row = {
        "givenName": given,
        "identifier": f"S-{twin_sid}",
        "email": f"{given.lower()}.twin@students.example.org",
        "username": f"{given.lower()}.twin",
        **changes,
    }
    add_student_like(tiny, sid, twin_sid, **row)
    guardian = tiny.row("users.csv", tiny.row("users.csv", sid)["agentSourcedIds"])
    guardian["agentSourcedIds"] += f",{twin_sid}"


def only_candidate(engine: Any) -> Any:
    [candidate] = engine.duplicates_list(kind="student").items
    return candidate


# ---------------------------------------------------------------- identifiers
def test_the_same_school_email_is_proposed_though_the_given_name_differs(sync, tiny):
    """Entered again under another given name (a name the child goes by), same e-mail."""
    add_student_like(tiny, "stu-1", "stu-1b", givenName="Avery", identifier="")
    sync.apply(tiny)
    candidate = only_candidate(sync.engine)
    assert pair(sync.engine, "stu-1", "stu-1b") == {candidate.left.user_id, candidate.right.user_id}
    assert candidate.evidence_detail["given_name"] == "differ"
    assert candidate.evidence_detail["email"] == "exact"


def test_the_same_state_id_in_user_ids_is_proposed_though_the_given_name_differs(sync, tiny):
    tiny.row("users.csv", "stu-1")["userIds"] = "{StateID:9001234}"
    add_student_like(
        tiny,
        "stu-1",
        "stu-1b",
        givenName="Avery",
        identifier="",
        email="",
        userIds="{ StateID : 9001234 },{LDAP:avery}",
    )
    sync.apply(tiny)
    candidate = only_candidate(sync.engine)
    assert candidate.evidence_detail["user_ids"] == "exact"
    assert candidate.left.user_ids and candidate.right.user_ids


def test_the_same_student_number_is_proposed_though_the_given_name_differs(sync, tiny):
    add_student_like(tiny, "stu-1", "stu-1b", givenName="Avery", email="")
    sync.apply(tiny)
    assert only_candidate(sync.engine).evidence_detail["student_number"] == "exact"


def test_the_same_personal_mobile_is_proposed_though_the_given_name_differs(sync, tiny):
    tiny.row("users.csv", "stu-1")["sms"] = "(503) 555-0177"
    add_student_like(tiny, "stu-1", "stu-1b", givenName="Avery", identifier="", email="")
    sync.apply(tiny)
    candidate = only_candidate(sync.engine)
    assert candidate.evidence_detail["phone"] == "exact"
    assert candidate.field_points["phone"] > 0


def test_twins_with_different_emails_are_never_proposed(sync, tiny):
    """Twins may share a mobile (a family phone set as both children's), even a number in
    userIds a district gives households; their own e-mails differ, so they are two children."""
    tiny.row("users.csv", "stu-1").update(sms="503-555-0177", userIds="{Family:F1}")
    add_twin(tiny, "stu-1", "stu-12", "Mia", sms="503-555-0177", userIds="{Family:F1}")
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_twins_sharing_their_guardians_mobile_are_never_proposed(sync, tiny):
    """The guardian's own mobile on both children is a family phone, not a personal one."""
    tiny.row("users.csv", "gdn-1")["sms"] = "503-555-0101"
    tiny.row("users.csv", "stu-1").update(sms="503-555-0101", email="")
    add_twin(tiny, "stu-1", "stu-12", "Mia", sms="503-555-0101", email="", identifier="")
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


# ---------------------------------------------------------------- lifecycle
def test_a_re_keyed_student_with_a_dropped_letter_is_proposed(sync, tiny):
    """Night 1: Jamal (and his twin Jalen). Night 2: the SIS re-issued Jamal as 'Jama', with a new
    id, student number and e-mail. One left the feed as the other arrived: proposed, with the
    lifecycle shown; the twin is never paired with either."""
    tiny.row("users.csv", "stu-1").update(givenName="Jamal", email="jamal@students.example.org")
    add_twin(tiny, "stu-1", "stu-12", "Jalen")
    first = sync.apply(tiny)
    rekey(
        tiny,
        "stu-1",
        "stu-1-new",
        givenName="Jama",
        identifier="S1N",
        email="jama.lopez@students.example.org",
    )
    second = sync.apply(tiny, override=True)
    candidate = only_candidate(sync.engine)
    assert pair(sync.engine, "stu-1", "stu-1-new") == {
        candidate.left.user_id,
        candidate.right.user_id,
    }
    assert candidate.evidence_detail["given_name"] == "one_letter"
    assert candidate.evidence_detail["lifecycle"] == "handover"
    old, new = user_id(sync.engine, "stu-1"), user_id(sync.engine, "stu-1-new")
    sides = {candidate.left.user_id: candidate.left, candidate.right.user_id: candidate.right}
    assert (sides[old].arrived_run, sides[old].left_run) == (first.run_id, second.run_id)
    assert (sides[new].arrived_run, sides[new].left_run) == (second.run_id, None)
    assert candidate.lifecycle == (
        f"#{old} left the feed in run {second.run_id}; #{new} arrived in run {second.run_id}"
    )


def test_a_truncated_given_name_is_not_proposed_without_the_handover(sync, tiny):
    """The same pair while both records are in the feed (Maya and May, both active): twins."""
    tiny.row("users.csv", "stu-1").update(givenName="Maya", email="maya@students.example.org")
    add_twin(tiny, "stu-1", "stu-12", "May")
    sync.apply(tiny)
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_twins_re_keyed_the_same_night_are_each_paired_with_their_own_new_record(sync, tiny):
    """Julian and Julia both re-issued: old Julian and new Julia look like a handover with one
    letter dropped, but each old record has a better pair, its own new record."""
    tiny.row("users.csv", "stu-1").update(givenName="Julian", email="julian@students.example.org")
    add_twin(tiny, "stu-1", "stu-12", "Julia")
    sync.apply(tiny)
    rekey(tiny, "stu-1", "stu-1-new", identifier="S1N", email="julian.l@students.example.org")
    rekey(tiny, "stu-12", "stu-12-new", identifier="S12N", email="julia.l@students.example.org")
    sync.apply(tiny, override=True)
    assert open_pairs(sync.engine, "student") == {
        pair(sync.engine, "stu-1", "stu-1-new"),
        pair(sync.engine, "stu-12", "stu-12-new"),
    }


def test_both_in_the_feed_at_once_is_shown_as_the_twin_pattern(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    run = sync.apply(tiny)
    candidate = only_candidate(sync.engine)
    assert candidate.evidence_detail["lifecycle"] == "coexist"
    assert candidate.lifecycle == f"both in the feed since run {run.run_id}"


def test_twins_named_like_nicknames_of_each_other_with_different_emails_are_not_proposed(
    sync, tiny
):
    """Emily and Emma are both given names in their own right (and Emma is a nickname of Emily):
    two children in the feed at once with different school e-mails are twins."""
    tiny.row("users.csv", "stu-1").update(givenName="Emily", email="emily@students.example.org")
    add_twin(tiny, "stu-1", "stu-12", "Emma")
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_a_re_keyed_twin_whose_new_name_looks_like_her_twins_is_paired_only_with_her_old_record(
    sync, tiny
):
    """Lila is re-issued as 'Lil' (a letter dropped, a new e-mail) beside her twin Lily, and Lil
    is a nickname of Lily. The new record arrived as Lila's left: that is its pair; Lily, in the
    feed beside it with an e-mail of her own, is her sister."""
    tiny.row("users.csv", "stu-1").update(givenName="Lily", email="lily@students.example.org")
    add_twin(tiny, "stu-1", "stu-12", "Lila")
    sync.apply(tiny)
    rekey(tiny, "stu-12", "stu-12-new", givenName="Lil", identifier="S12N",
          email="lil.lopez@students.example.org")  # fmt: skip
    sync.apply(tiny, override=True)
    assert open_pairs(sync.engine, "student") == {pair(sync.engine, "stu-12", "stu-12-new")}
