"""Taking a revert conflict that archives a person archives what they hold, as every other
archive does: an enrollment a later run made is not left active under the archived person,
whether the conflict is taken before the revert is applied or after."""

from __future__ import annotations

import pytest

from daemon.directory.integrity import check_directory


def _broken(sync) -> list[tuple[str, int]]:
    return [(name, n) for name, n in check_directory(sync.engine.db) if n]


@pytest.fixture
def revert_of_an_edited_new_student(sync, tiny, tiny_applied):
    """Run 2 adds stu-11 in Homeroom 5A; a person edits its e-mail; run 3 enrols it in
    Science 5. The revert of run 2 asks about stu-11 (edited by hand since)."""
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-11", "identifier": "S11",
         "username": "kai.lopez", "agentSourcedIds": ""}
    )  # fmt: skip
    enrollment = tiny.row("enrollments.csv", "enr-1a")
    tiny.rows("enrollments.csv").append(
        {**enrollment, "sourcedId": "enr-11a", "userSourcedId": "stu-11"}
    )
    added = sync.apply(tiny)
    sync.engine.edit_contact("stu-11", {"email": "kai.home@example.org"})
    science = tiny.row("enrollments.csv", "enr-1b")
    tiny.rows("enrollments.csv").append(
        {**science, "sourcedId": "enr-11b", "userSourcedId": "stu-11"}
    )
    sync.apply(tiny)
    assert _broken(sync) == []
    revert = sync.engine.revert_run(added.run_id)
    [asked] = [
        c
        for c in sync.engine.conflicts(revert.run_id).items
        if c.record_kind == "users" and c.field == "status"
    ]
    return revert, asked


def _enrollment_statuses(sync) -> set[str]:
    user_id = sync.user("stu-11")["user_id"]
    rows = sync.engine.db.rows("SELECT status FROM enrollments WHERE user_id = ?", [user_id])
    return {r[0] for r in rows}


def test_taking_the_archive_after_the_revert_archives_the_persons_enrollments(
    sync, revert_of_an_edited_new_student
):
    revert, asked = revert_of_an_edited_new_student
    sync.apply_planned(revert)
    assert _broken(sync) == []
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    assert sync.user("stu-11")["status"] == "archived"
    assert _enrollment_statuses(sync) == {"archived"}
    assert _broken(sync) == []


def test_taking_the_archive_before_the_revert_archives_the_persons_enrollments(
    sync, revert_of_an_edited_new_student
):
    revert, asked = revert_of_an_edited_new_student
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    sync.apply_planned(revert)
    assert sync.user("stu-11")["status"] == "archived"
    assert _enrollment_statuses(sync) == {"archived"}
    assert _broken(sync) == []
