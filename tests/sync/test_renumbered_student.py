"""student_id = identifier: the SIS renumbers a student (same sourcedId, a new identifier).

A live student row whose identifier is no directory record's, whose sourcedId is the SIS id of
exactly one record, a student's, whose own identifier no row of tonight's feed has, and whose
person the row does not contradict (a name in common, no other birth date), is that student
renumbered: the record's identifier is updated in place, traced to the row. It used to be
archived and a second student created, leaving the hand-edited contacts, the activated account,
the hand-made guardian links and classes on the archived record (families stopped getting
messages), silently under the deletion threshold; and switching back to student_id = sourcedId
made a blocking "claimed by more than one record" conflict. Anything less certain is not
guessed: the rows sync as they always did.
"""

from __future__ import annotations

import pytest

NOTHING = {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
RENUMBERED = "renumbered by the SIS: identifier S1 -> S1001, same sourcedId"


@pytest.fixture
def by_identifier(sync, tiny_applied_by_identifier):
    return sync


def _renumber(tiny, sis_id: str = "stu-1", identifier: str = "S1001") -> None:
    tiny.row("users.csv", sis_id)["identifier"] = identifier


def _changes_only(tiny, *rows: dict[str, str]) -> None:
    """users.csv as a delta holding these rows alone."""
    tiny.manifest["file.users"] = "delta"
    tiny.files["users.csv"] = [
        {**row, "status": "active", "dateLastModified": "2026-12-01T06:00:00.000Z"} for row in rows
    ]


def _students(sync, sis_id: str) -> list[dict]:
    return sync.engine.db.dicts(
        """SELECT user_id, identifier, status, email, account_active FROM users
           WHERE sis_id = ? ORDER BY user_id""",
        [sis_id],
    )


# What a person keeps through a renumbering: the names of their guardians and classes.
GUARDIANS_OF = """SELECT g.given_name FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
                  WHERE l.student_id = ? AND l.status = 'active'"""
CLASSES_OF = """SELECT c.name FROM enrollments e JOIN classrooms c USING (classroom_id)
                WHERE e.user_id = ? AND e.status = 'active'"""


def _names(sync, sql: str, user_id: int) -> set[str]:
    return {r[0] for r in sync.engine.db.rows(sql, [user_id])}


def _problems(sync) -> list[str]:
    return [name for name, n in sync.engine.check() if n]


def test_a_renumbered_student_is_updated_not_archived_and_created(by_identifier, tiny):
    before = by_identifier.user("stu-1")
    _renumber(tiny)
    run = by_identifier.apply(tiny)
    assert run.changes["students"] == NOTHING | {"update": 1}
    [student] = _students(by_identifier, "stu-1")
    assert (student["user_id"], student["identifier"]) == (before["user_id"], "S1001")


def test_the_renumbered_record_keeps_its_hand_edited_contacts_and_activation(by_identifier, tiny):
    by_identifier.engine.edit_contact("stu-1", {"email": "ava.home@example.net"})
    by_identifier.engine.set_account_active("stu-1")
    _renumber(tiny)
    by_identifier.apply(tiny)
    [student] = _students(by_identifier, "stu-1")
    assert (student["email"], student["account_active"]) == ("ava.home@example.net", True)


def test_the_renumbered_record_keeps_its_hand_made_guardian_link_and_class(by_identifier, tiny):
    engine = by_identifier.engine
    aunt = engine.create_user("guardian", "Rosa", "Lopez", school="sch-a")
    engine.link_guardian(f"#{aunt}", "stu-1")
    club = engine.create_classroom("Chess Club", "sch-a")
    engine.add_classroom_member(f"#{club}", "stu-1", "student")
    _renumber(tiny)
    by_identifier.apply(tiny)
    student = by_identifier.user("stu-1")["user_id"]
    assert _names(by_identifier, GUARDIANS_OF, student) == {"Parent1", "Rosa"}
    assert _names(by_identifier, CLASSES_OF, student) == {"Homeroom 5A", "Science 5", "Chess Club"}


def test_the_change_says_the_sis_renumbered_them_and_names_the_row(by_identifier, tiny):
    _renumber(tiny)
    run = by_identifier.plan(tiny)
    [change] = by_identifier.changes(run, "students", "update")
    assert (change["note"], change["source_file"], change["source_line"]) == (
        RENUMBERED,
        "users.csv",
        2,
    )
    assert [(f["field"], f["old"], f["new"]) for f in change["fields"]] == [
        ("identifier", "S1", "S1001")
    ]


def test_the_run_says_how_many_students_were_renumbered(by_identifier, tiny):
    _renumber(tiny)
    run = by_identifier.plan(tiny)
    assert {"kind": "users", "message": "1 student renumbered by the SIS (a new identifier, the "
            "same sourcedId) keeps their record: see the students' updates"} in run.notes  # fmt: skip


def test_a_renumbering_archives_nothing_so_nothing_is_held(by_identifier, tiny):
    _renumber(tiny)
    run = by_identifier.plan(tiny)
    assert run.status == "planned"
    assert all(ops["archive"] == 0 for ops in run.changes.values())


def test_the_same_night_twice_changes_nothing(by_identifier, tiny):
    _renumber(tiny)
    by_identifier.apply(tiny)
    assert by_identifier.plan(tiny).total_changes() == 0


def test_a_revert_gives_back_the_old_identifier(by_identifier, tiny):
    _renumber(tiny)
    night = by_identifier.apply(tiny)
    by_identifier.apply_planned(by_identifier.engine.revert_run(night.run_id))
    [student] = _students(by_identifier, "stu-1")
    assert (student["identifier"], student["status"]) == ("S1", "active")
    assert _problems(by_identifier) == []


def test_the_directory_keeps_its_invariants(by_identifier, tiny):
    _renumber(tiny)
    by_identifier.apply(tiny)
    assert _problems(by_identifier) == []


def test_switching_back_to_sourced_id_raises_no_conflict(by_identifier, tiny):
    _renumber(tiny)
    by_identifier.apply(tiny)
    by_identifier.engine.settings_set("student_id", "sourcedId")
    run = by_identifier.plan(tiny)
    assert (run.conflicts, run.total_changes()) == (0, 0)


def test_an_export_synced_back_plans_nothing(by_identifier, tiny, tmp_path):
    _renumber(tiny)
    by_identifier.apply(tiny)
    by_identifier.engine.export(str(tmp_path / "export"))
    run = by_identifier.plan(tmp_path / "export")
    assert run.total_changes() == 0, run.changes


def test_a_renumbering_in_a_changes_only_users_file_keeps_the_record(by_identifier, tiny):
    before = by_identifier.user("stu-1")["user_id"]
    _renumber(tiny)
    _changes_only(tiny, tiny.row("users.csv", "stu-1"))
    run = by_identifier.apply(tiny)
    assert run.rows.error == 0
    [student] = _students(by_identifier, "stu-1")
    assert (student["user_id"], student["identifier"]) == (before, "S1001")


def test_a_student_given_their_first_identifier_keeps_their_record(sync, tiny):
    """Synced by sourcedId while the SIS left the identifier empty, then switched."""
    tiny.row("users.csv", "stu-1")["identifier"] = ""
    sync.apply(tiny)
    before = sync.user("stu-1")["user_id"]
    sync.engine.settings_set("student_id", "identifier")
    tiny.row("users.csv", "stu-1")["identifier"] = "S1"
    run = sync.apply(tiny)
    [change] = sync.changes(run, "students", "update")
    assert change["note"] == "renumbered by the SIS: identifier none -> S1, same sourcedId"
    assert [s["user_id"] for s in _students(sync, "stu-1")] == [before]


@pytest.mark.parametrize("student_id", ["identifier", "sourcedId"])
def test_a_night_without_users_csv_plans_as_before(sync, tiny, student_id):
    """Found by tests/properties/test_delta_rows_land.py: the change note named an identifier
    the plan did not have, so the plan failed."""
    sync.engine.settings_set("student_id", student_id)
    sync.apply(tiny)
    del tiny.files["users.csv"]
    tiny.manifest["file.users"] = "absent"
    run = sync.plan(tiny)
    assert (run.status, run.total_changes()) == ("planned", 0), run.error


def test_a_teacher_whose_identifier_changes_is_updated_as_before(by_identifier, tiny):
    tiny.row("users.csv", "tch-1")["identifier"] = "E-77"
    run = by_identifier.plan(tiny)
    [change] = by_identifier.changes(run, "staff", "update")
    assert change["note"] is None


# Not guessed: the rows sync as they did before renumberings were recognised.


def test_a_new_identifier_another_record_has_is_not_a_renumbering(by_identifier, tiny):
    tiny.row("users.csv", "tch-1")["identifier"] = "E-1008"
    by_identifier.apply(tiny)
    _renumber(tiny, "stu-8", "E-1008")  # the teacher's employee number
    run = by_identifier.plan(tiny)
    assert [c["note"] for c in by_identifier.changes(run, "students", "update")] == []
    assert by_identifier.user("tch-1")["identifier"] == "E-1008"


def test_an_old_identifier_still_on_another_row_is_not_a_renumbering(by_identifier, tiny):
    """S1 is on a new sourcedId's row: the record is that row's, by identifier."""
    _renumber(tiny)
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-11", "identifier": "S1"}
    )
    run = by_identifier.plan(tiny)
    notes = [c["note"] for c in by_identifier.changes(run, "students", "update")]
    assert RENUMBERED not in notes
    assert run.changes["students"]["create"] == 1


def test_an_old_identifier_on_a_row_in_a_changes_only_file_is_not_a_renumbering(
    by_identifier, tiny
):
    _renumber(tiny)
    newcomer = {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-11", "identifier": "S1"}
    _changes_only(tiny, tiny.row("users.csv", "stu-1"), newcomer)
    run = by_identifier.plan(tiny)
    assert run.rows.error == 0
    assert RENUMBERED not in [c["note"] for c in by_identifier.changes(run, "students")]


def test_a_sourced_id_given_to_another_person_is_not_a_renumbering(by_identifier, tiny):
    """The SIS reused Ava's sourcedId for a new student: Ava's record is not theirs."""
    ava = by_identifier.user("stu-1")["user_id"]
    tiny.row("users.csv", "stu-1").update(
        identifier="S1001", givenName="Zed", familyName="Ward", username="zed.ward"
    )
    run = by_identifier.plan(tiny)
    assert run.changes["students"]["create"] == 1
    assert ava not in [c["record_id"] for c in by_identifier.changes(run, "students", "update")]


def test_another_birth_date_is_not_a_renumbering(by_identifier, tiny):
    _renumber(tiny)
    tiny.row("demographics.csv", "stu-1")["birthDate"] = "2009-12-31"
    run = by_identifier.plan(tiny)
    assert run.changes["students"]["create"] == 1


def test_two_rows_of_one_sourced_id_renumber_nothing(by_identifier, tiny):
    """The second row is an error (a repeated sourcedId): which identifier is Ava's is not
    known, so her record keeps S1 and stays active."""
    _renumber(tiny)
    tiny.rows("users.csv").append({**tiny.row("users.csv", "stu-1"), "identifier": "S1002"})
    by_identifier.apply(tiny)
    ava = [s for s in _students(by_identifier, "stu-1") if s["identifier"] == "S1"]
    assert [s["status"] for s in ava] == ["active"]


def test_an_old_identifier_on_a_row_in_error_is_not_a_renumbering(by_identifier, tiny):
    """Whose S1 is cannot be told from a row in error: Ava's record keeps it."""
    _renumber(tiny)
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-11", "identifier": "S1", "role": ""}
    )
    run = by_identifier.plan(tiny)
    assert [i["sourced_id"] for i in by_identifier.issues(run, "ERROR")] == ["stu-11"]
    assert RENUMBERED not in [c["note"] for c in by_identifier.changes(run, "students")]


def test_an_old_identifier_on_two_rows_is_not_a_renumbering(by_identifier, tiny):
    _renumber(tiny)
    for sis_id in ("stu-11", "stu-12"):
        tiny.rows("users.csv").append(
            {**tiny.row("users.csv", "stu-1"), "sourcedId": sis_id, "identifier": "S1"}
        )
    run = by_identifier.plan(tiny)
    assert RENUMBERED not in [c["note"] for c in by_identifier.changes(run, "students")]


def test_a_student_who_left_and_comes_back_renumbered_gets_their_record_back(by_identifier, tiny):
    ava = by_identifier.user("stu-1")["user_id"]
    away = tiny.copy()
    away.remove("users.csv", sourcedId="stu-1")
    away.remove("enrollments.csv", userSourcedId="stu-1")
    by_identifier.apply(away, override=True)
    _renumber(tiny)
    run = by_identifier.apply(tiny)
    [change] = by_identifier.changes(run, "students", "unarchive")
    assert (change["record_id"], change["note"]) == (ava, RENUMBERED)
    assert run.changes["students"]["create"] == 0


def test_a_student_kept_archived_is_asked_about_not_created_again(by_identifier, tiny):
    by_identifier.engine.settings_set("archived_students", "keep_archived")
    by_identifier.engine.archive_user("stu-1")
    _renumber(tiny)
    run = by_identifier.plan(tiny)
    [conflict] = by_identifier.engine.conflicts(run.run_id).items
    assert (conflict.kind, conflict.record_id) == (
        "archived_student_in_feed",
        by_identifier.user("stu-1")["user_id"],
    )
    assert run.changes["students"]["create"] == 0


def test_a_row_in_error_naming_a_student_by_identifier_alone_keeps_their_record(
    by_identifier, tiny
):
    """Re-keyed by the SIS (a new sourcedId, Ava's identifier) and in error: the row names
    Ava's record by the key this district matches students on, so the record stays as it is."""
    before = by_identifier.user("stu-1")
    tiny.row("users.csv", "stu-1").update(sourcedId="stu-1-new", role="not-a-role")
    run = by_identifier.plan(tiny)
    in_users = [i for i in by_identifier.issues(run, "ERROR") if i["file_name"] == "users.csv"]
    assert [i["sourced_id"] for i in in_users] == ["stu-1-new"]
    assert run.changes["students"]["archive"] == 0
    by_identifier.engine.apply_run(run.run_id, scan_duplicates=False)
    after = by_identifier.user("stu-1")
    assert (after["status"], after["identifier"]) == ("active", before["identifier"])
