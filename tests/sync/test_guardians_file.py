"""guardians.csv adds the people users.csv does not name; it never speaks for one that
users.csv names, even when that row is in error (the record is then kept as it is)."""

from __future__ import annotations

from tests.district import TinyDistrict, guardian_of


def test_a_guardians_file_row_does_not_speak_for_a_person_whose_users_row_is_in_error(sync, tiny):
    guardian = tiny.row("users.csv", "gdn-1")
    tiny.rows("guardians.csv").append(
        {"sourcedId": "gdn-1", "status": "", "dateLastModified": "", "studentSourcedId": "stu-1",
         "relationship": "parent", "givenName": guardian["givenName"],
         "familyName": guardian["familyName"], "email": "", "sms": "", "phone": "",
         "language": ""}
    )  # fmt: skip
    sync.apply(tiny)
    before = sync.user("gdn-1")
    guardian["role"] = "pupil"  # an ERROR: no such role
    run = sync.plan(tiny)
    assert run.changes["guardians"]["update"] == 0, run.changes
    sync.engine.apply_run(run.run_id, override=True, reason="a test", scan_duplicates=False)
    after = sync.user("gdn-1")
    assert (after["email"], after["mobile_phone"]) == (before["email"], before["mobile_phone"])


def _contact(sis_id: str, email: str, **extra: str) -> dict[str, str]:
    return {"sourcedId": sis_id, "status": "active", "dateLastModified": "2026-11-05T06:00:00Z",
            "studentSourcedId": "stu-1", "relationship": "guardian", "givenName": "Robin",
            "familyName": "Contact", "email": email, "sms": "555-0300", "phone": "",
            "language": ""} | extra  # fmt: skip


ONLY_GUARDIANS = {
    f"file.{name}": "absent"
    for name in ("orgs", "courses", "academicSessions", "users", "demographics", "enrollments",
                 "classes", "student_attributes")
} | {"file.guardians": "delta"}  # fmt: skip


def test_a_drop_of_guardians_csv_alone_gives_new_contacts_their_email_and_phone(sync, tiny_applied):
    sync.apply(TinyDistrict({"guardians.csv": [_contact("gf-1", "robin@example.net")]},
                            dict(ONLY_GUARDIANS)))  # fmt: skip
    robin = sync.user("gf-1")
    assert (robin["email"], robin["mobile_phone"]) == ("robin@example.net", "555-0300")


def test_a_drop_of_guardians_csv_alone_changes_a_contacts_email(sync, tiny_applied):
    sync.apply(TinyDistrict({"guardians.csv": [_contact("gf-1", "robin@example.net")]},
                            dict(ONLY_GUARDIANS)))  # fmt: skip
    sync.apply(TinyDistrict({"guardians.csv": [_contact("gf-1", "robin@new.example.net")]},
                            dict(ONLY_GUARDIANS)))  # fmt: skip
    assert sync.user("gf-1")["email"] == "robin@new.example.net"


def test_a_users_csv_without_an_email_column_keeps_emails_beside_a_guardians_csv_with_one(
    sync, tiny, tiny_applied
):
    for row in tiny.rows("users.csv"):
        del row["email"]
    tiny.rows("guardians.csv").append(_contact("gf-1", "robin@example.net"))
    sync.apply(tiny)
    assert sync.user("tch-1")["email"] == "tquinn@example.org"
    assert sync.user("gf-1")["email"] == "robin@example.net"


def test_rows_naming_a_teacher_a_student_or_the_student_herself_as_guardian_say_so(sync, tiny):
    tiny.rows("guardians.csv").extend(
        [
            guardian_of("stu-1", "tch-1"),
            guardian_of("stu-1", "stu-2"),
            guardian_of("stu-1", "stu-1"),
        ]
    )
    run = sync.plan(tiny)
    issues = [(i["line"], i["severity"], i["rule"], i["message"]) for i in sync.issues(run)]
    assert issues == [
        (2, "WARNING", "not_a_guardian", "guardians.csv line 2: sourcedId 'tch-1' is a teacher in "
         "users.csv, not a parent or guardian; this row makes no link"),
        (3, "WARNING", "not_a_guardian", "guardians.csv line 3: sourcedId 'stu-2' is a student in "
         "users.csv, not a parent or guardian; this row makes no link"),
        (4, "WARNING", "not_a_guardian", "guardians.csv line 4: sourcedId 'stu-1' is the student "
         "this row names (studentSourcedId); this row makes no link"),
    ]  # fmt: skip


def test_a_row_naming_a_teacher_users_csv_leaves_out_as_guardian_changes_no_one(
    sync, tiny, tiny_applied
):
    """users.csv a delta without the teacher: guardians.csv would have described her as a
    guardian, and the teacher would have become one (her classes archived with it)."""
    changes_only = TinyDistrict(
        {"users.csv": [tiny.row("users.csv", "stu-1")], "guardians.csv": [guardian_of("stu-1", "tch-1")]},
        {"file.users": "delta", "file.guardians": "delta", "file.enrollments": "absent",
         "file.classes": "absent", "file.orgs": "absent", "file.demographics": "absent"},
    )  # fmt: skip
    for row in (*changes_only.rows("users.csv"), *changes_only.rows("guardians.csv")):
        row.update(status="active", dateLastModified="2026-11-05T06:00:00Z")
    run = sync.plan(changes_only)
    [issue] = sync.issues(run)
    assert issue["message"] == (
        "guardians.csv line 2: sourcedId 'tch-1' is a teacher in the directory, not a parent or "
        "guardian; this row makes no link"
    )
    assert run.total_changes() == 0, run.changes
    assert sync.user("tch-1")["kind"] == "staff"
