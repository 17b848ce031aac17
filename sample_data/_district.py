"""Day 1 of Maplewood Unified School District: the model (schools, courses, classes, people,
enrollments) and its rendering as OneRoster 1.1 tables."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from _names import POOLS
from _people import (
    DAY1_STAMP,
    PINE,
    Family,
    PeopleBuilder,
    Staff,
    Student,
    ascii_slug,
    build_staff,
)

DISTRICT = "dist-maplewood"
YEAR, S1, S2 = "term-2026-27", "term-2026-27-s1", "term-2026-27-s2"
SCHOOLS = {  # sourcedId: (name, identifier, grades, teachers)
    "sch-elm": ("Elm Street Elementary", "MUSD-101", ("KG", "01", "02", "03", "04", "05"), 8),
    "sch-oak": ("Oak Hill Middle", "MUSD-201", ("06", "07", "08"), 6),
    "sch-pine": ("Pine Ridge High", "MUSD-301", ("09", "10", "11", "12"), 6),
}
STUDENTS_PER_SCHOOL = 100
ENROLLMENT_BEGIN = "2026-08-24"


@dataclass(eq=False)
class Course:
    sid: str
    school: str
    title: str
    code: str
    grades: tuple[str, ...]
    subjects: str


@dataclass(eq=False)
class Klass:
    sid: str
    title: str
    course: Course
    class_type: str
    grades: tuple[str, ...]
    terms: tuple[str, ...]
    teacher: str
    code: str
    periods: str
    location: str
    modified: str = DAY1_STAMP

    @property
    def school(self) -> str:
        return self.course.school


@dataclass(eq=False)
class Enrollment:
    sid: str
    klass: Klass
    user: str
    role: str
    begin: str = ENROLLMENT_BEGIN
    modified: str = DAY1_STAMP


@dataclass(eq=False)
class District:
    people: PeopleBuilder
    staff: list[Staff]
    courses: list[Course]
    classes: list[Klass]
    enrollments: list[Enrollment] = field(default_factory=list)
    next_enrollment: int = 1
    cases: dict[str, list[str]] = field(default_factory=dict)  # deliberate cases: name -> sids

    def enroll(self, klass: Klass, user: str, role: str, *, begin: str, stamp: str) -> Enrollment:
        enrollment = Enrollment(f"enr-{self.next_enrollment:06d}", klass, user, role, begin, stamp)
        self.next_enrollment += 1
        self.enrollments.append(enrollment)
        return enrollment

    def student(self, sid: str) -> Student:
        return next(s for s in self.people.students if s.sid == sid)

    def schedule(self, student: Student, rng: random.Random) -> list[Klass]:
        """A homeroom and 2-4 scheduled classes of different courses for the student's grade."""
        mine = [k for k in self.classes if k.school == student.school and student.grade in k.grades]
        homeroom = next(k for k in mine if k.class_type == "homeroom")
        by_course: dict[str, list[Klass]] = {}
        for klass in mine:
            if klass.class_type == "scheduled":
                by_course.setdefault(klass.course.sid, []).append(klass)
        courses = rng.sample(sorted(by_course), min(len(by_course), rng.choice((2, 3, 3, 4))))
        return [homeroom, *(rng.choice(by_course[c]) for c in sorted(courses))]


# ---------------------------------------------------------------------- courses and classes
def _courses_and_classes(teachers: dict[str, list[str]]) -> tuple[list[Course], list[Klass]]:
    courses: list[Course] = []
    classes: list[Klass] = []
    period = {"n": 0}

    def course(school: str, key: str, title: str, grades: tuple[str, ...], subjects: str) -> Course:
        code = key.upper().replace("-", "")
        c = Course(f"crs-{school[4:]}-{key}", school, title, code, grades, subjects)
        courses.append(c)
        return c

    def klass(c: Course, suffix: str, title: str, grades: tuple[str, ...], **kw: str) -> None:
        school_teachers = teachers[c.school]
        if "teacher" in kw:
            teacher = kw["teacher"]
        else:  # scheduled classes go round the school's teachers
            teacher = school_teachers[len(classes) % len(school_teachers)]
        period["n"] += 1
        classes.append(
            Klass(
                sid=f"cls-{c.school[4:]}-{suffix}",
                title=title,
                course=c,
                class_type=kw.get("class_type", "scheduled"),
                grades=grades,
                terms=tuple(kw.get("terms", YEAR).split(",")),
                teacher=teacher,
                code=f"{c.code}-{suffix.split('-')[-1].upper()}",
                periods=kw.get("periods", str(period["n"] % 7 + 1)),
                location=kw.get("location", f"Room {100 + len(classes)}"),
            )
        )

    for school, (_name, _ident, grades, _count) in SCHOOLS.items():
        homeroom = course(school, "homeroom", "Homeroom", grades, "Homeroom")
        for index, grade in enumerate(grades):
            label = "Kindergarten" if grade == "KG" else f"Grade {int(grade)}"
            klass(homeroom, f"hr-{grade.lower()}", f"{label} Homeroom", (grade,),
                  class_type="homeroom", teacher=teachers[school][index], periods="HR")  # fmt: skip

    elm = teachers["sch-elm"]
    bands = {"k2": ("KG", "01", "02"), "35": ("03", "04", "05")}
    for key, title, terms, teacher in (
        ("art", "Art", S1, elm[6]),
        ("music", "Music", S2, elm[6]),
        ("pe", "Physical Education", f"{S1},{S2}", elm[7]),
        ("library", "Library & Media", YEAR, elm[7]),
    ):
        c = course("sch-elm", key, title, ("KG", "01", "02", "03", "04", "05"), title)
        for band, band_grades in bands.items():
            label = "K-2" if band == "k2" else "3-5"
            klass(c, f"{key}-{band}", f"{title} {label}", band_grades, terms=terms, teacher=teacher)

    middle = ("06", "07", "08")
    for key, title, short in (
        ("math", "Mathematics", "Math"),
        ("ela", "English Language Arts", "ELA"),
        ("science", "Science", "Science"),
        ("social", "Social Studies", "Social Studies"),
    ):
        c = course("sch-oak", key, title, middle, title)
        for grade in middle:
            klass(c, f"{key}-{int(grade)}", f"{short} {int(grade)}", (grade,))
    c = course("sch-oak", "rhetoric", "Reading, Writing & Rhetoric", middle, "English")
    klass(c, "rhetoric-1", "Reading, Writing & Rhetoric", middle, location='Portable "C"')
    c = course("sch-oak", "spanish", "Spanish I", ("07", "08"), "World Languages")
    klass(c, "spanish-1", "Spanish I", ("07", "08"), terms=f"{S1},{S2}")
    c = course("sch-oak", "band", "Band", middle, "Music")
    klass(c, "band-1", "Concert Band", middle, location="Band Room")

    c = course("sch-pine", "english", "English", ("09", "10", "11", "12"), "English")
    for grade in ("09", "10", "11", "12"):
        klass(c, f"english-{int(grade)}", f"English {int(grade)}", (grade,))
    for key, title, grades, terms, sections in (
        ("algebra", "Algebra I", ("09", "10"), YEAR, 1),
        ("geometry", "Geometry", ("10", "11"), YEAR, 1),
        ("biology", "Biology", ("09", "10"), YEAR, 1),
        ("chemistry", "Chemistry", ("11", "12"), YEAR, 1),
        ("worldhist", "World History", ("09", "10"), YEAR, 1),
        ("ushist", "U.S. History", ("11", "12"), YEAR, 1),
        ("spanish", "Spanish II", ("10", "11", "12"), S2, 1),
        ("art", "Studio Art", ("09", "10", "11", "12"), S1, 2),
    ):
        c = course("sch-pine", key, title, grades, title)
        for section in range(1, sections + 1):
            name = f"{title} (Section {section})" if sections > 1 else title
            extra = {"periods": "3,4"} if key == "chemistry" else {}
            klass(c, f"{key}-{section}", name, grades, terms=terms, **extra)
    return courses, classes


# ---------------------------------------------------------------------- people
SPECIAL_FAMILIES = {  # case: (pool, surname, number of guardians); no random sibling joins them
    "twins": ("south_asian", "Patel", 2),
    "siblings": ("hispanic", "Ramirez", 2),
    "dup_nickname": ("anglo", "Smith", 1),
    "dup_swapped": ("chinese", "Chen", 2),
    "dup_typo": ("vietnamese", "Nguyen", 1),
}
SPECIAL_STUDENTS = (  # case, given, family, school, grade, birth, sex, in the family?
    ("twins", "Maya", "Patel", "sch-elm", "02", date(2018, 5, 14), "female", True),
    ("twins", "Arjun", "Patel", "sch-elm", "02", date(2018, 5, 14), "male", True),
    ("siblings", "Sofia", "Ramirez", "sch-elm", "04", date(2016, 2, 19), "female", True),
    ("siblings", "Mateo", "Ramirez", "sch-oak", "07", date(2013, 6, 2), "male", True),
    ("dup_nickname", "Jonathan", "Smith", "sch-oak", "06", date(2014, 1, 22), "male", True),
    ("dup_nickname", "Jon", "Smith", "sch-oak", "06", date(2014, 1, 22), "male", True),
    ("dup_swapped", "Wei", "Chen", "sch-elm", "01", date(2019, 4, 9), "male", True),
    ("dup_swapped", "Chen", "Wei", "sch-elm", "01", date(2019, 4, 9), "male", False),
    ("dup_typo", "Katherine", "Nguyen", "sch-pine", "10", date(2011, 3, 7), "female", True),
    ("dup_typo", "Katherine", "Ngyuen", "sch-pine", "10", date(2011, 7, 3), "female", True),
)


def _special_students(people: PeopleBuilder) -> dict[str, list[Student]]:
    """The deliberate cases. The second student of each duplicate pair is a later re-entry."""
    families: dict[str, Family] = {}
    for case, (pool_name, surname, guardians) in SPECIAL_FAMILIES.items():
        pool = next(p for p in POOLS if p.name == pool_name)
        families[case] = people.new_family(pool, surname, guardians=0, closed=True)
        for index in range(guardians):
            given = {"Smith": "Laura", "Nguyen": "Hoa"}.get(surname, "") if index == 0 else ""
            guardian = people.add_guardian(
                families[case], first=index == 0, given=given, surname=surname
            )
            guardian.role = "parent"
            if not guardian.email:  # the duplicate finder may compare guardian e-mails
                local = f"{ascii_slug(guardian.given)}.{ascii_slug(surname)}"
                guardian.email = people.email(local, "example.net")
    cases: dict[str, list[Student]] = {}
    for case, given, surname, school, grade, birth, sex, in_family in SPECIAL_STUDENTS:
        pool = families[case].pool
        student = Student(given, surname, "", school, grade, birth, sex, "", pool.name)
        people.register(student, families[case] if in_family else None)
        cases.setdefault(case, []).append(student)
    return cases


def build_district(seed: int) -> District:
    rng = random.Random(seed)
    people = PeopleBuilder(rng)
    staff = build_staff(people, {school: spec[3] for school, spec in SCHOOLS.items()})
    teachers = {school: [s.sid for s in staff if s.org == school] for school in SCHOOLS}
    courses, classes = _courses_and_classes(teachers)
    cases = _special_students(people)
    later = {students[1] for name, students in cases.items() if name.startswith("dup_")}

    for school, (_name, _ident, grades, _count) in SCHOOLS.items():
        for index, grade in enumerate(grades):
            target = STUDENTS_PER_SCHOOL // len(grades) + (
                index < STUDENTS_PER_SCHOOL % len(grades)
            )
            present = sum(1 for s in people.students if s.school == school and s.grade == grade)
            for _ in range(target - present):
                people.random_student(school, grade)
    for school in SCHOOLS:  # student numbers: shuffled per school, re-entries last
        block = [s for s in people.students if s.school == school and s not in later]
        rng.shuffle(block)
        for student in block + [s for s in people.students if s.school == school and s in later]:
            people.number(student)
    people.students.sort(key=lambda s: s.number)

    specials = {s for students in cases.values() for s in students}
    ordinary = [s for s in people.students if s not in specials]
    for student in rng.sample([s for s in ordinary if s.school != PINE], 6):
        people.add_relative(student)
    for student in rng.sample([s for s in ordinary if s.school == PINE], 2):
        people.add_relative(student)  # listed in guardians.csv as `relative`
    for student in people.students:
        people.add_attributes(student)

    district = District(people, staff, courses, classes)
    district.cases = {name: [s.sid for s in students] for name, students in cases.items()}
    schedules = {s.sid: district.schedule(s, rng) for s in people.students}
    for klass in classes:
        district.enroll(klass, klass.teacher, "teacher", begin=ENROLLMENT_BEGIN, stamp=DAY1_STAMP)
        for student in people.students:
            if klass in schedules[student.sid]:
                district.enroll(
                    klass, student.sid, "student", begin=ENROLLMENT_BEGIN, stamp=DAY1_STAMP
                )
    return district
