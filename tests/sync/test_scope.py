"""School-level uploads (issue 17, section 2): a run scoped to some schools plans only within
them; other schools' records are never archived for being absent from the file."""

from __future__ import annotations

import pytest

from tests.district import TinyDistrict


def _school_a_only(tiny: TinyDistrict) -> TinyDistrict:
    """What school A's SIS export holds: its school, people, classes and enrollments."""
    drop = tiny.copy()
    drop.remove("orgs.csv", sourcedId="sch-b")
    drop.files["users.csv"] = [r for r in drop.rows("users.csv") if r["orgSourcedIds"] == "sch-a"]
    drop.remove("classes.csv", schoolSourcedId="sch-b")
    drop.remove("enrollments.csv", schoolSourcedId="sch-b")
    kept = {r["sourcedId"] for r in drop.rows("users.csv")}
    drop.files["demographics.csv"] = [
        r for r in drop.rows("demographics.csv") if r["sourcedId"] in kept
    ]
    return drop


@pytest.fixture
def applied(sync, tiny_applied):
    return sync


def _scoped(sync, drop: TinyDistrict, *schools: str):
    return sync.engine.plan_source(str(drop.write(sync.root)), None, False, list(schools))


def test_a_scoped_run_archives_nothing_of_another_school(applied, tiny):
    drop = _school_a_only(tiny)
    drop.row("users.csv", "stu-2")["familyName"] = "Okafor-Ade"
    run = _scoped(applied, drop, "sch-a")
    assert run.scope == ["sch-a"] and run.status == "planned"
    assert all(ops["archive"] == 0 for ops in run.changes.values()), run.changes
    assert run.changes["students"]["update"] == 1
    applied.engine.apply_run(run.run_id, scan_duplicates=False)
    assert applied.user("stu-7")["status"] == "active"  # school B's student
    db = applied.engine.db
    assert db.one("SELECT count(*) FROM classrooms WHERE status = 'archived'") == 0
    assert db.one("SELECT count(*) FROM enrollments WHERE status = 'archived'") == 0


def test_the_same_file_unscoped_would_archive_school_b(applied, tiny):
    run = applied.plan(_school_a_only(tiny))
    assert run.status == "held" and run.changes["students"]["archive"] == 4


def test_a_scoped_run_still_archives_within_its_school(applied, tiny):
    drop = _school_a_only(tiny)
    drop.remove("users.csv", sourcedId="stu-6")
    drop.remove("enrollments.csv", userSourcedId="stu-6")
    run = _scoped(applied, drop, "sch-a")
    # the threshold counts within school A: 1 of its 6 students is over 10%
    [students] = [t for t in run.thresholds if t.kind == "students"]
    assert (students.archives, students.active) == (1, 6)
    assert run.status == "held"
    applied.engine.apply_run(run.run_id, True, "stu-6 left school A", False)
    assert applied.user("stu-6")["status"] == "archived"
    assert applied.user("stu-7")["status"] == "active"


def test_a_row_naming_another_school_is_a_warning_and_not_synced(applied, tiny):
    drop = _school_a_only(tiny)
    stray = {**tiny.row("users.csv", "stu-8"), "familyName": "Kato-Ito"}
    drop.rows("users.csv").append(stray)
    run = _scoped(applied, drop, "sch-a")
    [issue] = [i for i in applied.issues(run, "WARNING") if i["rule"] == "out_of_scope"]
    assert issue["sourced_id"] == "stu-8" and issue["file_name"] == "users.csv"
    assert "names sch-b, outside this run's schools (sch-a); not synced" in issue["message"]
    assert run.changes["students"]["update"] == 0
    applied.engine.apply_run(run.run_id, scan_duplicates=False)
    assert applied.user("stu-8")["family_name"] == "Kato"


def test_the_scope_may_come_from_the_manifest(applied, tiny):
    drop = _school_a_only(tiny)
    drop.manifest = {"manifest.version": "1.0", "source.schools": "sch-a"}
    run = applied.plan(drop)
    assert run.scope == ["sch-a"] and run.changes["students"]["archive"] == 0


def test_a_scope_naming_no_school_fails_in_one_line(applied, tiny):
    run = _scoped(applied, _school_a_only(tiny), "sch-zz")
    assert run.status == "failed" and "scoped to sch-zz, which is no school" in run.error


def test_a_scoped_run_leaves_out_a_district_guardian_of_another_schools_students(sync, tiny):
    """gdn-8 names only the district; its student, stu-8, is at school B."""
    tiny.row("users.csv", "gdn-8")["orgSourcedIds"] = "dist-1"
    sync.apply(tiny)
    tiny.row("users.csv", "gdn-8")["email"] = "new@example.net"
    run = _scoped(sync, tiny, "sch-a")
    assert run.changes["guardians"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    issues = sync.engine.db.rows(
        "SELECT rule FROM row_issues WHERE run_id = ? AND sourced_id = 'gdn-8'", [run.run_id]
    )
    assert issues == [("out_of_scope",)]


def _guardians_file_row(tiny: TinyDistrict, guardian: str, student: str) -> dict[str, str]:
    user = tiny.row("users.csv", guardian)
    return {"sourcedId": guardian, "status": "", "dateLastModified": "",
            "studentSourcedId": student, "relationship": "parent",
            "givenName": user["givenName"], "familyName": user["familyName"],
            "email": "", "sms": "", "phone": "", "language": ""}  # fmt: skip


def test_a_guardians_file_row_does_not_bring_back_a_district_guardian_left_out(sync, tiny):
    """gdn-8 names only the district; its student, stu-8, is at school B."""
    tiny.row("users.csv", "gdn-8")["orgSourcedIds"] = "dist-1"
    tiny.rows("guardians.csv").append(_guardians_file_row(tiny, "gdn-8", "stu-8"))
    run = _scoped(sync, tiny, "sch-a")
    sync.engine.apply_run(run.run_id, scan_duplicates=False)
    assert sync.engine.db.rows("SELECT user_id FROM users WHERE sis_id = 'gdn-8'") == []


def test_a_guardians_file_row_of_a_student_of_another_school_is_out_of_scope(sync, tiny):
    tiny.rows("guardians.csv").append(
        {**_guardians_file_row(tiny, "gdn-8", "stu-8"), "sourcedId": "rel-8"}
    )
    run = _scoped(sync, tiny, "sch-a")
    issues = sync.engine.db.rows(
        "SELECT rule, message FROM row_issues WHERE run_id = ? AND sourced_id = 'rel-8'",
        [run.run_id],
    )
    assert [rule for rule, _ in issues] == ["out_of_scope"]
    assert "names student stu-8 at sch-b, outside this run's schools (sch-a)" in issues[0][1]
    assert run.changes["guardians"]["create"] == sum(
        1 for r in tiny.rows("users.csv") if r["role"] == "parent" and r["orgSourcedIds"] == "sch-a"
    )


def test_a_scoped_run_leaves_out_scheduled_classes_of_its_schools_only(sync, tiny):
    """Under homeroom_only a night archives the scheduled classrooms no good row names, but a
    school-level upload only within its schools."""
    art = dict(tiny.row("classes.csv", "cls-a2"), sourcedId="cls-b2", schoolSourcedId="sch-b")
    tiny.rows("classes.csv").append(art)
    sync.apply(tiny)
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    run = _scoped(sync, _school_a_only(tiny), "sch-a")
    sync.engine.apply_run(run.run_id, override=True, reason="test", scan_duplicates=False)
    status = dict(sync.engine.db.rows("SELECT sis_id, status FROM classrooms"))
    assert status == {
        "cls-a1": "active",
        "cls-a2": "archived",
        "cls-b1": "active",
        "cls-b2": "active",
    }
