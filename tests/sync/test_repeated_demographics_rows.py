"""A student named by more than one demographics.csv row: the first row speaks.

A repeated sourcedId is an ERROR on every row after the first (duplicate_id), so the good rows
name each student once; a row in error that names the student too (its id with an invisible
character, which names the record it looks like) still counts when it comes first: the birth
date cannot be told, and the record keeps its own.
"""

from __future__ import annotations

from tests.conftest import Sync
from tests.district import TinyDistrict

HIDDEN = "\u200b"  # a zero-width space: an ERROR in an id, read as the id it looks like


def _with_rows(tiny: TinyDistrict, first: dict, later: dict) -> TinyDistrict:
    """The whole drop, stu-1's demographics row replaced by `first` (at the top) and `later`
    (at the bottom)."""
    drop = tiny.copy()
    others = [d for d in drop.rows("demographics.csv") if d["sourcedId"] != "stu-1"]
    drop.files["demographics.csv"] = [first, *others, later]
    return drop


def test_a_repeated_row_does_not_change_the_birth_date_the_first_row_gives(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    row = tiny.row("demographics.csv", "stu-1")
    run = sync.apply(
        _with_rows(tiny, dict(row, birthDate="2014-12-31"), dict(row, birthDate="2015-06-01"))
    )
    assert str(sync.user("stu-1")["birth_date"]) == "2014-12-31"
    assert [i["rule"] for i in sync.issues(run, "ERROR")] == ["duplicate_id"]


def test_a_row_in_error_before_the_good_row_keeps_the_stored_birth_date(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    row = tiny.row("demographics.csv", "stu-1")
    before = sync.user("stu-1")["birth_date"]
    broken = dict(row, sourcedId="stu-1" + HIDDEN, birthDate="2015-06-01")
    sync.apply(_with_rows(tiny, broken, dict(row, birthDate="2014-12-31")))
    assert sync.user("stu-1")["birth_date"] == before


def test_a_row_in_error_after_the_good_row_leaves_the_good_row_speaking(
    sync: Sync, tiny: TinyDistrict, tiny_applied
):
    row = tiny.row("demographics.csv", "stu-1")
    broken = dict(row, sourcedId="stu-1" + HIDDEN, birthDate="2015-06-01")
    sync.apply(_with_rows(tiny, dict(row, birthDate="2014-12-31"), broken))
    assert str(sync.user("stu-1")["birth_date"]) == "2014-12-31"
