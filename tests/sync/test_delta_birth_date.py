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


def test_a_delta_without_a_demographics_row_keeps_the_birth_date(sync: Sync, tiny: TinyDistrict):
    sync.apply(tiny)
    before = sync.user("stu-2")["birth_date"]
    assert before is not None
    sync.apply(_delta(tiny, tiny.row("demographics.csv", "stu-1")["birthDate"]))
    after = sync.user("stu-2")
    assert after["email"] == "ben@new.example.org"
    assert after["birth_date"] == before


def test_a_delta_demographics_row_still_changes_its_birth_date(sync: Sync, tiny: TinyDistrict):
    sync.apply(tiny)
    sync.apply(_delta(tiny, "2014-12-31"))
    assert str(sync.user("stu-1")["birth_date"]) == "2014-12-31"
