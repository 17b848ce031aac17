"""The later drops: day 2 (a normal night of changes), day 3 (broken) and day 4 (a delta)."""

from __future__ import annotations

import copy
import random
from typing import Any

from _csvio import PLAIN, Drop, Table, lists_text, table_text
from _district import District
from _people import DAY1_STAMP, PINE, Guardian, Student
from _render import (
    CLASSES_HEADER,
    bulk_drop,
    demographics_row,
    family_row,
    header,
    manifest,
    student_row,
)

DAY2_STAMP = "2026-11-01T18:30:00.000Z"
DAY2_BEGIN = "2026-11-02"
DAY4_STAMP = "2026-11-03T17:45:00.000Z"
DAY4_BEGIN = "2026-11-04"
RENAMED_CLASS = ("cls-pine-worldhist-1", "World History & Geography")


def siblings(student: Student) -> set[Student]:
    return {o for g in student.guardians for o in g.students if o is not student}


def _ordinary(district: District, taken: set[str]) -> list[Student]:
    """Students that are no deliberate case and not yet used by another change."""
    cases = {sid for sids in district.cases.values() for sid in sids}
    return [s for s in district.people.students if s.sid not in cases | taken]


def _add_student(
    district: District,
    school: str,
    grade: str,
    guardians: int,
    stamp: str,
    begin: str,
    *,
    schedule: bool = True,
) -> Student:
    """A new student in a new family with `guardians` guardians, enrolled from `begin`."""
    people = district.people
    student = people.random_student(school, grade, join_family=False, guardians=guardians)
    people.number(student)
    student.modified = student.created = stamp
    for guardian in student.guardians:
        guardian.modified = stamp
    rng = people.rng
    classes = district.schedule(student, rng) if schedule else district.schedule(student, rng)[:1]
    for klass in classes:
        district.enroll(klass, student.sid, "student", begin=begin, stamp=stamp)
    return student


def _remove_student(district: District, student: Student, stamp: str) -> list[Guardian]:
    """The student leaves; returns the guardians who still have other students (changed rows)."""
    people = district.people
    people.students.remove(student)
    kept: list[Guardian] = []
    for guardian in student.guardians:
        guardian.students.remove(student)
        if guardian.students:
            guardian.modified = stamp
            kept.append(guardian)
        else:
            people.guardians.remove(guardian)
    for relative in student.relatives:
        people.relatives.remove(relative)
    district.enrollments = [e for e in district.enrollments if e.user != student.sid]
    return kept


# ---------------------------------------------------------------------- day 2
def make_day2(day1: District, seed: int) -> tuple[District, dict[str, Any]]:
    district = copy.deepcopy(day1)
    people = district.people
    rng = people.rng = random.Random(seed)
    events: dict[str, Any] = {"new_students": [], "new_guardians": []}

    grades_of = {"sch-elm": ("KG", "03"), "sch-oak": ("06", "08"), "sch-pine": ("09", "11")}
    for school, grades in grades_of.items():
        for grade in grades:
            student = _add_student(district, school, grade, 1, DAY2_STAMP, DAY2_BEGIN)
            events["new_students"].append(student.sid)
            events["new_guardians"].append(student.guardians[0].sid)
    taken = set(events["new_students"])

    def pick(candidates: list[Student]) -> Student:
        choice = rng.choice(candidates)
        taken.add(choice.sid)
        return choice

    ordinary = _ordinary(district, taken)
    leavers = [
        pick([s for s in ordinary if s.school != PINE and not s.relatives and siblings(s)
              and all(o.school != PINE for o in siblings(s))]),
        pick([s for s in ordinary if s.school != PINE and s.relatives and not siblings(s)]),
        pick([s for s in ordinary if s.school == PINE and s.attributes and not siblings(s)
              and s.sid not in taken]),
        pick([s for s in ordinary if s.attributes and not siblings(s) and not s.relatives
              and s.sid not in taken]),
    ]  # fmt: skip
    events["leavers"] = [s.sid for s in leavers]
    events["leaver_guardians_removed"] = sorted(
        g.sid for s in leavers for g in s.guardians if all(o in leavers for o in g.students)
    )
    events["leaver_relatives_removed"] = sorted(r.sid for s in leavers for r in s.relatives)
    kept = [g.sid for s in leavers for g in _remove_student(district, s, DAY2_STAMP)]
    events["leaver_guardians_kept"] = sorted(kept)

    renamed = pick([s for s in _ordinary(district, taken) if s.school == "sch-oak"])
    old = renamed.family
    pool_families = sorted({o.family for o in people.students if o.pool == renamed.pool} - {old})
    renamed.family = f"{old}-{rng.choice(pool_families)}"
    renamed.modified = DAY2_STAMP
    events["renamed_student"] = {"sourcedId": renamed.sid, "from": old, "to": renamed.family}

    guardian = rng.choice([
        g for g in people.guardians
        if g.sms and g.modified == DAY1_STAMP
        and all(s.school != PINE and s.sid not in taken for s in g.students)
        and not any(s.sid in sids for sids in district.cases.values() for s in g.students)
    ])  # fmt: skip
    old_sms, guardian.sms, guardian.modified = guardian.sms, people.phone(), DAY2_STAMP
    events["sms_changed"] = {"sourcedId": guardian.sid, "from": old_sms, "to": guardian.sms}

    rider = pick([s for s in _ordinary(district, taken) if "bus_route" in s.attributes])
    old_route = rider.attributes["bus_route"]
    rider.attributes["bus_route"] = str((int(old_route.rstrip("AB")) + 6) % 24 + 1)
    events["bus_route_changed"] = {
        "studentSourcedId": rider.sid, "from": old_route, "to": rider.attributes["bus_route"]
    }  # fmt: skip

    mover = pick([s for s in _ordinary(district, taken) if s.school == "sch-oak"])
    mine = [e for e in district.enrollments if e.user == mover.sid]
    courses = {e.klass.course.sid for e in mine}
    left = rng.choice([e for e in mine if e.klass.class_type == "scheduled"])
    joined = rng.choice([
        k for k in district.classes
        if k.school == mover.school and k.class_type == "scheduled" and mover.grade in k.grades
        and k.course.sid not in courses
    ])  # fmt: skip
    district.enrollments.remove(left)
    new = district.enroll(joined, mover.sid, "student", begin=DAY2_BEGIN, stamp=DAY2_STAMP)
    events["class_change"] = {
        "studentSourcedId": mover.sid,
        "left": {"classSourcedId": left.klass.sid, "enrollmentSourcedId": left.sid},
        "joined": {"classSourcedId": joined.sid, "enrollmentSourcedId": new.sid},
    }

    klass = next(k for k in district.classes if k.sid == RENAMED_CLASS[0])
    events["renamed_class"] = {"sourcedId": klass.sid, "from": klass.title, "to": RENAMED_CLASS[1]}
    klass.title, klass.modified = RENAMED_CLASS[1], DAY2_STAMP
    return district, events


# ---------------------------------------------------------------------- day 3 (broken)
def make_day3(day2: Drop, keep_share: float = 0.45) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Day 2 with a truncated users.csv and bad rows. Returns the file texts and the bad rows."""
    texts = {name: table_text(table) for name, table in day2.items()}
    bad: list[dict[str, Any]] = []

    def insert(name: str, rows: list[list[str]], at: int, row: list[str], problem: str) -> None:
        rows.insert(at, row)
        bad.append({"file": name, "line": at + 2, "sourcedId": row[0], "problem": problem})

    users = day2["users.csv"]
    kept = users.as_lists()[: round(len(users.rows) * keep_share)]
    template = next(r for r in users.rows if r["orgSourcedIds"] == "sch-oak")

    def user(sid: str, number: int, **changes: str) -> list[str]:
        row = {**template, "sourcedId": sid, "identifier": f"S{number}", "agentSourcedIds": "",
               "username": f"user{number}", "userIds": f"{{SIS:S{number}}}",
               "email": f"user{number}@example.org", "middleName": "", **changes}  # fmt: skip
        return [row[name] for name in users.header]

    pupil = user("stu-9001", 9001, role="pupil", givenName="Robin", familyName="Ashdown")
    insert("users.csv", kept, 40, pupil, "invalid role 'pupil'")
    nameless = user("stu-9002", 9002, givenName="", familyName="Whitcombe")
    insert("users.csv", kept, 95, nameless, "empty givenName (required)")
    bad_mail = user(
        "stu-9003", 9003, givenName="Morgan", familyName="Thistle", email="not-an-email"
    )
    insert("users.csv", kept, 170, bad_mail, "malformed email 'not-an-email'")
    texts["users.csv"] = lists_text(users.header, kept, PLAIN)

    classes = day2["classes.csv"]
    class_rows = classes.as_lists()
    copied = dict(classes.rows[20], title=f"{classes.rows[20]['title']} (copy)")
    problem = f"duplicate sourcedId (first on line {20 + 2}, different title)"
    insert("classes.csv", class_rows, 31, [copied[n] for n in classes.header], problem)
    texts["classes.csv"] = lists_text(classes.header, class_rows, PLAIN)

    enrollments = day2["enrollments.csv"]
    enrollment_rows = enrollments.as_lists()
    student = next(r for r in enrollments.rows if r["role"] == "student")
    missing = dict(student, sourcedId="enr-900001", classSourcedId="cls-missing")
    problem = "classSourcedId 'cls-missing' is not in classes.csv"
    insert(
        "enrollments.csv", enrollment_rows, 400, [missing[n] for n in enrollments.header], problem
    )
    short = dict(enrollments.rows[700], sourcedId="enr-900002")
    short_row = [short[n] for n in enrollments.header if n != "primary"]
    problem = f"{len(short_row)} columns instead of {len(enrollments.header)} (one comma fewer)"
    insert("enrollments.csv", enrollment_rows, 800, short_row, problem)
    texts["enrollments.csv"] = lists_text(enrollments.header, enrollment_rows, PLAIN)
    return texts, sorted(bad, key=lambda b: (b["file"], b["line"]))


# ---------------------------------------------------------------------- day 4 (delta)
def make_day4(day2: District, seed: int, avoid: set[str]) -> tuple[Drop, dict[str, Any]]:
    """A delta drop on top of day 2: one new student, one deleted, one changed e-mail."""
    before = bulk_drop(day2)
    district = copy.deepcopy(day2)
    people = district.people
    rng = people.rng = random.Random(seed)
    cases = {sid for sids in district.cases.values() for sid in sids}
    untouched = [
        s
        for s in _ordinary(district, avoid)
        if s.modified == DAY1_STAMP and not any(o.sid in cases | avoid for o in siblings(s))
    ]

    # The deleted student has a sibling, so its guardian stays and is re-sent without it.
    gone = rng.choice([s for s in untouched if s.school != PINE and s.attributes and not s.relatives
                       and siblings(s) and all(o.school != PINE for o in siblings(s))])  # fmt: skip
    mailer = rng.choice(
        [s for s in untouched if s.email and s is not gone and s not in siblings(gone)]
    )
    new = _add_student(district, "sch-oak", "06", 0, DAY4_STAMP, DAY4_BEGIN, schedule=False)

    gone_user = dict(student_row(gone), status="tobedeleted", dateLastModified=DAY4_STAMP)
    gone_demo = dict(demographics_row(gone), status="tobedeleted", dateLastModified=DAY4_STAMP)
    gone_enrollments = [
        dict(r, status="tobedeleted", dateLastModified=DAY4_STAMP)
        for r in before["enrollments.csv"].rows
        if r["userSourcedId"] == gone.sid
    ]
    kept_guardians = _remove_student(district, gone, DAY4_STAMP)
    old_email = mailer.email
    # the district is moving students to a sub-domain; this one is the first
    mailer.email = people.email(mailer.username, "students.example.org")
    mailer.modified = DAY4_STAMP

    after = bulk_drop(district)
    users = before["users.csv"]
    new_enrollments = [r for r in after["enrollments.csv"].rows if r["userSourcedId"] == new.sid]
    user_rows = [student_row(new), gone_user, student_row(mailer)]
    user_rows += [family_row(g) for g in kept_guardians if g.in_users]
    delta_files = ("users", "enrollments", "classes", "demographics")
    drop: Drop = {
        "manifest.csv": manifest(dict.fromkeys(delta_files, "delta")),
        "users.csv": Table(users.header, user_rows),
        "enrollments.csv": Table(
            before["enrollments.csv"].header, new_enrollments + gone_enrollments
        ),
        "classes.csv": Table(header(CLASSES_HEADER), []),
        "demographics.csv": Table(
            before["demographics.csv"].header, [demographics_row(new), gone_demo]
        ),
    }
    events = {
        "new_student": new.sid,
        "new_enrollments": [r["sourcedId"] for r in new_enrollments],
        "tobedeleted_student": gone.sid,
        "tobedeleted_enrollments": [r["sourcedId"] for r in gone_enrollments],
        "guardians_resent": [g.sid for g in kept_guardians if g.in_users],
        "email_changed": {"sourcedId": mailer.sid, "from": old_email, "to": mailer.email},
    }
    return drop, events
