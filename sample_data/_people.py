"""The people of the fictional district: families, students, guardians, relatives and staff.

Everything is drawn from one seeded `random.Random`, so the same seed gives the same people.
The `PeopleBuilder` keeps the bookkeeping (used names, ids, phone numbers, e-mail addresses) so the
later drops can add people without colliding with earlier ones.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from _names import (
    GENERAL_BOYS,
    GENERAL_GIRLS,
    GENERAL_MEN,
    GENERAL_WOMEN,
    MIDDLE_NAMES,
    POOL_WEIGHTS,
    POOLS,
    Pool,
)

DAY1_STAMP = "2026-08-20T06:00:00.000Z"
AREA_CODES = ("503", "971", "360", "541", "458", "206", "425", "253", "509", "564")
GRADE_ORDER = ("KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")
PINE = "sch-pine"


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Núñez' -> 'nunez', "O'Brien" -> 'obrien'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


@cache
def similar(a: str, b: str) -> bool:
    """Equal, a prefix (Jon/Jonathan) or a small edit apart (Nguyen/Ngyuen, Lin/Liu)."""
    a, b = ascii_slug(a), ascii_slug(b)
    if a.startswith(b) or b.startswith(a):
        return True
    if abs(len(a) - len(b)) > 2:
        return False
    previous = list(range(len(b) + 1))  # Levenshtein distance, row by row
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= (1 if min(len(a), len(b)) <= 4 else 2)


def birth_window(grade: str) -> tuple[date, date]:
    """Birth dates of a child in `grade` in 2026-27 (5 years old on 1 September for KG)."""
    index = GRADE_ORDER.index(grade)
    return date(2020 - index, 9, 2), date(2021 - index, 9, 1)


@dataclass(eq=False)
class Guardian:
    sid: str
    given: str
    family: str
    role: str  # parent | guardian
    email: str
    sms: str
    phone: str
    language: str
    students: list[Student] = field(default_factory=list, repr=False)
    modified: str = DAY1_STAMP

    @property
    def in_users(self) -> bool:
        """Listed in users.csv when one of the children is outside Pine Ridge High."""
        return any(s.school != PINE for s in self.students)


@dataclass(eq=False)
class Relative:
    sid: str
    given: str
    family: str
    email: str
    sms: str
    phone: str
    student: Student = field(repr=False)
    modified: str = DAY1_STAMP


@dataclass(eq=False)
class Student:
    given: str
    family: str
    middle: str
    school: str
    grade: str
    birth: date
    sex: str
    language: str
    pool: str
    sid: str = ""
    number: int = 0
    guardians: list[Guardian] = field(default_factory=list, repr=False)
    relatives: list[Relative] = field(default_factory=list, repr=False)
    attributes: dict[str, str] = field(default_factory=dict)
    username: str = ""  # fixed when the student is numbered: a later name change keeps it
    email: str = ""
    modified: str = DAY1_STAMP
    created: str = DAY1_STAMP


@dataclass(eq=False)
class Family:
    name: str
    pool: Pool
    guardians: list[Guardian] = field(default_factory=list)
    children: list[Student] = field(default_factory=list)
    closed: bool = False  # a deliberate case: no random sibling joins it


@dataclass(eq=False)
class Staff:
    sid: str
    role: str  # teacher | aide | administrator
    given: str
    family: str
    org: str
    identifier: str
    email: str
    phone: str
    sms: str
    language: str
    modified: str = DAY1_STAMP


class PeopleBuilder:
    """Creates people with unique names, e-mail addresses, phone numbers and ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.students: list[Student] = []
        self.guardians: list[Guardian] = []
        self.relatives: list[Relative] = []
        self.families: list[Family] = []
        self.date_keys: dict[tuple[int, frozenset[int]], list[Student]] = {}
        self.emails: set[str] = set()
        numbers = [f"{a}-555-01{n:02d}" for a in AREA_CODES for n in range(100)]
        rng.shuffle(numbers)
        self._phones = iter(numbers)
        self.next_guardian = 3001
        self.next_relative = 4001
        self.next_student = 1001

    # ------------------------------------------------------------------ small allocators
    def phone(self) -> str:
        return next(self._phones)

    def email(self, local: str, domain: str) -> str:
        candidate, n = f"{local}@{domain}", 2
        while candidate in self.emails:
            candidate, n = f"{local}{n}@{domain}", n + 1
        self.emails.add(candidate)
        return candidate

    def number(self, student: Student) -> None:
        student.number, self.next_student = self.next_student, self.next_student + 1
        student.sid = f"stu-{student.number}"
        student.username = (
            f"{ascii_slug(student.given)[:1]}{ascii_slug(student.family)[:12]}{student.number}"
        )
        if student.school != "sch-elm":  # elementary students have no e-mail
            student.email = self.email(student.username, "example.org")

    # ------------------------------------------------------------------ students
    def pick_given(self, pool: Pool, sex: str) -> str:
        own, general = (pool.girls, GENERAL_GIRLS) if sex == "female" else (pool.boys, GENERAL_BOYS)
        return self.rng.choice(own if self.rng.random() < 0.7 else general)

    def acceptable(self, given: str, family: str, birth: date, siblings: list[Student]) -> bool:
        """No accidental look-alikes: a duplicate finder should only find the deliberate pairs."""
        for other in self.students:
            if similar(given, other.given) and similar(family, other.family):
                return False  # the same or nearly the same name
            if similar(given, other.family) and similar(family, other.given):
                return False  # the same name with given and family swapped
        for other in self.date_keys.get((birth.year, frozenset((birth.month, birth.day))), []):
            if similar(family, other.family) or similar(given, other.given):
                return False  # same (or day/month-swapped) birth date and a similar name
        return all(abs((birth - s.birth).days) >= 330 for s in siblings)

    def register(self, student: Student, family: Family | None) -> None:
        key = (student.birth.year, frozenset((student.birth.month, student.birth.day)))
        self.date_keys.setdefault(key, []).append(student)
        if family is not None:
            family.children.append(student)
            for guardian in family.guardians:
                guardian.students.append(student)
                student.guardians.append(guardian)
        self.students.append(student)

    def new_family(
        self, pool: Pool, name: str, *, guardians: int | None = None, closed: bool = False
    ) -> Family:
        family = Family(name, pool, closed=closed)
        count = guardians if guardians is not None else (1 if self.rng.random() < 0.5 else 2)
        home = self.phone() if self.rng.random() < 0.45 else ""
        for index in range(count):
            self.add_guardian(family, home=home, first=index == 0)
        self.families.append(family)
        return family

    def add_guardian(
        self,
        family: Family,
        *,
        home: str = "",
        first: bool = True,
        given: str = "",
        surname: str = "",
    ) -> Guardian:
        rng, pool = self.rng, family.pool
        female = rng.random() < 0.65
        sex = "female" if female == first else "male"  # a second guardian: mostly a father
        if not given:
            own, general = (
                (pool.women, GENERAL_WOMEN) if sex == "female" else (pool.men, GENERAL_MEN)
            )
            given = rng.choice(own if rng.random() < 0.75 else general)
        if not surname:
            same = rng.random() < (0.85 if first else 0.75)
            surname = family.name if same else rng.choice(pool.families)
        if pool.language != "en":
            language = pool.language if rng.random() < 0.85 else ""
        else:
            language = "en" if rng.random() < 0.5 else ""
        local = f"{ascii_slug(given)}.{ascii_slug(surname)}"
        guardian = Guardian(
            sid=f"gdn-{self.next_guardian}",
            given=given,
            family=surname,
            role="guardian" if rng.random() < 0.1 else "parent",
            email=self.email(local, "example.net") if rng.random() < 0.9 else "",
            sms=self.phone() if rng.random() < 0.95 else "",
            phone=home,
            language=language,
        )
        self.next_guardian += 1
        family.guardians.append(guardian)
        self.guardians.append(guardian)
        return guardian

    def random_student(
        self, school: str, grade: str, *, join_family: bool = True, guardians: int | None = None
    ) -> Student:
        rng = self.rng
        start, end = birth_window(grade)
        while True:
            family = None
            if join_family and rng.random() < 0.28:
                open_families = [
                    f
                    for f in self.families
                    if not f.closed
                    and f.guardians
                    and len(f.children) < 3
                    and all(c.grade != grade for c in f.children)
                ]
                family = rng.choice(open_families) if open_families else None
            pool = family.pool if family else rng.choices(POOLS, weights=POOL_WEIGHTS)[0]
            surname = family.name if family else rng.choice(pool.families)
            sex = rng.choice(("female", "male"))
            given = self.pick_given(pool, sex)
            birth = start + timedelta(days=rng.randrange((end - start).days + 1))
            if self.acceptable(given, surname, birth, family.children if family else []):
                break
        if family is None:
            family = self.new_family(pool, surname, guardians=guardians)
        student = Student(
            given=given,
            family=surname,
            middle=rng.choice(MIDDLE_NAMES) if rng.random() < 0.3 else "",
            school=school,
            grade=grade,
            birth=birth,
            sex=sex,
            language=self.student_language(pool),
            pool=pool.name,
        )
        self.register(student, family)
        return student

    def student_language(self, pool: Pool) -> str:
        if self.rng.random() >= 0.2:
            return ""
        return pool.language if self.rng.random() < 0.6 else "en"

    def add_relative(self, student: Student) -> Relative:
        rng = self.rng
        pool = next(p for p in POOLS if p.name == student.pool)
        sex = rng.choice(("female", "male"))
        given = rng.choice(pool.women if sex == "female" else pool.men)
        surname = student.family if rng.random() < 0.5 else rng.choice(pool.families)
        email = ""
        if rng.random() < 0.5:
            email = self.email(f"{ascii_slug(given)}.{ascii_slug(surname)}", "example.net")
        relative = Relative(
            sid=f"rel-{self.next_relative}",
            given=given,
            family=surname,
            email=email,
            sms=self.phone(),
            phone=self.phone() if rng.random() < 0.4 else "",
            student=student,
        )
        self.next_relative += 1
        student.relatives.append(relative)
        self.relatives.append(relative)
        return relative

    def add_attributes(self, student: Student) -> None:
        rng = self.rng
        if rng.random() >= 0.5:
            return
        kind = rng.random()
        if kind < 0.7:
            route = rng.randrange(1, 25)
            student.attributes["bus_route"] = (
                f"{route}{'AB'[route % 2]}" if route > 20 else str(route)
            )
        if kind >= 0.4:
            student.attributes["lunch_group"] = rng.choice("ABCD")


def build_staff(builder: PeopleBuilder, teachers_per_school: dict[str, int]) -> list[Staff]:
    """Teachers per school, two aides at Elm Street and one district administrator."""
    rng = builder.rng
    staff: list[Staff] = []
    used: set[tuple[str, str]] = set()

    def person(sid: str, role: str, org: str, identifier: str) -> Staff:
        while True:
            pool = rng.choices(POOLS, weights=POOL_WEIGHTS)[0]
            women = rng.random() < 0.7 if role != "administrator" else False
            given = rng.choice((pool.women + GENERAL_WOMEN) if women else (pool.men + GENERAL_MEN))
            family = rng.choice(pool.families)
            if (given, family) not in used:
                used.add((given, family))
                break
        language = pool.language if pool.language != "en" and rng.random() < 0.5 else ""
        return Staff(
            sid=sid,
            role=role,
            given=given,
            family=family,
            org=org,
            identifier=identifier,
            email=builder.email(f"{ascii_slug(given)}.{ascii_slug(family)}", "example.org"),
            phone=builder.phone(),
            sms=builder.phone() if rng.random() < 0.5 else "",
            language=language,
        )

    number = 2001
    for school, count in teachers_per_school.items():
        for _ in range(count):
            staff.append(person(f"tch-{number}", "teacher", school, f"E{number}"))
            number += 1
    staff.append(person("aid-2101", "aide", "sch-elm", "E2101"))
    staff.append(person("aid-2102", "aide", "sch-elm", "E2102"))
    staff.append(person("adm-2201", "administrator", "dist-maplewood", "E2201"))
    return staff
