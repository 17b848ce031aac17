"""A revert treats a record that took part in a merge since the reverted run as changed since:
the survivor of a merge (which holds what another record brought) is asked about, not archived
silently, and a record the run created and that was merged since is asked about, not skipped.
A membership the run archived comes back only on an active person, never on a merged record."""

from __future__ import annotations

import pytest

from daemon.directory.integrity import check_directory
from daemon.sync.conflicts import ConflictError


def _broken(sync) -> list[tuple[str, int]]:
    return [(name, n) for name, n in check_directory(sync.engine.db) if n]


@pytest.fixture
def added(sync, tiny, tiny_applied):
    """Run 1 loads the district; run 2 adds stu-11 (in Science 5 only). Returns run 2."""
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-11", "identifier": "S11",
         "username": "kai.lopez", "agentSourcedIds": ""}
    )  # fmt: skip
    science = tiny.row("enrollments.csv", "enr-1b")
    tiny.rows("enrollments.csv").append(
        {**science, "sourcedId": "enr-11b", "userSourcedId": "stu-11"}
    )
    return sync.apply(tiny)


def _status_conflicts(sync, run_id: int, sis_id: str) -> list[str]:
    user_id = sync.user(sis_id)["user_id"]
    return [
        c.message
        for c in sync.engine.conflicts(run_id).items
        if c.record_kind == "users" and c.record_id == user_id and c.field == "status"
    ]


def test_reverting_the_run_that_created_a_merge_survivor_keeps_the_survivor(sync, added):
    sync.engine.duplicates_merge("stu-1", "stu-11", keep="stu-11")
    revert = sync.engine.revert_run(added.run_id)
    sync.apply_planned(revert)
    assert sync.user("stu-11")["status"] == "active"
    assert _broken(sync) == []


def test_reverting_the_run_that_created_a_merge_survivor_asks_about_it(sync, added):
    sync.engine.duplicates_merge("stu-1", "stu-11", keep="stu-11")
    revert = sync.engine.revert_run(added.run_id)
    [message] = _status_conflicts(sync, revert.run_id, "stu-11")
    assert "kept as the survivor of a merge since" in message


def test_a_record_the_run_created_and_merged_since_is_asked_about(sync, added):
    sync.engine.duplicates_merge("stu-11", "stu-1", keep="stu-1")
    revert = sync.engine.revert_run(added.run_id)
    [message] = _status_conflicts(sync, revert.run_id, "stu-11")
    assert "merged into another record since" in message
    sync.apply_planned(revert)
    assert _broken(sync) == []


def test_taking_the_revert_of_a_record_merged_since_is_refused(sync, added):
    sync.engine.duplicates_merge("stu-11", "stu-1", keep="stu-1")
    revert = sync.engine.revert_run(added.run_id)
    user_id = sync.user("stu-11")["user_id"]
    [asked] = [c for c in sync.engine.conflicts(revert.run_id).items if c.record_id == user_id]
    with pytest.raises(ConflictError, match="merged into another record since"):
        sync.engine.resolve_conflicts([asked.conflict_id], "take")


def test_a_revert_does_not_make_an_enrollment_of_a_merged_record_active(sync, tiny, tiny_applied):
    """Run 2 takes stu-2 out of Science 5; stu-2 is merged into stu-1 (in Science 5 too): the
    archived enrollment stays on the merged record, and reverting run 2 leaves it archived."""
    tiny.remove("enrollments.csv", sourcedId="enr-2b")
    left = sync.apply(tiny)
    sync.engine.duplicates_merge("stu-2", "stu-1", keep="stu-1")
    revert = sync.engine.revert_run(left.run_id)
    sync.apply_planned(revert)
    merged = sync.user("stu-2")["user_id"]
    rows = sync.engine.db.rows("SELECT status FROM enrollments WHERE user_id = ?", [merged])
    assert {r[0] for r in rows} == {"archived"}
    assert _broken(sync) == []
