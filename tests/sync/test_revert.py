"""Undoing an applied run (issue 17, section 1): `revert RUN` plans a normal run that restores
what RUN changed, and turns what was changed again since into conflicts."""

from __future__ import annotations

import json

import pytest

from daemon.sync.runs import RunError


def _second_day(tiny) -> None:
    """A new student, a new family name and email, a student gone."""
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-11", "givenName": "Kai",
         "identifier": "S11", "username": "kai.lopez", "agentSourcedIds": ""}
    )  # fmt: skip
    tiny.row("users.csv", "stu-3").update(familyName="Nguyen-Tran", email="cleo.nt@example.org")
    tiny.remove("users.csv", sourcedId="stu-10")
    tiny.remove("enrollments.csv", userSourcedId="stu-10")


@pytest.fixture
def day2(sync, tiny, tiny_applied):
    _second_day(tiny)
    return sync.apply(tiny)


def test_a_revert_is_a_planned_run_that_restores_what_the_run_changed(sync, day2):
    revert = sync.engine.revert_run(day2.run_id)
    assert revert.status == "planned" and revert.reverted_run == day2.run_id
    assert revert.changes["students"] == {"create": 0, "update": 1, "archive": 1, "unarchive": 1}
    assert sync.user("stu-11")["status"] == "active"  # planning changes nothing
    [update] = sync.changes(revert, "students", "update")
    assert {(f["field"], f["old"], f["new"]) for f in update["fields"]} == {
        ("family_name", "Nguyen-Tran", "Nguyen"),
        ("email", "cleo.nt@example.org", "cleo@students.example.org"),
    }

    sync.apply_planned(revert)
    assert sync.user("stu-11")["status"] == "archived"
    assert sync.user("stu-10")["status"] == "active"
    assert sync.user("stu-3")["family_name"] == "Nguyen"
    db = sync.engine.db
    assert db.one("SELECT count(*) FROM enrollments WHERE user_id = ? AND status = 'active'",
                  [sync.user("stu-10")["user_id"]]) == 1  # fmt: skip
    details = db.one(
        "SELECT details FROM audit_log WHERE action = 'run.apply' AND target_id = ?",
        [revert.run_id],
    )
    assert json.loads(details)["reverted_run"] == day2.run_id
    assert all(n == 0 for _, n in sync.engine.check())


def test_reverting_a_revert_restores_the_run_s_changes(sync, day2):
    first = sync.apply_planned(sync.engine.revert_run(day2.run_id))
    again = sync.apply_planned(sync.engine.revert_run(first.run_id))
    assert again.reverted_run == first.run_id and again.conflicts == 0
    assert sync.user("stu-11")["status"] == "active"
    assert sync.user("stu-10")["status"] == "archived"
    assert sync.user("stu-3")["family_name"] == "Nguyen-Tran"
    assert all(n == 0 for _, n in sync.engine.check())


def test_a_field_edited_by_hand_since_is_a_conflict_not_overwritten(sync, day2):
    sync.engine.edit_contact("stu-3", {"email": "cleo.home@example.org"})
    revert = sync.engine.revert_run(day2.run_id)
    [conflict] = sync.engine.conflicts(revert.run_id).items
    assert (conflict.field, conflict.feed_value, conflict.directory_value) == (
        "email",
        "cleo@students.example.org",
        "cleo.home@example.org",
    )
    assert "edited by hand since" in conflict.message and conflict.suggestion == "keep"
    sync.apply_planned(revert)
    stu3 = sync.user("stu-3")
    assert (stu3["family_name"], stu3["email"]) == ("Nguyen", "cleo.home@example.org")


def test_a_revert_notes_how_many_changes_were_changed_again_since(sync, day2):
    sync.engine.edit_contact("stu-3", {"email": "cleo.home@example.org"})
    revert = sync.engine.revert_run(day2.run_id)
    [note] = [n["message"] for n in revert.notes if n["kind"] == "revert"]
    assert note.startswith(f"1 change of run {day2.run_id} was changed again since")


def test_a_conflict_taken_restores_the_value_after_all(sync, day2):
    sync.engine.edit_contact("stu-3", {"email": "cleo.home@example.org"})
    revert = sync.engine.revert_run(day2.run_id)
    [conflict] = sync.engine.conflicts(revert.run_id).items
    sync.engine.resolve_conflicts([conflict.conflict_id], "take")
    sync.apply_planned(revert)
    assert sync.user("stu-3")["email"] == "cleo@students.example.org"


def test_a_field_of_a_record_archived_since_is_a_conflict_not_left_silently(sync, day2):
    """The revert restored nothing and said nothing: 'the directory already matches'."""
    sync.engine.archive_user("stu-3")
    revert = sync.engine.revert_run(day2.run_id)
    conflicts = [c for c in sync.engine.conflicts(revert.run_id).items if c.sis_id == "stu-3"]
    assert {(c.field, c.feed_value, c.directory_value) for c in conflicts} == {
        ("family_name", "Nguyen", "Nguyen-Tran"),
        ("email", "cleo@students.example.org", "cleo.nt@example.org"),
    }
    assert all("archived by hand since" in c.message for c in conflicts)
    sync.engine.resolve_conflicts([c.conflict_id for c in conflicts], "take")
    # one student fewer: archiving stu-11 again is over the threshold now
    sync.engine.apply_run(revert.run_id, override=True, reason="stu-11 goes again")
    stu3 = sync.user("stu-3")
    assert (stu3["status"], stu3["family_name"]) == ("archived", "Nguyen")
    assert all(n == 0 for _, n in sync.engine.check())


def _robotics_adopted(sync, tiny):
    """A hand-made classroom Robotics of a hand-made school Annex (no SIS id), adopted by a run
    that puts it at sch-a: (Annex, Robotics, the run)."""
    e = sync.engine
    school = e.create_school("Annex")
    classroom = e.create_classroom("Robotics", f"#{school}")
    e.set_classroom_sis_id(f"#{classroom}", "cls-robo")
    tiny.rows("classes.csv").append(
        {**tiny.row("classes.csv", "cls-a1"), "sourcedId": "cls-robo", "title": "Robotics"}
    )
    return school, classroom, sync.apply(tiny)


def test_a_classroom_the_run_moved_out_of_a_school_without_a_sis_id_goes_back_to_it(
    sync, tiny, tiny_applied
):
    """The change showed the old school as nothing, and the revert left the classroom in no
    school."""
    e = sync.engine
    school, classroom, adopted = _robotics_adopted(sync, tiny)
    [moved] = sync.changes(adopted, "classrooms", "update")
    assert {"field": "school_id", "old": f"#{school}", "new": "sch-a"} in moved["fields"]
    sync.apply_planned(e.revert_run(adopted.run_id))
    assert e.db.one("SELECT school_id FROM classrooms WHERE classroom_id = ?", [classroom]) == (
        school
    )
    assert all(n == 0 for _, n in e.check())


def test_a_classroom_goes_back_to_the_school_its_change_named_by_id_not_one_with_that_sis_id(
    sync, tiny, tiny_applied
):
    """The change showed Annex as '#4'; a school the SIS sent as '#4' since took the classroom."""
    school, classroom, adopted = _robotics_adopted(sync, tiny)
    tiny.rows("orgs.csv").append({**tiny.row("orgs.csv", "sch-b"), "sourcedId": f"#{school}"})
    sync.apply(tiny)
    sync.apply_planned(sync.engine.revert_run(adopted.run_id))
    db = sync.engine.db
    assert db.one("SELECT school_id FROM classrooms WHERE classroom_id = ?", [classroom]) == school


def test_a_record_a_later_run_changed_is_a_conflict(sync, tiny, day2):
    tiny.row("users.csv", "stu-11")["familyName"] = "Lopez-Kai"
    sync.apply_planned(sync.plan(tiny))
    revert = sync.engine.revert_run(day2.run_id)
    assert revert.changes["students"]["archive"] == 0
    [conflict] = [c for c in sync.engine.conflicts(revert.run_id).items if c.sis_id == "stu-11"]
    assert (
        conflict.field == "status" and f"changed by run {day2.run_id + 1} since" in conflict.message
    )
    sync.apply_planned(revert)
    assert sync.user("stu-11")["status"] == "active"


def test_a_revert_is_held_by_the_deletion_threshold_like_any_run(sync, tiny, tiny_applied):
    for i in range(11, 16):
        tiny.rows("users.csv").append(
            {**tiny.row("users.csv", "stu-1"), "sourcedId": f"stu-{i}", "identifier": f"S{i}"}
        )
    added = sync.apply(tiny)
    revert = sync.engine.revert_run(added.run_id)
    assert revert.status == "held" and revert.changes["students"]["archive"] == 5


def test_only_an_applied_run_can_be_reverted(sync, tiny):
    run = sync.plan(tiny)
    with pytest.raises(RunError, match="only an applied run"):
        sync.engine.revert_run(run.run_id)
    with pytest.raises(RunError, match="there is no run 9"):
        sync.engine.revert_run(9)
