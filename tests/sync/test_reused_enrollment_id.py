"""A new membership sent under an existing membership's sourcedId, one line above it: the later
line is in error as a duplicate and keeps its membership, so the first does not make a second
one with that SIS id (it did: an export then repeated the sourcedId, and its sync back reported
an error). Found by tests/properties/test_sync_properties.py (reuse_enrollment_id_above)."""

from __future__ import annotations


def test_an_enrollment_id_sent_twice_names_one_active_enrollment(sync, tiny):
    sync.apply(tiny)
    enrollments = tiny.rows("enrollments.csv")
    first = next(i for i, e in enumerate(enrollments) if e["sourcedId"] == "enr-t2")
    enrollments.insert(first, dict(enrollments[first], classSourcedId="cls-b1"))
    sync.apply(tiny)

    active = sync.engine.db.one(
        "SELECT count(*) FROM enrollments WHERE sis_id = 'enr-t2' AND status = 'active'"
    )
    assert active == 1


def _reuse_above(tiny) -> None:
    """enr-t2 (tch-1 in cls-a2) sent again one line above, naming cls-b1."""
    enrollments = tiny.rows("enrollments.csv")
    first = next(i for i, e in enumerate(enrollments) if e["sourcedId"] == "enr-t2")
    enrollments.insert(first, dict(enrollments[first], classSourcedId="cls-b1"))


def test_the_row_that_would_share_the_id_says_which_membership_holds_it(sync, tiny):
    sync.apply(tiny)
    _reuse_above(tiny)
    run = sync.plan(tiny)

    [issue] = [i for i in sync.issues(run, "WARNING") if i["rule"] == "not_synced"]
    assert issue["sourced_id"] == "enr-t2"
    assert "already names the membership of 'tch-1' in class 'cls-a2'" in issue["message"]
    assert sync.changes(run, "enrollments", "create") == []


def test_a_delta_row_naming_a_kept_membership_of_another_class_keeps_the_first(sync, tiny):
    """In a delta file the membership enr-t2 names is not archived for being left out, so the
    row moving its sourcedId to another class would make a second one: it is not synced."""
    sync.apply(tiny)
    row = dict(tiny.row("enrollments.csv", "enr-t2"), classSourcedId="cls-b1")
    row.update(status="active", dateLastModified="2026-12-01T06:00:00.000Z")
    tiny.files["enrollments.csv"] = [row]
    tiny.manifest["file.enrollments"] = "delta"
    sync.apply(tiny)

    kept = sync.engine.db.dicts(
        """SELECT c.sis_id AS class FROM enrollments e JOIN classrooms c USING (classroom_id)
           WHERE e.sis_id = 'enr-t2' AND e.status = 'active'"""
    )
    assert kept == [{"class": "cls-a2"}]


def test_a_bulk_row_moving_its_sourcedId_to_another_class_moves_the_membership(sync, tiny):
    """Nothing keeps the first membership: it is archived, and the row makes the new one."""
    sync.apply(tiny)
    tiny.row("enrollments.csv", "enr-t2")["classSourcedId"] = "cls-b1"
    sync.apply(tiny)

    rows = sync.engine.db.dicts(
        """SELECT c.sis_id AS class, e.status FROM enrollments e JOIN classrooms c USING (classroom_id)
           WHERE e.sis_id = 'enr-t2' ORDER BY e.enrollment_id"""
    )
    assert rows == [
        {"class": "cls-a2", "status": "archived"},
        {"class": "cls-b1", "status": "active"},
    ]
