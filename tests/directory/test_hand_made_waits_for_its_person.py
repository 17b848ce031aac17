"""The other direction of tests/directory/test_hand_made_classroom_archive_edges.py: a class
(or a link's person) comes back while the person of a hand-made membership is archived. The
membership cannot come back with the class, so it is handed to the person's archive and comes
back with them (directory/records.py `hand_to_what_keeps_them_out`); a class archive that is
withheld never keeps one out; and a link to a person merged away waits for no one."""

from __future__ import annotations

import pytest

from tests.directory import test_hand_made_classroom_archive_edges as edges
from tests.directory.test_hand_made_classroom_archive_edges import (
    _classroom,
    _members,
    _revert,
    _with_the_club,
)
from tests.district import TinyDistrict
from tests.sync.test_school_still_named import _failed_checks

club = edges.club  # the fixture: a hand-made Chess club tch-1, stu-1 and stu-2 are in


def _without_science(tiny: TinyDistrict) -> TinyDistrict:
    """The district without the SIS class cls-a2 (Science 5) and its memberships."""
    drop = tiny.copy()
    drop.remove("classes.csv", sourcedId="cls-a2")
    drop.remove("enrollments.csv", classSourcedId="cls-a2")
    return drop


def _co_teacher(sync) -> str:
    """tch-2's hand-made membership of cls-a2, as (status)."""
    return sync.engine.db.one(
        """SELECT e.status FROM enrollments e JOIN users u USING (user_id)
           JOIN classrooms c USING (classroom_id)
           WHERE u.sis_id = 'tch-2' AND c.sis_id = 'cls-a2'"""
    )


def _handed_to_the_class_then_archived_again(sync, tiny) -> int:
    """tch-2, added by hand to cls-a2, archived by hand (taking the membership); a night
    archives cls-a2; tch-2 unarchived by hand, the membership waits for the class (handed to
    its archive); tch-2 archived by hand again. Returns the night that archived the class."""
    e = sync.engine
    e.add_classroom_member("cls-a2", "tch-2", "teacher")
    e.archive_user("tch-2")
    night = sync.apply(_without_science(tiny), override=True)
    e.unarchive_user("tch-2")
    e.archive_user("tch-2")
    assert _co_teacher(sync) == "archived"
    return night.run_id


# ------------------------------------------------- a night brings the class back without them


def test_a_co_teacher_the_class_came_back_without_comes_back_with_them(sync, tiny, tiny_applied):
    _handed_to_the_class_then_archived_again(sync, tiny)
    sync.apply(tiny, override=True)
    assert _co_teacher(sync) == "archived"
    assert _failed_checks(sync) == []
    sync.engine.unarchive_user("tch-2")
    assert _co_teacher(sync) == "active"
    assert _failed_checks(sync) == []


def test_the_night_says_a_co_teacher_waits_for_their_archived_person(sync, tiny, tiny_applied):
    _handed_to_the_class_then_archived_again(sync, tiny)
    run = sync.apply(tiny, override=True)
    assert {"kind": "enrollments", "message": (
        "1 membership made by hand, archived with a class this run brings back, waits for its "
        "person, who is archived: it comes back with them"
    )} in run.notes  # fmt: skip


def test_a_co_teacher_comes_back_with_a_revert_that_brought_the_class_back_without_them(
    sync, tiny, tiny_applied
):
    night = _handed_to_the_class_then_archived_again(sync, tiny)
    _revert(sync, night)
    assert _co_teacher(sync) == "archived"
    assert _failed_checks(sync) == []
    sync.engine.unarchive_user("tch-2")
    assert _co_teacher(sync) == "active"
    assert _failed_checks(sync) == []


def test_a_member_comes_back_after_the_feed_brought_back_their_club_without_them(sync, tiny, club):
    """The club adopted by the feed (a SIS class now); tch-1 archived by hand; a night leaves
    the club out, tch-1 is unarchived (the membership waits for the club) and archived again;
    the next night sends the club."""
    e = sync.engine
    e.set_classroom_sis_id(f"#{club}", "cls-club")
    drop = _with_the_club(tiny)
    sync.apply(drop)
    e.archive_user("tch-1")
    sync.apply(tiny, override=True)
    e.unarchive_user("tch-1")
    e.archive_user("tch-1")
    sync.apply(drop, override=True)
    e.unarchive_user("tch-1")
    assert ("tch-1", "active") in _members(sync, club)
    assert _failed_checks(sync) == []


# ------------------------------------------------------------ a class archive withheld


@pytest.fixture
def withheld_club_night(sync, tiny, club):
    """The club adopted by the feed; stu-1 archived by hand (taking their membership); under
    archive_mode = additions_only a night leaves the club out (its archive withheld) and lists
    stu-1, who comes back."""
    e = sync.engine
    e.set_classroom_sis_id(f"#{club}", "cls-club")
    sync.apply(_with_the_club(tiny))
    e.archive_user("stu-1")
    e.settings_set("archive_mode", "additions_only")
    return sync.apply(tiny)


def test_a_member_comes_back_when_the_archive_of_their_class_is_withheld(
    sync, club, withheld_club_night
):
    assert withheld_club_night.withheld == {"classrooms": 1}
    assert ("stu-1", "active") in _members(sync, club)
    assert _failed_checks(sync) == []


def test_the_night_lists_the_member_it_brings_back_when_the_class_archive_is_withheld(
    sync, club, withheld_club_night
):
    changes = sync.engine.db.rows(
        """SELECT c.op FROM changes c JOIN enrollments e ON e.enrollment_id = c.record_id
           JOIN users u USING (user_id)
           WHERE c.run_id = ? AND c.kind = 'enrollments' AND e.classroom_id = ?""",
        [withheld_club_night.run_id, club],
    )
    assert changes == [("unarchive",)]
    assert not any("waits" in n["message"] for n in withheld_club_night.notes)


def test_an_approved_class_archive_leaves_the_member_as_a_nights_would(
    sync, club, withheld_club_night
):
    """A run's archive of a class takes only the memberships the sync made (sync/diff.py), so
    the approval, like the night it was withheld from, leaves stu-1's own."""
    sync.engine.decide_withheld(withheld_club_night.run_id, "approve", "the club ended")
    assert _classroom(sync, club) == ("archived", "sync")
    assert ("stu-1", "active") in _members(sync, club)
    assert _failed_checks(sync) == []


# ------------------------------------------------------------ a link to a person merged away


@pytest.fixture
def link_on_a_tombstone(sync, tiny, tiny_applied) -> tuple[int, int]:
    """Two records of one aunt, each linked by hand to stu-4; stu-4 archived by hand (taking
    both links); the twin merged into the aunt, its link (the same pair) left on the tombstone.
    Returns (the aunt's link, the tombstone's)."""
    e = sync.engine
    e.settings_set("daily_sync_enabled", "false")
    aunt = e.create_user("guardian", "Aunt", "Patel")
    twin = e.create_user("guardian", "Aunt", "Patel")
    links = (e.link_guardian(f"#{aunt}", "stu-4"), e.link_guardian(f"#{twin}", "stu-4"))
    e.archive_user("stu-4")
    e.duplicates_merge(f"#{twin}", f"#{aunt}", keep=aunt)
    return links


def _link(sync, link: int) -> str:
    return sync.engine.db.one("SELECT status FROM guardian_links WHERE link_id = ?", [link])


def test_a_night_bringing_back_the_student_brings_back_the_survivors_link(
    sync, tiny, link_on_a_tombstone
):
    kept, on_the_tombstone = link_on_a_tombstone
    sync.apply(tiny)
    assert (_link(sync, kept), _link(sync, on_the_tombstone)) == ("active", "archived")
    assert _failed_checks(sync) == []


def test_a_link_to_a_person_merged_away_is_not_said_to_wait(sync, tiny, link_on_a_tombstone):
    run = sync.apply(tiny)
    assert not any("waits" in n["message"] for n in run.notes)


def test_unarchiving_the_student_by_hand_leaves_the_tombstones_link(
    sync, tiny, link_on_a_tombstone
):
    kept, on_the_tombstone = link_on_a_tombstone
    sync.engine.unarchive_user("stu-4")
    assert (_link(sync, kept), _link(sync, on_the_tombstone)) == ("active", "archived")
    assert _failed_checks(sync) == []


# ------------------------------------------------------------ the invariant


def test_check_names_a_hand_made_membership_left_to_an_archive_that_is_over(
    sync, tiny, tiny_applied
):
    e = sync.engine
    e.add_classroom_member("cls-a2", "tch-2", "teacher")
    e.db.execute(
        """UPDATE enrollments SET status = 'archived', archived_at = current_timestamp
           WHERE origin = 'hand'"""
    )
    assert _failed_checks(sync) == [
        ("archived hand-made memberships and links wait for an archived owner", 1)
    ]
