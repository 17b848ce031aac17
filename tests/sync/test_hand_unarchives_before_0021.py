"""A person unarchived by hand before schema 21 (which began to keep that decision,
users.unarchived_by_hand_at) was archived again by the next night that left them out. Migration
23 takes each such decision still standing from the audit log (a hand unarchive, the person's
last hand decision, that no run has archived or unarchived since), so the first night that
would archive them asks instead (sync/policies.py keep_hand_unarchives)."""

from __future__ import annotations

import pytest

from daemon.db.migrate import available_migrations
from daemon.sync.policies import UNARCHIVED_BY_HAND_NOT_IN_FEED
from tests.district import TinyDistrict
from tests.sync.test_revert import _second_day

RECOVERY = next(
    sql
    for _n, name, sql in available_migrations()
    if name.endswith("_hand_unarchives_before_0021.sql")
)


def _as_before_0021(db, user_id: int) -> None:
    """What a hand unarchive left before schema 21: no unarchived_by_hand_at, and an audit
    entry that does not say the person stays active."""
    db.execute("UPDATE users SET unarchived_by_hand_at = NULL WHERE user_id = ?", [user_id])
    db.execute(
        """UPDATE audit_log
           SET details = json_object('unarchived', json_extract(details, '$.unarchived'))
           WHERE action = 'user.unarchive' AND target_id = ?""",
        [user_id],
    )
    db.execute("UPDATE schema_migrations SET applied_at = current_timestamp WHERE version = 21")


@pytest.fixture
def unarchived_before_0021(sync, tiny, tiny_applied):
    """Run 2 dropped stu-10; a person unarchived them before schema 21; then the upgrade."""
    _second_day(tiny)
    sync.apply(tiny)
    sync.engine.unarchive_user("stu-10")
    _as_before_0021(sync.engine.db, sync.user("stu-10")["user_id"])
    sync.engine.db.execute(RECOVERY)
    return tiny


def _asked(sync, run) -> list:
    return [
        c
        for c in sync.engine.conflicts(run.run_id).items
        if c.kind == UNARCHIVED_BY_HAND_NOT_IN_FEED
    ]


def test_the_next_night_does_not_archive_a_person_unarchived_by_hand_before_schema_21(
    sync, unarchived_before_0021
):
    run = sync.apply(unarchived_before_0021)
    assert sync.user("stu-10")["status"] == "active"
    [asked] = _asked(sync, run)
    assert asked.sis_id == "stu-10"


def test_the_question_says_a_night_since_may_have_listed_them(sync, unarchived_before_0021):
    [asked] = _asked(sync, sync.plan(unarchived_before_0021))
    assert (
        ", before Roster Sync kept that decision (a night since may have listed them, which "
        "ended it), and the feed still leaves them out; they stay active"
    ) in asked.message


def test_a_person_archived_by_hand_after_the_unarchive_is_not_taken_as_unarchived(
    sync, unarchived_before_0021
):
    db = sync.engine.db
    sync.engine.archive_user("stu-10")
    sync.engine.unarchive_user("stu-10")  # not the last: archived again below, before 21
    sync.engine.archive_user("stu-10")
    user_id = sync.user("stu-10")["user_id"]
    db.execute(
        "UPDATE users SET status = 'active', archived_at = NULL WHERE user_id = ?", [user_id]
    )
    _as_before_0021(db, user_id)
    db.execute(RECOVERY)
    assert sync.user("stu-10")["unarchived_by_hand_at"] is None


def test_a_person_a_run_archived_since_the_unarchive_is_not_taken_as_unarchived(
    sync, tiny, tiny_applied
):
    """Unarchived by hand, archived by the next night (as before schema 21), then listed again."""
    _second_day(tiny)
    sync.apply(tiny)
    sync.engine.unarchive_user("stu-10")
    user_id = sync.user("stu-10")["user_id"]
    _as_before_0021(sync.engine.db, user_id)
    sync.apply(tiny)  # archived again
    sync.apply(TinyDistrict())  # back with the feed
    sync.engine.db.execute(RECOVERY)
    assert sync.user("stu-10")["unarchived_by_hand_at"] is None


def test_a_hand_unarchive_a_night_ended_since_schema_21_is_not_taken_back(sync, tiny, tiny_applied):
    _second_day(tiny)
    sync.apply(tiny)
    sync.engine.unarchive_user("stu-10")
    sync.apply(TinyDistrict())  # lists stu-10: the decision is behind them
    sync.engine.db.execute(RECOVERY)
    assert sync.user("stu-10")["unarchived_by_hand_at"] is None
