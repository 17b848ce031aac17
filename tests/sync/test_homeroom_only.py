"""classroom_filter = homeroom_only. Found by the property test (tests/properties/test_sync_properties.py): a settings flip to
`classroom_filter = homeroom_only` on a night whose classes.csv row of a scheduled class is in
error (a short row). The row in error keeps its record as it was: a scheduled class, which the
setting, a person's decision, leaves out. So it is archived as on a night its row were good,
and an export, which writes only what the directory holds, synced back changes nothing."""

from __future__ import annotations

import pytest

from daemon.sync.feed.classes import HOMEROOM_ONLY_NOTE
from tests.properties.districts import Night


@pytest.fixture
def filtered(sync, tiny, tmp_path, tiny_applied):
    """Science 5 (cls-a2, scheduled) in error on the first night under homeroom_only."""
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    night = Night(tiny.copy(), damage=[("classes.csv", "cls-a2", "shape_short_row")])
    return sync.engine.plan_source(str(night.write(tmp_path / "night2")))


def test_a_scheduled_class_in_error_is_left_out_by_homeroom_only(sync, filtered):
    assert filtered.changes["classrooms"]["archive"] == 1
    change = sync.engine.db.dicts(
        "SELECT * FROM changes WHERE run_id = ? AND kind = 'classrooms'", [filtered.run_id]
    )[0]
    assert (change["sis_id"], change["op"]) == ("cls-a2", "archive")
    # the change names the setting and the row, not "no longer in the feed"
    assert change["note"] == HOMEROOM_ONLY_NOTE
    assert (change["source_file"], change["source_line"]) == ("classes.csv", 3)


def test_a_homeroom_in_error_is_kept_under_homeroom_only(sync, tiny, tmp_path, tiny_applied):
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    night = Night(tiny.copy(), damage=[("classes.csv", "cls-a1", "shape_short_row")])
    run = sync.engine.plan_source(str(night.write(tmp_path / "night2")))
    archived = sync.engine.db.rows(
        "SELECT sis_id FROM changes WHERE run_id = ? AND kind = 'classrooms' AND op = 'archive'",
        [run.run_id],
    )
    assert archived == [("cls-a2",)]  # the scheduled class whose row is good; not cls-a1


def test_an_export_synced_back_under_homeroom_only_changes_nothing(sync, filtered, tmp_path):
    sync.engine.apply_run(filtered.run_id, override=True, reason="test", scan_duplicates=False)
    sync.engine.export(str(tmp_path / "export"))
    back = sync.engine.plan_source(str(tmp_path / "export"))
    assert back.changes["classrooms"]["archive"] == 0
    assert back.changes["enrollments"]["archive"] == 0
    assert back.total_changes() == 0


def _delta_classes(tiny, *sourced_ids: str) -> None:
    """classes.csv as changes only, with the rows of `sourced_ids`."""
    tiny.manifest["file.classes"] = "delta"
    tiny.files["classes.csv"] = [
        dict(c, status="active", dateLastModified="2026-12-01T06:00:00.000Z")
        for c in tiny.rows("classes.csv")
        if c["sourcedId"] in sourced_ids
    ]


def _classroom_status(sync, sis_id: str) -> str:
    return sync.engine.db.one("SELECT status FROM classrooms WHERE sis_id = ?", [sis_id])


def test_a_delta_row_of_a_scheduled_class_archives_it_under_homeroom_only(sync, tiny, tiny_applied):
    """Being absent from a delta file ends nothing; a row saying the class is scheduled, under
    a setting that leaves scheduled classes out, ends it, with its memberships."""
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    _delta_classes(tiny, "cls-a1", "cls-a2")
    run = sync.apply(tiny, override=True)
    assert (_classroom_status(sync, "cls-a1"), _classroom_status(sync, "cls-a2")) == (
        "active",
        "archived",
    )
    assert run.changes["enrollments"]["archive"] == 7  # cls-a2's: six students and tch-1
    labels = sync.engine.db.rows(
        """SELECT label FROM changes WHERE run_id = ? AND kind = 'enrollments'
           ORDER BY label LIMIT 2""",
        [run.run_id],
    )
    assert labels == [("stu-1 in cls-a2",), ("stu-2 in cls-a2",)]  # as a create reads
    change = sync.engine.db.dicts(
        "SELECT note, source_line FROM changes WHERE run_id = ? AND kind = 'classrooms'",
        [run.run_id],
    )
    assert change == [
        {
            "note": HOMEROOM_ONLY_NOTE,
            "source_line": 3,
        }
    ]


def test_a_scheduled_class_a_delta_file_leaves_out_is_archived_under_homeroom_only(
    sync, tiny, tiny_applied
):
    """What the setting decides does not hang on which files a night brings."""
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    _delta_classes(tiny, "cls-a1")
    run = sync.apply(tiny, override=True)
    assert _classroom_status(sync, "cls-a2") == "archived"
    assert _classroom_status(sync, "cls-a1") == "active"
    change = sync.engine.db.dicts(
        "SELECT note, source_file, source_line FROM changes WHERE run_id = ? AND kind = 'classrooms'",
        [run.run_id],
    )
    assert change == [
        {
            "note": HOMEROOM_ONLY_NOTE,
            "source_file": "classes.csv",  # the file it came from; no line of tonight's names it
            "source_line": None,
        }
    ]


def test_a_night_without_classes_leaves_out_scheduled_classes_under_homeroom_only(
    sync, tiny, tiny_applied
):
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    del tiny.files["classes.csv"]
    tiny.manifest["file.classes"] = "absent"
    sync.apply(tiny, override=True)
    assert (_classroom_status(sync, "cls-a1"), _classroom_status(sync, "cls-a2")) == (
        "active",
        "archived",
    )


def test_an_export_synced_back_after_a_delta_night_under_homeroom_only_changes_nothing(
    sync, tiny, tmp_path, tiny_applied
):
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    _delta_classes(tiny, "cls-a1")
    sync.apply(tiny, override=True)
    sync.engine.export(str(tmp_path / "export"))
    assert sync.engine.plan_source(str(tmp_path / "export")).total_changes() == 0


def test_a_filtered_class_claimed_twice_raises_no_conflict(sync, tiny, tiny_applied):
    """The setting leaves the row out before anything asks which classroom it names."""
    copy = sync.engine.create_classroom("Science 5 (copy)", "sch-a")
    # the API refuses a second classroom with one SIS id; old data may hold one
    sync.engine.db.execute("UPDATE classrooms SET sis_id = 'cls-a2' WHERE classroom_id = ?", [copy])
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    run = sync.plan(tiny)
    assert sync.engine.conflicts(run.run_id).total == 0


def test_enrollments_of_a_user_in_error_still_say_why_beside_a_hand_made_classroom(
    sync, tiny, tiny_applied
):
    """A hand-made classroom has no SIS id: the scheduled classes left out of the reports must
    not count it (a NULL in `NOT IN` would have silenced every enrollment's warning)."""
    sync.engine.create_classroom("Chess club", "sch-a")
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    tiny.row("users.csv", "stu-1")["givenName"] = ""
    del tiny.files["classes.csv"]  # the directory's classes are all the filter has to go by
    tiny.manifest["file.classes"] = "absent"
    run = sync.plan(tiny)
    warned = sync.engine.db.rows(
        """SELECT sourced_id FROM row_issues
           WHERE run_id = ? AND file_name = 'enrollments.csv' AND severity = 'WARNING'""",
        [run.run_id],
    )
    assert warned == [("enr-1a",)]  # enr-1b is Science 5's, which the setting leaves out
