"""A person unarchived by hand stays active while the feed leaves them out, as one archived by
hand stays archived while the feed lists them: the nightly feed does not undo what a person
decided. A conflict asks (keep, the suggestion, leaves them active; take archives them), and
once the feed lists them again, its absence archives them as anyone's."""

from __future__ import annotations

import json

import pytest

from daemon.sync.conflicts import ConflictError
from daemon.sync.policies import UNARCHIVED_BY_HAND_NOT_IN_FEED
from tests.district import TinyDistrict
from tests.sync.test_revert import _second_day


@pytest.fixture
def unarchived(sync, tiny, tiny_applied):
    """Run 2 dropped stu-10 (archived by the run); then a person unarchived them."""
    _second_day(tiny)
    sync.apply(tiny)
    sync.engine.unarchive_user("stu-10")
    return tiny


def _asked(sync, run) -> list:
    return [
        c
        for c in sync.engine.conflicts(run.run_id).items
        if c.kind == UNARCHIVED_BY_HAND_NOT_IN_FEED
    ]


def test_the_same_drop_again_does_not_archive_a_person_unarchived_by_hand(sync, unarchived):
    run = sync.plan(unarchived)
    assert run.total_changes() == 0, sync.changes(run)


def test_the_person_unarchived_by_hand_is_asked_about_keep_suggested(sync, unarchived):
    run = sync.plan(unarchived)
    [asked] = _asked(sync, run)
    assert (asked.sis_id, asked.field, asked.feed_value, asked.directory_value) == (
        "stu-10",
        "status",
        "archived",
        "active",
    )
    assert (asked.suggestion, asked.blocking) == ("keep", False)
    assert "unarchived by hand" in asked.message and "take archives them" in asked.message


def test_applying_without_a_decision_leaves_them_active_and_the_question_open(sync, unarchived):
    """What auto_apply does (no blocking conflict): it never takes the question silently."""
    run = sync.apply_planned(sync.plan(unarchived))
    assert sync.user("stu-10")["status"] == "active"
    [asked] = _asked(sync, run)
    assert asked.decision is None


def test_taking_the_question_archives_them_as_the_feed_says(sync, unarchived):
    run = sync.plan(unarchived)
    [asked] = _asked(sync, run)
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    sync.apply_planned(run)
    person = sync.user("stu-10")
    assert (person["status"], person["archived_run"]) == ("archived", run.run_id)
    assert all(n == 0 for _, n in sync.engine.check())


def test_taking_the_question_of_an_applied_run_archives_them_at_once(sync, unarchived):
    run = sync.apply_planned(sync.plan(unarchived))
    [asked] = _asked(sync, run)
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    assert sync.user("stu-10")["status"] == "archived"
    assert sync.plan(unarchived).total_changes() == 0
    assert all(n == 0 for _, n in sync.engine.check())


def test_a_kept_question_is_not_asked_again(sync, unarchived):
    run = sync.plan(unarchived)
    [asked] = _asked(sync, run)
    sync.engine.resolve_conflicts([asked.conflict_id], "keep")
    sync.apply_planned(run)
    again = sync.plan(unarchived)
    assert (again.total_changes(), _asked(sync, again)) == (0, [])


def test_once_the_feed_lists_them_again_its_absence_archives_them(sync, unarchived):
    back = sync.apply(TinyDistrict())  # the first day's drop: stu-10 listed again
    assert not _asked(sync, back)
    run = sync.plan(unarchived)
    assert [c["sis_id"] for c in sync.changes(run, "students", "archive")] == ["stu-10"]
    assert _asked(sync, run) == []


def test_a_staff_member_unarchived_by_hand_stays_active_too(sync, tiny, tiny_applied):
    tiny.remove("users.csv", sourcedId="tch-2")
    tiny.remove("enrollments.csv", userSourcedId="tch-2")
    sync.apply(tiny, override=True)
    sync.engine.unarchive_user("tch-2")
    run = sync.plan(tiny)
    assert run.total_changes() == 0, sync.changes(run)
    assert [c.sis_id for c in _asked(sync, run)] == ["tch-2"]


def test_a_row_marked_tobedeleted_is_asked_about_as_well(sync, unarchived):
    unarchived.rows("users.csv").append(
        {**TinyDistrict().row("users.csv", "stu-10"), "status": "tobedeleted"}
    )
    run = sync.plan(unarchived)
    assert run.total_changes() == 0, sync.changes(run)
    [asked] = _asked(sync, run)
    assert "tobedeleted" in asked.message


def test_the_run_notes_who_stays_active(sync, unarchived):
    run = sync.plan(unarchived)
    assert any("unarchived by hand" in n["message"] for n in run.notes)


def test_the_audit_of_a_hand_unarchive_says_it_stays(sync, unarchived):
    user_id = sync.user("stu-10")["user_id"]
    details = sync.engine.db.one(
        "SELECT details FROM audit_log WHERE action = 'user.unarchive' AND target_id = ?",
        [user_id],
    )
    assert json.loads(details)["stays_active_until_the_feed_lists_them"] is True


def test_a_person_a_revert_archives_is_no_longer_unarchived_by_hand(sync, unarchived):
    """Run 2 created stu-11, run 3 dropped them, a person brought them back; reverting run 2
    asks about them (unarchived by hand since), and taking that archives them: what the person
    decided is behind them, and whoever brings them back next (a revert of that revert) leaves
    the feed to decide, as for anyone."""
    unarchived.remove("users.csv", sourcedId="stu-11")
    sync.apply(unarchived)
    sync.engine.unarchive_user("stu-11")
    revert = sync.engine.revert_run(2)
    [asked] = [c for c in sync.engine.conflicts(revert.run_id).items if c.sis_id == "stu-11"]
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    sync.apply_planned(revert)
    assert sync.user("stu-11")["status"] == "archived"
    assert sync.user("stu-11")["unarchived_by_hand_at"] is None


# A question of an applied run taken after the person changed: refused in one line saying what
# happened and what to do, and a later run asks about the person as they are.


def _asked_then_applied(sync, unarchived):
    """The question, of a run applied without a decision (stu-10 stays active)."""
    run = sync.apply_planned(sync.plan(unarchived))
    [asked] = _asked(sync, run)
    return asked


def _refusal(sync, asked) -> str:
    with pytest.raises(ConflictError) as refused:
        sync.engine.resolve_conflicts([asked.conflict_id], "take")
    return str(refused.value)


def test_taking_the_question_of_a_person_archived_since_says_nothing_is_left_to_take(
    sync, unarchived
):
    asked = _asked_then_applied(sync, unarchived)
    sync.engine.archive_user("stu-10")
    assert _refusal(sync, asked) == (
        f"conflict {asked.conflict_id}: Jia Wu was archived since the question was asked; "
        "nothing is left to take"
    )


def test_taking_the_question_of_a_person_unarchived_again_since_says_the_next_run_asks(
    sync, unarchived
):
    asked = _asked_then_applied(sync, unarchived)
    sync.engine.archive_user("stu-10")
    sync.engine.unarchive_user("stu-10")
    assert _refusal(sync, asked) == (
        f"conflict {asked.conflict_id}: Jia Wu was archived and unarchived by hand again since, "
        "a decision of its own; nothing was taken (the next run that leaves them out asks "
        "about that one)"
    )


def test_a_later_run_asks_about_a_person_unarchived_again_since(sync, unarchived):
    asked = _asked_then_applied(sync, unarchived)
    sync.engine.archive_user("stu-10")
    sync.engine.unarchive_user("stu-10")
    [again] = _asked(sync, sync.plan(unarchived))
    assert again.conflict_id != asked.conflict_id and again.sis_id == "stu-10"


def test_taking_the_question_of_a_person_the_feed_listed_since_says_that_ended_it(sync, unarchived):
    asked = _asked_then_applied(sync, unarchived)
    sync.apply(TinyDistrict())  # lists stu-10
    assert _refusal(sync, asked) == (
        f"conflict {asked.conflict_id}: Jia Wu was listed by the feed since, which ended their "
        "hand unarchive; nothing was taken (a run that leaves them out archives them)"
    )


@pytest.fixture
def taken_then_reverting(sync, unarchived):
    """A person took run 3's question about stu-10, archiving them as the feed said; then
    run 3 is reverted: the revert's question about that decision (returned with the revert)."""
    run = sync.plan(unarchived)
    [asked] = _asked(sync, run)
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    sync.apply_planned(run)
    revert = sync.engine.revert_run(run.run_id)
    [question] = [c for c in sync.engine.conflicts(revert.run_id).items if c.sis_id == "stu-10"]
    return revert, question


def test_reverting_the_run_whose_question_was_taken_asks_about_that_archive(
    sync, taken_then_reverting
):
    _revert, question = taken_then_reverting
    assert (question.field, question.feed_value, question.directory_value) == (
        "status",
        "active",
        "archived",
    )
    assert question.suggestion == "keep" and "a person who took run 3's" in question.message


def test_taking_that_question_brings_them_back_unarchived_by_hand_again(
    sync, unarchived, taken_then_reverting
):
    revert, question = taken_then_reverting
    sync.engine.resolve_conflicts([question.conflict_id], "take")
    sync.apply_planned(revert)
    assert sync.user("stu-10")["status"] == "active"
    assert sync.user("stu-10")["unarchived_by_hand_at"] is not None
    assert _asked(sync, sync.plan(unarchived))  # the feed still leaves them out: asked, kept
    assert all(n == 0 for _, n in sync.engine.check())
