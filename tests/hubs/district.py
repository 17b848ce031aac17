"""The test district (tests/district.py) as each hub serves it.

Written by hand from the hubs' documentation, field by field, not from Roster Sync's own mapping:
a test that converts with the code under test would only agree with itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.district import TinyDistrict

MODIFIED = "2026-11-01T06:00:00.000Z"


def with_sessions_and_courses(tiny: TinyDistrict) -> TinyDistrict:
    """The tiny district plus the term and course its classes name (a SIS sends both)."""
    district = tiny.copy()
    district.files["academicSessions.csv"] = [
        {
            "sourcedId": "term-1",
            "status": "",
            "dateLastModified": "",
            "title": "2026-2027",
            "type": "schoolYear",
            "startDate": "2026-08-15",
            "endDate": "2027-06-15",
            "parentSourcedId": "",
            "schoolYear": "2027",
        }
    ]
    district.files["courses.csv"] = [
        {
            "sourcedId": "crs-1",
            "status": "",
            "dateLastModified": "",
            "schoolYearSourcedId": "term-1",
            "title": "Grade 5",
            "courseCode": "G5",
            "grades": "05",
            "orgSourcedId": "dist-1",
            "subjects": "",
            "subjectCodes": "",
        }
    ]
    return district


def _ref(sourced_id: str, kind: str) -> dict[str, str] | None:
    if not sourced_id:
        return None
    return {
        "href": f"https://sis.example.org/{kind}s/{sourced_id}",
        "sourcedId": sourced_id,
        "type": kind,
    }


def _refs(ids: str, kind: str) -> list[dict[str, str]]:
    return [r for r in (_ref(i.strip(), kind) for i in ids.split(",")) if r]


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _common(row: dict[str, str]) -> dict[str, Any]:
    return {"sourcedId": row["sourcedId"], "status": "active", "dateLastModified": MODIFIED}


def _user_ids(value: str) -> list[dict[str, str]]:
    out = []
    for part in value.split("},{"):
        part = part.strip("{}")
        if ":" in part:
            kind, _, ident = part.partition(":")
            out.append({"type": kind, "identifier": ident})
    return out


def oneroster_rest(tiny: TinyDistrict) -> dict[str, list[dict[str, Any]]]:
    """OneRoster 1.1 REST (JSON binding): references as objects, lists as arrays, enabledUser as
    the string ClassLink sends for half the users and as a boolean for the other half."""
    files = tiny.files
    data: dict[str, list[dict[str, Any]]] = {}
    data["orgs"] = [
        {
            **_common(r),
            "name": r["name"],
            "type": r["type"],
            "identifier": r["identifier"],
            "parent": _ref(r["parentSourcedId"], "org"),
            "children": [],
        }
        for r in files["orgs.csv"]
    ]
    if "academicSessions.csv" in files:
        data["academicSessions"] = [
            {
                **_common(r),
                "title": r["title"],
                "type": r["type"],
                "startDate": r["startDate"],
                "endDate": r["endDate"],
                "parent": _ref(r["parentSourcedId"], "academicSession"),
                "children": [],
                "schoolYear": r["schoolYear"],
            }
            for r in files["academicSessions.csv"]
        ]
    if "courses.csv" in files:
        data["courses"] = [
            {
                **_common(r),
                "title": r["title"],
                "schoolYear": _ref(r["schoolYearSourcedId"], "academicSession"),
                "courseCode": r["courseCode"],
                "grades": _list(r["grades"]),
                "subjects": _list(r["subjects"]),
                "org": _ref(r["orgSourcedId"], "org"),
                "subjectCodes": _list(r["subjectCodes"]),
            }
            for r in files["courses.csv"]
        ]
    data["users"] = [
        {
            **_common(r),
            "username": r["username"],
            "userIds": _user_ids(r.get("userIds", "")),
            "enabledUser": r["enabledUser"] if i % 2 else r["enabledUser"] == "true",
            "givenName": r["givenName"],
            "familyName": r["familyName"],
            "middleName": r.get("middleName", ""),
            "role": r["role"],
            "identifier": r.get("identifier", ""),
            "email": r.get("email", ""),
            "sms": r.get("sms", ""),
            "phone": r.get("phone", ""),
            "agents": _refs(r.get("agentSourcedIds", ""), "user"),
            "orgs": _refs(r["orgSourcedIds"], "org"),
            "grades": _list(r.get("grades", "")),
            "password": r.get("password", ""),
        }
        for i, r in enumerate(files["users.csv"])
    ]
    data["classes"] = [
        {
            **_common(r),
            "title": r["title"],
            "classCode": r["classCode"],
            "classType": r["classType"],
            "location": r["location"],
            "grades": _list(r["grades"]),
            "subjects": _list(r["subjects"]),
            "course": _ref(r["courseSourcedId"], "course"),
            "school": _ref(r["schoolSourcedId"], "org"),
            "terms": _refs(r["termSourcedIds"], "academicSession"),
            "subjectCodes": _list(r["subjectCodes"]),
            "periods": _list(r["periods"]),
        }
        for r in files["classes.csv"]
    ]
    data["enrollments"] = [
        {
            **_common(r),
            "user": _ref(r["userSourcedId"], "user"),
            "class": _ref(r["classSourcedId"], "class"),
            "school": _ref(r["schoolSourcedId"], "org"),
            "role": r["role"],
            **({"primary": r["primary"]} if r["primary"] else {}),
            **({"beginDate": r["beginDate"]} if r["beginDate"] else {}),
            **({"endDate": r["endDate"]} if r["endDate"] else {}),
        }
        for r in files["enrollments.csv"]
    ]
    if "demographics.csv" in files:
        data["demographics"] = [
            {**_common(r), "birthDate": r["birthDate"], "sex": r["sex"]}
            for r in files["demographics.csv"]
        ]
    return data


def oneroster_rest_12(tiny: TinyDistrict) -> dict[str, list[dict[str, Any]]]:
    """OneRoster 1.2 REST: a user's role and orgs become `roles` (one primary per org), with
    `primaryOrg` and the preferred-name fields of the 1.2 binding."""
    data = oneroster_rest(tiny)
    for user in data["users"]:
        orgs = user.pop("orgs")
        role = user.pop("role")
        user["roles"] = [{"roleType": "primary", "role": role, "org": org} for org in orgs]
        user["primaryOrg"] = orgs[0] if orgs else None
        user["preferredFirstName"] = ""
        user["userMasterIdentifier"] = ""
    return data


def oid(sourced_id: str) -> str:
    """A Clever-style ObjectID (24 hex digits) for a record: Clever's ids are never the SIS's."""
    import hashlib

    return hashlib.sha1(sourced_id.encode()).hexdigest()[:24]


def clever_compatible(tiny: TinyDistrict) -> TinyDistrict:
    """What Clever can carry: a contact has one phone (no separate sms) and no login (its
    username is its email)."""
    district = tiny.copy()
    for row in district.files["users.csv"]:
        if row["role"] in ("parent", "guardian", "relative"):
            row["sms"] = ""
            row["username"] = row["email"]
    return district


def clever_api(
    tiny: TinyDistrict, *, contacts_without_sis_id: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """Clever Data API v3.0 records: Clever ids everywhere, the SIS's ids in sis_id, users with
    role sub-objects, sections listing their teachers and students, contacts with
    student_relationships (relationship and type)."""
    files = tiny.files
    district = next(o for o in files["orgs.csv"] if o["type"] == "district")
    dist_id = oid(district["sourcedId"])
    data: dict[str, list[dict[str, Any]]] = {
        "districts": [{"id": dist_id, "name": district["name"]}],
        "schools": [
            {
                "id": oid(o["sourcedId"]),
                "district": dist_id,
                "name": o["name"],
                "sis_id": o["sourcedId"],
                "school_number": o["identifier"],
            }
            for o in files["orgs.csv"]
            if o["type"] == "school"
        ],
        "terms": [
            {
                "id": oid(t["sourcedId"]),
                "district": dist_id,
                "name": t["title"],
                "start_date": t["startDate"],
                "end_date": t["endDate"],
            }
            for t in files.get("academicSessions.csv", [])
        ],
        "courses": [
            {
                "id": oid(c["sourcedId"]),
                "district": dist_id,
                "name": c["title"],
                "number": c["courseCode"],
            }
            for c in files.get("courses.csv", [])
        ],
    }
    users = []
    for u in files["users.csv"]:
        orgs = _list(u["orgSourcedIds"])
        user: dict[str, Any] = {
            "id": oid(u["sourcedId"]),
            "district": dist_id,
            "email": u["email"],
            "name": {"first": u["givenName"], "last": u["familyName"], "middle": u["middleName"]},
        }
        credentials = {"district_username": u["username"]}
        if u["role"] == "student":
            user["roles"] = {
                "student": {
                    "sis_id": u["sourcedId"], "student_number": u["identifier"],
                    "school": oid(orgs[0]), "schools": [oid(o) for o in orgs],
                    "grade": str(int(u["grades"])) if u["grades"].isdigit() else u["grades"],
                    "credentials": credentials,
                }
            }  # fmt: skip
        elif u["role"] == "teacher":
            user["roles"] = {
                "teacher": {
                    "sis_id": u["sourcedId"], "teacher_number": u["identifier"],
                    "school": oid(orgs[0]), "schools": [oid(o) for o in orgs],
                    "credentials": credentials,
                }
            }  # fmt: skip
        else:
            contact = {
                "phone": u["phone"],
                "phone_type": "Home",
                "student_relationships": [
                    {"student": oid(s), "relationship": "Parent", "type": "Parent/Guardian"}
                    for s in _list(u["agentSourcedIds"])
                ],
            }
            if not contacts_without_sis_id:
                contact["sis_id"] = u["sourcedId"]
            user["roles"] = {"contact": contact}
        users.append(user)
    data["users"] = users
    enrollments = files["enrollments.csv"]
    data["sections"] = [
        {
            "id": oid(c["sourcedId"]),
            "district": dist_id,
            "sis_id": c["sourcedId"],
            "name": c["title"],
            "school": oid(c["schoolSourcedId"]),
            "course": oid(c["courseSourcedId"]),
            "term_id": oid(c["termSourcedIds"]),
            "grade": str(int(c["grades"])) if c["grades"].isdigit() else c["grades"],
            "section_number": c["classCode"],
            "subject": "homeroom/advisory" if c["classType"] == "homeroom" else "",
            "period": c["periods"],
            "teachers": [
                oid(e["userSourcedId"])
                for e in enrollments
                if e["classSourcedId"] == c["sourcedId"] and e["role"] == "teacher"
            ],
            "students": [
                oid(e["userSourcedId"])
                for e in enrollments
                if e["classSourcedId"] == c["sourcedId"] and e["role"] == "student"
            ],
        }
        for c in files["classes.csv"]
    ]
    return data


def clever_csv(tiny: TinyDistrict) -> dict[str, list[dict[str, str]]]:
    """Clever's SFTP CSV files (schools, students, teachers, sections, enrollments): the SIS's
    ids in every *_id column, a student's row repeated for each of its schools, each student's
    contact in the Contact_* columns of its row (repeated when it has two), sections naming
    their teachers, term and course by name and number. Clever's files have no district row;
    district.csv (Roster Sync's addition, docs/sources.md) names it."""
    files = tiny.files
    district = next(o for o in files["orgs.csv"] if o["type"] == "district")
    users = {u["sourcedId"]: u for u in files["users.csv"]}
    term = files["academicSessions.csv"][0] if files.get("academicSessions.csv") else None
    course = files["courses.csv"][0] if files.get("courses.csv") else None
    students: list[dict[str, str]] = []
    for u in files["users.csv"]:
        if u["role"] != "student":
            continue
        contacts: list[dict[str, str] | None] = [users[g] for g in _list(u["agentSourcedIds"])]
        contacts = contacts or [None]
        for school in _list(u["orgSourcedIds"]):
            for contact in contacts:
                students.append(
                    {
                        "School_id": school, "Student_id": u["sourcedId"],
                        "Student_number": u["identifier"], "State_id": "",
                        "Last_name": u["familyName"], "Middle_name": u["middleName"],
                        "First_name": u["givenName"], "Grade": str(int(u["grades"])),
                        "Student_email": u["email"], "Username": u["username"],
                        "Contact_name": (
                            f"{contact['givenName']} {contact['familyName']}" if contact else ""
                        ),
                        "Contact_type": "Parent/Guardian" if contact else "",
                        "Contact_relationship": "Parent" if contact else "",
                        "Contact_phone": contact["phone"] if contact else "",
                        "Contact_phone_type": "Home" if contact else "",
                        "Contact_email": contact["email"] if contact else "",
                        "Contact_sis_id": contact["sourcedId"] if contact else "",
                    }
                )  # fmt: skip
    teachers = [
        {
            "School_id": school, "Teacher_id": u["sourcedId"], "Teacher_number": u["identifier"],
            "State_teacher_id": "", "Teacher_email": u["email"], "First_name": u["givenName"],
            "Middle_name": u["middleName"], "Last_name": u["familyName"], "Title": "",
            "Username": u["username"],
        }
        for u in files["users.csv"] if u["role"] == "teacher"
        for school in _list(u["orgSourcedIds"])
    ]  # fmt: skip
    enrollments = files["enrollments.csv"]
    sections = []
    for c in files["classes.csv"]:
        teacher_ids = [
            e["userSourcedId"] for e in enrollments
            if e["classSourcedId"] == c["sourcedId"] and e["role"] == "teacher"
        ]  # fmt: skip
        row = {
            "School_id": c["schoolSourcedId"], "Section_id": c["sourcedId"],
            "Teacher_id": teacher_ids[0] if teacher_ids else "",
            "Teacher_2_id": teacher_ids[1] if len(teacher_ids) > 1 else "",
            "Name": c["title"], "Section_number": c["classCode"],
            "Grade": str(int(c["grades"])) if c["grades"].isdigit() else c["grades"],
            "Course_name": course["title"] if course else "",
            "Course_number": course["courseCode"] if course else "",
            "Period": c["periods"],
            "Subject": "Homeroom/advisory" if c["classType"] == "homeroom" else "",
            "Term_name": term["title"] if term else "",
            "Term_start": term["startDate"] if term else "",
            "Term_end": term["endDate"] if term else "",
        }  # fmt: skip
        sections.append(row)
    return {
        "district.csv": [{"District_id": district["sourcedId"], "District_name": district["name"]}],
        "schools.csv": [
            {
                "School_id": o["sourcedId"],
                "School_name": o["name"],
                "School_number": o["identifier"],
                "State_id": "",
                "Low_grade": "",
                "High_grade": "",
                "Principal": "",
                "Principal_email": "",
            }
            for o in files["orgs.csv"]
            if o["type"] == "school"
        ],
        "students.csv": students,
        "teachers.csv": teachers,
        "sections.csv": sections,
        "enrollments.csv": [
            {
                "School_id": e["schoolSourcedId"],
                "Section_id": e["classSourcedId"],
                "Student_id": e["userSourcedId"],
            }
            for e in enrollments
            if e["role"] == "student"
        ],
    }


def write_files(files: dict[str, list[dict[str, str]]], folder: Path) -> Path:
    """CSV files as a district's export writes them (header from the first row)."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        with open(folder / name, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return folder
