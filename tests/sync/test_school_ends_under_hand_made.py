"""A school the SIS ends goes on the night it ends even while a class or person made by hand
is still in it: a night keeps a school only for what the feed and its export speak for, and
what a person made is in no export. The run says what stays in it, for whoever made it to
move or archive. And nothing is made by hand in a school that is archived."""

from __future__ import annotations

import pytest

from daemon.directory.errors import EditRefused
from tests.sync.test_school_still_named import _failed_checks, _status, _without_school_b


def _schools_said(run) -> list[str]:
    return [note["message"] for note in run.notes if note["kind"] == "schools"]


def test_a_school_left_out_is_archived_and_the_run_names_the_class_made_by_hand_in_it(
    sync, tiny, tiny_applied
):
    sync.engine.create_classroom("Chess club", "sch-b")
    run = sync.apply(_without_school_b(tiny), override=True)
    assert _status(sync, "schools", "sch-b") == "archived"
    assert _schools_said(run) == [
        "school 'sch-b' (Birch School) is archived, and 1 class made by hand stays active in it "
        "(in no export): move or archive it if the school is gone for it too"
    ]
    assert _failed_checks(sync) == []


def test_the_note_counts_classes_and_people_made_by_hand(sync, tiny, tiny_applied):
    sync.engine.create_classroom("Chess club", "sch-b")
    sync.engine.create_user("staff", "Hand", "Made", school="sch-b")
    sync.engine.create_user("staff", "Sam", "Other", school="sch-b")
    run = sync.plan(_without_school_b(tiny))
    assert _schools_said(run) == [
        "school 'sch-b' (Birch School) is archived, and 1 class and 2 people made by hand stay "
        "active in it (in no export): move or archive them if the school is gone for them too"
    ]


def test_a_night_that_archives_no_school_says_nothing_of_what_was_made_by_hand(
    sync, tiny, tiny_applied
):
    sync.engine.create_classroom("Chess club", "sch-b")
    run = sync.plan(tiny)
    assert _schools_said(run) == []


def test_no_class_is_made_by_hand_in_an_archived_school(sync, tiny, tiny_applied):
    sync.apply(_without_school_b(tiny), override=True)
    with pytest.raises(EditRefused) as refused:
        sync.engine.create_classroom("Chess club", "sch-b")
    assert str(refused.value) == (
        "school 'sch-b' (Birch School) is archived: a class is not made in it (the SIS brings a "
        "school back with its orgs.csv row)"
    )


def test_no_person_is_made_by_hand_in_an_archived_school(sync, tiny, tiny_applied):
    sync.apply(_without_school_b(tiny), override=True)
    with pytest.raises(
        EditRefused, match=r"^school 'sch-b' \(Birch School\) is archived: a person "
    ):
        sync.engine.create_user("staff", "Hand", "Made", school="sch-b")
