"""A revert asks only what there is to decide: a field already back at the value it would
restore is neither changed nor a conflict, and a run already reverted is not reverted again."""

from __future__ import annotations

import pytest

from daemon.sync.runs import RunError
from tests.sync.test_revert import _second_day


@pytest.fixture
def new_name(sync, tiny, tiny_applied):
    """Run 1 loads the district; run 2 renames stu-3."""
    tiny.row("users.csv", "stu-3")["familyName"] = "Nguyen-Tran"
    return sync.apply(tiny)


def test_a_field_a_later_run_set_back_is_no_conflict(sync, tiny, new_name):
    tiny.row("users.csv", "stu-3")["familyName"] = "Nguyen"
    sync.apply_planned(sync.plan(tiny))
    revert = sync.engine.revert_run(new_name.run_id)
    assert revert.conflicts == 0
    assert revert.changes["students"]["update"] == 0


def test_a_run_already_reverted_is_not_reverted_again(sync, new_name):
    first = sync.apply_planned(sync.engine.revert_run(new_name.run_id))
    message = f"run {new_name.run_id} was already reverted by run {first.run_id}"
    with pytest.raises(RunError, match=message):
        sync.engine.revert_run(new_name.run_id)


def test_a_revert_planned_but_not_applied_does_not_count(sync, new_name):
    sync.engine.reject_run(sync.engine.revert_run(new_name.run_id).run_id)
    again = sync.engine.revert_run(new_name.run_id)
    assert again.changes["students"]["update"] == 1 and again.conflicts == 0


def test_a_second_revert_waits_for_the_open_one(sync, new_name):
    """Two open plans of one revert only cluttered the review queue."""
    first = sync.engine.revert_run(new_name.run_id)
    with pytest.raises(RunError, match=rf"run {first.run_id}, a revert of run {new_name.run_id}, "
                       "is open already; apply it or reject it first"):  # fmt: skip
        sync.engine.revert_run(new_name.run_id)


def test_an_open_revert_is_not_planned_again(sync, new_name):
    first = sync.engine.revert_run(new_name.run_id)
    with pytest.raises(RunError, match=rf"run {first.run_id} is planned; apply it or reject it"):
        sync.engine.replan_run(first.run_id)


@pytest.fixture
def left_merged(sync, tiny, tiny_applied):
    """Run 2 created stu-11 (and renamed stu-3, dropped stu-10); stu-11 was merged into stu-1
    since, so the applied revert of run 2 could not archive stu-11 and asked about it. Then the
    merge was undone, as its question says."""
    _second_day(tiny)
    day2 = sync.apply(tiny)
    merge = sync.engine.duplicates_merge("stu-11", "stu-1", keep="stu-1")
    first = sync.apply_planned(sync.engine.revert_run(day2.run_id))
    assert sync.user("stu-11")["status"] == "merged" and first.conflicts
    sync.engine.duplicates_undo(merge)
    return day2


def test_a_revert_that_left_a_question_open_can_be_planned_again(sync, left_merged):
    again = sync.engine.revert_run(left_merged.run_id)
    assert again.changes["students"] == {"create": 0, "update": 0, "archive": 1, "unarchive": 0}
    [archived] = sync.changes(again, "students", "archive")
    assert archived["sis_id"] == "stu-11"
    sync.apply_planned(again)
    assert sync.user("stu-11")["status"] == "archived"
    assert sync.user("stu-3")["family_name"] == "Nguyen"
    assert all(n == 0 for _, n in sync.engine.check())


def test_a_revert_planned_again_says_what_it_does(sync, left_merged):
    again = sync.engine.revert_run(left_merged.run_id)
    assert any("does only what that one could not" in n["message"] for n in again.notes)
