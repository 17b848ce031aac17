"""Archiving "the duplicate" after a merge is refused: the merged record's id resolves to the
person kept, so acting on it would archive the survivor and all it holds."""

from __future__ import annotations

import pytest

from daemon.directory.records import EditRefused
from tests.duplicates.conftest import add_student_like, user_id


@pytest.fixture
def merged(sync, tiny):
    """stu-3-dup merged into stu-3: (merged record, survivor)."""
    add_student_like(tiny, "stu-3", "stu-3-dup")
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-3-dup", "stu-3", keep="stu-3")
    return user_id(sync.engine, "stu-3-dup"), user_id(sync.engine, "stu-3")


def test_archiving_a_merged_record_by_its_id_is_refused_naming_the_survivor(sync, merged):
    gone, survivor = merged
    with pytest.raises(EditRefused, match=f"user {gone} was merged into {survivor} by merge 1"):
        sync.engine.archive_user(str(gone))
    assert sync.user("stu-3")["status"] == "active"


def test_archiving_a_merged_record_by_its_sis_id_is_refused(sync, merged):
    _, survivor = merged
    with pytest.raises(EditRefused, match=f"archive {survivor} if that is meant"):
        sync.engine.archive_user("stu-3-dup")
    assert sync.user("stu-3")["status"] == "active"


def test_the_survivor_is_still_archived_by_its_own_id(sync, merged):
    _, survivor = merged
    sync.engine.archive_user(str(survivor))
    assert sync.user("stu-3")["status"] == "archived"
