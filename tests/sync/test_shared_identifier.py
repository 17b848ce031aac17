"""student_id = identifier: two students' rows that share one identifier (a typo in the SIS).

Neither row can say which record is whose, so neither is synced: both students keep their
records, memberships and guardian links as they are, and each row says why. (The first row
used to win: the other student was archived, or their record taken over by the first row's
person, and their guardian linked to the first row's student.)
"""

from __future__ import annotations

import pytest

NOTHING = {"create": 0, "update": 0, "archive": 0, "unarchive": 0}


@pytest.fixture
def by_identifier(sync, tiny):
    sync.engine.settings_set("student_id", "identifier")
    sync.engine.settings_set("deletion_threshold", "100")  # nothing is held: what would apply
    sync.apply(tiny)
    return sync


def _student(sync, sis_id: str) -> dict:
    return sync.engine.db.dicts(
        "SELECT user_id, sis_id, given_name, status FROM users WHERE sis_id = ?", [sis_id]
    )[0]


def _linked_guardians(sync, student_sis_id: str) -> set[str]:
    return {
        r[0]
        for r in sync.engine.db.rows(
            """SELECT g.sis_id FROM guardian_links l
               JOIN users s ON s.user_id = l.student_id JOIN users g ON g.user_id = l.guardian_id
               WHERE s.sis_id = ? AND l.status = 'active'""",
            [student_sis_id],
        )
    }


def test_a_student_whose_row_repeats_anothers_identifier_is_not_archived(by_identifier, tiny):
    tiny.row("users.csv", "stu-2")["identifier"] = "S1"
    run = by_identifier.plan(tiny)
    assert run.changes["students"] == NOTHING
    assert run.changes["enrollments"] == NOTHING


def test_a_row_with_another_students_identifier_does_not_take_over_their_record(
    by_identifier, tiny
):
    tiny.row("users.csv", "stu-1")["identifier"] = "S2"  # on an earlier line than stu-2's row
    by_identifier.apply(tiny)
    assert _student(by_identifier, "stu-2")["given_name"] == "Ben"
    assert _student(by_identifier, "stu-1")["status"] == "active"


def test_a_guardian_is_not_linked_to_another_student_through_a_shared_identifier(
    by_identifier, tiny
):
    tiny.row("users.csv", "stu-2")["identifier"] = "S1"
    by_identifier.apply(tiny)
    assert _linked_guardians(by_identifier, "stu-1") == {"gdn-1"}
    assert _linked_guardians(by_identifier, "stu-2") == {"gdn-2"}


def test_each_row_sharing_an_identifier_is_an_error_naming_the_other(by_identifier, tiny):
    tiny.row("users.csv", "stu-2")["identifier"] = "S1"
    run = by_identifier.plan(tiny)
    errors = {i["sourced_id"]: i["message"] for i in by_identifier.issues(run, "ERROR")}
    assert errors == {
        "stu-1": "users.csv line 2: identifier 'S1' is on 2 students' rows (lines 2, 3); "
        "under student_id = identifier it must be one student's alone, so the row was "
        "skipped and the student kept as they are",
        "stu-2": "users.csv line 3: identifier 'S1' is on 2 students' rows (lines 2, 3); "
        "under student_id = identifier it must be one student's alone, so the row was "
        "skipped and the student kept as they are",
    }


def test_a_shared_identifier_on_new_sourced_ids_keeps_the_student_it_names(by_identifier, tiny):
    """A re-keyed night (the SIS reissued its ids) in which two rows share Ava's S1."""
    tiny.row("users.csv", "stu-1")["sourcedId"] = "new-1"
    tiny.row("users.csv", "stu-2").update(sourcedId="new-2", identifier="S1")
    by_identifier.apply(tiny)
    assert _student(by_identifier, "stu-1")["status"] == "active"
    assert _linked_guardians(by_identifier, "stu-1") == {"gdn-1"}


def test_rows_sharing_an_identifier_are_synced_once_it_is_corrected(by_identifier, tiny):
    tiny.row("users.csv", "stu-2")["identifier"] = "S1"
    by_identifier.apply(tiny)
    tiny.row("users.csv", "stu-2")["identifier"] = "S2"
    assert by_identifier.plan(tiny).total_changes() == 0
