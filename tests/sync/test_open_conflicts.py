"""A conflict waits for a decision only while its question stands: a rejected or superseded run
asked nothing, and a question asked again each night is one question, the latest asking."""

from __future__ import annotations

import pytest

from daemon.sync.conflicts import ConflictError


@pytest.fixture
def protected(sync, tiny, tiny_applied):
    """gdn-2's account is active, and the feed sends another e-mail: a contact conflict."""
    sync.engine.set_account_active("gdn-2")
    tiny.row("users.csv", "gdn-2")["email"] = "sis@example.net"
    return sync


def _open(sync):
    return [c.conflict_id for c in sync.engine.conflicts(open_only=True).items]


def test_a_rejected_runs_conflict_is_not_open(protected, tiny):
    run = protected.plan(tiny)
    protected.engine.reject_run(run.run_id)
    assert _open(protected) == []


def test_a_rejected_runs_conflict_cannot_be_taken(protected, tiny):
    run = protected.plan(tiny)
    [conflict] = protected.engine.conflicts(run.run_id).items
    protected.engine.reject_run(run.run_id)
    with pytest.raises(ConflictError, match="was rejected"):
        protected.engine.resolve_conflicts([conflict.conflict_id], "take")
    assert protected.user("gdn-2")["email"] == "parent2@example.net"


def test_a_question_asked_every_night_is_open_once(protected, tiny):
    protected.apply(tiny)
    second = protected.apply(tiny)
    [latest] = protected.engine.conflicts(second.run_id).items
    assert _open(protected) == [latest.conflict_id]


def test_an_older_asking_of_the_question_cannot_be_decided(protected, tiny):
    first = protected.apply(tiny)
    protected.apply(tiny)
    [older] = protected.engine.conflicts(first.run_id).items
    with pytest.raises(ConflictError, match="a later run asks the same question"):
        protected.engine.resolve_conflicts([older.conflict_id], "keep")


def test_taking_a_contact_a_person_changed_since_takes_nothing(protected, tiny):
    run = protected.apply(tiny)
    [conflict] = protected.engine.conflicts(run.run_id).items
    protected.engine.edit_contact("gdn-2", {"email": "fixed@example.net"})
    with pytest.raises(ConflictError, match="nothing was taken"):
        protected.engine.resolve_conflicts([conflict.conflict_id], "take")
    assert protected.user("gdn-2")["email"] == "fixed@example.net"


def test_taking_an_applied_runs_contact_conflict_writes_the_feed_value(protected, tiny):
    run = protected.apply(tiny)
    [conflict] = protected.engine.conflicts(run.run_id).items
    protected.engine.resolve_conflicts([conflict.conflict_id], "take")
    assert protected.user("gdn-2")["email"] == "sis@example.net"


def test_a_take_that_would_leave_the_directory_broken_takes_nothing(protected, tiny):
    """Takes on an applied run write outside any apply, so they get the apply's invariant check.
    The broken record is made by hand here, standing in for a defect anywhere else."""
    run = protected.apply(tiny)
    [conflict] = protected.engine.conflicts(run.run_id).items
    protected.engine.db.execute("UPDATE users SET status = 'bogus' WHERE sis_id = 'gdn-2'")
    with pytest.raises(ConflictError, match="would break the directory"):
        protected.engine.resolve_conflicts([conflict.conflict_id], "take")
    assert protected.user("gdn-2")["email"] == "parent2@example.net"
    [still] = protected.engine.conflicts(run.run_id).items
    assert still.decision is None
