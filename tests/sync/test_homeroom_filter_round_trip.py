"""Found by the property test (tests/properties/test_sync_properties.py): a settings flip to
`classroom_filter = homeroom_only` on a night whose classes.csv row of a scheduled class is in
error (a short row). The row in error keeps its record as it was: a scheduled class, which the
setting, a person's decision, leaves out. So it is archived as on a night its row were good,
and an export, which writes only what the directory holds, synced back changes nothing."""

from __future__ import annotations

import pytest

from tests.properties.districts import Night


@pytest.fixture
def filtered(sync, tiny, tmp_path):
    """Science 5 (cls-a2, scheduled) in error on the first night under homeroom_only."""
    sync.apply(tiny)
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
    assert change["note"] == "classroom_filter = homeroom_only leaves out this scheduled class"
    assert (change["source_file"], change["source_line"]) == ("classes.csv", 3)


def test_a_homeroom_in_error_is_kept_under_homeroom_only(sync, tiny, tmp_path):
    sync.apply(tiny)
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
