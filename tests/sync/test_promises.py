"""The sync's promises on the shapes real drops take: invalid values, tobedeleted rows, repeated
memberships, 1.2 users without a role, and what every row result carries.

Each test names one way a promise broke on files written by other people.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.directory.integrity import check_directory
from tests.district import guardian_of


@pytest.fixture
def synced(sync, tiny_applied):
    return sync


def _failed_checks(sync) -> list[tuple[str, int]]:
    return [(name, n) for name, n in check_directory(sync.engine.db) if n]


def _fields(change: dict) -> dict[str, tuple]:
    return {f["field"]: (f["old"], f["new"]) for f in change["fields"]}


# ---------------------------------------------------------------- invalid values never blank


def test_an_invalid_birth_date_keeps_the_stored_one(synced, tiny):
    stored = synced.user("stu-1")["birth_date"]
    next(r for r in tiny.rows("demographics.csv") if r["sourcedId"] == "stu-1")["birthDate"] = (
        "2024-02-30"
    )
    run = synced.plan(tiny)
    assert run.changes["students"]["update"] == 0
    warning = next(i for i in synced.issues(run) if i["column_name"] == "birthDate")
    assert warning["severity"] == "WARNING"
    assert "kept" in warning["message"]
    synced.engine.apply_run(run.run_id)
    assert synced.user("stu-1")["birth_date"] == stored


def test_an_invalid_enrollment_begin_date_keeps_the_stored_one(synced, tiny):
    tiny.row("enrollments.csv", "enr-1a")["beginDate"] = "2026-09-01"
    synced.apply(tiny)
    tiny.row("enrollments.csv", "enr-1a")["beginDate"] = "2026-13-01"
    run = synced.plan(tiny)
    assert run.changes["enrollments"]["update"] == 0
    begin = synced.engine.db.one("SELECT begin_date FROM enrollments WHERE sis_id = 'enr-1a'")
    assert begin == "2026-09-01"


def test_an_invalid_primary_flag_keeps_the_stored_one(synced, tiny):
    tiny.row("enrollments.csv", "enr-1a")["primary"] = "true"
    synced.apply(tiny)
    tiny.row("enrollments.csv", "enr-1a")["primary"] = "yes"
    run = synced.plan(tiny)
    assert run.changes["enrollments"]["update"] == 0


def test_an_invalid_value_on_a_new_record_is_left_empty(sync, tiny):
    next(r for r in tiny.rows("demographics.csv") if r["sourcedId"] == "stu-1")["birthDate"] = (
        "13/01/2015"
    )
    sync.apply(tiny)
    assert sync.user("stu-1")["birth_date"] is None


# A value that breaks its type rule, per typed column (file, row, column, value; the table and
# field that keep the stored value): an e-mail, a phone number and grades were reported and then
# synced over the good stored value.
BROKEN_VALUES = {
    "email": ("users.csv", "stu-1", "email", "ava-at-students", "users", "email"),
    "mobile phone": ("users.csv", "gdn-1", "sms", "call me", "users", "mobile_phone"),
    "home phone": ("users.csv", "gdn-1", "phone", "12", "users", "home_phone"),
    "grades": ("users.csv", "stu-2", "grades", "5th", "users", "grades"),
    "class grades": ("classes.csv", "cls-a1", "grades", "fifth", "classrooms", "grades"),
}


def _stored(sync, table: str, sis_id: str, field: str):
    return sync.engine.db.one(f"SELECT {field} FROM {table} WHERE sis_id = ?", [sis_id])


@pytest.mark.parametrize("case", BROKEN_VALUES.values(), ids=BROKEN_VALUES.keys())
def test_an_invalid_contact_or_grades_value_keeps_the_stored_one(synced, tiny, case):
    file, sis_id, column, value, table, field = case
    stored = _stored(synced, table, sis_id, field)
    assert stored
    tiny.row(file, sis_id)[column] = value
    run = synced.plan(tiny)
    assert run.total_changes() == 0
    [warning] = synced.issues(run, "WARNING")
    assert warning["column_name"] == column
    assert warning["message"].endswith("; ignored (a stored value is kept)")
    synced.engine.apply_run(run.run_id)
    assert _stored(synced, table, sis_id, field) == stored


def test_an_invalid_contact_in_guardians_file_keeps_the_stored_one(sync, tiny):
    tiny.files["guardians.csv"] = [guardian_of("stu-1")]
    sync.apply(tiny)
    tiny.files["guardians.csv"][0]["email"] = "robin at example.net"
    run = sync.apply(tiny)
    assert run.total_changes() == 0
    assert sync.user("gf-1")["email"] == "robin@example.net"


@pytest.mark.parametrize(
    "phone", ["(555) 010-1234 x12", "+44 20 7946 0958", "555-0101 ext. 12", "555.010.1234 #7"]
)
def test_a_phone_number_as_sis_exports_write_it_is_used(synced, tiny, phone):
    tiny.row("users.csv", "gdn-1")["sms"] = phone
    run = synced.apply(tiny)
    assert synced.issues(run, "WARNING") == []
    assert synced.user("gdn-1")["mobile_phone"] == phone


def test_invalid_contacts_and_grades_on_a_new_record_are_left_empty(sync, tiny):
    tiny.row("users.csv", "stu-1")["email"] = "ava-at-students"
    tiny.row("users.csv", "stu-1")["grades"] = "5th"
    tiny.row("users.csv", "gdn-1")["sms"] = "call me"
    sync.apply(tiny)
    assert (sync.user("stu-1")["email"], sync.user("stu-1")["grades"]) == (None, None)
    assert sync.user("gdn-1")["mobile_phone"] is None


# ---------------------------------------------------------------- tobedeleted in a bulk file


def test_an_enrollment_in_a_class_marked_tobedeleted_is_not_synced(sync, tiny):
    tiny.row("classes.csv", "cls-a2")["status"] = "tobedeleted"
    run = sync.apply(tiny)
    assert _failed_checks(sync) == []
    assert run.changes["classrooms"]["create"] == 2
    enrolled = sync.engine.db.one(
        "SELECT count(*) FROM enrollments WHERE sis_id IN ('enr-t2', 'enr-1b')"
    )
    assert enrolled == 0
    warning = next(
        i
        for i in sync.issues(run)
        if i["file_name"] == "enrollments.csv" and i["sourced_id"] == "enr-1b"
    )
    assert warning["severity"] == "WARNING"
    assert "tobedeleted" in warning["message"]


def test_an_enrollment_of_a_user_marked_tobedeleted_is_not_synced(sync, tiny):
    tiny.row("users.csv", "stu-2")["status"] = "tobedeleted"
    run = sync.apply(tiny)
    assert _failed_checks(sync) == []
    assert sync.engine.db.one("SELECT count(*) FROM users WHERE sis_id = 'stu-2'") == 0
    assert sync.engine.db.one("SELECT count(*) FROM enrollments WHERE sis_id LIKE 'enr-2%'") == 0
    messages = [i["message"] for i in sync.issues(run) if i["sourced_id"] in ("enr-2a", "enr-2b")]
    assert len(messages) == 2
    assert all("tobedeleted" in m for m in messages)


def test_a_class_marked_tobedeleted_archives_its_existing_enrollments(synced, tiny):
    tiny.row("classes.csv", "cls-a2")["status"] = "tobedeleted"
    run = synced.apply(tiny, override=True)  # 7 of 13 enrollments: over the threshold
    assert run.changes["classrooms"]["archive"] == 1
    assert run.changes["enrollments"]["archive"] == 7
    assert _failed_checks(synced) == []


def test_a_guardian_link_to_a_user_marked_tobedeleted_is_not_made(sync, tiny):
    tiny.row("users.csv", "gdn-3")["status"] = "tobedeleted"
    run = sync.apply(tiny)
    assert _failed_checks(sync) == []
    warned = [i for i in sync.issues(run) if i["sourced_id"] == "stu-3"]
    assert any("tobedeleted" in i["message"] for i in warned)


def test_a_class_at_a_school_marked_tobedeleted_is_not_synced_and_says_why(sync, tiny):
    tiny.row("orgs.csv", "sch-b")["status"] = "tobedeleted"
    run = sync.plan(tiny)
    warning = next(
        i
        for i in sync.issues(run)
        if i["file_name"] == "classes.csv" and i["sourced_id"] == "cls-b1"
    )
    assert "tobedeleted" in warning["message"]


# ---------------------------------------------------------------- one membership, one row


def _twice_enrolled(tiny):
    """The SIS sends stu-1's Science enrollment twice, under two sourcedIds."""
    repeat = dict(tiny.row("enrollments.csv", "enr-1b"))
    repeat["sourcedId"] = "enr-1b-again"
    tiny.rows("enrollments.csv").insert(0, repeat)
    return tiny


def test_a_membership_sent_twice_plans_nothing_the_second_night(synced, tiny):
    _twice_enrolled(tiny)
    synced.apply(tiny)
    again = synced.plan(tiny)
    assert again.total_changes() == 0


def test_a_membership_sent_twice_keeps_the_smallest_sourced_id(synced, tiny):
    _twice_enrolled(tiny)
    run = synced.apply(tiny)
    assert (
        synced.engine.db.one(
            "SELECT e.sis_id FROM enrollments e JOIN users u USING (user_id) JOIN classrooms c "
            "USING (classroom_id) WHERE u.sis_id = 'stu-1' AND c.sis_id = 'cls-a2'"
        )
        == "enr-1b"
    )
    warning = next(i for i in synced.issues(run) if i["sourced_id"] == "enr-1b-again")
    assert warning["severity"] == "WARNING"
    assert "enr-1b" in warning["message"]


def test_a_copy_with_a_smaller_sourced_id_coming_later_does_not_take_the_membership(synced, tiny):
    copy = dict(tiny.row("enrollments.csv", "enr-1b"), sourcedId="enr-0")
    tiny.rows("enrollments.csv").append(copy)
    run = synced.plan(tiny)
    assert run.changes["enrollments"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    warning = next(i for i in synced.issues(run) if i["sourced_id"] == "enr-0")
    assert "the same class and user as 'enr-1b'" in warning["message"]


def test_a_membership_sent_twice_names_the_row_that_speaks_for_it(sync, tiny):
    _twice_enrolled(tiny)
    line = 2 + next(
        i for i, r in enumerate(tiny.rows("enrollments.csv")) if r["sourcedId"] == "enr-1b"
    )
    warning = next(i for i in sync.issues(sync.plan(tiny)) if i["sourced_id"] == "enr-1b-again")
    assert (warning["line"], warning["column_name"]) == (2, "sourcedId")
    assert (
        f"the same class and user as 'enr-1b' (line {line}); only that row is synced"
        in (warning["message"])
    )


def test_a_membership_sent_three_times_names_the_one_row_that_speaks_for_it(sync, tiny):
    # the row that speaks sits between its copies: in hash order too, each copy is a neighbour
    rows = tiny.rows("enrollments.csv")
    rows.insert(0, dict(tiny.row("enrollments.csv", "enr-1b"), sourcedId="enr-1b-x"))
    rows.append(dict(tiny.row("enrollments.csv", "enr-1b"), sourcedId="enr-1b-y"))
    line = 2 + next(i for i, r in enumerate(rows) if r["sourcedId"] == "enr-1b")
    warnings = {
        i["sourced_id"]: i["message"]
        for i in sync.issues(sync.plan(tiny), "WARNING")
        if i["file_name"] == "enrollments.csv"
    }
    assert sorted(warnings) == ["enr-1b-x", "enr-1b-y"]
    for message in warnings.values():
        assert f"the same class and user as 'enr-1b' (line {line})" in message


def test_no_record_is_planned_twice_in_one_run(synced, tiny):
    _twice_enrolled(tiny)
    run = synced.plan(tiny)
    for table in ("enrollments", "users", "classrooms", "guardian_links"):
        repeated = synced.engine.db.one(
            f"SELECT count(*) FROM (SELECT id FROM run_{run.run_id}.plan_{table} "
            "GROUP BY id HAVING count(*) > 1)"
        )
        assert repeated == 0, table


# ---------------------------------------------------------------- every result names its row


def test_every_row_result_names_its_sourced_id(sync, tiny):
    tiny.row("classes.csv", "cls-a2")["status"] = "tobedeleted"
    tiny.row("users.csv", "stu-2")["givenName"] = ""
    run = sync.plan(tiny)
    unnamed = [i for i in sync.issues(run) if (i["line"] or 0) > 1 and not i["sourced_id"]]
    assert unnamed == []


# ---------------------------------------------------------------- OneRoster 1.2 roles


@pytest.fixture
def drop12(sample, tmp_path):
    """The bundled 1.2 drop, copied so a test can change it."""
    import shutil

    folder = tmp_path / "oneroster12"
    shutil.copytree(sample / "oneroster12", folder)
    return folder


def _edit_roles(folder, old: str, new: str) -> None:
    path = folder / "roles.csv"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_12_user_without_a_roles_row_is_an_error_on_its_users_row(sync, drop12):
    _edit_roles(
        drop12,
        "rol-000006,active,2026-08-20T06:00:00.000Z,stu-5006,primary,student,2026-08-24,,sch-pine,\n",
        "",
    )
    run = sync.plan(drop12)
    [error] = [i for i in sync.issues(run, "ERROR") if i["sourced_id"] == "stu-5006"]
    assert error["file_name"] == "users.csv"
    assert "no role" in error["message"]


def test_a_12_user_whose_role_row_is_in_error_is_kept(sync, drop12):
    sync.apply(drop12)
    _edit_roles(drop12, "stu-5006,primary,student", "stu-5006,primary,techer")
    run = sync.plan(drop12)
    assert run.changes["students"]["archive"] == 0
    assert run.changes["enrollments"]["archive"] == 0
    [error] = [i for i in sync.issues(run, "ERROR") if i["file_name"] == "users.csv"]
    assert "roles.csv line 7" in error["message"]


def test_an_unmapped_ext_role_is_not_synced_and_keeps_the_record(sync, drop12):
    sync.apply(drop12)
    _edit_roles(drop12, "tch-5001,primary,teacher", "tch-5001,primary,ext:instructor")
    _edit_roles(drop12, "tch-5001,secondary,teacher", "tch-5001,secondary,ext:instructor")
    run = sync.plan(drop12)
    assert run.changes["staff"]["archive"] == 0
    warning = next(i for i in sync.issues(run) if i["sourced_id"] == "tch-5001")
    assert warning["severity"] == "WARNING" and "ext_roles" in warning["message"]


def test_an_ext_role_mapped_by_the_setting_is_synced_as_that_role(sync, drop12):
    sync.engine.settings_set("ext_roles", "ext:instructor=teacher")
    _edit_roles(drop12, ",teacher,", ",ext:instructor,")
    sync.apply(drop12)
    assert sync.user("tch-5001")["role"] == "teacher"


# ---------------------------------------------------------------- absent means absent


def test_a_student_left_out_of_a_whole_users_file_is_not_linked_again(synced, tiny):
    # gdn-1's own row still names stu-1 in agentSourcedIds: a person a bulk users.csv leaves
    # out is not in the feed, so that link is not made again the next night.
    tiny.remove("users.csv", sourcedId="stu-1")
    tiny.remove("enrollments.csv", userSourcedId="stu-1")
    synced.apply(tiny, override=True)
    again = synced.plan(tiny)
    assert again.total_changes() == 0, again.changes


def test_a_new_user_whose_only_school_is_marked_tobedeleted_is_not_synced(sync, tiny):
    tiny.row("orgs.csv", "sch-b")["status"] = "tobedeleted"
    run = sync.apply(tiny)
    assert sync.engine.db.one("SELECT count(*) FROM users WHERE sis_id = 'stu-7'") == 0
    warning = next(i for i in sync.issues(run) if i["sourced_id"] == "stu-7")
    assert "no other org of the user is" in warning["message"]


def test_a_user_whose_school_is_marked_tobedeleted_keeps_its_record(synced, tiny):
    tiny.row("orgs.csv", "sch-b")["status"] = "tobedeleted"
    synced.apply(tiny, override=True)
    assert synced.user("stu-7")["status"] == "active"
    assert synced.user("stu-7")["org_sis_ids"] == "sch-b"


# ------------------------------------------- rows joined by a lone CR (a classic Mac export)


def _joined_by_a_lone_cr(sync, tiny, *rows: dict[str, str]) -> Path:
    """The drop with `rows` appended to enrollments.csv, the last ones ending at a lone CR (an
    LF export with a classic Mac one joined to it), as one LF line would show them in `less`."""
    tiny.rows("enrollments.csv").extend(rows)
    folder = tiny.write(sync.root)
    path = folder / "enrollments.csv"
    head, *tail = path.read_bytes().rstrip(b"\n").rsplit(b"\n", len(rows))
    path.write_bytes(head + b"\n" + b"\r".join(tail) + b"\r")
    return folder


def _new_enrollment(sourced_id: str, cls: str, user: str) -> dict[str, str]:
    return {"sourcedId": sourced_id, "status": "", "dateLastModified": "", "classSourcedId": cls,
            "schoolSourcedId": "sch-a", "userSourcedId": user, "role": "student",
            "primary": "", "beginDate": "", "endDate": ""}  # fmt: skip


def test_new_rows_joined_by_a_lone_cr_are_each_synced(synced, tiny):
    # They shared one line number, so their new records one id: the apply refused the night.
    folder = _joined_by_a_lone_cr(
        synced, tiny, _new_enrollment("enr-x1", "cls-b1", "stu-1"),
        _new_enrollment("enr-x2", "cls-b1", "stu-2"),
    )  # fmt: skip
    run = synced.apply(folder)
    assert run.status == "applied", run.error
    assert run.changes["enrollments"]["create"] == 2


def test_an_id_repeated_behind_a_lone_cr_is_reported_on_its_own_line(synced, tiny):
    first = 2 + next(
        i for i, r in enumerate(tiny.rows("enrollments.csv")) if r["sourcedId"] == "enr-1a"
    )
    last = 2 + len(tiny.rows("enrollments.csv")) + 1  # the second of the two rows added
    folder = _joined_by_a_lone_cr(
        synced, tiny, _new_enrollment("enr-x1", "cls-b1", "stu-1"),
        _new_enrollment("enr-1a", "cls-b1", "stu-2"),
    )  # fmt: skip
    run = synced.plan(folder)
    error = next(i for i in synced.issues(run, "ERROR") if i["line"] == last)
    assert f"duplicate sourcedId=enr-1a (first on line {first})" in error["message"]
    assert run.changes["enrollments"]["create"] == 1


def test_a_broken_fragment_behind_a_lone_cr_costs_the_row_before_it_nothing(synced, tiny):
    tiny.row("users.csv", "stu-1")["givenName"] = "Avery"
    folder = tiny.write(synced.root)
    path = folder / "users.csv"
    line = 2 + next(i for i, r in enumerate(tiny.rows("users.csv")) if r["sourcedId"] == "stu-1")
    lines = path.read_bytes().split(b"\n")
    lines[line - 1] += b"\rx,y"  # a two-value fragment after the row, behind a lone CR
    path.write_bytes(b"\n".join(lines))
    run = synced.plan(folder)
    assert [i["line"] for i in synced.issues(run, "ERROR")] == [line + 1]
    assert run.changes["students"]["update"] == 1
