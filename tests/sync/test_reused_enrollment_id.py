"""A new membership sent under an existing membership's sourcedId, one line above it: the later
line is in error as a duplicate and keeps its membership, so the first does not make a second
one with that SIS id (it did: an export then repeated the sourcedId, and its sync back reported
an error). Found by tests/properties/test_sync_properties.py (reuse_enrollment_id_above)."""

from __future__ import annotations

import pytest

from daemon.sync.feed.classes import MOVED_SIS_ID_NOTE


def test_an_enrollment_id_sent_twice_names_one_active_enrollment(sync, tiny, tiny_applied):
    enrollments = tiny.rows("enrollments.csv")
    first = next(i for i, e in enumerate(enrollments) if e["sourcedId"] == "enr-t2")
    enrollments.insert(first, dict(enrollments[first], classSourcedId="cls-b1"))
    sync.apply(tiny)

    active = sync.engine.db.one(
        "SELECT count(*) FROM enrollments WHERE sis_id = 'enr-t2' AND status = 'active'"
    )
    assert active == 1


def _reuse_above(tiny) -> None:
    """enr-t2 (tch-1 in cls-a2) sent again one line above, naming cls-b1."""
    enrollments = tiny.rows("enrollments.csv")
    first = next(i for i, e in enumerate(enrollments) if e["sourcedId"] == "enr-t2")
    enrollments.insert(first, dict(enrollments[first], classSourcedId="cls-b1"))


def test_the_row_that_would_share_the_id_says_which_membership_holds_it(sync, tiny, tiny_applied):
    _reuse_above(tiny)
    run = sync.plan(tiny)

    [issue] = [i for i in sync.issues(run, "WARNING") if i["rule"] == "not_synced"]
    assert issue["sourced_id"] == "enr-t2"
    assert "already names the membership of 'tch-1' in class 'cls-a2'" in issue["message"]
    assert sync.changes(run, "enrollments", "create") == []


def _delta_moving_enr_t2_to_cls_b1(tiny, *more: dict[str, str]) -> None:
    """A changes-only enrollments.csv: enr-t2 (tch-1 in cls-a2) now names cls-b1."""
    row = dict(tiny.row("enrollments.csv", "enr-t2"), classSourcedId="cls-b1")
    row.update(status="active", dateLastModified="2026-12-01T06:00:00.000Z")
    tiny.files["enrollments.csv"] = [row, *more]
    tiny.manifest["file.enrollments"] = "delta"


def _memberships_of_enr_t2(sync) -> list[dict[str, str]]:
    return sync.engine.db.dicts(
        """SELECT c.sis_id AS class, e.status FROM enrollments e JOIN classrooms c USING (classroom_id)
           WHERE e.sis_id = 'enr-t2' ORDER BY e.enrollment_id"""
    )


def test_a_delta_row_moving_its_sourcedId_to_another_class_moves_the_membership(
    sync, tiny, tiny_applied
):
    """A good row decides what its sourcedId names, in a changes-only file as in a whole one:
    the membership that held the id is archived, and the row makes the new one."""
    _delta_moving_enr_t2_to_cls_b1(tiny)
    sync.apply(tiny)
    assert _memberships_of_enr_t2(sync) == [
        {"class": "cls-a2", "status": "archived"},
        {"class": "cls-b1", "status": "active"},
    ]


def test_the_archive_of_a_moved_membership_says_why_and_names_the_row(sync, tiny, tiny_applied):
    _delta_moving_enr_t2_to_cls_b1(tiny)
    run = sync.plan(tiny)
    [archive] = sync.changes(run, "enrollments", "archive")
    assert (archive["label"], archive["source_file"], archive["source_line"], archive["note"]) == (
        "tch-1 in cls-a2",
        "enrollments.csv",
        2,
        MOVED_SIS_ID_NOTE,
    )


def test_a_delta_row_moving_an_id_whose_membership_is_held_keeps_the_first(
    sync, tiny, tiny_applied
):
    """The membership holding the id is kept as it is while its class's row is in error (held):
    the row moving its id is not synced, and says which membership holds it."""
    _delta_moving_enr_t2_to_cls_b1(tiny)
    tiny.row("classes.csv", "cls-a2")["title"] = ""  # an ERROR: cls-a2 is held tonight
    run = sync.apply(tiny)
    assert _memberships_of_enr_t2(sync) == [{"class": "cls-a2", "status": "active"}]
    [issue] = [i for i in sync.issues(run, "WARNING") if i["rule"] == "not_synced"]
    assert "already names the membership of 'tch-1' in class 'cls-a2'" in issue["message"]


def test_the_same_delta_again_changes_nothing(sync, tiny, tiny_applied):
    _delta_moving_enr_t2_to_cls_b1(tiny)
    sync.apply(tiny)
    assert sync.plan(tiny).total_changes() == 0


def test_a_bulk_row_moving_its_sourcedId_to_another_class_moves_the_membership(
    sync, tiny, tiny_applied
):
    """Nothing keeps the first membership: it is archived, and the row makes the new one."""
    tiny.row("enrollments.csv", "enr-t2")["classSourcedId"] = "cls-b1"
    sync.apply(tiny)

    rows = sync.engine.db.dicts(
        """SELECT c.sis_id AS class, e.status FROM enrollments e JOIN classrooms c USING (classroom_id)
           WHERE e.sis_id = 'enr-t2' ORDER BY e.enrollment_id"""
    )
    assert rows == [
        {"class": "cls-a2", "status": "archived"},
        {"class": "cls-b1", "status": "active"},
    ]


@pytest.mark.parametrize(
    "settings",
    [
        {"archive_mode": "additions_only"},
        {"threshold_action": "withhold_archives", "deletion_threshold_count": "0"},
    ],
    ids=["additions_only", "withhold_archives"],
)
def test_a_move_applies_whole_when_archives_are_withheld(sync, tiny, settings, tiny_applied):
    """The membership leaving the id goes with the row that takes it: withheld, two active
    memberships would share the id and the whole night would fail at apply (found by review)."""
    for name, value in settings.items():
        sync.engine.settings_set(name, value)
    _delta_moving_enr_t2_to_cls_b1(tiny)
    sync.apply(tiny, override=True)
    assert _memberships_of_enr_t2(sync) == [
        {"class": "cls-a2", "status": "archived"},
        {"class": "cls-b1", "status": "active"},
    ]


def test_a_bulk_move_applies_whole_under_additions_only(sync, tiny, tiny_applied):
    sync.engine.settings_set("archive_mode", "additions_only")
    tiny.row("enrollments.csv", "enr-t2")["classSourcedId"] = "cls-b1"
    sync.apply(tiny)
    assert [m["status"] for m in _memberships_of_enr_t2(sync)] == ["archived", "active"]
