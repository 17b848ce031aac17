"""A merge and what a person made that was archived with the record merged away (their leaving,
say): it stays on the tombstone, archived, rather than moving, archived for an archive that is
not its owner's, to a survivor who is active (where it would never come back and `check`'s
invariant names it). Undoing the merge finds it where it was."""

from __future__ import annotations

import pytest

from tests.sync.test_school_still_named import _failed_checks


@pytest.fixture
def go_club(sync, tiny, tiny_applied) -> int:
    """A hand-made Go club at Alder School with stu-1 in it; stu-1 then archived by hand."""
    e = sync.engine
    club = e.create_classroom("Go club", "sch-a")
    e.add_classroom_member(f"#{club}", "stu-1", "student")
    e.archive_user("stu-1")
    return club


def _membership(sync, club: int) -> tuple[str, str]:
    [row] = sync.engine.db.rows(
        """SELECT u.sis_id, e.status FROM enrollments e JOIN users u USING (user_id)
           WHERE e.classroom_id = ?""",
        [club],
    )
    return row


def test_it_stays_on_the_tombstone_archived(sync, go_club):
    sync.engine.duplicates_merge("stu-1", "stu-2", keep="stu-2")
    assert _membership(sync, go_club) == ("stu-1", "archived")
    assert _failed_checks(sync) == []


def test_undoing_the_merge_finds_it_where_it_was(sync, go_club):
    merge_id = sync.engine.duplicates_merge("stu-1", "stu-2", keep="stu-2")
    sync.engine.duplicates_undo(merge_id)
    assert _membership(sync, go_club) == ("stu-1", "archived")
    sync.engine.unarchive_user("stu-1")
    assert _membership(sync, go_club) == ("stu-1", "active")
    assert _failed_checks(sync) == []
