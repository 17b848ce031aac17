"""A revert that archives a person takes their memberships with them, as a sync's archive does:
an enrollment a later run changed is archived with its student, not left active (nor asked
about) under an archived person."""

from __future__ import annotations

import pytest


@pytest.fixture
def new_student(sync, tiny, tiny_applied):
    """Run 1 loads the district; run 2 adds stu-11 in Homeroom 5A; run 3 changes that
    enrollment (an end date), not the student."""
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-11", "identifier": "S11",
         "username": "kai.lopez", "agentSourcedIds": ""}
    )  # fmt: skip
    enrollment = {**tiny.row("enrollments.csv", "enr-1a"), "sourcedId": "enr-11a"}
    tiny.rows("enrollments.csv").append({**enrollment, "userSourcedId": "stu-11"})
    added = sync.apply(tiny)
    tiny.row("enrollments.csv", "enr-11a")["endDate"] = "2027-06-01"
    sync.apply(tiny)
    return added


def test_reverting_archives_the_enrollment_with_its_student(sync, new_student):
    revert = sync.engine.revert_run(new_student.run_id)
    assert revert.status == "planned", revert.hold_reasons
    sync.engine.apply_run(revert.run_id, scan_duplicates=False)
    user_id = sync.user("stu-11")["user_id"]
    assert sync.user("stu-11")["status"] == "archived"
    assert (
        sync.engine.db.one("SELECT status FROM enrollments WHERE user_id = ?", [user_id])
        == "archived"
    )


def test_the_enrollment_archived_with_its_student_is_no_conflict(sync, new_student):
    revert = sync.engine.revert_run(new_student.run_id)
    assert [c.record_kind for c in sync.engine.conflicts(revert.run_id).items] == []
