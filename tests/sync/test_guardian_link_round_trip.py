"""Found by the property test (tests/properties/test_sync_properties.py), events
`student_to_teacher` and `shape_unclosed_quote` on one night of OneRoster 1.1: stu-4's good row
makes them a teacher while their guardian's row (gdn-4, swallowed by stu-8's unclosed quote) is
in error. A row in error keeps its record as it was; what a good row decides about another
record still happens, so the link, which only a student can have, goes with stu-4's role."""

from __future__ import annotations

import pytest

from tests.properties.districts import Night, apply_event


@pytest.fixture
def turned_teacher(sync, tiny, tmp_path, tiny_applied):
    """After night 2: stu-4 a teacher, gdn-4's row (and every row after stu-8's) in error."""
    night = Night(tiny.copy())
    apply_event(night, "shape_unclosed_quote", 51)  # users.csv, stu-8's line
    apply_event(night, "student_to_teacher", 433)  # stu-4
    run = sync.engine.plan_source(str(night.write(tmp_path / "night2")))
    return sync.engine.apply_run(run.run_id, override=True, reason="test", scan_duplicates=False)


def test_a_student_turned_teacher_loses_a_link_their_guardians_row_in_error_would_keep(
    sync, turned_teacher
):
    db = sync.engine.db
    status = db.one(
        """SELECT l.status FROM guardian_links l JOIN users s ON s.user_id = l.student_id
           WHERE s.sis_id = 'stu-4'"""
    )
    assert status == "archived"
    # the guardian row in error still keeps its guardian, and its other links
    assert db.one("SELECT status FROM users WHERE sis_id = 'gdn-4'") == "active"
    assert db.one("SELECT count(*) FROM guardian_links WHERE status = 'active'") == 9


def test_an_export_synced_back_after_a_broken_users_row_changes_nothing(
    sync, turned_teacher, tmp_path
):
    sync.engine.export(str(tmp_path / "export"))
    back = sync.engine.plan_source(str(tmp_path / "export"))
    assert back.changes["guardian_links"]["archive"] == 0
    assert back.total_changes() == 0
