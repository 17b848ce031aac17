"""Courses and sessions are kept as the SIS sent them; a row in error keeps its record."""

from __future__ import annotations

import shutil

# A second course, so that the file has a good row beside the one in error.
ART = "crs-dist-art,active,2026-08-20T06:00:00.000Z,term-2026-27,Art,ART,05,dist-maplewood,Art,\n"


def _drop(sample, folder, course_row_from: str = "", course_row_to: str = ""):
    shutil.copytree(sample / "oneroster12", folder)
    courses = folder / "courses.csv"
    courses.write_text(courses.read_text().replace(course_row_from, course_row_to) + ART)
    return folder


def _course(sync) -> list[tuple]:
    return sync.engine.db.rows(
        "SELECT status, title FROM courses WHERE sis_id = 'crs-dist-digital'"
    )


def test_a_course_row_in_error_keeps_the_course_it_names(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first"))
    untitled = _drop(sample, tmp_path / "second", ",Digital Citizenship,", ",,")
    run = sync.plan(untitled)
    [issue] = sync.issues(run, "ERROR")
    assert (issue["file_name"], issue["line"], issue["column_name"]) == ("courses.csv", 2, "title")
    sync.apply_planned(run)
    assert _course(sync) == [("active", "Digital Citizenship")]


def test_a_course_left_out_of_a_whole_courses_file_is_archived(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first"))
    sync.apply(_drop(sample, tmp_path / "second", "crs-dist-digital,", "crs-other,"))
    assert _course(sync) == [("archived", "Digital Citizenship")]


def test_a_course_whose_grades_break_their_rule_keeps_the_stored_grades(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path / "first"))
    sync.apply(_drop(sample, tmp_path / "second", ',"KG,01,02,', ',"KG,5th,02,'))
    grades = "SELECT grades FROM courses WHERE sis_id = 'crs-dist-digital'"
    assert sync.engine.db.one(grades) == "KG,01,02,03,04,05,06,07,08,09,10,11,12"
