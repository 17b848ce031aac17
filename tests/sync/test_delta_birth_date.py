"""A delta demographics.csv speaks only for the people it has a row for.

A delta leaves out what has not changed: a student whose users.csv row is re-sent (an e-mail
changed) but who has no demographics row keeps the stored birth date (the sample day4.zip does
exactly this to stu-1285). A whole demographics.csv still speaks for everyone.
"""

from __future__ import annotations

from tests.conftest import Sync
from tests.district import TinyDistrict

DELTA = {
    "file.users": "delta",
    "file.demographics": "delta",
    "file.enrollments": "absent",
    "file.classes": "absent",
    "file.orgs": "absent",
}


def _delta(tiny: TinyDistrict, birth_of_stu_1: str) -> TinyDistrict:
    """stu-1's and stu-2's users rows (stu-2 with a new e-mail); demographics.csv names stu-1
    only."""
    when = {"status": "active", "dateLastModified": "2026-11-02T06:00:00Z"}
    changed = dict(tiny.row("users.csv", "stu-2"), email="ben@new.example.org", **when)
    demographics = dict(tiny.row("demographics.csv", "stu-1"), birthDate=birth_of_stu_1, **when)
    return TinyDistrict(
        {
            "users.csv": [dict(tiny.row("users.csv", "stu-1"), **when), changed],
            "demographics.csv": [demographics],
        },
        dict(DELTA),
    )


def test_a_delta_without_a_demographics_row_keeps_the_birth_date(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    before = sync.user("stu-2")["birth_date"]
    assert before is not None
    sync.apply(_delta(tiny, tiny.row("demographics.csv", "stu-1")["birthDate"]))
    after = sync.user("stu-2")
    assert after["email"] == "ben@new.example.org"
    assert after["birth_date"] == before


def test_a_delta_demographics_row_still_changes_its_birth_date(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    sync.apply(_delta(tiny, "2014-12-31"))
    assert str(sync.user("stu-1")["birth_date"]) == "2014-12-31"


def _demographics_only(tiny: TinyDistrict, sis_id: str, birth: str) -> TinyDistrict:
    """A changes-only drop whose one row is a demographics.csv row (users.csv sends nothing)."""
    when = {"status": "active", "dateLastModified": "2026-11-03T06:00:00Z"}
    row = dict(tiny.row("demographics.csv", sis_id), birthDate=birth, **when)
    return TinyDistrict({"users.csv": [], "demographics.csv": [row]}, dict(DELTA))


def test_a_demographics_row_without_a_users_row_changes_the_birth_date_alone(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    before = sync.user("stu-3")
    run = sync.apply(_demographics_only(tiny, "stu-3", "2013-03-03"))
    after = sync.user("stu-3")
    assert str(after["birth_date"]) == "2013-03-03"
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"birth_date", "last_run", "updated_at", "source_file", "source_line",
                       "source_hash", "synced_hash", "raw_hash"}  # fmt: skip
    [change] = sync.changes(run)
    assert (change["op"], change["source_file"], change["source_line"]) == (
        "update",
        "demographics.csv",
        2,
    )
    assert [f["field"] for f in change["fields"]] == ["birth_date"]


def test_the_same_demographics_only_drop_twice_changes_nothing(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    sync.apply(_demographics_only(tiny, "stu-3", "2013-03-03"))
    again = sync.plan(_demographics_only(tiny, "stu-3", "2013-03-03"))
    assert sync.changes(again) == []


def test_a_demographics_only_row_for_an_archived_person_says_why_and_changes_nothing(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    sync.engine.archive_user("stu-3")
    before = sync.user("stu-3")
    run = sync.plan(_demographics_only(tiny, "stu-3", "2013-03-03"))
    assert sync.changes(run) == []
    [issue] = sync.issues(run, "WARNING")
    assert issue["rule"] == "demographics_not_applied"
    assert "the person is archived" in issue["message"]
    assert "demographics.csv line 2" in issue["message"]
    assert sync.user("stu-3")["birth_date"] == before["birth_date"]


def test_a_person_last_changed_by_demographics_still_leaves_with_a_whole_users_csv(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    sync.apply(_demographics_only(tiny, "stu-3", "2013-03-03"))
    whole = tiny.copy()
    whole.remove("users.csv", sourcedId="stu-3")
    whole.remove("enrollments.csv", userSourcedId="stu-3")
    sync.apply(whole, override=True)  # one student of ten: over the archive threshold
    assert sync.user("stu-3")["status"] == "archived"
