"""A guardian linked or a member added by hand: only between active records, and one link per
student and guardian (a link the sync archived comes back, as a membership does)."""

from __future__ import annotations

import pytest

from daemon.directory.errors import EditRefused
from daemon.directory.integrity import check_directory


@pytest.fixture
def unlinked(sync, tiny, tiny_applied):
    """The tiny district, then a night on which gdn-2 and stu-2 no longer name each other."""
    tiny.row("users.csv", "stu-2")["agentSourcedIds"] = ""
    tiny.row("users.csv", "gdn-2")["agentSourcedIds"] = ""
    sync.apply(tiny)
    return sync


def _links(sync, guardian: str, student: str) -> list[tuple[str, str]]:
    return sync.engine.db.rows(
        """SELECT l.status, l.origin FROM guardian_links l
           JOIN users g ON g.user_id = l.guardian_id JOIN users s ON s.user_id = l.student_id
           WHERE g.sis_id = ? AND s.sis_id = ?""",
        [guardian, student],
    )


def test_a_link_the_sync_archived_comes_back_when_linked_by_hand(unlinked) -> None:
    assert _links(unlinked, "gdn-2", "stu-2") == [("archived", "sync")]
    unlinked.engine.link_guardian("gdn-2", "stu-2")
    assert _links(unlinked, "gdn-2", "stu-2") == [("active", "hand")]
    assert all(n == 0 for _, n in check_directory(unlinked.engine.db))


def test_an_archived_guardian_is_not_linked(sync, tiny_applied) -> None:
    sync.engine.archive_user("gdn-3")
    with pytest.raises(EditRefused, match="gdn-3 is archived: unarchive them first"):
        sync.engine.link_guardian("gdn-3", "stu-4")


def test_an_archived_person_is_not_added_to_a_classroom(sync, tiny_applied) -> None:
    sync.engine.archive_user("tch-2")
    with pytest.raises(EditRefused, match="tch-2 is archived: unarchive them first"):
        sync.engine.add_classroom_member("cls-a1", "tch-2", "teacher")
