"""`roster-sync check` reports an active membership, link or attribute of a merged record: a
merge moves them to the survivor or archives them on the merged record, so an active one there
is seen by nobody and would come back wrong on an undo."""

from __future__ import annotations

from daemon.directory.integrity import check_directory

RULE = "memberships of merged records are archived"


def test_check_holds_after_a_merge(sync, tiny):
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-2", "stu-1", keep="stu-1")
    assert dict(check_directory(sync.engine.db))[RULE] == 0


def test_check_reports_an_active_enrollment_of_a_merged_record(sync, tiny):
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-2", "stu-1", keep="stu-1")
    merged = sync.user("stu-2")["user_id"]
    db = sync.engine.db
    db.execute(
        "UPDATE enrollments SET status = 'active', archived_run = NULL, archived_at = NULL "
        "WHERE user_id = ?",
        [merged],
    )
    assert dict(check_directory(db))[RULE] > 0
