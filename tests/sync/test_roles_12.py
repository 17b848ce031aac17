"""OneRoster 1.2: a user's role comes from roles.csv, the same one every night."""

from __future__ import annotations

import shutil

from daemon.cli.render import run_summary
from tests.district import write_changes_only_manifest


def _drop(sample, tmp_path, rows: dict[str, str]):
    folder = tmp_path / "oneroster12"
    shutil.copytree(sample / "oneroster12", folder)
    roles = folder / "roles.csv"
    text = roles.read_text()
    for old, new in rows.items():
        assert old in text
        text = text.replace(old, new)
    roles.write_text(text)
    return folder


NO_PRIMARY = {
    "tch-5001,primary,teacher,2026-08-24,,sch-oak": "tch-5001,secondary,aide,2026-08-24,,sch-oak",
}


def test_without_a_primary_role_the_first_listed_role_is_the_users(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path, NO_PRIMARY))
    assert sync.user("tch-5001")["role"] == "aide"


def test_a_user_with_several_roles_and_no_primary_is_unchanged_the_next_night(
    sync, sample, tmp_path
):
    drop = _drop(sample, tmp_path, NO_PRIMARY)
    sync.apply(drop)
    assert sync.plan(drop).total_changes() == 0


def _delta(sample, tmp_path, users: list[str], roles: dict[str, str], more_roles: tuple = ()):
    """A 1.2 changes-only drop: users.csv and roles.csv delta (every other file absent), with
    the sample's rows of `users`, its roles rows `roles` (id -> what replaces its end) and the
    roles rows `more_roles`."""
    folder = tmp_path / "delta"
    folder.mkdir(parents=True)
    source = sample / "oneroster12"
    user_lines = (source / "users.csv").read_text().splitlines()
    (folder / "users.csv").write_text(
        "\n".join([user_lines[0], *(line for line in user_lines if line.split(",")[0] in users)])
        + "\n"
    )
    role_lines = (source / "roles.csv").read_text().splitlines()
    picked = []
    for line in role_lines[1:]:
        sid = line.split(",")[0]
        if sid in roles:
            picked.append(roles[sid](line))
    picked.extend(more_roles)
    (folder / "roles.csv").write_text("\n".join([role_lines[0], *picked]) + "\n")
    write_changes_only_manifest(source, folder, ("users", "roles"))
    return folder


def _as_aide(line: str) -> str:
    return line.replace(",teacher,", ",aide,")


def _tobedeleted(line: str) -> str:
    return line.replace(",active,", ",tobedeleted,", 1)


def _schools(sync, sis_id: str) -> str:
    return sync.user(sis_id)["org_sis_ids"]


# tch-5001: teacher, primary at sch-oak (rol-000007), secondary at sch-elm and sch-pine.


def _aide_in(sync, sample, tmp_path, role_id: str) -> dict:
    """tch-5001 after a changes-only drop re-sending their users row and role `role_id` as an
    aide's (on the bundled 1.2 drop applied: `sample12_applied`)."""
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {role_id: _as_aide}))
    return sync.user("tch-5001")


def test_a_changes_only_role_row_keeps_the_users_other_schools_and_role(
    sync, sample, tmp_path, sample12_applied
):
    after = _aide_in(sync, sample, tmp_path, "rol-000009")  # a secondary role
    assert (after["org_sis_ids"], after["role"]) == ("sch-elm,sch-oak,sch-pine", "teacher")


def test_a_tobedeleted_role_row_takes_only_its_school_away(
    sync, sample, tmp_path, sample12_applied
):
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {"rol-000009": _tobedeleted}))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"


def test_a_changes_only_primary_role_row_changes_the_role(sync, sample, tmp_path, sample12_applied):
    after = _aide_in(sync, sample, tmp_path, "rol-000007")
    assert (after["org_sis_ids"], after["role"]) == ("sch-elm,sch-oak,sch-pine", "aide")


def test_a_changes_only_role_row_without_its_users_row_says_it_was_not_applied(
    sync, sample, tmp_path, sample12_applied
):
    folder = _delta(sample, tmp_path, [], {"rol-000007": _as_aide})
    run = sync.plan(folder)
    assert run.total_changes() == 0
    [issue] = sync.issues(run, "WARNING")
    assert issue["rule"] == "role_without_user_row"
    assert issue["line"] == 2 and "tch-5001" in issue["message"]


def test_a_tobedeleted_row_of_a_whole_roles_file_is_a_role_that_ended(
    sync, sample, tmp_path, sample12_applied
):
    sync.apply(_drop(sample, tmp_path, {"rol-000009,active,": "rol-000009,tobedeleted,"}))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"


def test_a_user_whose_every_role_row_is_tobedeleted_is_kept_with_an_error(
    sync, sample, tmp_path, sample12_applied
):
    ended = {f"rol-00000{n},active,": f"rol-00000{n},tobedeleted," for n in (7, 8, 9)}
    run = sync.plan(_drop(sample, tmp_path, ended))
    [issue] = sync.issues(run, "ERROR")
    assert (issue["rule"], issue["sourced_id"]) == ("no_role", "tch-5001")
    assert "tobedeleted" in issue["message"]
    assert run.total_changes() == 0


def test_a_role_ended_and_another_begun_at_one_school_keeps_the_school(
    sync, sample, tmp_path, sample12_applied
):
    def ended_and_begun(line: str) -> str:
        begun = line.replace("rol-000009", "rol-000011").replace(",teacher,", ",aide,")
        return _tobedeleted(line) + "\n" + begun

    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {"rol-000009": ended_and_begun}))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak,sch-pine"


# tch-5001 also an aide at sch-pine: two roles at one school (rol-000009 is the other).
AIDE_AT_PINE = (
    "rol-000012,active,2026-08-20T06:00:00.000Z,tch-5001,secondary,aide,2026-08-24,,sch-pine,"
)
TWO_ROLES_AT_PINE = {"rol-000010,": f"{AIDE_AT_PINE}\nrol-000010,"}


def test_ending_one_of_two_roles_at_a_school_keeps_the_school(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first", TWO_ROLES_AT_PINE))
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {"rol-000009": _tobedeleted}))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak,sch-pine"


def test_ending_both_roles_at_a_school_takes_the_school_away(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first", TWO_ROLES_AT_PINE))
    ended = _tobedeleted(AIDE_AT_PINE)
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {"rol-000009": _tobedeleted}, (ended,)))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"


def test_the_other_role_at_a_school_is_remembered_across_nights(sync, sample, tmp_path):
    """The aide's role at sch-pine ends one night, the teacher's the next: the school goes
    with the second."""
    sync.apply(_drop(sample, tmp_path / "first", TWO_ROLES_AT_PINE))
    ended = _tobedeleted(AIDE_AT_PINE)
    sync.apply(_delta(sample, tmp_path / "second", ["tch-5001"], {}, (ended,)))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak,sch-pine"
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {"rol-000009": _tobedeleted}))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"


def test_without_the_roles_kept_a_role_ended_takes_its_school_as_before(sync, sample, tmp_path):
    """A directory from before roles were kept (or whose roles of a user are not all kept)
    reads a changes-only row against its list of schools."""
    sync.apply(_drop(sample, tmp_path / "first", TWO_ROLES_AT_PINE))
    sync.engine.db.execute("DELETE FROM sis_roles WHERE sis_id <> 'rol-000012'")
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {"rol-000009": _tobedeleted}))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"


def test_the_roles_of_a_drop_are_kept_as_the_sis_sent_them(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path, TWO_ROLES_AT_PINE))
    rows = sync.engine.db.rows(
        """SELECT sis_id, role_type, role, org_sis_id, status, source_line FROM sis_roles
           WHERE user_sis_id = 'tch-5001' ORDER BY sis_id"""
    )
    assert rows == [
        ("rol-000007", "primary", "teacher", "sch-oak", "active", 8),
        ("rol-000008", "secondary", "teacher", "sch-elm", "active", 9),
        ("rol-000009", "secondary", "teacher", "sch-pine", "active", 10),
        ("rol-000012", "secondary", "aide", "sch-pine", "active", 11),
    ]


def test_a_role_missing_from_a_whole_roles_file_is_archived_not_deleted(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first", TWO_ROLES_AT_PINE))
    sync.apply(_drop(sample, tmp_path, {}))
    assert sync.engine.db.rows("SELECT status FROM sis_roles WHERE sis_id = 'rol-000012'") == [
        ("archived",)
    ]


def test_a_role_row_in_error_keeps_the_role_it_names(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first", TWO_ROLES_AT_PINE))
    broken = AIDE_AT_PINE.replace(",secondary,aide,", ",sometimes,aide,")
    run = sync.plan(_drop(sample, tmp_path, {"rol-000010,": f"{broken}\nrol-000010,"}))
    assert [i["line"] for i in sync.issues(run, "ERROR")] == [11]
    sync.apply_planned(run)
    assert sync.engine.db.rows(
        "SELECT status, role_type FROM sis_roles WHERE sis_id = 'rol-000012'"
    ) == [("active", "secondary")]


def test_a_changes_only_role_whose_user_row_is_not_sent_is_not_kept(
    sync, sample, tmp_path, sample12_applied
):
    """It changed nothing tonight (a WARNING says so): the roles kept are those the directory
    follows."""
    sync.apply(_delta(sample, tmp_path, [], {}, (AIDE_AT_PINE,)))
    assert sync.engine.db.rows("SELECT * FROM sis_roles WHERE sis_id = 'rol-000012'") == []


# What an adversarial review found in the first version of kept roles (each failed there).
def _role(sourced_id: str, user: str, role: str, school: str, status: str = "active") -> str:
    return f"{sourced_id},{status},2026-09-01T06:00:00.000Z,{user},secondary,{role},2026-08-24,,{school},"


ROLE_9 = _role("rol-000009", "tch-5001", "teacher", "sch-pine")
ROLE_9_ENDED = _role("rol-000009", "tch-5001", "teacher", "sch-pine", "tobedeleted")
ROLE_9_TO_A_STUDENT = _role("rol-000009", "stu-5003", "student", "sch-pine")
ROLE_8_AS_AIDE = _role("rol-000008", "tch-5001", "aide", "sch-elm")


def test_a_run_that_changes_only_roles_says_so(sync, sample, tmp_path, sample12_applied):
    """It changes no record, but the roles it keeps decide later nights: it must be applied."""
    run = sync.plan(_delta(sample, tmp_path, ["tch-5001"], {}, (AIDE_AT_PINE,)))
    assert run.total_changes() == 0
    [note] = [n for n in run.notes if n["kind"] == "reference"]
    assert "roles.csv 1 new, 0 changed, 0 ended" in note["message"]
    assert "No record changes; apply it all the same" in run_summary(run)


def test_a_repeated_role_id_leaves_the_first_row_speaking(sync, sample, tmp_path, sample12_applied):
    sync.apply(_delta(sample, tmp_path / "second", ["tch-5001"], {}, (ROLE_9_ENDED, ROLE_9)))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {}, (ROLE_8_AS_AIDE,)))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"


def test_a_role_row_that_is_not_applied_changes_no_school(sync, sample, tmp_path, sample12_applied):
    """rol-000009 sent for a student whose users.csv row is not in the drop: not applied."""
    run = sync.apply(
        _delta(sample, tmp_path, ["tch-5001"], {}, (ROLE_9_TO_A_STUDENT, ROLE_8_AS_AIDE))
    )
    assert [i["rule"] for i in sync.issues(run)] == ["role_without_user_row"]
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak,sch-pine"


def test_a_role_given_to_another_user_leaves_its_old_user(sync, sample, tmp_path, sample12_applied):
    sync.apply(_delta(sample, tmp_path, ["tch-5001", "stu-5003"], {}, (ROLE_9_TO_A_STUDENT,)))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"
    assert _schools(sync, "stu-5003") == "sch-oak,sch-pine"


def test_a_reverted_role_does_not_come_back_with_an_unrelated_change(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first", {"rol-000009,active,": "rol-000009,tobedeleted,"}))
    added = sync.apply(_delta(sample, tmp_path / "second", ["tch-5001"], {}, (ROLE_9,)))
    sync.apply_planned(sync.engine.revert_run(added.run_id))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {}, (ROLE_8_AS_AIDE,)))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"


def test_a_school_level_upload_keeps_the_other_schools_roles(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first", TWO_ROLES_AT_PINE))
    folder = _drop(sample, tmp_path / "elm", {})
    for name, column in (("users.csv", 0), ("roles.csv", 3), ("enrollments.csv", 5)):
        lines = (folder / name).read_text().splitlines()
        kept = [line for line in lines[1:] if line.split(",")[column] in ("stu-5001", "stu-5002")]
        (folder / name).write_text("\n".join([lines[0], *kept]) + "\n")
    run = sync.engine.plan_source(str(folder), schools=["sch-elm"])
    sync.engine.apply_run(run.run_id, override=True, reason="test", scan_duplicates=False)
    assert sync.engine.db.rows("SELECT count(*) FROM sis_roles WHERE status = 'archived'") == [(0,)]
    ended = _tobedeleted(AIDE_AT_PINE)
    sync.apply(_delta(sample, tmp_path, ["tch-5001"], {}, (ended,)))
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak,sch-pine"


def test_the_roles_of_a_user_whose_row_is_in_error_are_kept_as_they_were(
    sync, sample, tmp_path, sample12_applied
):
    folder = _delta(sample, tmp_path, ["tch-5001"], {"rol-000009": _tobedeleted})
    users = folder / "users.csv"
    users.write_text(
        users.read_text().replace(
            "tch-5001,active,2026-08-20T06:00:00.000Z,true,",
            "tch-5001,active,2026-08-20T06:00:00.000Z,maybe,",
        )
    )
    run = sync.apply(folder)
    assert [i["rule"] for i in sync.issues(run, "ERROR")] != []
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak,sch-pine"
    assert sync.engine.db.rows("SELECT status FROM sis_roles WHERE sis_id = 'rol-000009'") == [
        ("active",)
    ]


def test_a_role_row_whose_id_holds_a_nul_keeps_the_role_and_its_user(
    sync, sample, tmp_path, sample12_applied
):
    """The row is in error and names the role its id looks like, which is kept; its user has
    no valid role row (an ERROR on the users.csv row), so the user and memberships are kept."""
    run = sync.apply(_drop(sample, tmp_path, {"rol-000001,": "rol-000001\x00,"}))
    assert {k: c["archive"] for k, c in run.changes.items() if c["archive"]} == {}
    assert sync.user("stu-5001")["status"] == "active"
    assert sync.engine.db.rows("SELECT status FROM sis_roles WHERE sis_id = 'rol-000001'") == [
        ("active",)
    ]


def test_a_role_whose_begin_date_breaks_its_rule_keeps_the_stored_one(
    sync, sample, tmp_path, sample12_applied
):
    """The row's WARNING says the value is ignored and the stored one kept: so it is."""
    row = "rol-000001,active,2026-08-20T06:00:00.000Z,stu-5001,primary,student,2026-08-24,"
    sync.apply(_drop(sample, tmp_path, {row: row.replace("2026-08-24", "2026-13-01")}))
    begin = "SELECT begin_date FROM sis_roles WHERE sis_id = 'rol-000001'"
    assert sync.engine.db.one(begin) == "2026-08-24"


# A role at an org no one knows is not used, as a users.csv org no one knows is not (1.1): the
# role and what it gave its user stay as they were; a user left with no role is an ERROR.
STUDENT_AT_AN_UNKNOWN_ORG = {
    "stu-5003,primary,student,2026-08-24,,sch-oak": "stu-5003,primary,student,2026-08-24,,sch-zzz"
}


def test_a_users_only_role_moved_to_an_unknown_org_keeps_the_users_school(
    sync, sample, tmp_path, sample12_applied
):
    run = sync.plan(_drop(sample, tmp_path, STUDENT_AT_AN_UNKNOWN_ORG))
    [warning] = sync.issues(run)
    assert warning["message"] == (
        "roles.csv line 4: orgSourcedId 'sch-zzz' is not an org in orgs.csv; this role is not "
        "used (its user keeps the schools and role it had)"
    )
    assert run.total_changes() == 0, run.changes
    sync.apply_planned(run)
    assert _schools(sync, "stu-5003") == "sch-oak"
    assert sync.engine.db.rows("SELECT org_sis_id FROM sis_roles WHERE sis_id = 'rol-000003'") == [
        ("sch-oak",)
    ]


def test_the_export_after_a_role_at_an_unknown_org_syncs_back_unchanged(
    sync, sample, tmp_path, sample12_applied
):
    sync.apply(_drop(sample, tmp_path, STUDENT_AT_AN_UNKNOWN_ORG))
    sync.engine.export(str(tmp_path / "export"))
    back = sync.plan(tmp_path / "export")
    assert back.total_changes() == 0, back.changes
    assert sync.issues(back) == []


def test_one_of_several_roles_moved_to_an_unknown_org_keeps_its_school(
    sync, sample, tmp_path, sample12_applied
):
    moved = {
        "tch-5001,secondary,teacher,2026-08-24,,sch-pine": "tch-5001,secondary,teacher,2026-08-24,,sch-zzz"
    }
    run = sync.apply(_drop(sample, tmp_path, moved))
    assert run.total_changes() == 0, run.changes
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak,sch-pine"


def test_a_new_user_whose_only_role_is_at_an_unknown_org_is_an_error(sync, sample, tmp_path):
    run = sync.plan(_drop(sample, tmp_path, STUDENT_AT_AN_UNKNOWN_ORG))
    [error] = sync.issues(run, "ERROR")
    assert (error["file_name"], error["sourced_id"]) == ("users.csv", "stu-5003")
    assert error["message"].endswith(
        "the user has no role: roles.csv has no valid row for it (its role on roles.csv line 4 "
        "is at org 'sch-zzz', which is not an org in orgs.csv); the row was skipped"
    )
    sync.apply_planned(run)
    assert sync.engine.db.rows("SELECT count(*) FROM users WHERE sis_id = 'stu-5003'") == [(0,)]


def test_a_changes_only_role_at_an_unknown_org_changes_no_school(
    sync, sample, tmp_path, sample12_applied
):
    elsewhere = _role("rol-000009", "tch-5001", "teacher", "sch-zzz")
    run = sync.apply(_delta(sample, tmp_path, ["tch-5001"], {}, (elsewhere,)))
    assert [i["rule"] for i in sync.issues(run)] == ["dangling_reference"]
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak,sch-pine"
    assert sync.engine.db.rows("SELECT org_sis_id FROM sis_roles WHERE sis_id = 'rol-000009'") == [
        ("sch-pine",)
    ]


def test_a_second_primary_role_of_one_user_is_a_warning_and_the_first_is_the_role(
    sync, sample, tmp_path
):
    second = {
        "tch-5001,secondary,teacher,2026-08-24,,sch-elm": "tch-5001,primary,aide,2026-08-24,,sch-elm"
    }
    run = sync.apply(_drop(sample, tmp_path, second))
    [warning] = sync.issues(run)
    assert (warning["line"], warning["rule"], warning["column_name"]) == (
        9,
        "second_primary_role",
        "roleType",
    )
    assert warning["message"] == (
        "roles.csv line 9: user 'tch-5001' has a primary role on line 8 already, which is the "
        "user's role; this row's role is not (its org still counts)"
    )
    assert (sync.user("tch-5001")["role"], _schools(sync, "tch-5001")) == (
        "teacher",
        "sch-elm,sch-oak,sch-pine",
    )


def test_a_role_that_ended_at_an_org_no_one_knows_still_ends(
    sync, sample, tmp_path, sample12_applied
):
    """A school closed (gone from orgs.csv) and its roles sent tobedeleted: the roles end."""
    ended = {
        "rol-000009,active,": "rol-000009,tobedeleted,",
        "tch-5001,secondary,teacher,2026-08-24,,sch-pine": "tch-5001,secondary,teacher,2026-08-24,,sch-zzz",
    }
    run = sync.apply(_drop(sample, tmp_path, ended))
    assert sync.issues(run) == []
    assert _schools(sync, "tch-5001") == "sch-elm,sch-oak"
