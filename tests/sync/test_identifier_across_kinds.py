"""Under `student_id = identifier` a student's row finds its record by identifier. A record of
another kind (a teacher who is a student again) is found too, but only where the row's SIS id
agrees: a staff member's identifier is not a student number and may be another person's. Found
by tests/properties/test_sync_properties.py: the teacher's record was archived and a second
record made for the same person (same sourcedId), a warning on its row notwithstanding."""

from __future__ import annotations


def _teacher_on_night_one(sync, tiny) -> None:
    sync.engine.settings_set("student_id", "identifier")
    tiny.row("users.csv", "stu-8")["role"] = "teacher"
    sync.apply(tiny, override=True)


def test_a_teacher_who_is_a_student_again_keeps_the_record(sync, tiny):
    _teacher_on_night_one(sync, tiny)
    before = sync.user("stu-8")["user_id"]
    tiny.row("users.csv", "stu-8")["role"] = "student"
    run = sync.apply(tiny, override=True)
    assert sync.changes(run, "students", "create") == []
    assert (sync.user("stu-8")["user_id"], sync.user("stu-8")["kind"]) == (before, "student")


def test_their_memberships_stay(sync, tiny):
    _teacher_on_night_one(sync, tiny)
    tiny.row("users.csv", "stu-8")["role"] = "student"
    run = sync.apply(tiny, override=True)
    assert sync.changes(run, "enrollments", "archive") == []


def test_a_student_with_a_staff_members_identifier_does_not_take_their_record(sync, tiny):
    sync.engine.settings_set("student_id", "identifier")
    tiny.row("users.csv", "tch-1")["identifier"] = "E-1008"
    sync.apply(tiny)
    teacher = sync.user("tch-1")
    tiny.row("users.csv", "stu-8")["identifier"] = "E-1008"  # the teacher's employee number
    sync.apply(tiny, override=True)
    assert sync.user("tch-1") | {"last_run": None} == teacher | {"last_run": None}
    assert sync.user("stu-8")["user_id"] != teacher["user_id"]
