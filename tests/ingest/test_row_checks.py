"""Every input row gets a result; one test per check, each naming file, line, column and a message."""

from __future__ import annotations

import pytest


def _only(issues: list[dict], rule: str) -> dict:
    found = [i for i in issues if i["rule"] == rule]
    assert len(found) == 1, f"expected one {rule} issue, got {found}"
    return found[0]


def test_a_clean_drop_has_only_successes(sync, tiny):
    run = sync.plan(tiny)
    assert run.rows.error == 0 and run.rows.warning == 0
    assert run.rows.success == sum(len(rows) for rows in tiny.files.values())


def test_missing_required_value_is_an_error_naming_the_column(sync, tiny):
    tiny.row("users.csv", "stu-3")["givenName"] = ""
    issue = _only(sync.issues(sync.plan(tiny)), "required")
    assert (issue["file_name"], issue["line"], issue["sourced_id"], issue["column_name"]) == (
        "users.csv",
        4,
        "stu-3",
        "givenName",
    )
    assert issue["severity"] == "ERROR"
    assert issue["message"] == "users.csv line 4: givenName is required"


@pytest.mark.parametrize(
    "blank",
    ["\u200b", "\t", "\u00a0\u200b", "\u200b \u3164"],
    ids=["zero-width", "tab", "nbsp", "mixed"],
)
def test_a_required_value_of_invisible_characters_only_is_missing(sync, tiny, blank):
    tiny.row("users.csv", "stu-3")["givenName"] = blank
    issue = _only(sync.issues(sync.plan(tiny)), "required")
    assert (issue["severity"], issue["line"], issue["column_name"]) == ("ERROR", 4, "givenName")
    assert issue["message"] == (
        "users.csv line 4: givenName is required; its value holds only invisible characters"
    )


def test_a_required_value_with_a_visible_character_is_there(sync, tiny):
    tiny.row("users.csv", "stu-3")["givenName"] = "\u200bCleo"
    tiny.row("users.csv", "stu-4")["givenName"] = "\u00c9mile"
    tiny.row("users.csv", "stu-5")["givenName"] = "\u674e"
    run = sync.plan(tiny)
    assert [i for i in sync.issues(run) if i["rule"] == "required"] == []


def test_unknown_role_is_an_error_listing_the_allowed_roles(sync, tiny):
    tiny.row("users.csv", "stu-2")["role"] = "pupil"
    issue = _only(sync.issues(sync.plan(tiny)), "enumeration")
    assert issue["column_name"] == "role" and issue["line"] == 3
    assert "'pupil' is not one of: administrator, aide" in issue["message"]


def test_unknown_status_is_an_error(sync, tiny):
    tiny.row("classes.csv", "cls-a2")["status"] = "gone"
    issue = _only(sync.issues(sync.plan(tiny)), "enumeration")
    assert (issue["file_name"], issue["column_name"]) == ("classes.csv", "status")


def test_unknown_org_type_is_an_error(sync, tiny):
    tiny.row("orgs.csv", "sch-b")["type"] = "campus"
    issue = _only(sync.issues(sync.plan(tiny)), "enumeration")
    assert (issue["file_name"], issue["line"], issue["column_name"]) == ("orgs.csv", 4, "type")


def test_unknown_class_type_is_an_error(sync, tiny):
    tiny.row("classes.csv", "cls-a1")["classType"] = "advisory"
    issue = _only(sync.issues(sync.plan(tiny)), "enumeration")
    assert issue["column_name"] == "classType" and "homeroom, scheduled" in issue["message"]


def test_enumerations_ignore_case(sync, tiny):
    tiny.row("users.csv", "stu-1")["role"] = "Student"
    assert sync.plan(tiny).rows.error == 0


def test_malformed_date_is_reported_with_the_expected_form(sync, tiny):
    tiny.rows("demographics.csv")[0]["birthDate"] = "03/07/2015"
    issue = _only(sync.issues(sync.plan(tiny)), "date")
    assert issue["severity"] == "WARNING"
    assert "'03/07/2015' is not a date in the form YYYY-MM-DD" in issue["message"]


def test_malformed_boolean_in_a_required_column_is_an_error(sync, tiny):
    tiny.row("users.csv", "stu-1")["enabledUser"] = "yes"
    issue = _only(sync.issues(sync.plan(tiny)), "boolean")
    assert issue["severity"] == "ERROR" and issue["column_name"] == "enabledUser"


def test_duplicate_sourced_id_in_a_file_is_an_error_pointing_at_the_first(sync, tiny):
    tiny.rows("classes.csv").append(dict(tiny.row("classes.csv", "cls-a1")))
    issue = _only(sync.issues(sync.plan(tiny)), "duplicate_id")
    assert issue["line"] == 5
    assert "(first on line 2)" in issue["message"]


def test_each_later_copy_of_an_id_is_an_error_pointing_at_the_first(sync, tiny):
    classes = tiny.rows("classes.csv")
    first = dict(tiny.row("classes.csv", "cls-a2"))
    classes.insert(0, dict(first))  # line 2; the row's own place is now line 4
    classes.append(dict(first))
    issues = [i for i in sync.issues(sync.plan(tiny)) if i["rule"] == "duplicate_id"]
    assert sorted(i["line"] for i in issues) == [4, len(classes) + 1]
    assert all("(first on line 2)" in i["message"] for i in issues)


def test_a_guardian_on_two_rows_for_two_students_is_not_a_duplicate(sync, tiny):
    row = {"sourcedId": "gdn-x", "relationship": "parent", "givenName": "Pat", "familyName": "Doe"}
    tiny.files["guardians.csv"] = [
        {**row, "studentSourcedId": "stu-1"},
        {**row, "studentSourcedId": "stu-2"},
        {**row, "studentSourcedId": "stu-1"},
    ]
    issue = _only(sync.issues(sync.plan(tiny)), "duplicate_id")
    assert (issue["file_name"], issue["line"]) == ("guardians.csv", 4)
    assert "studentSourcedId=stu-1 (first on line 2)" in issue["message"]


def test_enrollment_to_a_missing_class_is_an_error(sync, tiny):
    tiny.rows("enrollments.csv")[5]["classSourcedId"] = "cls-9"
    issue = _only(sync.issues(sync.plan(tiny)), "dangling_reference")
    assert (
        issue["message"]
        == "enrollments.csv line 7: classSourcedId 'cls-9' is not a class in classes.csv"
    )


def test_enrollment_to_a_missing_user_is_an_error(sync, tiny):
    tiny.rows("enrollments.csv")[3]["userSourcedId"] = "stu-404"
    issue = _only(sync.issues(sync.plan(tiny)), "dangling_reference")
    assert issue["severity"] == "ERROR" and issue["column_name"] == "userSourcedId"


def test_class_to_a_missing_school_is_an_error(sync, tiny):
    tiny.row("classes.csv", "cls-b1")["schoolSourcedId"] = "sch-z"
    issues = sync.issues(sync.plan(tiny), "ERROR")
    assert any(
        i["file_name"] == "classes.csv" and i["column_name"] == "schoolSourcedId" for i in issues
    )


def test_guardian_row_for_a_missing_student_is_an_error(sync, tiny):
    tiny.files["guardians.csv"] = [
        {
            "sourcedId": "gdn-x",
            "studentSourcedId": "stu-404",
            "relationship": "parent",
            "givenName": "Pat",
            "familyName": "Doe",
        }
    ]
    issue = _only(sync.issues(sync.plan(tiny)), "dangling_reference")
    assert (
        issue["file_name"] == "guardians.csv"
        and "is not a student in users.csv" in issue["message"]
    )


def test_user_whose_only_org_is_unknown_is_an_error(sync, tiny):
    tiny.row("users.csv", "tch-2")["orgSourcedIds"] = "sch-z"
    issues = sync.issues(sync.plan(tiny))
    assert any(i["rule"] == "no_known_org" and i["sourced_id"] == "tch-2" for i in issues)
    assert any(i["rule"] == "dangling_reference" and i["severity"] == "WARNING" for i in issues)


def test_user_whose_listed_orgs_are_all_unknown_is_an_error(sync, tiny):
    tiny.row("users.csv", "tch-2")["orgSourcedIds"] = "sch-y,sch-z"
    issues = sync.issues(sync.plan(tiny))
    assert any(i["rule"] == "no_known_org" and i["sourced_id"] == "tch-2" for i in issues)


def test_user_naming_one_known_org_among_unknown_ones_belongs_there(sync, tiny):
    tiny.row("users.csv", "tch-2")["orgSourcedIds"] = "sch-z,sch-b"
    issues = sync.issues(sync.plan(tiny))
    assert not any(i["rule"] == "no_known_org" for i in issues)
    assert any(i["rule"] == "dangling_reference" and "sch-z" in i["message"] for i in issues)


def test_malformed_email_is_a_warning_and_the_row_still_syncs(sync, tiny):
    tiny.row("users.csv", "stu-1")["email"] = "not-an-email"
    run = sync.plan(tiny)
    issue = _only(sync.issues(run), "email")
    assert issue["severity"] == "WARNING"
    assert run.changes["students"]["create"] == 10


def test_malformed_phone_is_a_warning(sync, tiny):
    tiny.row("users.csv", "gdn-1")["sms"] = "call me"
    issue = _only(sync.issues(sync.plan(tiny)), "phone")
    assert issue["severity"] == "WARNING" and issue["column_name"] == "sms"


def test_row_with_too_few_values_is_an_error_with_its_line(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    lines = (folder / "classes.csv").read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:-2])
    (folder / "classes.csv").write_text("\n".join(lines) + "\n")
    issue = _only(sync.issues(sync.plan(folder)), "column_count")
    assert issue["line"] == 3 and issue["sourced_id"] == "cls-a2"
    assert "the header has 14 columns" in issue["message"]


def test_row_with_too_many_values_is_an_error(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    with open(folder / "orgs.csv", "a") as out:
        out.write("sch-c,,,Cedar,school,C,dist-1,extra\n")
    issue = _only(sync.issues(sync.plan(folder)), "column_count")
    assert issue["line"] == 5


def test_a_row_one_value_short_names_the_first_column_it_could_not_place(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    users = (folder / "users.csv").read_text().splitlines()
    header = users[0].split(",")
    line = next(i for i, text in enumerate(users) if text.startswith("stu-4,"))
    values = users[line].split(",")
    del values[header.index("givenName")]  # the given name and what follows shift left
    users[line] = ",".join(values)
    (folder / "users.csv").write_text("\n".join(users) + "\n")
    issue = _only(sync.issues(sync.plan(folder)), "column_count")
    assert issue["column_name"] is not None
    assert header.index(issue["column_name"]) <= header.index("givenName")
    assert f"from {issue['column_name']} on" in issue["message"]


def test_an_unclosed_quote_names_the_column_it_opened_in(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    classes = (folder / "classes.csv").read_text().splitlines()
    header = classes[0].split(",")
    values = classes[-1].split(",")  # the last row: it swallows no other
    values[header.index("title")] = '"Art'
    classes[-1] = ",".join(values)
    (folder / "classes.csv").write_text("\n".join(classes) + "\n")
    issue = _only(sync.issues(sync.plan(folder)), "quoting")
    assert issue["column_name"] == "title"
    assert "in title" in issue["message"]


def test_rows_after_a_bad_row_keep_their_true_line_numbers(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    lines = (folder / "users.csv").read_text().splitlines()
    lines.insert(3, lines[3].rsplit(",", 1)[0].replace("stu-", "stu-x", 1))  # one value short
    lines.insert(6, "")
    (folder / "users.csv").write_text("\n".join(lines) + "\n")
    tiny_users = sync.engine.db
    run = sync.plan(folder)
    line_of_stu4 = tiny_users.one(
        f"SELECT _line FROM run_{run.run_id}.ledger_users WHERE sourced_id = 'stu-4'"
    )
    assert lines[line_of_stu4 - 1].startswith("stu-4,")


def test_a_quoted_value_with_a_line_break_keeps_later_lines_right(sync, tiny, tmp_path):
    tiny.row("classes.csv", "cls-a1")["location"] = "Room 4\nNorth wing"
    folder = tiny.write(tmp_path)
    run = sync.plan(folder)
    assert run.rows.error == 0
    line = sync.engine.db.one(
        f"SELECT _line FROM run_{run.run_id}.ledger_classes WHERE sourced_id = 'cls-b1'"
    )
    assert line == 5  # header 1, cls-a1 on 2-3, cls-a2 on 4


def test_a_nul_byte_in_a_value_is_an_error(sync, tiny):
    tiny.row("users.csv", "stu-5")["middleName"] = "a\x00b"
    issue = _only(sync.issues(sync.plan(tiny)), "control_character")
    assert issue["column_name"] == "middleName"


def test_a_value_longer_than_its_limit_is_an_error(sync, tiny):
    tiny.row("users.csv", "stu-5")["familyName"] = "x" * 5000
    issue = _only(sync.issues(sync.plan(tiny)), "too_long")
    assert "5000 characters long; the limit is 1024" in issue["message"]


def test_rows_with_errors_are_skipped_but_their_records_are_not_archived(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-2")["role"] = "pupil"
    run = sync.plan(tiny)
    assert run.changes["students"]["archive"] == 0
    assert run.rows.error == 1


def test_unknown_columns_get_one_warning_per_file(sync, tiny):
    for row in tiny.rows("users.csv"):
        row["locker"] = "12"
        row["bus"] = "3"
    run = sync.plan(tiny)
    issues = [i for i in sync.issues(run) if i["rule"] == "unknown_columns"]
    assert len(issues) == 1 and issues[0]["line"] == 1
    assert "locker" in issues[0]["message"]
    kept = sync.engine.db.one(f"SELECT count(locker) FROM run_{run.run_id}.ledger_users")
    assert kept == 22


def test_metadata_columns_are_kept_without_a_warning(sync, tiny):
    for row in tiny.rows("users.csv"):
        row["metadata.homeroom"] = "5A"
    run = sync.plan(tiny)
    assert run.rows.warning == 0
    assert (
        sync.engine.db.one(f'SELECT count("metadata.homeroom") FROM run_{run.run_id}.ledger_users')
        == 22
    )


def test_results_export_lists_every_row_with_its_status(sync, tiny, tmp_path):
    tiny.row("users.csv", "stu-1")["email"] = "nope"
    run = sync.plan(tiny)
    out = tmp_path / "results.csv"
    written = sync.engine.write_results(run.run_id, str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "file,line,sourcedId,status,column,message"
    assert written == sum(len(r) for r in tiny.files.values())
    assert (
        "users.csv,2,stu-1,WARNING,email,users.csv line 2: email 'nope' does not look like an email "
        "address; ignored (a stored value is kept)" in lines
    )


def test_a_students_agent_who_is_another_student_is_a_warning(sync, tiny):
    tiny.row("users.csv", "stu-1")["agentSourcedIds"] = "gdn-1,stu-2"
    issue = _only(sync.issues(sync.plan(tiny)), "agent_not_family")
    assert (issue["line"], issue["severity"], issue["column_name"]) == (
        2,
        "WARNING",
        "agentSourcedIds",
    )
    assert issue["message"] == (
        "users.csv line 2: agentSourcedIds names 'stu-2', a student, on a student's row; agents "
        "are a student's family (or a parent's students): no link is made"
    )


def test_a_user_naming_itself_as_its_agent_is_a_warning(sync, tiny):
    tiny.row("users.csv", "gdn-1")["agentSourcedIds"] = "stu-1,gdn-1"
    issue = _only(sync.issues(sync.plan(tiny)), "agent_not_family")
    assert issue["message"] == (
        "users.csv line 12: agentSourcedIds names the user itself; agents are a student's family "
        "(or a parent's students): no link is made"
    )


def test_a_large_file_is_checked_through_the_filter_with_the_same_issues(sync, tiny, monkeypatch):
    # A file of more rows than FILTER_FROM_ROWS keeps the rows breaking a rule first; the issues
    # must be those of a small file's single pass (sample files are small: force the filter).
    from daemon.ingest import validate

    tiny.row("users.csv", "stu-2")["role"] = "pupil"
    tiny.row("users.csv", "stu-3")["givenName"] = "\u200b"
    tiny.row("users.csv", "stu-4")["email"] = "not an email"
    tiny.row("users.csv", "stu-4")["sourcedId"] = "stu,4"
    tiny.row("enrollments.csv", "enr-1a")["beginDate"] = "2024-13-45"
    tiny.row("classes.csv", "cls-a2")["classType"] = "seminar"

    def issues() -> list[tuple]:
        found = sync.issues(sync.plan(tiny))
        return sorted((i["file_name"], i["line"], i["rule"], i["message"]) for i in found)

    small = issues()
    monkeypatch.setattr(validate, "FILTER_FROM_ROWS", 0)
    assert issues() == small and len(small) >= 6
