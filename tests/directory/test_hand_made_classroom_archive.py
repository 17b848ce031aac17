"""A classroom a person made is archived and brought back by a person (the SIS's classes are
its classes.csv's): its memberships go with it and come back with it, and the directory's
rules hold either way."""

from __future__ import annotations

import pytest

from daemon.directory.errors import EditRefused
from tests.sync.test_school_still_named import _failed_checks, _status, _without_school_b


@pytest.fixture
def chess(sync, tiny, tiny_applied) -> int:
    """A hand-made Chess club at Alder School, with stu-1 and stu-2 in it."""
    club = sync.engine.create_classroom("Chess club", "sch-a")
    for student in ("stu-1", "stu-2"):
        sync.engine.add_classroom_member(f"#{club}", student, "student")
    return club


def _memberships(sync, club: int) -> list[tuple[str, str]]:
    return sync.engine.db.rows(
        """SELECT u.sis_id, e.status FROM enrollments e JOIN users u USING (user_id)
           WHERE e.classroom_id = ? ORDER BY 1""",
        [club],
    )


def test_archiving_a_hand_made_classroom_takes_its_memberships(sync, chess):
    sync.engine.archive_classroom(f"#{chess}")
    db = sync.engine.db
    assert db.one("SELECT status FROM classrooms WHERE classroom_id = ?", [chess]) == "archived"
    assert _memberships(sync, chess) == [("stu-1", "archived"), ("stu-2", "archived")]
    assert _failed_checks(sync) == []


def test_unarchiving_it_brings_back_what_its_archive_took_of_active_people(sync, chess):
    sync.engine.archive_classroom(f"#{chess}")
    sync.engine.archive_user("stu-2")
    sync.engine.unarchive_classroom(f"#{chess}")
    assert _memberships(sync, chess) == [("stu-1", "active"), ("stu-2", "archived")]
    assert _failed_checks(sync) == []


def test_the_audit_names_the_memberships_it_took(sync, chess):
    sync.engine.archive_classroom(f"#{chess}")
    action, details = sync.engine.db.rows(
        "SELECT action, details FROM audit_log ORDER BY rowid DESC LIMIT 1"
    )[0]
    assert action == "classroom.archive"
    assert '"enrollments"' in details


def test_a_classroom_the_sis_sends_is_not_archived_by_hand(sync, tiny, tiny_applied):
    with pytest.raises(EditRefused) as refused:
        sync.engine.archive_classroom("cls-a2")
    assert str(refused.value) == (
        "classroom cls-a2 is the SIS's: its classes.csv archives it (a person archives only a "
        "classroom made by hand)"
    )


def test_archiving_twice_says_it_is_archived_already(sync, chess):
    sync.engine.archive_classroom(f"#{chess}")
    with pytest.raises(EditRefused, match="is already archived"):
        sync.engine.archive_classroom(f"#{chess}")


def test_a_classroom_is_not_brought_back_into_an_archived_school(sync, tiny, tiny_applied):
    club = sync.engine.create_classroom("Chess club", "sch-b")
    sync.engine.archive_classroom(f"#{club}")
    sync.apply(_without_school_b(tiny), override=True)
    assert _status(sync, "schools", "sch-b") == "archived"
    with pytest.raises(
        EditRefused,
        match=r"^school 'sch-b' \(Birch School\) is archived: a class is not brought back into",
    ):
        sync.engine.unarchive_classroom(f"#{club}")


def test_a_night_leaves_an_archived_hand_made_classroom_as_it_is(sync, tiny, chess):
    sync.engine.archive_classroom(f"#{chess}")
    run = sync.apply(tiny)
    assert run.total_changes() == 0
    assert _memberships(sync, chess) == [("stu-1", "archived"), ("stu-2", "archived")]
