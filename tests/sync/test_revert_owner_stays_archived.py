"""A revert unarchives what the reverted run archived only with the person it belongs to: a
membership of a person who stays archived (archived again by hand since) stays archived, and an
apply that would leave an active membership under an archived person fails instead of
committing."""

from __future__ import annotations

import pytest

from daemon.directory.integrity import check_directory
from daemon.sync.runs import RunError
from tests.directory_state import directory_fingerprint


def _broken(sync) -> list[tuple[str, int]]:
    return [(name, n) for name, n in check_directory(sync.engine.db) if n]


@pytest.fixture
def left_and_archived_again(sync, tiny, tiny_applied):
    """Run 1 loads the district; run 2 drops stu-5 (archived with its classes and guardian
    link); a person unarchives stu-5 by hand and archives it again. Returns run 2."""
    tiny.remove("users.csv", sourcedId="stu-5")
    tiny.remove("enrollments.csv", userSourcedId="stu-5")
    left = sync.apply(tiny, override=True)  # one student of ten is over the threshold
    sync.engine.unarchive_user("stu-5")
    sync.engine.archive_user("stu-5")
    assert _broken(sync) == []
    return left


def _statuses(sync, table: str, column: str, sis_id: str) -> set[str]:
    user_id = sync.user(sis_id)["user_id"]
    rows = sync.engine.db.rows(f"SELECT status FROM {table} WHERE {column} = ?", [user_id])
    assert rows, f"{sis_id} has no {table}"
    return {r[0] for r in rows}


def test_a_revert_leaves_archived_the_enrollments_of_a_person_who_stays_archived(
    sync, left_and_archived_again
):
    revert = sync.engine.revert_run(left_and_archived_again.run_id)
    sync.apply_planned(revert)
    assert sync.user("stu-5")["status"] == "archived"
    assert _statuses(sync, "enrollments", "user_id", "stu-5") == {"archived"}
    assert _broken(sync) == []


def test_a_revert_leaves_archived_the_guardian_links_of_a_person_who_stays_archived(
    sync, left_and_archived_again
):
    revert = sync.engine.revert_run(left_and_archived_again.run_id)
    sync.apply_planned(revert)
    assert _statuses(sync, "guardian_links", "student_id", "stu-5") == {"archived"}
    assert _broken(sync) == []


def test_apply_refuses_to_make_an_enrollment_active_under_an_archived_person(
    sync, left_and_archived_again
):
    """As a planning mistake would: the revert's plan forged to unarchive stu-5's enrollments."""
    revert = sync.engine.revert_run(left_and_archived_again.run_id)
    db = sync.engine.db
    user_id = sync.user("stu-5")["user_id"]
    db.execute(
        f"""INSERT INTO run_{revert.run_id}.plan_enrollments BY NAME
            SELECT 'unarchive' AS op, enrollment_id AS id, classroom_id, user_id, role, sis_id,
                   begin_date, end_date, is_primary, source_file AS _file, source_line AS _line
            FROM enrollments WHERE user_id = ?""",
        [user_id],
    )
    before = directory_fingerprint(db)
    with pytest.raises(RunError, match="enrollments of archived people are archived"):
        sync.engine.apply_run(revert.run_id)
    assert directory_fingerprint(db) == before


def test_taking_the_persons_unarchive_brings_back_what_the_run_archived_with_them(
    sync, left_and_archived_again
):
    revert = sync.engine.revert_run(left_and_archived_again.run_id)
    sync.apply_planned(revert)
    user_id = sync.user("stu-5")["user_id"]
    [asked] = [c for c in sync.engine.conflicts(revert.run_id).items if c.record_id == user_id]
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    assert sync.user("stu-5")["status"] == "active"
    assert _statuses(sync, "enrollments", "user_id", "stu-5") == {"active"}
    assert _broken(sync) == []
