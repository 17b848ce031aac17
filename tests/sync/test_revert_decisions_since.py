"""A revert never leaves a person's decision unsaid: a conflict of the reverted run a person
took, and a record the run unarchived that was merged since, are asked about."""

from __future__ import annotations

import pytest

from tests.sync.test_revert import _second_day


def _asked(sync, revert, sis_id: str) -> list:
    return [c for c in sync.engine.conflicts(revert.run_id).items if c.sis_id == sis_id]


def _took_the_feeds_email(sync, tiny):
    """stu-3's email edited by hand, then a run whose feed value for it a person took."""
    sync.engine.edit_contact("stu-3", {"email": "cleo.home@example.org"})
    tiny.row("users.csv", "stu-3")["email"] = "cleo.new@example.org"
    run = sync.plan(tiny)
    [conflict] = sync.engine.conflicts(run.run_id).items
    sync.engine.resolve_conflicts([conflict.conflict_id], "take")
    return sync.apply_planned(run)


def test_reverting_a_run_asks_whether_to_undo_a_conflict_a_person_took(sync, tiny, tiny_applied):
    """The revert planned nothing and said nothing: the email the person took stayed."""
    run = _took_the_feeds_email(sync, tiny)
    revert = sync.engine.revert_run(run.run_id)
    [asked] = _asked(sync, revert, "stu-3")
    assert (asked.field, asked.feed_value, asked.directory_value, asked.suggestion) == (
        "email",
        "cleo.home@example.org",
        "cleo.new@example.org",
        "keep",
    )
    assert "a person took run" in asked.message
    assert any("a person took" in n["message"] for n in revert.notes)


def test_the_decision_stands_unless_the_revert_s_conflict_is_taken(sync, tiny, tiny_applied):
    run = _took_the_feeds_email(sync, tiny)
    kept = sync.apply_planned(sync.engine.revert_run(run.run_id))
    assert sync.user("stu-3")["email"] == "cleo.new@example.org"
    again = sync.engine.revert_run(kept.run_id)  # the revert of the revert: no decision of its own
    assert _asked(sync, again, "stu-3") == []


def test_taking_the_revert_s_conflict_restores_the_value_the_person_had(sync, tiny, tiny_applied):
    run = _took_the_feeds_email(sync, tiny)
    revert = sync.engine.revert_run(run.run_id)
    [asked] = _asked(sync, revert, "stu-3")
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    sync.apply_planned(revert)
    assert sync.user("stu-3")["email"] == "cleo.home@example.org"
    assert all(n == 0 for _, n in sync.engine.check())


def test_a_record_the_run_unarchived_and_merged_since_is_asked_about(sync, tiny, tiny_applied):
    """Run 3 brought back stu-10 (run 2 had archived them), who was merged into stu-9 since: the
    revert of run 3 left them and said nothing."""
    _second_day(tiny)
    sync.apply(tiny)
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-10", "givenName": "Jia",
         "familyName": "Wu", "identifier": "S10", "username": "jia.wu", "agentSourcedIds": ""}
    )  # fmt: skip
    back = sync.apply(tiny)
    assert back.changes["students"]["unarchive"] == 1
    sync.engine.duplicates_merge("stu-10", "stu-9", keep="stu-9")
    revert = sync.engine.revert_run(back.run_id)
    [asked] = [c for c in _asked(sync, revert, "stu-10") if c.field == "status"]
    assert "unarchived this record; it was merged into another record since" in asked.message
    assert "undo the merge, then plan the revert again" in asked.message


def test_a_record_merged_since_is_reverted_by_a_revert_planned_again_after_the_merge_is_undone(
    sync, tiny, tiny_applied
):
    """As the conflict says: undoing the merge supersedes the revert; planned again, it
    archives the record the run created."""
    _second_day(tiny)
    day2 = sync.apply(tiny)
    merge = sync.engine.duplicates_merge("stu-11", "stu-1", keep="stu-1")
    revert = sync.engine.revert_run(day2.run_id)
    assert [c for c in _asked(sync, revert, "stu-11") if c.field == "status"]
    sync.engine.duplicates_undo(merge)
    assert sync.engine.get_run(revert.run_id).status == "superseded"
    again = sync.engine.replan_run(revert.run_id)
    sync.apply_planned(again)
    assert sync.user("stu-11")["status"] == "archived"
    assert all(n == 0 for _, n in sync.engine.check())


@pytest.fixture
def link_taken(sync, tiny, tiny_applied):
    """Run 2's feed links gdn-5 to stu-6, whom a person archived (kept archived): a
    link_outside_sync conflict. A person brought stu-6 back, then took it: the link has run 2
    as its run, though no change of run 2 made it."""
    sync.engine.settings_set("archived_students", "keep_archived")
    sync.engine.archive_user("stu-6")
    tiny.row("users.csv", "gdn-5")["agentSourcedIds"] = "stu-5,stu-6"
    run = sync.apply(tiny)
    [asked] = [c for c in sync.engine.conflicts(run.run_id).items if c.kind == "link_outside_sync"]
    sync.engine.unarchive_user("stu-6")
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    assert _link_status(sync) == "active"
    return run


def _link_status(sync) -> str | None:
    return sync.engine.db.one(
        "SELECT status FROM guardian_links WHERE guardian_id = ? AND student_id = ?",
        [sync.user("gdn-5")["user_id"], sync.user("stu-6")["user_id"]],
    )


def _link_asked(sync, revert):
    [asked] = [
        c for c in sync.engine.conflicts(revert.run_id).items if c.record_kind == "guardian_links"
    ]
    return asked


def test_reverting_a_run_asks_whether_to_undo_a_link_a_person_took(sync, link_taken):
    revert = sync.engine.revert_run(link_taken.run_id)
    assert revert.changes["guardian_links"]["archive"] == 0, sync.changes(revert)
    asked = _link_asked(sync, revert)
    assert (
        f"{asked.field}: {asked.directory_value} -> {asked.feed_value}"
        == "status: active -> archived"
    )
    assert asked.suggestion == "keep" and "a person took run" in asked.message


def test_a_link_a_person_took_stays_unless_the_revert_s_conflict_is_taken(sync, link_taken):
    sync.apply_planned(sync.engine.revert_run(link_taken.run_id))
    assert _link_status(sync) == "active"


def test_taking_the_revert_s_conflict_archives_the_link_a_person_took(sync, link_taken):
    revert = sync.engine.revert_run(link_taken.run_id)
    sync.engine.resolve_conflicts([_link_asked(sync, revert).conflict_id], "take")
    sync.apply_planned(revert)
    assert _link_status(sync) == "archived"
    assert all(n == 0 for _, n in sync.engine.check())


@pytest.fixture
def revert_taken(sync, tiny, tiny_applied):
    """Run 2 changed stu-3's email, a person edited it since, and took the revert's conflict
    (restoring the first email over the hand edit): the revert, applied."""
    _second_day(tiny)
    day2 = sync.apply(tiny)
    sync.engine.edit_contact("stu-3", {"email": "cleo.home@example.org"})
    revert = sync.engine.revert_run(day2.run_id)
    [asked] = _asked(sync, revert, "stu-3")
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    sync.apply_planned(revert)
    assert sync.user("stu-3")["email"] == "cleo@students.example.org"
    return revert


def test_reverting_a_revert_asks_whether_to_undo_a_conflict_of_it_a_person_took(sync, revert_taken):
    again = sync.engine.revert_run(revert_taken.run_id)
    [asked] = [c for c in _asked(sync, again, "stu-3") if c.field == "email"]
    assert (asked.feed_value, asked.directory_value, asked.suggestion) == (
        "cleo.home@example.org",
        "cleo@students.example.org",
        "keep",
    )
    assert "a person took run" in asked.message


def test_taking_that_question_puts_back_the_value_the_person_took_over(sync, revert_taken):
    again = sync.engine.revert_run(revert_taken.run_id)
    [asked] = [c for c in _asked(sync, again, "stu-3") if c.field == "email"]
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    sync.apply_planned(again)
    assert sync.user("stu-3")["email"] == "cleo.home@example.org"
    assert all(n == 0 for _, n in sync.engine.check())


def test_reverting_a_revert_asks_whether_to_bring_back_a_record_a_person_had_it_archive(
    sync, tiny, tiny_applied
):
    """Run 2 created stu-11, edited by hand since; a person took the revert's question, which
    archived them: reverting that revert said nothing of them, and left them archived."""
    _second_day(tiny)
    day2 = sync.apply(tiny)
    sync.engine.edit_contact("stu-11", {"email": "kai.home@example.org"})
    revert = sync.engine.revert_run(day2.run_id)
    [asked] = [c for c in _asked(sync, revert, "stu-11") if c.field == "status"]
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    first = sync.apply_planned(revert)
    assert sync.user("stu-11")["status"] == "archived"
    again = sync.engine.revert_run(first.run_id)
    [back] = [c for c in _asked(sync, again, "stu-11") if c.field == "status"]
    sync.engine.resolve_conflicts([back.conflict_id], "take")
    sync.apply_planned(again)
    assert sync.user("stu-11")["status"] == "active"
    assert all(n == 0 for _, n in sync.engine.check())
