"""OneRoster 1.2 keeps a user's role in roles.csv, not users.csv: the row checks that ask what a
user is (an agent who is staff, a student enrolled as a teacher) read it there, and say of a 1.2
drop what they say of a 1.1 one. Found on a Moodle plugin's public 1.2 fixture, where students
naming their teacher in agentSourcedIds got SUCCESS and no link, without a word."""

from __future__ import annotations

import shutil
from pathlib import Path


def _drop(sample: Path, tmp_path: Path, file: str, old: str, new: str) -> Path:
    folder = tmp_path / "oneroster12"
    shutil.copytree(sample / "oneroster12", folder)
    path = folder / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return folder


def _enrolled_as_a_teacher(sample: Path, tmp_path: Path) -> Path:
    """The 1.2 sample with student stu-5001 enrolled as a teacher of their class."""
    return _drop(
        sample,
        tmp_path,
        "enrollments.csv",
        "sch-elm,stu-5001,student,",
        "sch-elm,stu-5001,teacher,",
    )


def _only(issues: list[dict], rule: str) -> dict:
    found = [i for i in issues if i["rule"] == rule]
    assert len(found) == 1, f"expected one {rule} issue, got {found}"
    return found[0]


def test_a_students_agent_whose_role_in_roles_csv_is_teacher_is_a_warning(sync, sample, tmp_path):
    drop = _drop(sample, tmp_path, "users.csv", "S5001,,,,,KG", "S5001,,,,tch-5001,KG")
    issue = _only(sync.issues(sync.plan(drop)), "agent_is_staff")
    assert (issue["file_name"], issue["line"], issue["severity"], issue["column_name"]) == (
        "users.csv",
        2,
        "WARNING",
        "agentSourcedIds",
    )
    assert issue["message"] == (
        "users.csv line 2: agentSourcedIds names 'tch-5001', a teacher; agents are a student's "
        "family (or a parent's students)"
    )


def test_a_student_in_roles_csv_enrolled_as_a_teacher_is_a_warning(sync, sample, tmp_path):
    drop = _enrolled_as_a_teacher(sample, tmp_path)
    issue = _only(sync.issues(sync.plan(drop)), "student_as_staff")
    assert (issue["file_name"], issue["line"], issue["column_name"]) == (
        "enrollments.csv",
        5,
        "role",
    )
    assert issue["message"] == (
        "enrollments.csv line 5: userSourcedId 'stu-5001' is a student in roles.csv, enrolled "
        "here as a teacher; read as sent"
    )


def test_a_role_column_left_empty_names_roles_csv_as_the_file_that_says_it(sync, sample, tmp_path):
    drop = _enrolled_as_a_teacher(sample, tmp_path)
    users = drop / "users.csv"
    lines = users.read_text().splitlines()
    users.write_text("\n".join([lines[0] + ",role", *(line + "," for line in lines[1:])]) + "\n")
    issue = _only(sync.issues(sync.plan(drop)), "student_as_staff")
    assert "'stu-5001' is a student in roles.csv, enrolled here as a teacher" in issue["message"]
