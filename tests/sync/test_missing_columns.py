"""A file without one of its optional columns does not speak for that field: records keep it.
So does a column the drop's manifest says its source does not carry (`source.notCarried`),
required columns included: a value a record cannot be without is kept, never blanked, and a row
that would make a new record without it is an ERROR naming the manifest."""

from __future__ import annotations

from pathlib import Path

from tests.district import guardian_of

# Every required column of a record's values (the columns that place a row are refused).
REQUIRED_VALUES = (
    "users.givenName users.familyName users.enabledUser users.username classes.title orgs.name"
)


def _without(tiny, file: str, column: str) -> None:
    for row in tiny.rows(file):
        row.pop(column, None)


def test_a_users_file_without_the_email_column_keeps_every_email(sync, tiny, tiny_applied):
    _without(tiny, "users.csv", "email")
    run = sync.plan(tiny)
    assert run.total_changes() == 0
    assert sync.user("stu-1")["email"] is not None


def test_the_run_says_which_columns_the_file_lacks(sync, tiny, tiny_applied):
    _without(tiny, "users.csv", "email")
    _without(tiny, "users.csv", "middleName")
    run = sync.plan(tiny)
    [note] = [n["message"] for n in run.notes if "users.csv has no" in n["message"]]
    assert note == (
        "users.csv has no middleName, email columns: this run does not change them, "
        "records keep what they have"
    )


def test_an_empty_email_column_still_clears_an_email(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-1")["email"] = ""
    run = sync.plan(tiny)
    [change] = sync.changes(run, "students", "update")
    assert [f["field"] for f in change["fields"]] == ["email"]


def test_enrollment_dates_are_kept_when_the_columns_go_and_cleared_when_emptied(sync, tiny):
    for row in tiny.rows("enrollments.csv"):
        row["beginDate"] = "2026-08-20"
    sync.apply(tiny)
    without = tiny.copy()
    _without(without, "enrollments.csv", "beginDate")
    assert sync.apply(without).total_changes() == 0
    # The same rows with the column back but empty are a change, not the unchanged rows of
    # the night before (the shortcut knows which columns the file had).
    for row in tiny.rows("enrollments.csv"):
        row["beginDate"] = ""
    run = sync.plan(tiny)
    assert run.changes["enrollments"]["update"] == len(tiny.rows("enrollments.csv"))


def test_a_demographics_file_without_birth_dates_keeps_them(sync, tiny, tiny_applied):
    _without(tiny, "demographics.csv", "birthDate")
    run = sync.plan(tiny)
    assert run.total_changes() == 0
    assert sync.user("stu-1")["birth_date"] is not None


def test_required_columns_the_drop_does_not_carry_keep_every_records_values(
    sync, tiny, tiny_applied
):
    tiny.manifest["source.notCarried"] = REQUIRED_VALUES
    tiny.row("users.csv", "stu-1").update(givenName="Zed", familyName="", enabledUser="")
    tiny.row("classes.csv", "cls-a1")["title"] = ""
    tiny.row("orgs.csv", "sch-a")["name"] = "Renamed"
    run = sync.plan(tiny)
    assert run.total_changes() == 0, run.changes
    assert sync.issues(run) == []
    student = sync.user("stu-1")
    assert (student["given_name"], student["family_name"], student["enabled"]) == (
        "Ava",
        "Lopez",
        True,
    )


def test_an_export_of_a_night_without_a_required_column_syncs_back_unchanged(
    sync, tiny, tmp_path: Path, tiny_applied
):
    tiny.manifest["source.notCarried"] = REQUIRED_VALUES
    sync.apply(tiny)
    sync.engine.export(str(tmp_path / "export"))
    back = sync.plan(tmp_path / "export")
    assert back.total_changes() == 0, back.changes
    assert sync.issues(back, "ERROR") == []


def test_a_new_record_that_needs_a_value_not_carried_is_an_error_naming_the_manifest(
    sync, tiny, tiny_applied
):
    tiny.manifest["source.notCarried"] = "users.givenName"
    new = {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-99", "username": "new.kid"}
    tiny.rows("users.csv").append(new)
    _without(tiny, "users.csv", "givenName")  # the source leaves the column out altogether
    run = sync.plan(tiny)
    assert run.status == "planned"
    [error] = sync.issues(run, "ERROR")
    assert (error["line"], error["sourced_id"], error["column_name"]) == (24, "stu-99", "givenName")
    assert error["message"] == (
        "users.csv line 24: givenName is required for a new record, and manifest.csv line 2 "
        "says this drop does not carry it (source.notCarried); the row was skipped"
    )
    assert run.total_changes() == 0


def test_a_guardians_file_that_carries_a_name_users_csv_does_not_updates_its_guardians(sync, tiny):
    tiny.rows("guardians.csv").append(guardian_of("stu-1"))
    sync.apply(tiny)
    tiny.manifest["source.notCarried"] = "users.givenName"
    tiny.row("users.csv", "stu-1")["givenName"] = ""
    tiny.row("guardians.csv", "gf-1")["givenName"] = "Robyn"
    run = sync.plan(tiny)
    [change] = sync.changes(run, "guardians", "update")
    assert (change["sis_id"], change["fields"]) == (
        "gf-1",
        [{"field": "given_name", "old": "Robin", "new": "Robyn"}],
    )
    assert run.total_changes() == 1


def test_a_column_every_row_needs_cannot_be_declared_not_carried(sync, tiny, tiny_applied):
    tiny.manifest["source.notCarried"] = "users.role"
    run = sync.plan(tiny)
    assert run.status == "failed"
    assert run.error == (
        "manifest.csv line 2: source.notCarried names users.role, which every row of users.csv "
        "needs (it says which record the row is, what it is or links, or whether it ends); the "
        "drop is refused, as a file without it is"
    )


def test_a_name_that_is_no_column_is_a_warning_and_changes_nothing(sync, tiny, tiny_applied):
    tiny.manifest["source.notCarried"] = "users.emial"
    tiny.row("users.csv", "stu-1")["email"] = "ava@new.example.org"
    run = sync.plan(tiny)
    [warning] = sync.issues(run)
    assert (warning["file_name"], warning["line"], warning["severity"]) == (
        "manifest.csv",
        2,
        "WARNING",
    )
    assert "names 'users.emial', which is no column" in warning["message"]
    assert run.total_changes() == 1  # the email column is read as always


def test_a_course_keeps_what_its_file_lacks_or_does_not_carry(sync, tiny):
    course = {
        "sourcedId": "crs-1",
        "title": "Grade 5",
        "orgSourcedId": "sch-a",
        "subjectCodes": "X",
    }
    tiny.files["courses.csv"] = [course]
    sync.apply(tiny)
    tiny.manifest["source.notCarried"] = "courses.title"
    tiny.files["courses.csv"] = [{"sourcedId": "crs-1", "title": "Other", "orgSourcedId": "sch-a"}]
    sync.apply(tiny)
    assert sync.engine.db.rows("SELECT title, subject_codes FROM courses") == [("Grade 5", "X")]
