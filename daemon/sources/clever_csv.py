"""Clever's SFTP CSV format as a drop: checked row by row, then written as a OneRoster drop.

A district that already sends Clever schools.csv, students.csv, teachers.csv, sections.csv,
enrollments.csv and staff.csv can drop the same files here. They are recognised by their file
set and headers (students.csv and schools.csv with Clever's `School_id`, and no users.csv), checked
(a missing required column refuses the drop naming the file, line 1 and the column; a row with a
missing id, an unknown school, teacher, section or student is a row result at its Clever file and
line), then translated with the Clever Data API's own mapping (daemon.sources.clever_api: the same
grades, contact roles, stable contact ids, staff roles), so the Clever CSV and the Clever API plan
the same changes. The translated drop keeps a trace from each OneRoster line back to the Clever
file and line it came from (pull/trace, `page` = the Clever file, `index` = its line).

Clever's CSV carries SIS ids throughout, so records keep the ids the SIS gives them. Clever's
files carry no district: an optional `district.csv` (District_id, District_name) names it;
without it the district is `clever-district`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.formats.drop import DropError, Notice
from daemon.formats.spec import FORMER_ID_COLUMN
from daemon.progress import Progress
from daemon.sources.clever_api import (
    DERIVED_IDS,
    HOMEROOM,
    NOT_CARRIED,
    USERS_HEADER,
    CleverPull,
    contact_id,
    former_contact_id,
    grade,
)
from daemon.sources.drop_writer import DropWriter
from daemon.sources.oneroster_rest import CLASSES, COURSES, ENROLLMENTS, ORGS, SESSIONS, USERS_11

CLEVER_FILES = (
    "schools.csv", "students.csv", "teachers.csv", "sections.csv", "enrollments.csv",
    "staff.csv", "district.csv",
)  # fmt: skip
REQUIRED_FILES = ("schools.csv", "students.csv")
# Required columns per Clever's SFTP documentation (and what the mapping cannot do without).
REQUIRED_COLUMNS = {
    "schools.csv": ("School_id", "School_name"),
    "students.csv": ("School_id", "Student_id", "First_name", "Last_name"),
    "teachers.csv": ("School_id", "Teacher_id", "First_name", "Last_name"),
    "sections.csv": ("School_id", "Section_id", "Teacher_id", "Name"),
    "enrollments.csv": ("School_id", "Section_id", "Student_id"),
    "staff.csv": ("School_id", "Staff_id", "First_name", "Last_name"),
    "district.csv": ("District_id", "District_name"),
}
ID_COLUMN = {
    "schools.csv": "School_id",
    "students.csv": "Student_id",
    "teachers.csv": "Teacher_id",
    "sections.csv": "Section_id",
    "staff.csv": "Staff_id",
    "district.csv": "District_id",
}
DEFAULT_DISTRICT = "clever-district"
TEACHER_COLUMNS = ("Teacher_id", *(f"Teacher_{n}_id" for n in range(2, 11)))


class CleverCsvError(Exception):
    """The drop as a whole cannot be read (a missing file or required column)."""


@dataclass(frozen=True)
class RowProblem:
    file_name: str
    line: int
    sourced_id: str | None
    column: str | None
    rule: str
    message: str


@dataclass
class CleverRow:
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column.lower(), "").strip()


@dataclass
class Translation:
    problems: list[RowProblem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _files(root: Path) -> dict[str, Path]:
    return {p.name.lower(): p for p in root.iterdir() if p.is_file() and p.suffix.lower() == ".csv"}


def header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def is_clever_csv(root: Path) -> bool:
    """Clever's file set: schools.csv and students.csv with Clever's School_id, no users.csv."""
    files = _files(root)
    if "users.csv" in files or not all(f in files for f in REQUIRED_FILES):
        return False
    try:
        return "school_id" in {h.strip().lower() for h in header(files["schools.csv"])}
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


def read_rows(path: Path, name: str) -> Iterator[CleverRow]:
    """Rows with their physical line (a quoted newline makes a row span lines)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        names = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in REQUIRED_COLUMNS[name] if c.lower() not in names]
        if missing:
            raise CleverCsvError(
                f"{name} line 1: missing required column {', '.join(missing)}; "
                "the Clever drop is refused and nothing was planned"
            )
        line = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                yield CleverRow(line, dict(zip(names, cells, strict=False)))
            line = reader.line_num + 1


class CleverCsv:
    """Check Clever's files and write them as a OneRoster drop (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.found = _files(root)
        self.problems: list[RowProblem] = []
        self.rows: dict[str, list[CleverRow]] = {}
        self.pull = CleverPull(None, "", 0, Progress())  # type: ignore[arg-type]

    def problem(
        self, name: str, row: CleverRow, column: str | None, rule: str, message: str, sid: str = ""
    ) -> None:
        self.problems.append(
            RowProblem(
                name, row.line, sid or None, column, rule, f"{name} line {row.line}: {message}"
            )
        )

    def load(self) -> None:
        for name in REQUIRED_FILES:
            if name not in self.found:
                raise CleverCsvError(f"{name} is missing from the Clever drop; it is required")
        for name in CLEVER_FILES:
            if name in self.found:
                self.rows[name] = list(read_rows(self.found[name], name))

    def _identified(self, name: str) -> Iterator[tuple[str, CleverRow]]:
        """Rows with their id; a row without one is an error (it names no record)."""
        column = ID_COLUMN[name]
        for row in self.rows.get(name, []):
            sid = row.get(column)
            if not sid:
                self.problem(
                    name, row, column, "required", f"{column} is empty; the row is skipped"
                )
                continue
            yield sid, row

    def translate(self, writer: DropWriter) -> Translation:
        self.load()
        orgs = writer.csv(ORGS.file_name, ORGS.columns)
        district = self._district(orgs)
        self.pull.district = district
        schools = self._schools(orgs, district)
        users = writer.csv(USERS_11.file_name, USERS_HEADER)
        students = self._people(users, "students.csv", "student", schools)
        teachers = self._people(users, "teachers.csv", "teacher", schools)
        self._people(users, "staff.csv", "staff", schools)
        self._contacts(users, students)
        sections = self._sections(writer, schools, teachers)
        self._enrollments(writer, sections, students)
        return Translation(self.problems, sorted(writer.files))

    def _district(self, orgs: Any) -> str:
        rows = list(self._identified("district.csv"))
        if not rows:
            return DEFAULT_DISTRICT
        sid, row = rows[0]
        orgs.write(
            {"sourcedId": sid, "name": row.get("District_name"), "type": "district"},
            "district.csv",
            row.line,
        )
        return sid

    def _schools(self, orgs: Any, district: str) -> set[str]:
        seen: set[str] = set()
        for sid, row in self._identified("schools.csv"):
            if sid in seen:
                self.problem("schools.csv", row, "School_id", "duplicate",
                             f"School_id {sid} is repeated; the first row is kept", sid)  # fmt: skip
                continue
            seen.add(sid)
            orgs.write(
                {
                    "sourcedId": sid,
                    "name": row.get("School_name"),
                    "type": "school",
                    "identifier": row.get("School_number"),
                    "parentSourcedId": district,
                },
                "schools.csv",
                row.line,
            )
        return seen

    def _people(self, out: Any, name: str, role: str, schools: set[str]) -> dict[str, list[str]]:
        """One user per id: Clever repeats a person's row for each school, every school is kept."""
        people: dict[str, tuple[CleverRow, list[str]]] = {}
        for sid, row in self._identified(name):
            school = row.get("School_id")
            if school not in schools:
                self.problem(name, row, "School_id", "reference",
                             f"School_id {school or '(empty)'} is not in schools.csv; "
                             "the person is kept without that school", sid)  # fmt: skip
                school = ""
            first = people.get(sid)
            if first is None:
                people[sid] = (row, [school] if school else [])
            elif school and school not in first[1]:
                first[1].append(school)
        for sid, (row, person_schools) in people.items():
            user = self._user(sid, row, role, person_schools)
            written = self.pull._user_row(user, role)
            if written is not None:
                out.write(written, name, row.line)
        return {sid: s for sid, (_, s) in people.items()}

    def _user(self, sid: str, row: CleverRow, role: str, schools: list[str]) -> dict[str, Any]:
        email_column = {"student": "Student_email", "teacher": "Teacher_email"}.get(
            role, "Staff_email"
        )
        data: dict[str, Any] = {
            "sis_id": sid,
            "schools": schools,
            # Staff sign in with their email when the file gives no Username.
            "credentials": {
                "district_username": row.get("Username")
                or (row.get("Staff_email") if role == "staff" else "")
            },
        }
        if role == "student":
            data.update(student_number=row.get("Student_number"), grade=row.get("Grade"))
        elif role == "teacher":
            data.update(teacher_number=row.get("Teacher_number"))
        else:
            data.update(staff_id=sid)
        return {
            "id": sid,
            "email": row.get(email_column),
            "name": {
                "first": row.get("First_name"),
                "last": row.get("Last_name"),
                "middle": row.get("Middle_name"),
            },
            "roles": {role: data},
        }

    def _contacts(self, out: Any, students: dict[str, list[str]]) -> None:
        """Each students.csv row's contact is a guardian of that student; one person is one
        contact (by Contact_sis_id, else the stable id the API mapping derives: two parents who
        share one e-mail are two contacts, the same name and e-mail on two rows is one). A contact
        known by name alone is one per student row: nothing in the file tells one person named on
        two rows from two people of one name in two families, and linking a child to another
        family's parent is worse than a duplicate guardian (which the duplicate scan can show)."""
        for sid, schools in students.items():
            self.pull.student_schools[sid] = ",".join(dict.fromkeys(schools))
            self.pull.people[sid] = sid
        contacts: dict[str, tuple[CleverRow, dict[str, Any], list[dict[str, str]]]] = {}
        former: dict[str, str] = {}  # a derived id -> the id the rule before gave (email alone)
        rows = [
            row for row in self.rows.get("students.csv", [])
            if row.get("Student_id") and (row.get("Contact_name") or row.get("Contact_email")
                                          or row.get("Contact_sis_id"))
        ]  # fmt: skip
        for row in rows:
            student, name = row.get("Student_id"), row.get("Contact_name")
            given, _, family = name.rpartition(" ")
            email, phone = row.get("Contact_email"), row.get("Contact_phone")
            key = row.get("Contact_sis_id")
            if not key:
                key = contact_id(email, phone, name, [student])
                former[key] = former_contact_id(email)
            relation = {
                "student": student,
                "relationship": row.get("Contact_relationship"),
                "type": row.get("Contact_type"),
            }
            if key not in contacts:
                user: dict[str, Any] = {
                    "id": key,
                    "email": email,
                    "name": {"first": given, "last": family, "middle": ""},
                    "roles": {"contact": {"sis_id": key, "phone": phone,
                                          "phone_type": row.get("Contact_phone_type")}},
                }  # fmt: skip
                if not family:  # one word: Clever keeps a contact's full name in last_name
                    user["name"] = {"first": "", "last": name, "middle": ""}
                contacts[key] = (row, user, [])
            if relation not in contacts[key][2]:
                contacts[key][2].append(relation)
        for key, (row, user, relations) in contacts.items():
            user["roles"]["contact"]["student_relationships"] = relations
            written = self.pull._user_row(user, "contact")
            if written is not None:
                written[FORMER_ID_COLUMN] = former.get(key, "")
                out.write(written, "students.csv", row.line)

    def _sections(
        self, writer: DropWriter, schools: set[str], teachers: dict[str, list[str]]
    ) -> dict[str, tuple[str, CleverRow, list[str]]]:
        sessions = writer.csv(SESSIONS.file_name, SESSIONS.columns)
        course_out = writer.csv(COURSES.file_name, COURSES.columns)
        classes = writer.csv(CLASSES.file_name, CLASSES.columns)
        terms: dict[str, None] = {}
        courses: dict[str, None] = {}
        sections: dict[str, tuple[str, CleverRow, list[str]]] = {}
        for sid, row in self._identified("sections.csv"):
            school = row.get("School_id")
            if school not in schools:
                self.problem("sections.csv", row, "School_id", "reference",
                             f"School_id {school or '(empty)'} is not in schools.csv", sid)  # fmt: skip
            section_teachers = []
            for column in TEACHER_COLUMNS:
                teacher = row.get(column)
                if not teacher:
                    continue
                if teacher not in teachers:
                    self.problem("sections.csv", row, column, "reference",
                                 f"{column} {teacher} is not in teachers.csv", sid)  # fmt: skip
                    continue
                section_teachers.append(teacher)
            homeroom = row.get("Subject").lower() == HOMEROOM
            term = row.get("Term_name")
            if term and term not in terms:
                terms[term] = None
                end = row.get("Term_end")
                sessions.write(
                    {"sourcedId": term, "title": term, "type": "term",
                     "startDate": row.get("Term_start")[:10], "endDate": end[:10],
                     "schoolYear": end[:4]},
                    "sections.csv",
                    row.line,
                )  # fmt: skip
            course = row.get("Course_number") or sid
            if row.get("Course_number") and course not in courses:
                courses[course] = None
                course_out.write(
                    {"sourcedId": course, "title": row.get("Course_name"),
                     "courseCode": course, "orgSourcedId": self.pull.district},
                    "sections.csv",
                    row.line,
                )  # fmt: skip
            classes.write(
                {
                    "sourcedId": sid,
                    "title": row.get("Name"),
                    "grades": grade(row.get("Grade")),
                    "courseSourcedId": course,
                    "classCode": row.get("Section_number"),
                    "classType": "homeroom" if homeroom else "scheduled",
                    "schoolSourcedId": school,
                    "termSourcedIds": term,
                    "subjects": "" if homeroom else row.get("Subject"),
                    "periods": row.get("Period"),
                },
                "sections.csv",
                row.line,
            )
            # A repeated Section_id is written again, as the API writes two sections of one
            # sis_id: the sync finds the repeated sourcedId an ERROR and keeps that class and
            # its memberships as they are (enrollments.csv names sections by Section_id only,
            # so which section a student is in cannot be told: the rosters must not merge).
            sections.setdefault(sid, (school, row, section_teachers))
        return sections

    def _enrollments(
        self,
        writer: DropWriter,
        sections: dict[str, tuple[str, CleverRow, list[str]]],
        students: dict[str, list[str]],
    ) -> None:
        out = writer.csv(ENROLLMENTS.file_name, ENROLLMENTS.columns)
        for sid, (school, row, teachers) in sections.items():
            for teacher in teachers:
                out.write(
                    {"sourcedId": f"{sid}:{teacher}", "classSourcedId": sid,
                     "schoolSourcedId": school, "userSourcedId": teacher, "role": "teacher"},
                    "sections.csv",
                    row.line,
                )  # fmt: skip
        seen: set[tuple[str, str]] = set()
        for row in self.rows.get("enrollments.csv", []):
            section, student = row.get("Section_id"), row.get("Student_id")
            sid = f"{section}:{student}"
            if not section or not student:
                column = "Section_id" if not section else "Student_id"
                self.problem("enrollments.csv", row, column, "required",
                             f"{column} is empty; the row is skipped")  # fmt: skip
                continue
            if section not in sections:
                self.problem("enrollments.csv", row, "Section_id", "reference",
                             f"Section_id {section} is not in sections.csv; the row is skipped", sid)  # fmt: skip
                continue
            if student not in students:
                self.problem("enrollments.csv", row, "Student_id", "reference",
                             f"Student_id {student} is not in students.csv; the row is skipped", sid)  # fmt: skip
                continue
            if (section, student) in seen:
                self.problem("enrollments.csv", row, None, "duplicate",
                             f"{student} is enrolled in {section} twice; the first row is kept", sid)  # fmt: skip
                continue
            seen.add((section, student))
            out.write(
                {"sourcedId": sid, "classSourcedId": section, "schoolSourcedId": sections[section][0],
                 "userSourcedId": student, "role": "student"},
                "enrollments.csv",
                row.line,
            )  # fmt: skip


def translate(root: Path, target: Path) -> Translation:
    """Write the Clever drop at `root` as a OneRoster drop in `target` (with its trace)."""
    target.mkdir(parents=True, exist_ok=True)
    writer = DropWriter(target)
    try:
        result = CleverCsv(root).translate(writer)
        writer.manifest("1.1", "Clever CSV", derived=DERIVED_IDS, not_carried=NOT_CARRIED)
        writer.publish()
    finally:
        writer.close()
    return result


def convert(root: Path, workdir: Path) -> tuple[Path, list[Notice]] | None:
    """open_drop's hook: a Clever CSV drop becomes a OneRoster folder, its row problems ERRORs
    at their Clever file and line; anything else is left to the OneRoster reader (None)."""
    if not is_clever_csv(root):
        return None
    target = workdir / "clever-csv"
    try:
        result = translate(root, target)
    except CleverCsvError as exc:
        raise DropError(str(exc)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DropError(f"the Clever drop cannot be read as CSV ({exc}); refused") from None
    notices = [
        Notice(p.file_name, p.line, p.column, f"clever-{p.rule}", p.message, "ERROR", p.sourced_id)
        for p in result.problems
    ]
    return target, notices
