"""A student who becomes a teacher keeps the birth date their demographics row gives, and the
export writes it back (demographics.csv was written for students only, so syncing an export back
planned to blank it). Found by tests/properties/test_sync_properties.py (student_to_teacher)."""

from __future__ import annotations


def test_an_export_of_a_teacher_with_a_birth_date_synced_back_plans_nothing(
    sync, tiny, tmp_path, tiny_applied
):
    tiny.row("users.csv", "stu-1")["role"] = "teacher"  # still in demographics.csv
    sync.apply(tiny)
    assert sync.user("stu-1")["kind"] == "staff"
    assert sync.user("stu-1")["birth_date"] is not None

    sync.engine.export(str(tmp_path / "export"))
    back = sync.plan(tmp_path / "export")

    assert back.rows.error == 0
    assert sync.changes(back) == []
