"""Taking a link the feed asked for outside the sync (`link_outside_sync`) makes it only between
active people: a link to an archived student is refused with the reason, and a student merged
since is linked through their survivor, never on the merged record."""

from __future__ import annotations

import pytest

from daemon.directory.integrity import check_directory
from daemon.sync.conflicts import ConflictError


def _broken(sync) -> list[tuple[str, int]]:
    return [(name, n) for name, n in check_directory(sync.engine.db) if n]


@pytest.fixture
def asked(sync, tiny, tiny_applied):
    """stu-6 archived by hand and kept archived; the next drop adds guardian gdn-60 for stu-6,
    which the applied run asks about (link_outside_sync)."""
    sync.engine.settings_set("archived_students", "keep_archived")
    sync.engine.archive_user("stu-6")
    tiny.rows("users.csv").append(
        dict(tiny.row("users.csv", "gdn-5"), sourcedId="gdn-60", agentSourcedIds="stu-6")
    )
    run = sync.apply(tiny)
    [conflict] = [
        c for c in sync.engine.conflicts(run.run_id).items if c.kind == "link_outside_sync"
    ]
    assert _broken(sync) == []
    return conflict


def _active_links_of(sync, guardian: str) -> list[int]:
    rows = sync.engine.db.rows(
        "SELECT student_id FROM guardian_links WHERE guardian_id = ? AND status = 'active'",
        [sync.user(guardian)["user_id"]],
    )
    return [r[0] for r in rows]


def test_taking_a_link_to_an_archived_student_is_refused(sync, asked):
    with pytest.raises(ConflictError, match=r"is archived.*nothing was taken"):
        sync.engine.resolve_conflicts([asked.conflict_id], "take")
    assert _active_links_of(sync, "gdn-60") == []
    assert _broken(sync) == []


def test_taking_a_link_to_a_student_merged_since_links_the_survivor(sync, asked):
    sync.engine.duplicates_merge("stu-6", "stu-1", keep="stu-1")
    sync.engine.resolve_conflicts([asked.conflict_id], "take")
    assert _active_links_of(sync, "gdn-60") == [sync.user("stu-1")["user_id"]]
    assert _broken(sync) == []
