"""A person's account is activated only while the person is active in the directory."""

from __future__ import annotations

import pytest

from daemon.directory.errors import EditRefused


def _account(sync, sis_id: str) -> tuple[bool, int]:
    user = sync.user(sis_id)
    logged = sync.engine.db.one(
        "SELECT count(*) FROM audit_log WHERE action = 'user.activate' AND target_id = ?",
        [user["user_id"]],
    )
    return bool(user["account_active"]), logged


def test_an_archived_persons_account_is_not_activated(sync, tiny_applied) -> None:
    sync.engine.archive_user("gdn-3")
    before = _account(sync, "gdn-3")
    with pytest.raises(EditRefused, match="gdn-3 is archived: unarchive them first"):
        sync.engine.set_account_active("gdn-3")
    assert _account(sync, "gdn-3") == before


def test_an_archived_persons_account_may_be_deactivated(sync, tiny_applied) -> None:
    sync.engine.set_account_active("gdn-3")
    sync.engine.archive_user("gdn-3")
    sync.engine.set_account_active("gdn-3", False)
    assert sync.user("gdn-3")["account_active"] is False


def test_an_account_is_activated_again_once_the_person_is_unarchived(sync, tiny_applied) -> None:
    sync.engine.archive_user("gdn-3")
    sync.engine.unarchive_user("gdn-3")
    sync.engine.set_account_active("gdn-3")
    assert _account(sync, "gdn-3") == (True, 1)
