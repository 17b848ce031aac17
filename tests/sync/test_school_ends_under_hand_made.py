"""A school the SIS ends goes on the night it ends even while a class or person made by hand
is still in it: a night keeps a school only for what the feed and its export speak for, and
what a person made is in no export. The run (a revert's too) says what stays in it. And
nothing is made by hand in a school that is archived, nor brought back into one."""

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
        "as it is (in no export)"
    ]
    assert _failed_checks(sync) == []


def test_the_note_counts_classes_and_people_made_by_hand(sync, tiny, tiny_applied):
    sync.engine.create_classroom("Chess club", "sch-b")
    sync.engine.create_user("staff", "Hand", "Made", school="sch-b")
    sync.engine.create_user("staff", "Sam", "Other", school="sch-b")
    run = sync.plan(_without_school_b(tiny))
    assert _schools_said(run) == [
        "school 'sch-b' (Birch School) is archived, and 1 class and 2 people made by hand stay "
        "active in it as they are (in no export)"
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


def test_a_hand_made_person_is_not_unarchived_into_an_archived_school(sync, tiny, tiny_applied):
    person = sync.engine.create_user("staff", "Hand", "Made", school="sch-b")
    sync.engine.archive_user(f"#{person}")
    sync.apply(_without_school_b(tiny), override=True)
    assert _status(sync, "schools", "sch-b") == "archived"
    with pytest.raises(EditRefused, match="archived"):
        sync.engine.unarchive_user(f"#{person}")


def test_a_hand_made_person_named_by_a_schools_second_sis_id_is_refused(sync, tiny, tiny_applied):
    sync.engine.add_school_sis_id("sch-b", "birch-old")
    sync.apply(_without_school_b(tiny), override=True)
    with pytest.raises(EditRefused, match=r"^school 'birch-old' \(Birch School\) is archived"):
        sync.engine.create_user("staff", "Hand", "Made", school="birch-old")


def test_a_hand_made_class_named_by_its_schools_hand_reference_is_refused(sync, tiny, tiny_applied):
    school = sync.engine.db.one("SELECT school_id FROM schools WHERE sis_id = 'sch-b'")
    sync.apply(_without_school_b(tiny), override=True)
    with pytest.raises(EditRefused, match="is archived"):
        sync.engine.create_classroom("Chess club", f"#{school}")


def test_a_revert_that_archives_a_school_names_what_was_made_by_hand_in_it(
    sync, tiny, tiny_applied
):
    with_c = tiny.copy()
    org = dict(with_c.row("orgs.csv", "sch-b"), sourcedId="sch-c", name="Cedar School")
    with_c.rows("orgs.csv").append(org)
    added = sync.apply(with_c)
    sync.engine.create_classroom("Chess club", "sch-c")
    revert = sync.engine.revert_run(added.run_id)
    assert revert.changes["schools"]["archive"] == 1
    assert any("Chess club" in n["message"] or "made by hand" in n["message"] for n in revert.notes)
