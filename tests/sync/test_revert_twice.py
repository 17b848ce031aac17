"""A revert asks only what there is to decide: a field already back at the value it would
restore is neither changed nor a conflict, and a run already reverted is not reverted again."""

from __future__ import annotations

import pytest

from daemon.sync.runs import RunError


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
