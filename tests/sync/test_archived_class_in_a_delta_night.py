"""A class the directory has archived, left out of a delta classes.csv, stays archived, and so do
its memberships: a whole enrollments.csv still naming it does not make them active again (they
were active memberships of a class the directory, its export and every LMS no longer show, and
the export synced back archived them). Found by tests/properties/test_sync_properties.py (a
night reverted by hand, then a delta classes.csv)."""

from __future__ import annotations


def _archive_science_5(sync, tiny) -> None:
    """cls-a2 and its memberships archived: a whole night without them."""
    without = tiny.copy()
    without.remove("classes.csv", sourcedId="cls-a2")
    without.remove("enrollments.csv", classSourcedId="cls-a2")
    sync.apply(without, override=True)


def _delta_classes_without_science_5(tiny) -> None:
    """classes.csv as changes only, not naming cls-a2; enrollments.csv whole, still naming it."""
    tiny.manifest["file.classes"] = "delta"
    classes = [c for c in tiny.rows("classes.csv") if c["sourcedId"] != "cls-a2"]
    for row in classes:
        row.update(status="active", dateLastModified="2026-12-01T06:00:00.000Z")
    tiny.files["classes.csv"] = classes


def _active_in_science_5(sync) -> int:
    return sync.engine.db.one(
        """SELECT count(*) FROM enrollments e JOIN classrooms c USING (classroom_id)
           WHERE c.sis_id = 'cls-a2' AND e.status = 'active'"""
    )


def test_memberships_of_an_archived_class_stay_archived(sync, tiny, tiny_applied):
    _archive_science_5(sync, tiny)
    _delta_classes_without_science_5(tiny)
    sync.apply(tiny)
    assert _active_in_science_5(sync) == 0


def test_the_rows_naming_it_say_the_class_is_archived(sync, tiny, tiny_applied):
    _archive_science_5(sync, tiny)
    _delta_classes_without_science_5(tiny)
    run = sync.plan(tiny)

    assert sync.said(run, "WARNING", "enrollments.csv", "not_synced") == {
        "class 'cls-a2' is archived, and no classes.csv row of this drop brings it back, so "
        "this enrollment was not synced"
    }
