"""Reverting a run restores the reference data it changed (courses, academic sessions, roles),
which apply keeps row by row as it was (reference_history): a revert left them as the run it
undid made them, and the next changes-only roles.csv was read against roles it had taken back."""

from __future__ import annotations

import json
import shutil

from daemon.cli.render import run_summary
from roster_tui.words import consequences
from tests.district import write_changes_only_manifest

ART = "crs-art,active,2026-08-20T06:00:00.000Z,term-2026-27,Art,ART,05,dist-maplewood,Art,\n"


def _without(path, marker: str) -> None:
    path.write_text(
        "".join(line for line in path.read_text().splitlines(True) if marker not in line)
    )


def _day2(sample, folder):
    """Digital Citizenship retitled, a new course, the spring semester and tch-5001's role at
    sch-pine (rol-000009) gone from their whole files."""
    shutil.copytree(sample / "oneroster12", folder)
    courses = folder / "courses.csv"
    courses.write_text(
        courses.read_text().replace("Digital Citizenship,DIG", "Digital Life,DIG") + ART
    )
    _without(folder / "academicSessions.csv", "term-2026-27-s2")
    _without(folder / "roles.csv", "rol-000009")
    return folder


REFERENCE = ("courses", "academic_sessions", "sis_roles")


def _reference(db) -> dict[str, list[tuple]]:
    """Each reference row in use as the SIS sent it, with its source line."""
    return {
        t: db.rows(
            f"SELECT * EXCLUDE (created_run, last_run, archived_run) FROM {t} WHERE status = 'active' ORDER BY ALL"
        )
        for t in REFERENCE
    }


def test_a_revert_restores_the_courses_sessions_and_roles_the_run_changed(
    sync, sample, sample12_applied, tmp_path
):
    db = sync.engine.db
    before = _reference(db)
    day2 = sync.apply(_day2(sample, tmp_path / "day2"))
    assert _reference(db) != before
    sync.apply_planned(sync.engine.revert_run(day2.run_id))
    assert _reference(db) == before
    assert db.one("SELECT status FROM courses WHERE sis_id = 'crs-art'") == "archived"
    assert all(n == 0 for _, n in sync.engine.check())


def test_the_revert_says_and_audits_what_reference_data_it_restores(
    sync, sample, sample12_applied, tmp_path
):
    day2 = sync.apply(_day2(sample, tmp_path / "day2"))
    revert = sync.engine.revert_run(day2.run_id)
    assert revert.keeps_reference_data()
    [note] = [n["message"] for n in revert.notes if n["kind"] == "reference"]
    assert note.endswith("courses.csv 2; academicSessions.csv 1; roles.csv 1.")
    sync.apply_planned(revert)
    details = sync.engine.db.one(
        "SELECT details FROM audit_log WHERE action = 'run.apply' AND target_id = ?",
        [revert.run_id],
    )
    assert json.loads(details)["reference_restored"] == {
        "academic_sessions": 1,
        "courses": 2,
        "sis_roles": 1,
    }


def test_reverting_the_revert_puts_the_run_s_reference_data_back(
    sync, sample, sample12_applied, tmp_path
):
    db = sync.engine.db
    day2 = sync.apply(_day2(sample, tmp_path / "day2"))
    after_day2 = _reference(db)
    first = sync.apply_planned(sync.engine.revert_run(day2.run_id))
    sync.apply_planned(sync.engine.revert_run(first.run_id))
    assert _reference(db) == after_day2


def test_a_course_a_later_run_changed_again_is_left_as_the_sis_last_sent_it(
    sync, sample, sample12_applied, tmp_path
):
    db = sync.engine.db
    day2 = sync.apply(_day2(sample, tmp_path / "day2"))
    day3 = _day2(sample, tmp_path / "day3")
    (day3 / "courses.csv").write_text(
        (day3 / "courses.csv").read_text().replace("Digital Life", "Digital Lives")
    )
    sync.apply(day3)
    revert = sync.engine.revert_run(day2.run_id)
    [note] = [n["message"] for n in revert.notes if n["message"].startswith("Reference data")]
    assert note.endswith("courses.csv 1.")
    sync.apply_planned(revert)
    title = "SELECT title FROM courses WHERE sis_id = 'crs-dist-digital'"
    assert db.one(title) == "Digital Lives"


def test_after_a_revert_a_changes_only_roles_file_is_read_against_the_restored_roles(
    sync, sample, sample12_applied, tmp_path
):
    """tch-5001 lost sch-pine with rol-000009; the revert gives it back with the role, and a
    later night re-sending another of their roles keeps it."""
    day2 = sync.apply(_day2(sample, tmp_path / "day2"))
    sync.apply_planned(sync.engine.revert_run(day2.run_id))
    assert sync.user("tch-5001")["org_sis_ids"] == "sch-elm,sch-oak,sch-pine"
    delta = tmp_path / "delta"
    delta.mkdir()
    source = sample / "oneroster12"
    users = (source / "users.csv").read_text().splitlines()
    (delta / "users.csv").write_text(f"{users[0]}\n{users[7]}\n")
    roles = (source / "roles.csv").read_text().splitlines()
    (delta / "roles.csv").write_text(f"{roles[0]}\n{roles[8].replace(',teacher,', ',aide,')}\n")
    write_changes_only_manifest(source, delta, ("users", "roles"))
    sync.apply(delta)
    assert sync.user("tch-5001")["org_sis_ids"] == "sch-elm,sch-oak,sch-pine"


def test_a_row_updated_by_a_run_applied_before_history_was_kept_says_it_is_not_restored(
    sync, sample, sample12_applied, tmp_path
):
    db = sync.engine.db
    day2 = sync.apply(_day2(sample, tmp_path / "day2"))
    db.execute("DELETE FROM reference_history WHERE run_id = ?", [day2.run_id])
    revert = sync.apply_planned(sync.engine.revert_run(day2.run_id))
    assert any(n["message"].startswith("1 reference row") for n in revert.notes)
    title = "SELECT title FROM courses WHERE sis_id = 'crs-dist-digital'"
    assert db.one(title) == "Digital Life"
    assert db.one("SELECT status FROM courses WHERE sis_id = 'crs-art'") == "archived"


def _only_a_course_retitled(sync, sample, folder):
    """Run 2 retitles Digital Citizenship and changes nothing else; its revert (returned, planned)
    restores that course only."""
    shutil.copytree(sample / "oneroster12", folder)
    courses = folder / "courses.csv"
    courses.write_text(courses.read_text().replace("Digital Citizenship,DIG", "Digital Life,DIG"))
    day2 = sync.apply(folder)
    revert = sync.engine.revert_run(day2.run_id)
    assert revert.total_changes() == 0 and revert.keeps_reference_data()
    return revert


def test_a_revert_that_restores_only_reference_data_says_so_not_that_it_keeps_a_drop(
    sync, sample, sample12_applied, tmp_path
):
    revert = _only_a_course_retitled(sync, sample, tmp_path / "day2")
    summary = run_summary(revert)
    assert (
        "No record changes; applying it restores the courses, academic sessions and roles "
        "run 2 changed (see the note)."
    ) in summary
    assert "drop" not in summary


def test_the_review_of_a_revert_that_restores_only_reference_data_says_so(
    sync, sample, sample12_applied, tmp_path
):
    revert = _only_a_course_retitled(sync, sample, tmp_path / "day2")
    assert consequences(revert)[0] == (
        "No record changes; it restores the courses, academic sessions and roles run 2 changed "
        "(see the notes)."
    )
