"""A guardians.csv row is a guardian of one student. A guardian new tonight none of whose rows
names a student the drop syncs is not created: it would hold no link, no export could write it
(guardians.csv rows are links), and the export synced back would archive it. Found by
tests/properties/test_sync_properties.py (guardians_file, tobedeleted_school on a first load)."""

from __future__ import annotations

from tests.district import TinyDistrict, guardian_of


def _school_a_ends(tiny: TinyDistrict) -> None:
    tiny.row("orgs.csv", "sch-a")["status"] = "tobedeleted"


def _warning(sync, run, line: int) -> str:
    return sync.engine.db.one(
        """SELECT message FROM row_issues
           WHERE run_id = ? AND file_name = 'guardians.csv' AND line = ?""",
        [run.run_id, line],
    )


def test_a_new_guardian_of_a_student_not_synced_is_not_created(sync, tiny):
    _school_a_ends(tiny)
    tiny.rows("guardians.csv").append(guardian_of("stu-1"))  # stu-1 is at school A
    run = sync.apply(tiny, override=True)
    assert sync.engine.db.one("SELECT count(*) FROM users WHERE sis_id = 'gf-1'") == 0
    assert _warning(sync, run, 2).endswith(
        "belongs to no org that is synced in this run (users.csv line 2), "
        "so neither this guardian nor its link was synced"
    )


def test_an_export_synced_back_after_a_guardian_of_no_synced_student_changes_nothing(
    sync, tiny, tmp_path
):
    _school_a_ends(tiny)
    tiny.rows("guardians.csv").extend([guardian_of("stu-1"), guardian_of("stu-10", "gf-2")])
    sync.apply(tiny, override=True)
    sync.engine.export(str(tmp_path / "export"))
    assert sync.engine.plan_source(str(tmp_path / "export")).total_changes() == 0


def test_a_new_guardian_with_one_synced_student_is_created_and_linked_to_them(sync, tiny):
    _school_a_ends(tiny)
    tiny.rows("guardians.csv").extend([guardian_of("stu-1"), guardian_of("stu-10")])
    sync.apply(tiny, override=True)
    linked = sync.engine.db.rows(
        """SELECT s.sis_id FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
           JOIN users s ON s.user_id = l.student_id WHERE g.sis_id = 'gf-1'"""
    )
    assert linked == [("stu-10",)]


def test_a_new_guardian_of_a_held_student_comes_with_the_students_good_row(
    sync, tiny, tiny_applied
):
    tiny.rows("guardians.csv").append(guardian_of("stu-1"))
    tiny.row("users.csv", "stu-1")["givenName"] = ""  # an ERROR: stu-1 is held tonight
    run = sync.apply(tiny)
    assert run.changes["guardians"]["create"] == 0
    assert "has an error" in _warning(sync, run, 2)
    tiny.row("users.csv", "stu-1")["givenName"] = "Ava"
    run = sync.apply(tiny)
    assert (run.changes["guardians"]["create"], run.changes["guardian_links"]["create"]) == (1, 1)


def test_a_new_guardian_whose_only_row_is_marked_tobedeleted_is_not_created(
    sync, tiny, tiny_applied
):
    """Its row ends its one link as it arrives: no student, so no guardian; the same drop again
    changes nothing (before, the guardian was created, and the next plan archived them)."""
    tiny.rows("guardians.csv").append({**guardian_of("stu-1"), "status": "tobedeleted"})
    sync.apply(tiny)
    assert sync.engine.db.one("SELECT count(*) FROM users WHERE sis_id = 'gf-1'") == 0
    assert sync.plan(tiny).total_changes() == 0
