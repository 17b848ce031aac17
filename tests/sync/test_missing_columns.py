"""A file without one of its optional columns does not speak for that field: records keep it."""

from __future__ import annotations


def _without(tiny, file: str, column: str) -> None:
    for row in tiny.rows(file):
        row.pop(column, None)


def test_a_users_file_without_the_email_column_keeps_every_email(sync, tiny):
    sync.apply(tiny)
    _without(tiny, "users.csv", "email")
    run = sync.plan(tiny)
    assert run.total_changes() == 0
    assert sync.user("stu-1")["email"] is not None


def test_the_run_says_which_columns_the_file_lacks(sync, tiny):
    sync.apply(tiny)
    _without(tiny, "users.csv", "email")
    _without(tiny, "users.csv", "middleName")
    run = sync.plan(tiny)
    [note] = [n["message"] for n in run.notes if "users.csv has no" in n["message"]]
    assert note == (
        "users.csv has no middleName, email columns: this run does not change them, "
        "records keep what they have"
    )


def test_an_empty_email_column_still_clears_an_email(sync, tiny):
    sync.apply(tiny)
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


def test_a_demographics_file_without_birth_dates_keeps_them(sync, tiny):
    sync.apply(tiny)
    _without(tiny, "demographics.csv", "birthDate")
    run = sync.plan(tiny)
    assert run.total_changes() == 0
    assert sync.user("stu-1")["birth_date"] is not None
