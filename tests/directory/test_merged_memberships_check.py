"""`roster-sync check` reports an active membership, link or attribute of a merged record: a
merge moves them to the survivor or archives them on the merged record, so an active one there
is seen by nobody and would come back wrong on an undo."""

from __future__ import annotations

from daemon.directory.integrity import check_directory

RULE = "memberships of merged records are archived"


def test_check_holds_after_a_merge(sync, tiny_applied):
    sync.engine.duplicates_merge("stu-2", "stu-1", keep="stu-1")
    assert dict(check_directory(sync.engine.db))[RULE] == 0


def test_check_reports_an_active_enrollment_of_a_merged_record(sync, tiny_applied):
    sync.engine.duplicates_merge("stu-2", "stu-1", keep="stu-1")
    merged = sync.user("stu-2")["user_id"]
    db = sync.engine.db
    db.execute(
        "UPDATE enrollments SET status = 'active', archived_run = NULL, archived_at = NULL "
        "WHERE user_id = ?",
        [merged],
    )
    assert dict(check_directory(db))[RULE] > 0


def test_check_counts_a_link_of_two_merged_records_once(sync, tiny_applied):
    db = sync.engine.db
    student, guardian = sync.user("stu-1")["user_id"], sync.user("gdn-1")["user_id"]
    [(link,)] = db.rows(
        "SELECT link_id FROM guardian_links WHERE student_id = ? AND guardian_id = ? "
        "AND status = 'active'",
        [student, guardian],
    )
    db.execute("UPDATE users SET status = 'merged' WHERE user_id IN (?, ?)", [student, guardian])
    expected = db.one(
        """SELECT (SELECT count(*) FROM enrollments WHERE status = 'active' AND user_id IN ($1, $2))
                + (SELECT count(*) FROM student_attributes WHERE status = 'active'
                   AND student_id IN ($1, $2))
                + (SELECT count(*) FROM guardian_links WHERE status = 'active'
                   AND (student_id IN ($1, $2) OR guardian_id IN ($1, $2)))""",
        [student, guardian],
    )
    assert link and dict(check_directory(db))[RULE] == expected
