"""Archiving a person by hand takes their enrollments, guardian links and attributes with them,
as a sync's archive does: no archived person keeps an active membership, and an export synced
back after a hand archive plans nothing. Unarchiving by hand brings back what the archive took."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def synced(sync, tiny):
    """The tiny district applied, stu-1 with an attribute."""
    tiny.rows("student_attributes.csv").append(
        {"studentSourcedId": "stu-1", "name": "iep", "value": "true", "status": "",
         "dateLastModified": ""}
    )  # fmt: skip
    sync.apply(tiny)
    return sync


def _statuses(sync, table: str, column: str, sis_id: str) -> set[str]:
    user_id = sync.user(sis_id)["user_id"]
    rows = sync.engine.db.rows(f"SELECT status FROM {table} WHERE {column} = ?", [user_id])
    assert rows, f"{sis_id} has no {table}"
    return {r[0] for r in rows}


def test_archiving_a_student_by_hand_archives_their_enrollments(synced):
    synced.engine.archive_user("stu-1")
    assert _statuses(synced, "enrollments", "user_id", "stu-1") == {"archived"}


def test_archiving_a_student_by_hand_archives_their_guardian_links(synced):
    synced.engine.archive_user("stu-1")
    assert _statuses(synced, "guardian_links", "student_id", "stu-1") == {"archived"}


def test_archiving_a_student_by_hand_archives_their_attributes(synced):
    synced.engine.archive_user("stu-1")
    assert _statuses(synced, "student_attributes", "student_id", "stu-1") == {"archived"}


def test_archiving_a_guardian_by_hand_archives_their_links(synced):
    synced.engine.archive_user("gdn-2")
    assert _statuses(synced, "guardian_links", "guardian_id", "gdn-2") == {"archived"}


def test_the_audit_of_a_hand_archive_names_what_it_archived(synced):
    user_id = synced.engine.archive_user("stu-1")
    details = synced.engine.db.one(
        "SELECT details FROM audit_log WHERE action = 'user.archive' AND target_id = ?", [user_id]
    )
    archived = json.loads(details)["archived"]
    assert (len(archived["enrollments"]), len(archived["student_attributes"])) == (2, 1)


def test_an_export_synced_back_after_a_hand_archive_plans_nothing(synced, tmp_path):
    synced.engine.archive_user("stu-1")
    synced.engine.export(str(tmp_path / "export"))
    run = synced.plan(tmp_path / "export")
    assert run.rows.error == 0, synced.issues(run, "ERROR")
    assert run.total_changes() == 0, run.changes


def test_unarchiving_by_hand_brings_back_what_the_hand_archive_took(synced):
    synced.engine.archive_user("stu-1")
    synced.engine.unarchive_user("stu-1")
    assert _statuses(synced, "enrollments", "user_id", "stu-1") == {"active"}
    assert _statuses(synced, "guardian_links", "student_id", "stu-1") == {"active"}
    assert _statuses(synced, "student_attributes", "student_id", "stu-1") == {"active"}


def test_unarchiving_does_not_bring_back_a_link_to_a_person_still_archived(synced):
    synced.engine.archive_user("stu-2")
    synced.engine.archive_user("gdn-2")
    synced.engine.unarchive_user("stu-2")
    assert _statuses(synced, "guardian_links", "student_id", "stu-2") == {"archived"}


def test_a_link_left_archived_comes_back_with_the_other_person_later(synced):
    """stu-2's archive took the link; gdn-2 was archived too when stu-2 came back, so the link
    waits for gdn-2's archive, and comes back with them (before, it was left to stu-2's archive,
    which was over, and nothing brought it back)."""
    synced.engine.archive_user("stu-2")
    synced.engine.archive_user("gdn-2")
    synced.engine.unarchive_user("stu-2")
    synced.engine.unarchive_user("gdn-2")
    assert _statuses(synced, "guardian_links", "student_id", "stu-2") == {"active"}


def test_a_hand_archive_leaves_the_directory_without_violations(synced):
    synced.engine.archive_user("stu-1")
    assert [name for name, n in synced.engine.check() if n] == []


def test_check_reports_an_active_enrollment_of_an_archived_person(synced):
    synced.engine.db.execute("UPDATE users SET status = 'archived' WHERE sis_id = 'stu-1'")
    broken = dict(synced.engine.check())
    assert broken["enrollments of archived people are archived"] == 2


def test_check_reports_an_active_guardian_link_of_an_archived_person(synced):
    synced.engine.db.execute("UPDATE users SET status = 'archived' WHERE sis_id = 'gdn-1'")
    broken = dict(synced.engine.check())
    assert broken["guardian links of archived people are archived"] == 1


def test_check_reports_an_active_guardian_link_of_an_archived_student(synced):
    synced.engine.db.execute("UPDATE users SET status = 'archived' WHERE sis_id = 'stu-1'")
    broken = dict(synced.engine.check())
    assert broken["guardian links of archived people are archived"] == 1


def test_check_counts_a_link_of_two_archived_people_once(synced):
    synced.engine.db.execute(
        "UPDATE users SET status = 'archived' WHERE sis_id IN ('stu-1', 'gdn-1')"
    )
    broken = dict(synced.engine.check())
    assert broken["guardian links of archived people are archived"] == 1


def test_check_leaves_links_to_the_district_when_the_sync_does_not_manage_them(synced):
    synced.engine.settings_set("manage_guardians", "false")
    synced.engine.db.execute("UPDATE users SET status = 'archived' WHERE sis_id = 'gdn-1'")
    broken = dict(synced.engine.check())
    assert broken["guardian links of archived people are archived"] == 0


def test_check_reports_an_active_attribute_of_an_archived_student(synced):
    synced.engine.db.execute("UPDATE users SET status = 'archived' WHERE sis_id = 'stu-1'")
    broken = dict(synced.engine.check())
    assert broken["attributes of archived students are archived"] == 1


def test_check_leaves_a_hand_made_membership_of_an_archived_person_to_the_district(synced):
    synced.engine.add_classroom_member("cls-b1", "tch-1", "teacher")  # a co-teacher, by hand
    synced.engine.db.execute(
        "UPDATE enrollments SET status = 'archived' WHERE origin = 'sync' "
        "AND user_id = (SELECT user_id FROM users WHERE sis_id = 'tch-1')"
    )
    synced.engine.db.execute("UPDATE users SET status = 'archived' WHERE sis_id = 'tch-1'")
    assert [name for name, n in synced.engine.check() if n] == []


def test_a_student_leaving_while_the_sync_does_not_manage_guardians_applies(synced, tiny):
    synced.engine.settings_set("manage_guardians", "false")
    tiny.remove("users.csv", sourcedId="stu-1")
    tiny.remove("enrollments.csv", userSourcedId="stu-1")
    run = synced.plan(tiny)
    run = synced.engine.apply_run(run.run_id, override=True, reason="a test", scan_duplicates=False)
    assert run.status == "applied" and synced.user("stu-1")["status"] == "archived"
    assert _statuses(synced, "guardian_links", "student_id", "stu-1") == {"active"}
    assert [name for name, n in synced.engine.check() if n] == []


def test_a_feed_still_naming_a_student_kept_archived_leaves_their_links_archived(synced, tiny):
    synced.engine.settings_set("archived_students", "keep_archived")
    synced.engine.archive_user("stu-1")
    synced.apply(tiny)
    assert _statuses(synced, "guardian_links", "student_id", "stu-1") == {"archived"}
    assert [name for name, n in synced.engine.check() if n] == []
