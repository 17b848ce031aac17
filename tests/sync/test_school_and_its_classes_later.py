"""A school and what lives in it go together after the night as well: approving withheld
archives later and reverting a run never leave an active class (or person) the sync made in a
school they archive, nor bring a class back into a school that stays archived
(tests/sync/test_school_still_named.py is the night's side of the rule). Apply, a revert's
included, refuses a directory that breaks it."""

from __future__ import annotations

import pytest

from daemon.sync.runs import RunError
from tests.directory_state import directory_fingerprint
from tests.sync.test_school_still_named import _failed_checks, _without_school_b


def _status(sync, table: str, sis_id: str) -> str:
    return sync.engine.db.one(f"SELECT status FROM {table} WHERE sis_id = ?", [sis_id])


def _outcomes(sync, run_id: int) -> dict[str, tuple[str, str | None]]:
    return {
        w.sis_id: (w.outcome, w.outcome_note)
        for w in sync.engine.withheld_page(run_id).items
        if w.kind in ("schools", "classrooms", "students")
    }


def _said(run) -> list[str]:
    return [note["message"] for note in run.notes if note.get("kind") == "revert"]


def _applied_revert(sync, run_id: int):
    revert = sync.engine.revert_run(run_id)
    assert revert.status in ("planned", "held"), revert.error
    return sync.engine.apply_run(revert.run_id, override=True, reason="reviewed")


# ------------------------------------------------------------ approving withheld archives


@pytest.fixture
def school_b_withheld(sync, tiny, tiny_applied):
    """Birch School ends with everything in it; every archive waits (threshold_action =
    withhold_archives, the night being over the deletion threshold)."""
    sync.engine.settings_set("threshold_action", "withhold_archives")
    run = sync.apply(_without_school_b(tiny))
    assert run.withheld["schools"] == 1 and run.withheld["classrooms"] == 1
    return run


def test_approving_keeps_a_school_whose_class_was_kept(sync, school_b_withheld):
    sync.engine.rename_classroom("cls-b1", "Homeroom 5B (Annex)")  # edited by hand since
    sync.engine.decide_withheld(school_b_withheld.run_id, "approve", "Birch closed")
    assert _outcomes(sync, school_b_withheld.run_id)["sch-b"] == (
        "kept",
        "kept: a class in it stays active",
    )
    assert (_status(sync, "schools", "sch-b"), _status(sync, "classrooms", "cls-b1")) == (
        "active",
        "active",
    )
    assert _failed_checks(sync) == []


def test_approving_keeps_a_school_whose_person_was_kept(sync, school_b_withheld):
    sync.engine.edit_contact("stu-7", {"email": "stu7@example.org"})  # edited by hand since
    sync.engine.decide_withheld(school_b_withheld.run_id, "approve", "Birch closed")
    outcomes = _outcomes(sync, school_b_withheld.run_id)
    assert outcomes["stu-7"] == ("kept", "edited by hand since")
    assert outcomes["sch-b"] == ("kept", "kept: a person in it stays active")
    assert outcomes["cls-b1"] == ("archived", None)
    assert _failed_checks(sync) == []


def test_approving_what_nothing_kept_archives_the_school_with_everything_in_it(
    sync, school_b_withheld
):
    run = sync.engine.decide_withheld(school_b_withheld.run_id, "approve", "Birch closed")
    assert "kept" not in run.withheld_outcome
    assert (_status(sync, "schools", "sch-b"), _status(sync, "classrooms", "cls-b1")) == (
        "archived",
        "archived",
    )
    assert _failed_checks(sync) == []


def test_approving_refuses_to_break_the_directory_and_changes_nothing(
    sync, school_b_withheld, monkeypatch
):
    """A fault in deciding (here: the rule keeping the school, taken out) fails the decision
    by the directory's invariants, as an apply does, instead of committing it."""
    from daemon.sync import withheld

    monkeypatch.setattr(withheld, "_kept_for_what_stays_in_it", lambda: "")
    sync.engine.rename_classroom("cls-b1", "Homeroom 5B (Annex)")
    db = sync.engine.db
    before = directory_fingerprint(db)
    with pytest.raises(withheld.WithheldError, match="active classrooms the sync made belong"):
        sync.engine.decide_withheld(school_b_withheld.run_id, "approve", "Birch closed")
    assert directory_fingerprint(db) == before
    assert sync.engine.get_run(school_b_withheld.run_id).withheld_decision is None


# ------------------------------------------------------------------------------ reverts


def _revert_of_birch_closed_after_it_closed_again(sync, tiny):
    """Run 2 closes Birch (its class and people archived with it), run 3 brings Birch alone
    back, run 4 closes it again; then run 2 is reverted (and the revert applied)."""
    closed = sync.apply(_without_school_b(tiny), override=True)
    reopened = _without_school_b(tiny)
    reopened.rows("orgs.csv").append(dict(tiny.row("orgs.csv", "sch-b")))
    sync.apply(reopened, override=True)
    sync.apply(_without_school_b(tiny), override=True)
    return _applied_revert(sync, closed.run_id)


def test_a_revert_leaves_a_class_archived_in_a_school_archived_again_since(
    sync, tiny, tiny_applied
):
    revert = _revert_of_birch_closed_after_it_closed_again(sync, tiny)
    assert (_status(sync, "schools", "sch-b"), _status(sync, "classrooms", "cls-b1")) == (
        "archived",
        "archived",
    )
    assert (
        "class 'Homeroom 5B' (cls-b1), which run 2 archived, stays archived: its school 'sch-b' "
        "is archived (by run 4) and the revert does not bring it back"
    ) in _said(revert)
    assert _failed_checks(sync) == []


def _school_c(tiny):
    """Cedar School, new, with one class."""
    opened = tiny.copy()
    opened.rows("orgs.csv").append(
        {**tiny.row("orgs.csv", "sch-b"), "sourcedId": "sch-c", "name": "Cedar School"}
    )
    opened.rows("classes.csv").append(
        {
            **tiny.row("classes.csv", "cls-b1"),
            "sourcedId": "cls-c1",
            "title": "Homeroom 5C",
            "schoolSourcedId": "sch-c",
        }
    )
    return opened


def test_a_revert_keeps_a_school_it_would_archive_while_a_class_in_it_stays(
    sync, tiny, tiny_applied
):
    opened = _school_c(tiny)
    created = sync.apply(opened)
    opened.row("classes.csv", "cls-c1")["title"] = "Homeroom 5C/6C"
    sync.apply(opened)  # the class changed since: the revert does not archive it
    revert = _applied_revert(sync, created.run_id)
    assert (_status(sync, "schools", "sch-c"), _status(sync, "classrooms", "cls-c1")) == (
        "active",
        "active",
    )
    assert (
        "school 'sch-c' (Cedar School) stays active, though run 2 created it: 1 class in it "
        "stays active"
    ) in _said(revert)
    assert _failed_checks(sync) == []


def test_a_revert_archives_a_school_it_created_with_the_class_it_created(sync, tiny, tiny_applied):
    created = sync.apply(_school_c(tiny))
    _applied_revert(sync, created.run_id)
    assert (_status(sync, "schools", "sch-c"), _status(sync, "classrooms", "cls-c1")) == (
        "archived",
        "archived",
    )
    assert _failed_checks(sync) == []


def test_a_revert_does_not_move_a_class_back_into_a_school_archived_since(sync, tiny, tiny_applied):
    moved = tiny.copy()
    moved.row("classes.csv", "cls-b1")["schoolSourcedId"] = "sch-a"
    moving = sync.apply(moved)
    closed = _without_school_b(tiny)
    closed.rows("classes.csv").append(
        {**tiny.row("classes.csv", "cls-b1"), "schoolSourcedId": "sch-a"}
    )
    sync.apply(closed, override=True)  # Birch ends; its class lives on in Ash
    revert = _applied_revert(sync, moving.run_id)
    assert _status(sync, "classrooms", "cls-b1") == "active"
    assert (
        sync.engine.db.one(
            "SELECT s.sis_id FROM classrooms c JOIN schools s USING (school_id) WHERE c.sis_id = 'cls-b1'"
        )
        == "sch-a"
    )
    assert (
        "class 'Homeroom 5B' (cls-b1) stays in school 'sch-a': run 2 moved it out of school "
        "'sch-b', which is archived (by run 3) now"
    ) in _said(revert)
    assert _failed_checks(sync) == []


# ------------------------------------------------------------------------ apply refuses


def _planned_with_school_b_archived(sync, tiny):
    """A night's plan (one name changed) into which a fault writes Birch School's archive."""
    tiny.row("users.csv", "stu-2")["familyName"] = "Okafor-Bell"
    planned = sync.plan(tiny)
    sync.engine.db.execute(
        f"""INSERT INTO run_{planned.run_id}.plan_schools BY NAME
            SELECT 'archive' AS op, school_id AS id, name, sis_id, 'orgs.csv' AS _file,
                   3 AS _line
            FROM schools WHERE sis_id = 'sch-b'"""
    )
    return planned


def test_apply_refuses_a_plan_archiving_a_school_that_keeps_an_active_class(
    sync, tiny, tiny_applied
):
    planned = _planned_with_school_b_archived(sync, tiny)
    db = sync.engine.db
    before = directory_fingerprint(db)
    with pytest.raises(RunError, match="active classrooms the sync made belong to active schools"):
        sync.engine.apply_run(planned.run_id)
    assert directory_fingerprint(db) == before


# ------------------------------------------------------------------------- check, people


def _close_school_b_under_its_people(sync) -> None:
    """A directory where Birch is archived and its people are not (as before the rule)."""
    sync.engine.db.execute("UPDATE schools SET status = 'archived' WHERE sis_id = 'sch-b'")
    sync.engine.db.execute("UPDATE classrooms SET status = 'archived' WHERE sis_id = 'cls-b1'")
    sync.engine.db.execute(
        "UPDATE enrollments SET status = 'archived' WHERE classroom_id = "
        "(SELECT classroom_id FROM classrooms WHERE sis_id = 'cls-b1')"
    )


def test_check_reports_active_people_of_the_sync_in_archived_schools_only(sync, tiny_applied):
    _close_school_b_under_its_people(sync)
    assert _failed_checks(sync) == [("active people the sync made are in an active school", 9)]


def test_check_leaves_a_person_brought_back_by_hand_and_one_at_an_active_school_too(
    sync, tiny_applied
):
    _close_school_b_under_its_people(sync)
    db = sync.engine.db
    db.execute("UPDATE users SET unarchived_by_hand_at = current_timestamp WHERE sis_id = 'stu-7'")
    db.execute("UPDATE users SET org_sis_ids = 'sch-b,sch-a' WHERE sis_id = 'stu-8'")
    db.execute("UPDATE users SET org_sis_ids = NULL WHERE sis_id = 'stu-9'")  # in no school
    assert _failed_checks(sync) == [("active people the sync made are in an active school", 6)]


def test_a_revert_leaves_people_archived_in_a_school_archived_again_since(sync, tiny, tiny_applied):
    revert = _revert_of_birch_closed_after_it_closed_again(sync, tiny)
    assert _status(sync, "users", "stu-7") == "archived"
    assert (
        "Gus Silva (stu-7), whom run 2 archived, stays archived: no school their orgs name "
        "(sch-b) is active now, and the revert does not bring them back"
    ) in _said(revert)
    assert _failed_checks(sync) == []


def test_a_revert_leaves_a_person_where_they_are_when_their_old_school_is_archived(
    sync, tiny, tiny_applied
):
    moved = tiny.copy()
    moved.row("users.csv", "stu-7")["orgSourcedIds"] = "sch-a"
    run_2 = sync.apply(moved)  # Gus moves from Birch to Alder
    closed = _without_school_b(moved)
    closed.rows("users.csv").append(dict(moved.row("users.csv", "stu-7")))
    sync.apply(closed, override=True)  # Birch closes; Gus stays, at Alder
    revert = _applied_revert(sync, run_2.run_id)
    assert sync.engine.db.one("SELECT org_sis_ids FROM users WHERE sis_id = 'stu-7'") == "sch-a"
    assert any(
        note.startswith("Gus Silva (stu-7) stays at sch-a: run 2 moved them from sch-b")
        for note in _said(revert)
    ), _said(revert)
    assert _failed_checks(sync) == []


def test_a_revert_says_why_it_asks_nothing_of_a_person_archived_since_in_an_archived_school(
    sync, tiny, tiny_applied
):
    """Run 2 closes Birch with its people; Gus comes back with Birch (run 3) and both close
    again (run 4): reverting run 2 asks nothing about Gus (taking it would put him in a closed
    school) and says so, as it does for classes."""
    closed = sync.apply(_without_school_b(tiny), override=True)
    sync.apply(tiny, override=True)
    sync.apply(_without_school_b(tiny), override=True)
    revert = _applied_revert(sync, closed.run_id)
    assert _status(sync, "users", "stu-7") == "archived"
    assert any(note.startswith("Gus Silva (stu-7), whom run 2 archived") for note in _said(revert))
    asked = sync.engine.db.one(
        "SELECT count(*) FROM conflicts c JOIN users u ON u.user_id = c.record_id "
        "WHERE c.run_id = ? AND c.record_kind = 'users' AND u.sis_id = 'stu-7'",
        [revert.run_id],
    )
    assert asked == 0
    assert _failed_checks(sync) == []
