"""A person archived by hand is a person's decision, which the nightly feed does not undo
silently. A guardian or staff member archived by hand whom the feed lists again stays archived:
a conflict says so, and taking it brings them back (as `users unarchive` does). One a run
archived (the SIS stopped listing them) comes back with the feed. Students follow the
archived_students setting; one the feed brings back gets back what their hand archive took."""

from __future__ import annotations

import pytest

from daemon.sync.conflicts import ConflictError


@pytest.fixture
def synced(sync, tiny_applied):
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


def test_taking_it_once_they_were_merged_is_refused(synced, tiny):
    """Guardians are merged often (entered twice): taking would make the merged record active."""
    e = synced.engine
    e.archive_user("gdn-1")
    run = synced.apply(tiny)
    [conflict] = e.conflicts(run.run_id).items
    twin = e.create_user("guardian", "Parent1", "Lopez")
    e.duplicates_merge(str(twin), "gdn-1", keep=str(twin))
    with pytest.raises(ConflictError, match="Parent1 Lopez was merged into another record since"):
        e.resolve_conflicts([conflict.conflict_id], "take")
    assert _status(synced, "gdn-1") == "merged"


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


# ------------------------------------------------------------------ students the feed brings back
@pytest.fixture
def aunt_linked_by_hand(synced) -> int:
    """A guardian made by hand, linked to stu-4 by hand; then stu-4 archived by hand."""
    aunt = synced.engine.create_user("guardian", "Aunt", "Patel")
    synced.engine.link_guardian(str(aunt), "stu-4")
    synced.engine.archive_user("stu-4")
    return aunt


@pytest.mark.parametrize("in_place", [False, True], ids=["as new rows", "in place"])
def test_a_student_the_feed_brings_back_gets_back_the_links_made_by_hand(
    synced, tiny, aunt_linked_by_hand, monkeypatch, in_place
):
    """As `users unarchive` does; no feed row names the hand-made link, so nothing else would.
    It stays hand-made and names no feed row, however apply writes it (sync/apply.py)."""
    if in_place:
        monkeypatch.setattr("daemon.sync.apply._few", lambda *_: False)
    synced.apply(tiny)
    assert _status(synced, "stu-4") == "active"
    assert synced.engine.db.rows(
        "SELECT origin, status, source_file FROM guardian_links WHERE guardian_id = ?",
        [aunt_linked_by_hand],
    ) == [("hand", "active", None)]
    assert _violations(synced) == []


def test_the_run_lists_the_link_it_brings_back_and_why(synced, tiny, aunt_linked_by_hand):
    link = synced.engine.db.one(
        "SELECT link_id FROM guardian_links WHERE guardian_id = ?", [aunt_linked_by_hand]
    )
    run = synced.plan(tiny)
    [change] = [
        c for c in synced.changes(run, "guardian_links", "unarchive") if c["record_id"] == link
    ]
    assert (change["note"], change["source_file"], change["source_line"]) == (
        "made by hand, and archived with its person: back with them",
        "users.csv",
        5,  # stu-4's row, which brings her back
    )


def test_a_student_the_feed_brings_back_gets_back_a_hand_made_class(synced, tiny):
    e = synced.engine
    club = e.create_classroom("Chess club", "sch-a")
    e.add_classroom_member(str(club), "stu-1", "student")
    e.archive_user("stu-1")
    synced.apply(tiny)
    assert e.db.rows("SELECT origin, status FROM enrollments WHERE classroom_id = ?", [club]) == [
        ("hand", "active")
    ]
    assert _violations(synced) == []


def test_a_link_to_a_person_archived_since_stays_archived(synced, tiny, aunt_linked_by_hand):
    synced.engine.archive_user(str(aunt_linked_by_hand))
    run = synced.apply(tiny)
    assert run.changes["guardian_links"]["unarchive"] == 1  # stu-4's synced link, by its row
    assert _link(synced, aunt_linked_by_hand, "stu-4") == ("hand", "archived")
    assert _violations(synced) == []


def test_the_same_drop_again_plans_nothing(synced, tiny, aunt_linked_by_hand):
    synced.apply(tiny)
    assert synced.plan(tiny).total_changes() == 0


def _revert(sync, run) -> None:
    """Revert an applied run (its archives are over the tiny district's threshold)."""
    revert = sync.engine.revert_run(run.run_id)
    sync.engine.apply_run(
        revert.run_id, override=True, reason="a test reverts", scan_duplicates=False
    )


def test_a_revert_of_that_run_archives_the_link_again(synced, tiny, aunt_linked_by_hand):
    run = synced.apply(tiny)
    _revert(synced, run)
    assert _status(synced, "stu-4") == "archived"
    assert _link(synced, aunt_linked_by_hand, "stu-4") == ("hand", "archived")
    assert _violations(synced) == []


def test_the_feed_after_the_revert_brings_them_back_together_again(
    synced, tiny, aunt_linked_by_hand
):
    run = synced.apply(tiny)
    _revert(synced, run)
    synced.apply(tiny)
    assert _link(synced, aunt_linked_by_hand, "stu-4") == ("hand", "active")
    assert _violations(synced) == []


def test_unarchiving_her_by_hand_after_the_revert_brings_the_link_back_too(
    synced, tiny, aunt_linked_by_hand
):
    """The revert archived the hand-made link with her: `users unarchive` brings back what a
    person made with her, whichever archive took it (what the sync made comes with the feed)."""
    run = synced.apply(tiny)
    _revert(synced, run)
    synced.engine.unarchive_user("stu-4")
    assert _link(synced, aunt_linked_by_hand, "stu-4") == ("hand", "active")
    assert _link(synced, "gdn-4", "stu-4") == ("sync", "archived")
    assert _violations(synced) == []
