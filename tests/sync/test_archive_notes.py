"""Each archive says why (the review screen's note column): its row is marked tobedeleted, it is
no longer in the feed, or it goes with its parent's archive, though its own row may still be
in the file (a student marked tobedeleted, whose memberships enrollments.csv still lists)."""

from __future__ import annotations


def _notes(sync, run, kind: str) -> set[tuple[str, str]]:
    return {(c["label"], c["note"]) for c in sync.changes(run, kind, "archive")}


def test_the_memberships_of_a_student_marked_tobedeleted_go_with_them(sync, tiny):
    sync.apply(tiny)
    tiny.row("users.csv", "stu-1")["status"] = "tobedeleted"
    run = sync.plan(tiny)
    assert _notes(sync, run, "enrollments") == {
        ("stu-1 in cls-a1", "its person is archived"),
        ("stu-1 in cls-a2", "its person is archived"),
    }


def test_their_guardian_links_go_with_them(sync, tiny):
    sync.apply(tiny)
    tiny.row("users.csv", "stu-1")["status"] = "tobedeleted"
    run = sync.plan(tiny)
    assert _notes(sync, run, "guardian_links") == {("gdn-1 for stu-1", "its student is archived")}


def test_the_memberships_of_a_class_marked_tobedeleted_go_with_it(sync, tiny):
    sync.apply(tiny)
    tiny.row("classes.csv", "cls-a1")["status"] = "tobedeleted"
    run = sync.plan(tiny)
    assert {note for _, note in _notes(sync, run, "enrollments")} == {"its class is archived"}


def test_a_membership_marked_tobedeleted_says_so(sync, tiny):
    sync.apply(tiny)
    tiny.row("enrollments.csv", "enr-1a")["status"] = "tobedeleted"
    run = sync.plan(tiny)
    assert _notes(sync, run, "enrollments") == {("stu-1 in cls-a1", "marked tobedeleted")}


def test_a_membership_left_out_of_a_whole_file_is_no_longer_in_the_feed(sync, tiny):
    sync.apply(tiny)
    tiny.remove("enrollments.csv", sourcedId="enr-1a")
    run = sync.plan(tiny)
    assert _notes(sync, run, "enrollments") == {("stu-1 in cls-a1", "no longer in the feed")}
