"""A person archived by hand is a person's decision, which the nightly feed does not undo
silently. A guardian or staff member archived by hand whom the feed lists again stays archived:
a conflict says so, and taking it brings them back (as `users unarchive` does). One a run
archived (the SIS stopped listing them) comes back with the feed. Students follow the
archived_students setting."""

from __future__ import annotations

import pytest


@pytest.fixture
def synced(sync, tiny):
    sync.apply(tiny)
    return sync


def _status(sync, sis_id: str) -> str:
    return sync.user(sis_id)["status"]


def _link(sync, guardian: str | int, student: str) -> tuple[str, str]:
    """(origin, status) of the link between a guardian (SIS id or user id) and a student."""
    guardian_id = guardian if isinstance(guardian, int) else sync.user(guardian)["user_id"]
    [row] = sync.engine.db.rows(
        "SELECT origin, status FROM guardian_links WHERE guardian_id = ? AND student_id = ?",
        [guardian_id, sync.user(student)["user_id"]],
    )
    return row


def _violations(sync) -> list[str]:
    return [name for name, n in sync.engine.check() if n]


# ------------------------------------------------------------------ guardians and staff
@pytest.mark.parametrize("setting", ["unarchive", "keep_archived"])
def test_a_guardian_archived_by_hand_stays_archived_when_the_feed_lists_them_again(
    synced, tiny, setting
):
    """Often a custody decision: under every setting, and with auto_apply nobody would see it."""
    synced.engine.settings_set("archived_students", setting)
    synced.engine.archive_user("gdn-1")
    run = synced.apply(tiny)
    assert run.changes["guardians"]["unarchive"] == 0
    assert _status(synced, "gdn-1") == "archived"


def test_a_teacher_archived_by_hand_stays_archived_when_the_feed_lists_them_again(synced, tiny):
    synced.engine.archive_user("tch-2")
    run = synced.apply(tiny)
    assert run.changes["staff"]["unarchive"] == 0
    assert _status(synced, "tch-2") == "archived"


def test_keeping_them_archived_is_a_question_for_a_person(synced, tiny):
    synced.engine.archive_user("gdn-1")
    run = synced.plan(tiny)
    [conflict] = synced.engine.conflicts(run.run_id).items
    assert (conflict.kind, conflict.suggestion, conflict.blocking) == (
        "archived_by_hand_in_feed",
        "keep",
        False,
    )
    assert conflict.message == (
        "archived by hand, and the feed lists them again; they stay archived "
        "(take brings them back, with what archiving them took)"
    )


def test_one_a_run_archived_comes_back_with_the_feed(synced, tiny):
    without = tiny.copy()
    without.remove("users.csv", sourcedId="gdn-1")
    synced.apply(without)
    run = synced.apply(tiny)
    assert run.changes["guardians"]["unarchive"] == 1 and run.conflicts == 0
    assert _status(synced, "gdn-1") == "active"


def test_their_links_stay_archived_with_them(synced, tiny):
    synced.engine.archive_user("gdn-1")
    run = synced.apply(tiny)
    assert run.changes["guardian_links"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    assert _link(synced, "gdn-1", "stu-1") == ("sync", "archived")
    assert _violations(synced) == []


def test_a_new_link_in_the_feed_is_not_made_to_them(synced, tiny):
    synced.engine.archive_user("gdn-1")
    tiny.row("users.csv", "stu-2")["agentSourcedIds"] = "gdn-2,gdn-1"
    run = synced.apply(tiny)
    assert run.changes["guardian_links"]["create"] == 0
    assert _violations(synced) == []


def test_a_teacher_kept_archived_keeps_their_classes_archived_and_the_rows_say_why(synced, tiny):
    synced.engine.archive_user("tch-2")
    run = synced.apply(tiny)
    assert run.changes["enrollments"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    [warning] = [i for i in synced.issues(run, "WARNING") if i["sourced_id"] == "enr-t3"]
    assert "user 'tch-2' stays archived (archived by hand)" in warning["message"]
    assert _violations(synced) == []


def test_taking_the_conflict_brings_them_back_with_what_their_hand_archive_took(synced, tiny):
    e = synced.engine
    e.link_guardian("gdn-1", "stu-2")  # a second child, linked by hand
    e.archive_user("gdn-1")
    run = synced.apply(tiny)
    [conflict] = e.conflicts(run.run_id).items
    e.resolve_conflicts([conflict.conflict_id], "take")
    assert _status(synced, "gdn-1") == "active"
    assert (_link(synced, "gdn-1", "stu-1"), _link(synced, "gdn-1", "stu-2")) == (
        ("sync", "active"),
        ("hand", "active"),
    )
    assert _violations(synced) == []
    assert synced.plan(tiny).total_changes() == 0


def test_keeping_them_archived_is_not_asked_again(synced, tiny):
    synced.engine.archive_user("gdn-1")
    run = synced.plan(tiny)
    [conflict] = synced.engine.conflicts(run.run_id).items
    synced.engine.resolve_conflicts([conflict.conflict_id], "keep")
    synced.engine.apply_run(run.run_id)
    again = synced.plan(tiny)
    assert (again.conflicts, again.total_changes(), _status(synced, "gdn-1")) == (0, 0, "archived")


def test_auto_apply_leaves_them_archived_and_the_question_open(synced, tiny):
    synced.engine.settings_set("auto_apply", "true")
    synced.engine.archive_user("gdn-1")
    run = synced.plan(tiny)
    assert (run.status, _status(synced, "gdn-1")) == ("applied", "archived")
    assert [c.kind for c in synced.engine.conflicts(open_only=True).items] == [
        "archived_by_hand_in_feed"
    ]
