"""Each archive says why (the review screen's note column): its row is marked tobedeleted, it is
no longer in the feed, or it goes with its parent's archive, though its own row may still be
in the file (a student marked tobedeleted, whose memberships enrollments.csv still lists)."""

from __future__ import annotations


def _notes_after(
    sync, tiny, kind: str, file: str, sourced_id: str, *, left_out: bool = False
) -> set[tuple[str, str]]:
    """Night 1 as it is; night 2 marks one row tobedeleted (or leaves it out)."""
    sync.apply(tiny)
    if left_out:
        tiny.remove(file, sourcedId=sourced_id)
    else:
        tiny.row(file, sourced_id)["status"] = "tobedeleted"
    run = sync.plan(tiny)
    return {(c["label"], c["note"]) for c in sync.changes(run, kind, "archive")}


def test_the_memberships_of_a_student_marked_tobedeleted_go_with_them(sync, tiny):
    assert _notes_after(sync, tiny, "enrollments", "users.csv", "stu-1") == {
        ("stu-1 in cls-a1", "its person is archived"),
        ("stu-1 in cls-a2", "its person is archived"),
    }


def test_their_guardian_links_go_with_them(sync, tiny):
    assert _notes_after(sync, tiny, "guardian_links", "users.csv", "stu-1") == {
        ("gdn-1 for stu-1", "its student is archived")
    }


def test_the_memberships_of_a_class_marked_tobedeleted_go_with_it(sync, tiny):
    notes = _notes_after(sync, tiny, "enrollments", "classes.csv", "cls-a1")
    assert {note for _, note in notes} == {"its class is archived"}


def test_a_membership_marked_tobedeleted_says_so(sync, tiny):
    assert _notes_after(sync, tiny, "enrollments", "enrollments.csv", "enr-1a") == {
        ("stu-1 in cls-a1", "marked tobedeleted")
    }


def test_a_membership_left_out_of_a_whole_file_is_no_longer_in_the_feed(sync, tiny):
    assert _notes_after(sync, tiny, "enrollments", "enrollments.csv", "enr-1a", left_out=True) == {
        ("stu-1 in cls-a1", "no longer in the feed")
    }


def test_an_archive_that_goes_with_its_parents_names_the_parents_row(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-1")["status"] = "tobedeleted"
    run = sync.plan(tiny)
    traces = {(c["source_file"], c["source_line"]) for c in sync.changes(run, "enrollments")}
    assert traces == {("users.csv", 2)}


def test_one_left_out_with_its_parent_names_no_line(sync, tiny, tiny_applied):
    tiny.remove("users.csv", sourcedId="stu-1")
    run = sync.plan(tiny)
    traces = {(c["source_file"], c["source_line"]) for c in sync.changes(run, "enrollments")}
    assert traces == {("enrollments.csv", None)}


def test_bringing_back_a_student_archived_by_hand_says_so(sync, tiny, tiny_applied):
    """The feed undoes a person's decision there (archived_students = unarchive): whoever
    reviews the run should see it. A guardian or staff member archived by hand stays archived
    instead (tests/sync/test_archived_by_hand.py)."""
    sync.engine.archive_user("stu-1")
    run = sync.plan(tiny)
    notes = {(c["label"], c["note"]) for c in sync.changes(run, "students", "unarchive")}
    assert notes == {("Ava Lopez", "archived by hand; the feed lists it again")}


def test_bringing_back_one_a_run_archived_says_nothing_more(sync, tiny, tiny_applied):
    without = tiny.copy()
    without.remove("users.csv", sourcedId="gdn-1")
    sync.apply(without)
    run = sync.plan(tiny)
    notes = {(c["label"], c["note"]) for c in sync.changes(run, "guardians", "unarchive")}
    assert notes == {("Parent1 Lopez", None)}
