"""A small OneRoster 1.2 drop of the same district: roles live in roles.csv, not users.csv."""

from __future__ import annotations

from _csvio import Drop, Table
from _district import DISTRICT
from _people import DAY1_STAMP
from _render import (
    CLASSES_HEADER,
    COURSES_HEADER,
    ENROLLMENTS_HEADER,
    active,
    header,
    manifest,
    orgs_table,
    sessions_table,
)

USERS_12_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
    "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,"
    "preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns"
)
ROLES_HEADER = (
    "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,"
    "userProfileSourcedId"
)
BEGIN = "2026-08-24"
COURSE = "crs-dist-digital"
CLASSES = {
    "sch-elm": "cls-elm-digital-1",
    "sch-oak": "cls-oak-digital-1",
    "sch-pine": "cls-pine-digital-1",
}
TEACHER = "tch-5001"
PARENT = "gdn-5001"
# sourcedId, given, family, middle, preferred given, pronouns, school, grade
STUDENTS = (
    ("stu-5001", "Harper", "Lindqvist", "", "", "she/her", "sch-elm", "KG"),
    ("stu-5002", "Tobias", "Mwangi-Ford", "", "Toby", "", "sch-elm", "03"),
    ("stu-5003", "Alexandra", "Petrova", "Ivanovna", "Sasha", "she/her", "sch-oak", "07"),
    ("stu-5004", "Kai", "Nakamura", "", "", "they/them", "sch-oak", "08"),
    ("stu-5005", "Isabel", "Ortega", "", "", "", "sch-pine", "10"),
    ("stu-5006", "Jordan", "Blackwood", "Lee", "", "he/him", "sch-pine", "12"),
)


def _user(sid: str, given: str, family: str, **values: str) -> dict[str, str]:
    return {**active(DAY1_STAMP), "sourcedId": sid, "enabledUser": "true", "givenName": given,
            "familyName": family, **values}  # fmt: skip


def oneroster12_drop() -> Drop:
    users: list[dict[str, str]] = []
    roles: list[tuple[str, str, str, str]] = []  # user, roleType, role, org
    for sid, given, family, middle, preferred, pronouns, school, grade in STUDENTS:
        number = sid[4:]
        username = f"{given[0].lower()}{family.split('-')[0].lower()}{number}"
        users.append(_user(
            sid, given, family, middleName=middle, username=username,
            userIds=f"{{SIS:S{number}}}", identifier=f"S{number}",
            email="" if school == "sch-elm" else f"{username}@example.org",
            agentSourcedIds=PARENT if sid == "stu-5004" else "", grades=grade,
            userMasterIdentifier=f"MW-{number}", preferredGivenName=preferred,
            primaryOrgSourcedId=school, pronouns=pronouns,
        ))  # fmt: skip
        roles.append((sid, "primary", "student", school))
    users.append(_user(
        TEACHER, "Renee", "Okonkwo", username="renee.okonkwo", userIds="{LDAP:renee.okonkwo}",
        identifier="E5001", email="renee.okonkwo@example.org", phone="503-555-0177",
        userMasterIdentifier="MW-E5001", primaryOrgSourcedId="sch-oak", pronouns="she/her",
    ))  # fmt: skip
    roles += [(TEACHER, "primary", "teacher", "sch-oak"),
              (TEACHER, "secondary", "teacher", "sch-elm"),
              (TEACHER, "secondary", "teacher", "sch-pine")]  # fmt: skip
    users.append(_user(
        PARENT, "Daniel", "Nakamura", username="daniel.nakamura@example.net",
        email="daniel.nakamura@example.net", sms="971-555-0164", agentSourcedIds="stu-5004",
        userMasterIdentifier="MW-P5001", primaryOrgSourcedId=DISTRICT,
    ))  # fmt: skip
    roles.append((PARENT, "primary", "parent", DISTRICT))

    role_rows = [
        {**active(DAY1_STAMP), "sourcedId": f"rol-{n:06d}", "userSourcedId": user,
         "roleType": kind, "role": role, "beginDate": BEGIN, "endDate": "", "orgSourcedId": org,
         "userProfileSourcedId": ""}
        for n, (user, kind, role, org) in enumerate(roles, start=1)
    ]  # fmt: skip
    course = {**active(DAY1_STAMP), "sourcedId": COURSE, "schoolYearSourcedId": "term-2026-27",
              "title": "Digital Citizenship", "courseCode": "DIGCIT",
              "grades": "KG,01,02,03,04,05,06,07,08,09,10,11,12", "orgSourcedId": DISTRICT,
              "subjects": "Technology", "subjectCodes": ""}  # fmt: skip
    classes = [
        {**active(DAY1_STAMP), "sourcedId": cls, "title": "Digital Citizenship",
         "grades": {"sch-elm": "KG,03", "sch-oak": "07,08", "sch-pine": "10,12"}[school],
         "courseSourcedId": COURSE, "classCode": f"DIGCIT-{school[4:].upper()}",
         "classType": "scheduled", "location": "Media Center", "schoolSourcedId": school,
         "termSourcedIds": "term-2026-27-s1", "subjects": "Technology", "subjectCodes": "",
         "periods": "5"}
        for school, cls in CLASSES.items()
    ]  # fmt: skip
    enrollments = [(CLASSES[school], TEACHER, "teacher", school) for school in CLASSES]
    enrollments += [(CLASSES[s[6]], s[0], "student", s[6]) for s in STUDENTS]
    enrollment_rows = [
        {**active(DAY1_STAMP), "sourcedId": f"enr-5{n:05d}", "classSourcedId": cls,
         "schoolSourcedId": school, "userSourcedId": user, "role": role,
         "primary": "true" if role == "teacher" else "false", "beginDate": BEGIN, "endDate": ""}
        for n, (cls, user, role, school) in enumerate(enrollments, start=1)
    ]  # fmt: skip
    tables = {
        "orgs.csv": orgs_table(),
        "academicSessions.csv": sessions_table(),
        "courses.csv": Table(header(COURSES_HEADER), [course]),
        "classes.csv": Table(header(CLASSES_HEADER), classes),
        "users.csv": Table(header(USERS_12_HEADER), users),
        "roles.csv": Table(header(ROLES_HEADER), role_rows),
        "enrollments.csv": Table(header(ENROLLMENTS_HEADER), enrollment_rows),
    }
    modes = dict.fromkeys((name.removesuffix(".csv") for name in tables), "bulk")
    return {"manifest.csv": manifest(modes, version="1.2"), **tables}
