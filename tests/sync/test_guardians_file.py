"""guardians.csv adds the people users.csv does not name; it never speaks for one that
users.csv names, even when that row is in error (the record is then kept as it is)."""

from __future__ import annotations


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
