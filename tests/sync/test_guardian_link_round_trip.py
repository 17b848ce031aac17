"""Found by the property test (tests/properties/test_sync_properties.py), events
`student_to_teacher` and `shape_unclosed_quote` on one night of OneRoster 1.1."""

from __future__ import annotations

import pytest

from tests.properties.districts import Night, apply_event


@pytest.mark.xfail(
    strict=True,
    reason="after a night where a student turns teacher and a users.csv row has an unclosed "
    "quote, the export synced back archives a guardian link",
)
def test_an_export_synced_back_after_a_broken_users_row_changes_nothing(sync, tiny, tmp_path):
    """Night 2: stu-4's row says teacher, and stu-8's row opens a quote it never closes. After
    it is applied, the export synced back plans the archive of one guardian link (label '4'):
    an export synced back must change nothing."""
    sync.apply(tiny)
    night = Night(tiny.copy())
    apply_event(night, "shape_unclosed_quote", 51)  # users.csv, stu-8's line
    apply_event(night, "student_to_teacher", 433)  # stu-4
    run = sync.engine.plan_source(str(night.write(tmp_path / "night2")))
    sync.engine.apply_run(run.run_id, override=True, reason="test", scan_duplicates=False)

    sync.engine.export(str(tmp_path / "export"))
    back = sync.engine.plan_source(str(tmp_path / "export"))
    assert back.changes["guardian_links"]["archive"] == 0
    assert back.total_changes() == 0
