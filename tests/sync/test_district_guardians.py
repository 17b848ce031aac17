"""Guardians whose only org is the district (as ClassLink sends them) belong to the schools of
the students they are linked to (issue 16, item 5)."""

from __future__ import annotations

from tests.conftest import Sync
from tests.district import TinyDistrict, _enrollment


def test_a_district_guardian_belongs_to_its_students_schools(
    sync: Sync, tiny: TinyDistrict
) -> None:
    tiny.row("users.csv", "gdn-2")["orgSourcedIds"] = "dist-1"
    tiny.row("users.csv", "stu-2")["orgSourcedIds"] = "sch-a,sch-b"
    sync.apply(tiny)
    assert sync.user("gdn-2")["org_sis_ids"] == "sch-a,sch-b"


def test_linked_from_the_students_side_only_counts_too(sync: Sync, tiny: TinyDistrict) -> None:
    guardian = tiny.row("users.csv", "gdn-8")
    guardian.update(orgSourcedIds="dist-1", agentSourcedIds="")
    sync.apply(tiny)
    assert sync.user("gdn-8")["org_sis_ids"] == "sch-b"


def test_a_district_guardian_linked_to_no_student_keeps_the_district(
    sync: Sync, tiny: TinyDistrict
) -> None:
    guardian = tiny.row("users.csv", "gdn-9")
    guardian.update(orgSourcedIds="dist-1", agentSourcedIds="")
    tiny.row("users.csv", "stu-9")["agentSourcedIds"] = ""
    sync.apply(tiny)
    assert sync.user("gdn-9")["org_sis_ids"] == "dist-1"


def test_the_same_district_guardian_twice_plans_no_change(sync: Sync, tiny: TinyDistrict) -> None:
    tiny.row("users.csv", "gdn-2")["orgSourcedIds"] = "dist-1"
    sync.apply(tiny)
    assert sync.plan(tiny).total_changes() == 0


def test_a_delta_keeps_the_schools_of_students_it_leaves_out(
    sync: Sync, tiny: TinyDistrict
) -> None:
    """A guardian in a delta file, its student not: the student's school is the directory's."""
    tiny.row("users.csv", "gdn-8")["orgSourcedIds"] = "dist-1"
    sync.apply(tiny)
    delta = TinyDistrict({"users.csv": [dict(tiny.row("users.csv", "gdn-8"), status="active",
                                             dateLastModified="2026-11-02T00:00:00Z")]},
                         {"file.users": "delta", "file.classes": "absent",
                          "file.enrollments": "absent"})  # fmt: skip
    run = sync.plan(delta)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes


def test_a_students_row_in_error_keeps_its_district_guardians_schools(
    sync: Sync, tiny: TinyDistrict
) -> None:
    """The student's record is kept as it is, so its guardian's schools are too."""
    guardian = tiny.row("users.csv", "gdn-8")
    guardian.update(orgSourcedIds="dist-1", agentSourcedIds="stu-8")
    tiny.row("users.csv", "stu-8")["agentSourcedIds"] = ""
    sync.apply(tiny)
    tiny.row("users.csv", "stu-8")["role"] = "not-a-role"  # the row is in error
    run = sync.plan(tiny)
    assert run.changes["guardians"]["update"] == 0, run.changes


def test_a_students_row_in_error_does_not_keep_its_guardian_where_the_others_left(
    sync: Sync, tiny: TinyDistrict
) -> None:
    """The district guardian's other student moves: the guardian follows it, and keeps the held
    student's school as the directory holds it (a pin of the guardian's schools kept it at a
    school none of its students attend)."""
    tiny.row("users.csv", "gdn-1").update(orgSourcedIds="dist-1", agentSourcedIds="stu-1,stu-8")
    sync.apply(tiny, override=True)
    assert sync.user("gdn-1")["org_sis_ids"] == "sch-a,sch-b"
    tiny.row("users.csv", "stu-1")["orgSourcedIds"] = "sch-b"
    tiny.remove("enrollments.csv", userSourcedId="stu-1")
    tiny.rows("enrollments.csv").append(_enrollment("enr-1x", "cls-b1", "stu-1", school="sch-b"))
    tiny.row("users.csv", "stu-8")["role"] = "not-a-role"  # the row is in error
    sync.apply(tiny, override=True)
    assert sync.user("gdn-1")["org_sis_ids"] == "sch-b"
