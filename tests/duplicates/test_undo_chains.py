"""Undo after later merges and later drops (found by an adversarial test of chains): an undo
never loses what a later merge brought in, never makes a membership of an archived person
active, and says what it did not put back. `check` holds after every step."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.cli.commands_duplicates import describe_undo
from daemon.duplicates.errors import DuplicateError
from tests.conftest import Sync
from tests.district import TinyDistrict, _enrollment
from tests.duplicates.conftest import add_student_like, snapshot, user_id


def assert_check(engine: Any) -> None:
    """`roster-sync check`: every invariant holds over the whole directory."""
    assert [(name, n) for name, n in engine.check() if n] == []


def link_status(engine: Any, student: int, guardian: int) -> str | None:
    rows = engine.db.rows(
        "SELECT status FROM guardian_links WHERE student_id = ? AND guardian_id = ?",
        [student, guardian],
    )
    return rows[0][0] if rows else None


@pytest.fixture
def guardian_chain(sync: Sync, tiny: TinyDistrict) -> dict[str, Any]:
    """gdn-1 (parent of stu-1) merged into gdn-2, then a hand-made guardian, linked by hand to
    stu-1 too, merged into gdn-2: merge 2 kept the link merge 1 brought and archived its own."""
    e = sync.engine
    sync.apply(tiny)
    hand = e.create_user("guardian", "Hanna", "Handmade")
    e.link_guardian(str(hand), "stu-1", "parent")
    assert_check(e)
    before = snapshot(e.db)
    first = e.duplicates_merge("gdn-1", "gdn-2", keep="gdn-2")
    assert_check(e)
    second = e.duplicates_merge(str(hand), "gdn-2")
    assert_check(e)
    assert link_status(e, user_id(e, "stu-1"), hand) == "archived"
    return {"hand": hand, "first": first, "second": second, "before": before}


def test_undoing_a_merge_a_later_merge_into_the_survivor_relied_on_is_refused(
    sync: Sync, guardian_chain: dict[str, Any]
) -> None:
    """Undoing merge 1 would take the stu-1 link back to gdn-1 while the hand-made guardian's
    own link stays archived on its tombstone: the survivor silently loses the child."""
    e, first, second = sync.engine, guardian_chain["first"], guardian_chain["second"]
    with pytest.raises(DuplicateError, match=f"undo merge {second} first, then merge {first}"):
        e.duplicates_undo(first)
    assert_check(e)
    survivor, stu1 = user_id(e, "gdn-2"), user_id(e, "stu-1")
    assert link_status(e, stu1, survivor) == "active"  # nothing changed


def test_undoing_the_later_merge_first_then_the_earlier_restores_everything(
    sync: Sync, guardian_chain: dict[str, Any]
) -> None:
    e = sync.engine
    e.duplicates_undo(guardian_chain["second"])
    assert_check(e)
    e.duplicates_undo(guardian_chain["first"])
    assert_check(e)
    assert snapshot(e.db) == guardian_chain["before"]
    assert link_status(e, user_id(e, "stu-1"), guardian_chain["hand"]) == "active"


def test_a_later_merge_into_the_survivor_that_shares_nothing_does_not_block_the_undo(
    sync: Sync, tiny: TinyDistrict
) -> None:
    e = sync.engine
    sync.apply(tiny)
    first = e.duplicates_merge("gdn-1", "gdn-2", keep="gdn-2")
    e.duplicates_merge("gdn-3", "gdn-2", keep="gdn-2")  # gdn-3's child is stu-3 only
    e.duplicates_undo(first)
    assert_check(e)
    assert link_status(e, user_id(e, "stu-1"), user_id(e, "gdn-1")) == "active"


@pytest.fixture
def guardian_archived_since(sync: Sync, tiny: TinyDistrict) -> dict[str, Any]:
    """stu-3 entered twice, both children of gdn-3; the merge archives the duplicate's link to
    gdn-3 on the tombstone; then the SIS drops gdn-3, which archives it and the survivor's link."""
    e = sync.engine
    add_student_like(tiny, "stu-3", "stu-3-new", identifier="S3b")
    sync.apply(tiny)
    merge_id = e.duplicates_merge("stu-3-new", "stu-3", keep="stu-3")
    assert_check(e)
    tiny.remove("users.csv", sourcedId="gdn-3")
    for row in tiny.rows("users.csv"):
        if row["agentSourcedIds"] == "gdn-3":
            row["agentSourcedIds"] = ""
    sync.apply(tiny)
    assert_check(e)
    gdn3 = user_id(e, "gdn-3")
    assert e.db.one("SELECT status FROM users WHERE user_id = ?", [gdn3]) == "archived"
    return {"merge_id": merge_id, "gdn3": gdn3, "duplicate": user_id(e, "stu-3-new")}


def test_undo_keeps_archived_a_link_whose_guardian_was_archived_since(
    sync: Sync, guardian_archived_since: dict[str, Any]
) -> None:
    e, g = sync.engine, guardian_archived_since
    e.duplicates_undo(g["merge_id"])
    assert_check(e)
    assert link_status(e, g["duplicate"], g["gdn3"]) == "archived"


def test_undo_says_what_it_did_not_put_back_and_why(
    sync: Sync, guardian_archived_since: dict[str, Any]
) -> None:
    e, g = sync.engine, guardian_archived_since
    undone = e.duplicates_undo(g["merge_id"])
    link = e.db.one(
        "SELECT link_id FROM guardian_links WHERE student_id = ? AND guardian_id = ?",
        [g["duplicate"], g["gdn3"]],
    )
    assert not undone.exact
    text = describe_undo(undone)
    assert "as they were before it" not in text
    assert (
        f"guardian link {link}: status archived: kept archived: guardian {g['gdn3']} is archived"
        in text
    )


@pytest.fixture
def adopted_survivor(sync: Sync, tiny: TinyDistrict) -> dict[str, Any]:
    """gdn-2 archived by hand (its link with it), merged into a hand-made guardian kept as the
    survivor; the next drop sends gdn-2 again, which reaches the survivor through the tombstone
    and unarchives the link the merge moved to it."""
    e = sync.engine
    sync.apply(tiny)
    hand = e.create_user("guardian", "Parent2", "Okafor")
    e.archive_user("gdn-2")
    merge_id = e.duplicates_merge(str(hand), "gdn-2", keep=str(hand))
    assert_check(e)
    sync.apply(tiny)
    assert_check(e)
    assert link_status(e, user_id(e, "stu-2"), hand) == "active"
    return {"merge_id": merge_id, "hand": hand, "gdn2": user_id(e, "gdn-2")}


def test_undo_keeps_archived_the_links_it_moves_back_to_a_record_restored_as_archived(
    sync: Sync, adopted_survivor: dict[str, Any]
) -> None:
    e, a = sync.engine, adopted_survivor
    e.duplicates_undo(a["merge_id"])
    assert_check(e)
    assert e.db.one("SELECT status FROM users WHERE user_id = ?", [a["gdn2"]]) == "archived"
    assert link_status(e, user_id(e, "stu-2"), a["gdn2"]) == "archived"


def test_a_survivor_the_sync_took_over_through_the_tombstone_is_hand_made_again_after_undo(
    sync: Sync, tiny: TinyDistrict, adopted_survivor: dict[str, Any]
) -> None:
    """Left 'sync' with no SIS id of its own, the next drop would archive the hand-made record
    nobody decided to archive."""
    e, a = sync.engine, adopted_survivor
    e.duplicates_undo(a["merge_id"])
    run = sync.apply(tiny)
    assert_check(e)
    assert run.changes["guardians"]["archive"] == 0
    assert e.db.rows("SELECT status, origin FROM users WHERE user_id = ?", [a["hand"]]) == [
        ("active", "hand")
    ]


def test_a_link_made_by_hand_stays_hand_made_through_a_merge_and_its_undo(
    sync: Sync, tiny: TinyDistrict
) -> None:
    """The hand-made guardian's own link to stu-2, made by hand before the merge, is matched by
    the feed's link through the tombstone: it stays the person's (the sync once took it over).
    Once the undo gives the SIS id back, no feed row can name that link: had it become the
    sync's, the next drop would archive it."""
    e = sync.engine
    sync.apply(tiny)
    hand = e.create_user("guardian", "Parent2", "Okafor")
    e.link_guardian(str(hand), "stu-2", "parent")
    e.archive_user("gdn-2")
    merge_id = e.duplicates_merge(str(hand), "gdn-2", keep=str(hand))
    sync.apply(tiny)
    e.duplicates_undo(merge_id)
    run = sync.apply(tiny)
    assert_check(e)
    assert run.changes["guardian_links"]["archive"] == 0
    assert link_status(e, user_id(e, "stu-2"), hand) == "active"
    assert (
        e.db.one(
            "SELECT origin FROM guardian_links WHERE guardian_id = ? AND student_id = ?",
            [hand, user_id(e, "stu-2")],
        )
        == "hand"
    )


def test_undo_names_a_moved_membership_archived_since_with_the_survivor(
    sync: Sync, tiny: TinyDistrict
) -> None:
    """The survivor archived by hand after the merge takes the enrollments the merge moved to
    it; the undo gives them back to the merged record, still archived, and says so."""
    e = sync.engine
    add_student_like(tiny, "stu-3", "stu-3-new", identifier="S3b")
    tiny.rows("enrollments.csv").append(
        _enrollment("enr-3new-b1", "cls-b1", "stu-3-new", school="sch-b")
    )
    sync.apply(tiny)
    duplicate = user_id(e, "stu-3-new")
    merge_id = e.duplicates_merge("stu-3-new", "stu-3", keep="stu-3")
    e.archive_user("stu-3")
    undone = e.duplicates_undo(merge_id)
    assert_check(e)
    moved = e.db.rows(
        "SELECT enrollment_id FROM enrollments WHERE user_id = ? AND status = 'archived'",
        [duplicate],
    )
    assert moved
    named = {(k.table, k.id) for k in undone.not_restored}
    assert {("enrollments", enrollment_id) for (enrollment_id,) in moved} <= named
    assert "archived since the merge" in describe_undo(undone)
