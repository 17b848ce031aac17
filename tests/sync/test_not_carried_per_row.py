"""A users.csv row may say which columns its source has no data for (Roster Sync's extension
`metadata.rosterSync.notCarried`, written by the Clever drops): an empty cell there means "not
known here", so the record keeps its phone or grades; other rows, and a value the row gives,
are synced as always (docs/sources.md)."""

from __future__ import annotations

import csv
from pathlib import Path

from daemon.formats.spec import NOT_CARRIED_COLUMN


def _says_not_carried(row: dict[str, str], named: str) -> None:
    row[NOT_CARRIED_COLUMN] = named
    for column in named.split(","):
        row[column.strip()] = ""


def _with_phones_and_grades(tiny):
    for row in tiny.rows("users.csv"):
        if row["role"] in ("student", "teacher"):
            row.update(sms="555-0300", phone="555-0400", grades="05")
    return tiny


def test_a_row_without_data_for_its_phones_and_grades_keeps_the_records(sync, tiny):
    sync.apply(_with_phones_and_grades(tiny))
    _says_not_carried(tiny.row("users.csv", "stu-1"), "sms,phone")
    _says_not_carried(tiny.row("users.csv", "tch-1"), "sms, phone, grades")
    run = sync.plan(tiny)
    assert run.total_changes() == 0, run.changes
    assert sync.issues(run) == []
    sync.engine.apply_run(run.run_id, scan_duplicates=False)
    student, teacher = sync.user("stu-1"), sync.user("tch-1")
    assert (student["mobile_phone"], student["home_phone"]) == ("555-0300", "555-0400")
    assert teacher["grades"] == "05"
    # The next night sends the same rows: they take the unchanged-row shortcut (no user is
    # even refreshed) and nothing changes.
    again = sync.plan(tiny)
    assert again.total_changes() == 0
    assert sync.engine.db.one(f"SELECT count(*) FROM run_{again.run_id}.plan_users") == 0


def test_a_guardian_row_without_an_identifier_keeps_the_records(sync, tiny):
    guardian = next(r for r in tiny.rows("users.csv") if r["role"] in ("parent", "guardian"))
    guardian["identifier"] = "G-100"
    sync.apply(tiny)
    _says_not_carried(guardian, "grades,identifier")
    run = sync.plan(tiny)
    assert run.total_changes() == 0, run.changes
    assert sync.user(guardian["sourcedId"])["identifier"] == "G-100"


def test_a_row_that_declares_nothing_still_clears_a_value(sync, tiny):
    sync.apply(_with_phones_and_grades(tiny))
    _says_not_carried(tiny.row("users.csv", "stu-1"), "sms,phone")
    tiny.row("users.csv", "stu-2")["sms"] = ""
    run = sync.plan(tiny)
    [change] = sync.changes(run, "students", "update")
    assert change["sis_id"] == "stu-2"
    assert [(f["field"], f["new"]) for f in change["fields"]] == [("mobile_phone", None)]


def test_a_value_the_row_gives_is_used_and_a_new_person_gets_none(sync, tiny):
    sync.apply(_with_phones_and_grades(tiny))
    row = tiny.row("users.csv", "stu-1")
    _says_not_carried(row, "sms,phone")
    row["sms"] = "555-0999"
    new = {**row, "sourcedId": "stu-99", "identifier": "S99", "username": "nova.ray"}
    tiny.rows("users.csv").append(new)
    sync.apply(tiny)
    assert (sync.user("stu-1")["mobile_phone"], sync.user("stu-1")["home_phone"]) == (
        "555-0999",
        "555-0400",
    )
    assert (sync.user("stu-99")["mobile_phone"], sync.user("stu-99")["home_phone"]) == (
        "555-0999",
        None,
    )


def test_the_phone_setting_decides_which_number_a_column_names(sync, tiny):
    sync.engine.settings_set("phone_credential_column", "phone")  # phone is the mobile
    sync.apply(_with_phones_and_grades(tiny))
    row = tiny.row("users.csv", "stu-1")
    row[NOT_CARRIED_COLUMN] = "sms"
    row.update(sms="", phone="")
    run = sync.plan(tiny)
    [change] = sync.changes(run, "students", "update")
    # sms is the home number under this setting: kept; phone (the mobile) was emptied.
    assert [(f["field"], f["old"], f["new"]) for f in change["fields"]] == [
        ("mobile_phone", "555-0400", None)
    ]


def test_names_may_be_separated_by_spaces_or_semicolons(sync, tiny):
    sync.apply(_with_phones_and_grades(tiny))
    for sis_id, named in (("stu-1", "sms phone"), ("stu-2", "sms;phone"), ("tch-1", "sms ; phone")):
        row = tiny.row("users.csv", sis_id)
        row.update({NOT_CARRIED_COLUMN: named, "sms": "", "phone": ""})
    run = sync.plan(tiny)
    assert sync.issues(run) == []
    assert run.total_changes() == 0, run.changes


def test_a_cell_with_a_name_that_cannot_be_declared_keeps_every_declarable_value(sync, tiny):
    """A name that is none of them (a typo, another column) leaves what the cell meant unknown:
    it is read as naming them all, so no value the row meant to keep is blanked."""
    sync.apply(_with_phones_and_grades(tiny))
    row = tiny.row("users.csv", "stu-1")
    row.update({NOT_CARRIED_COLUMN: "sms,phnoe", "sms": "", "phone": "", "grades": ""})
    run = sync.plan(tiny)
    [issue] = sync.issues(run)
    assert (issue["severity"], issue["line"], issue["column_name"]) == (
        "WARNING",
        2,
        NOT_CARRIED_COLUMN,
    )
    assert issue["message"] == (
        "users.csv line 2: metadata.rosterSync.notCarried 'sms,phnoe' holds phnoe, which is not "
        "one of sms, phone, grades, identifier; the cell is read as naming them all (an empty "
        "sms, phone, grades or identifier cell of this row keeps the record's value)"
    )
    assert run.total_changes() == 0, run.changes


def test_an_export_does_not_write_the_extension(sync, tiny, tmp_path: Path):
    sync.apply(_with_phones_and_grades(tiny))
    _says_not_carried(tiny.row("users.csv", "stu-1"), "sms,phone")
    sync.apply(tiny)
    sync.engine.export(str(tmp_path / "export"))
    with open(tmp_path / "export" / "users.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = {r["sourcedId"]: r for r in reader}
    assert not any("rosterSync" in column for column in reader.fieldnames or [])
    assert (rows["stu-1"]["sms"], rows["stu-1"]["phone"]) == ("555-0300", "555-0400")
