"""The school rule where a person decides later (found by an adversarial read of 7e158fb): a
revert does not ask a question whose take would leave a class in an archived school, or
archive a school a class stays in (it says why in a note instead); approving withheld
archives archives what a later night attached to a person or class it archives, as a night's
archive does, rather than refuse or leave it active."""

from __future__ import annotations

import pytest

from tests.district import TinyDistrict
from tests.sync.test_school_and_its_classes_later import (
    _applied_revert,
    _said,
    _school_c,
    _status,
)
from tests.sync.test_school_still_named import _failed_checks, _without_school_b


def _asked(sync, run_id: int) -> set[tuple[str, str | None, str]]:
    return {
        (c.record_kind, c.sis_id, c.field) for c in sync.engine.conflicts(run_id, limit=500).items
    }


# ------------------------------------------------------------------ what a revert asks


@pytest.fixture
def birch_closed_twice(sync, tiny, tiny_applied):
    """Run 2 closes Birch and its class, run 3 brings both back, run 4 closes both again."""
    closed = sync.apply(_without_school_b(tiny), override=True)
    sync.apply(tiny, override=True)
    sync.apply(_without_school_b(tiny), override=True)
    return closed


def test_a_revert_does_not_ask_to_bring_a_class_back_into_a_school_archived_again(
    sync, birch_closed_twice
):
    revert = sync.engine.revert_run(birch_closed_twice.run_id)
    assert ("classrooms", "cls-b1", "status") not in _asked(sync, revert.run_id)
    assert (
        "class 'Homeroom 5B' (cls-b1), which run 2 archived, stays archived: its school 'sch-b' "
        "is archived (by run 4) and the revert does not bring it back"
    ) in _said(revert)


def test_that_revert_applies_and_leaves_the_directory_whole(sync, birch_closed_twice):
    _applied_revert(sync, birch_closed_twice.run_id)
    assert _status(sync, "classrooms", "cls-b1") == "archived"
    assert _failed_checks(sync) == []


@pytest.fixture
def moved_then_birch_closed(sync, tiny, tiny_applied):
    """Run 2 moves Birch's class to Alder; run 3 closes Birch and moves the class to Cedar."""
    moved = tiny.copy()
    moved.row("classes.csv", "cls-b1")["schoolSourcedId"] = "sch-a"
    moving = sync.apply(moved)
    later = _without_school_b(_school_c(tiny))
    later.rows("classes.csv").append(
        {**tiny.row("classes.csv", "cls-b1"), "schoolSourcedId": "sch-c"}
    )
    sync.apply(later, override=True)
    return moving


def test_a_revert_does_not_ask_to_move_a_class_back_into_an_archived_school(
    sync, moved_then_birch_closed
):
    revert = sync.engine.revert_run(moved_then_birch_closed.run_id)
    assert ("classrooms", "cls-b1", "school_id") not in _asked(sync, revert.run_id)
    assert (
        "class 'Homeroom 5B' (cls-b1) stays in school 'sch-c': run 2 moved it out of school "
        "'sch-b', which is archived (by run 3) now"
    ) in _said(revert)


def test_a_revert_does_not_ask_to_archive_a_school_a_class_stays_in(sync, tiny, tiny_applied):
    opened = _school_c(tiny)
    created = sync.apply(opened)
    opened.row("orgs.csv", "sch-c")["name"] = "Cedar Academy"
    opened.row("classes.csv", "cls-c1")["title"] = "Homeroom 5C/6C"
    sync.apply(opened)  # both changed since: the revert archives neither
    revert = sync.engine.revert_run(created.run_id)
    asked = _asked(sync, revert.run_id)
    assert ("schools", "sch-c", "status") not in asked
    assert ("classrooms", "cls-c1", "status") in asked  # the class's own question stays
    assert (
        "school 'sch-c' (Cedar Academy) stays active, though run 2 created it: 1 class in it "
        "stays active"
    ) in _said(revert)


# ------------------------------------------------------------ approving withheld archives

WHEN = {"status": "active", "dateLastModified": "2026-12-01T06:00:00.000Z"}


def _delta(files: dict, **modes: str) -> TinyDistrict:
    manifest = {
        f"file.{name}": "absent"
        for name in ("orgs", "classes", "enrollments", "users", "demographics")
    }
    manifest.update({f"file.{name}": mode for name, mode in modes.items()})
    return TinyDistrict(files, manifest)


@pytest.fixture
def stu_9_withheld(sync, tiny, tiny_applied):
    """Summer: additions only; stu-9 and gdn-4 leave, and their archives wait."""
    sync.engine.settings_set("archive_mode", "additions_only")
    left = tiny.copy()
    left.remove("users.csv", sourcedId="stu-9")
    left.remove("users.csv", sourcedId="gdn-4")
    left.remove("enrollments.csv", userSourcedId="stu-9")
    run = sync.apply(left)
    assert run.withheld["students"] == 1 and run.withheld["guardians"] == 1
    sync.engine.settings_set("archive_mode", "normal")
    return run


def _withheld(sync, run_id: int, kind: str) -> dict[str | None, tuple[str, str | None]]:
    return {
        w.sis_id: (w.outcome, w.note)
        for w in sync.engine.withheld_page(run_id, limit=500).items
        if w.kind == kind
    }


def test_approving_archives_a_membership_a_later_night_gave_the_person(sync, tiny, stu_9_withheld):
    enrolled = {**tiny.row("enrollments.csv", "enr-1b"), "sourcedId": "enr-9b",
                "userSourcedId": "stu-9", **WHEN}  # fmt: skip
    sync.apply(_delta({"enrollments.csv": [enrolled]}, enrollments="delta"))
    sync.engine.decide_withheld(stu_9_withheld.run_id, "approve", "they left in June")
    assert _withheld(sync, stu_9_withheld.run_id, "enrollments")["enr-9b"] == (
        "archived",
        "its person is archived",
    )
    assert _status(sync, "enrollments", "enr-9b") == "archived"
    assert _failed_checks(sync) == []


def test_approving_archives_a_link_a_later_night_gave_the_guardian(sync, tiny, stu_9_withheld):
    new = {**tiny.row("users.csv", "stu-4"), "sourcedId": "stu-11", "identifier": "S11",
           "username": "kai.patel", "agentSourcedIds": "gdn-4", **WHEN}  # fmt: skip
    sync.apply(_delta({"users.csv": [new]}, users="delta"))
    sync.engine.decide_withheld(stu_9_withheld.run_id, "approve", "they left in June")
    db = sync.engine.db
    assert (
        db.one(
            """SELECT l.status FROM guardian_links l JOIN users s ON s.user_id = l.student_id
           WHERE s.sis_id = 'stu-11'"""
        )
        == "archived"
    )
    assert _failed_checks(sync) == []


def test_approving_archives_a_membership_a_later_night_added_to_the_class(sync, tiny, tiny_applied):
    sync.engine.settings_set("archive_mode", "additions_only")
    left = tiny.copy()
    left.remove("classes.csv", sourcedId="cls-a2")
    left.remove("enrollments.csv", classSourcedId="cls-a2")
    withheld = sync.apply(left)
    assert withheld.withheld["classrooms"] == 1
    sync.engine.settings_set("archive_mode", "normal")
    new = {**tiny.row("enrollments.csv", "enr-1b"), "sourcedId": "enr-7b",
           "userSourcedId": "stu-7", **WHEN}  # fmt: skip
    sync.apply(_delta({"enrollments.csv": [new]}, enrollments="delta"))
    sync.engine.decide_withheld(withheld.run_id, "approve", "Science 5 ended")
    assert _withheld(sync, withheld.run_id, "enrollments")["enr-7b"] == (
        "archived",
        "its class is archived",
    )
    assert _failed_checks(sync) == []


def test_what_goes_with_them_reads_as_a_change_does(sync, tiny, stu_9_withheld):
    enrolled = {**tiny.row("enrollments.csv", "enr-1b"), "sourcedId": "enr-9b",
                "userSourcedId": "stu-9", **WHEN}  # fmt: skip
    sync.apply(_delta({"enrollments.csv": [enrolled]}, enrollments="delta"))
    sync.engine.decide_withheld(stu_9_withheld.run_id, "approve", "they left in June")
    [added] = [
        w for w in sync.engine.withheld_page(stu_9_withheld.run_id).items if w.sis_id == "enr-9b"
    ]
    assert (added.label, added.source_file) == ("stu-9 in cls-a2", "enrollments.csv")
