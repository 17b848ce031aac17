"""Rejected pairs never return; skipped pairs wait; archive-unsynced counts, then archives."""

from __future__ import annotations

import pytest

from daemon.duplicates.errors import DuplicateError
from tests.duplicates.conftest import add_student_like, open_pairs, pair


@pytest.fixture
def look_alike(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    return pair(sync.engine, "stu-3", "stu-3-new")


def test_a_rejected_pair_never_returns_after_rescans(sync, look_alike):
    sync.engine.duplicates_reject("stu-3", "stu-3-new")
    sync.engine.duplicates_scan()
    sync.engine.duplicates_scan()
    assert look_alike not in open_pairs(sync.engine)
    [candidate] = sync.engine.duplicates_list(status="rejected").items
    assert candidate.decided_by == "tester"


def test_a_rejected_pair_never_returns_after_later_syncs(sync, tiny, look_alike):
    [candidate] = sync.engine.duplicates_list().items
    sync.engine.duplicates_reject(candidate_id=candidate.candidate_id)
    tiny.row("users.csv", "stu-3-new")["email"] = "cleo.n@students.example.org"
    sync.apply(tiny)
    sync.apply(tiny)
    assert open_pairs(sync.engine) == set()


def test_a_rejection_is_audited_and_bumps_the_directory_version(sync, look_alike):
    version = sync.engine.db.directory_version()
    sync.engine.duplicates_reject("stu-3", "stu-3-new")
    assert sync.engine.db.directory_version() == version + 1
    assert (
        sync.engine.db.one("SELECT actor FROM audit_log WHERE action = 'duplicates.reject'")
        == "tester"
    )


def test_a_skipped_candidate_leaves_the_open_list(sync, look_alike):
    [candidate] = sync.engine.duplicates_list().items
    sync.engine.duplicates_skip(candidate.candidate_id)
    sync.engine.duplicates_scan()
    assert open_pairs(sync.engine) == set()
    assert sync.engine.duplicates_list(status="skipped").total == 1


def test_merging_a_rejected_candidate_by_its_id_is_refused(sync, look_alike):
    [candidate] = sync.engine.duplicates_list().items
    sync.engine.duplicates_reject(candidate_id=candidate.candidate_id)
    with pytest.raises(DuplicateError, match="already decided: rejected"):
        sync.engine.duplicates_merge(candidate_id=candidate.candidate_id, keep="stu-3")


@pytest.fixture
def hand_made_students(sync, tiny):
    """Two hand-made students in Alder (synced later), one in a school the sync never sends."""
    e = sync.engine
    e.settings_set("daily_sync_enabled", "false")
    e.create_school("Alder")
    e.add_school_sis_id("1", "sch-a")
    e.create_school("Night school")
    ids = [
        e.create_user("student", "Old", "Record", school="sch-a"),
        e.create_user("student", "Left", "Already", school="sch-a"),
        e.create_user("student", "Adult", "Learner", school="2"),
    ]
    sync.apply(tiny)
    return ids


def test_archive_unsynced_dry_run_counts_per_school_and_changes_nothing(sync, hand_made_students):
    version = sync.engine.db.directory_version()
    result = sync.engine.archive_unsynced(dry_run=True)
    assert result.total == 2
    assert [(s.name, s.students) for s in result.schools] == [("Alder School", 2)]
    assert sync.engine.db.directory_version() == version
    assert (
        sync.engine.db.one("SELECT count(*) FROM users WHERE origin = 'hand' AND status = 'active'")
        == 3
    )


def test_archive_unsynced_takes_the_students_memberships_along(sync, hand_made_students):
    old = hand_made_students[0]
    reading = sync.engine.create_classroom("Reading club", "sch-a")
    sync.engine.add_classroom_member(str(reading), str(old), "student")
    sync.engine.archive_unsynced(dry_run=False)
    assert sync.engine.db.rows("SELECT status FROM enrollments WHERE user_id = ?", [old]) == [
        ("archived",)
    ]
    sync.engine.unarchive_user(str(old))
    assert sync.engine.db.rows("SELECT status FROM enrollments WHERE user_id = ?", [old]) == [
        ("active",)
    ]


def test_archive_unsynced_archives_hand_made_students_of_synced_schools(sync, hand_made_students):
    result = sync.engine.archive_unsynced(dry_run=False)
    assert result.archived == 2
    statuses = sync.engine.db.rows(
        "SELECT user_id, status FROM users WHERE origin = 'hand' ORDER BY user_id"
    )
    old, left, adult = hand_made_students
    assert statuses == [(old, "archived"), (left, "archived"), (adult, "active")]
    assert sync.engine.archive_unsynced(dry_run=True).total == 0
    assert (
        sync.engine.db.one(
            "SELECT count(*) FROM audit_log WHERE action = 'students.archive_unsynced'"
        )
        == 1
    )
