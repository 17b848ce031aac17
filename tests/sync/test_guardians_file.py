"""guardians.csv adds the people users.csv does not name; it never speaks for one that
users.csv names, even when that row is in error (the record is then kept as it is)."""

from __future__ import annotations

from tests.district import TinyDistrict


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


def test_a_drop_of_guardians_csv_alone_gives_new_contacts_their_email_and_phone(sync, tiny):
    sync.apply(tiny)
    sync.apply(TinyDistrict({"guardians.csv": [_contact("gf-1", "robin@example.net")]},
                            dict(ONLY_GUARDIANS)))  # fmt: skip
    robin = sync.user("gf-1")
    assert (robin["email"], robin["mobile_phone"]) == ("robin@example.net", "555-0300")


def test_a_drop_of_guardians_csv_alone_changes_a_contacts_email(sync, tiny):
    sync.apply(tiny)
    sync.apply(TinyDistrict({"guardians.csv": [_contact("gf-1", "robin@example.net")]},
                            dict(ONLY_GUARDIANS)))  # fmt: skip
    sync.apply(TinyDistrict({"guardians.csv": [_contact("gf-1", "robin@new.example.net")]},
                            dict(ONLY_GUARDIANS)))  # fmt: skip
    assert sync.user("gf-1")["email"] == "robin@new.example.net"


def test_a_users_csv_without_an_email_column_keeps_emails_beside_a_guardians_csv_with_one(
    sync, tiny
):
    sync.apply(tiny)
    for row in tiny.rows("users.csv"):
        del row["email"]
    tiny.rows("guardians.csv").append(_contact("gf-1", "robin@example.net"))
    sync.apply(tiny)
    assert sync.user("tch-1")["email"] == "tquinn@example.org"
    assert sync.user("gf-1")["email"] == "robin@example.net"
