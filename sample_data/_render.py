"""Rendering the district model as the tables of a OneRoster 1.1 bulk drop."""

from __future__ import annotations

import random

from _csvio import Drop, Table
from _district import DISTRICT, S1, S2, SCHOOLS, YEAR, District
from _people import DAY1_STAMP, PINE, Guardian, Relative, Staff, Student

ORGS_HEADER = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"
SESSIONS_HEADER = (
    "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear"
)
COURSES_HEADER = (
    "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,"
    "subjects,subjectCodes"
)
CLASSES_HEADER = (
    "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
    "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"
)
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,"
    "metadata.language"
)
ENROLLMENTS_HEADER = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
    "beginDate,endDate"
)
DEMOGRAPHICS_HEADER = (
    "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,"
    "blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,"
    "demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,"
    "stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus"
)
GUARDIANS_HEADER = (
    "sourcedId,status,dateLastModified,studentSourcedId,relationship,givenName,familyName,email,"
    "sms,phone,language"
)
ATTRIBUTES_HEADER = "studentSourcedId,name,value,status,dateLastModified"
MANIFEST_HEADER = "propertyName,value"
ONEROSTER_FILES = (  # file.<entity> keys of a 1.1 manifest, in the specification's order
    "academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
    "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users",
)  # fmt: skip
PRODUCT_FILES = ("guardians", "student_attributes")


def header(spec: str) -> list[str]:
    return spec.split(",")


def active(stamp: str) -> dict[str, str]:
    return {"status": "active", "dateLastModified": stamp}


def manifest(modes: dict[str, str], version: str = "1.1") -> Table:
    """`modes`: entity -> bulk | delta; every other known file is declared absent."""
    rows = [("manifest.version", "1.0"), ("oneroster.version", version)]
    extra = ["roles", "userProfiles"] if version == "1.2" else []
    entities = [*ONEROSTER_FILES, *extra, *PRODUCT_FILES]
    rows += [(f"file.{e}", modes.get(e, "absent")) for e in entities]
    rows += [("source.systemName", "PowerSchool-like SIS"), ("source.systemCode", "maplewood-sis")]
    return Table(header(MANIFEST_HEADER), [{"propertyName": k, "value": v} for k, v in rows])


def orgs_table() -> Table:
    rows = [
        {**active(DAY1_STAMP), "sourcedId": DISTRICT, "name": "Maplewood Unified School District",
         "type": "district", "identifier": "MUSD", "parentSourcedId": ""},
    ]  # fmt: skip
    for sid, (name, identifier, _grades, _count) in SCHOOLS.items():
        rows.append({**active(DAY1_STAMP), "sourcedId": sid, "name": name, "type": "school",
                     "identifier": identifier, "parentSourcedId": DISTRICT})  # fmt: skip
    return Table(header(ORGS_HEADER), rows)


def sessions_table() -> Table:
    rows = [
        (YEAR, "2026-2027 School Year", "schoolYear", "2026-08-24", "2027-06-11", ""),
        (S1, "Fall Semester 2026", "semester", "2026-08-24", "2027-01-22", YEAR),
        (S2, "Spring Semester 2027", "semester", "2027-01-25", "2027-06-11", YEAR),
    ]
    keys = ("sourcedId", "title", "type", "startDate", "endDate", "parentSourcedId")
    return Table(
        header(SESSIONS_HEADER),
        [
            {**active(DAY1_STAMP), **dict(zip(keys, r, strict=True)), "schoolYear": "2027"}
            for r in rows
        ],
    )


def courses_table(district: District) -> Table:
    rows = [
        {**active(DAY1_STAMP), "sourcedId": c.sid, "schoolYearSourcedId": YEAR, "title": c.title,
         "courseCode": c.code, "grades": ",".join(c.grades), "orgSourcedId": c.school,
         "subjects": c.subjects, "subjectCodes": ""}
        for c in district.courses
    ]  # fmt: skip
    return Table(header(COURSES_HEADER), rows)


def classes_table(district: District) -> Table:
    rows = [
        {**active(k.modified), "sourcedId": k.sid, "title": k.title, "grades": ",".join(k.grades),
         "courseSourcedId": k.course.sid, "classCode": k.code, "classType": k.class_type,
         "location": k.location, "schoolSourcedId": k.school, "termSourcedIds": ",".join(k.terms),
         "subjects": k.course.subjects, "subjectCodes": "", "periods": k.periods}
        for k in district.classes
    ]  # fmt: skip
    return Table(header(CLASSES_HEADER), rows)


def student_row(s: Student) -> dict[str, str]:
    agents = [] if s.school == PINE else [g.sid for g in s.guardians] + [r.sid for r in s.relatives]
    return {
        **active(s.modified), "enabledUser": "true", "orgSourcedIds": s.school, "role": "student",
        "username": s.username, "userIds": f"{{SIS:S{s.number}}},{{LDAP:{s.username}}}",
        "givenName": s.given, "familyName": s.family, "middleName": s.middle,
        "identifier": f"S{s.number}", "email": s.email, "sms": "", "phone": "",
        "agentSourcedIds": ",".join(agents), "grades": s.grade, "password": "",
        "metadata.language": s.language, "sourcedId": s.sid,
    }  # fmt: skip


def staff_row(p: Staff) -> dict[str, str]:
    username = p.email.split("@")[0]
    return {
        **active(p.modified), "sourcedId": p.sid, "enabledUser": "true", "orgSourcedIds": p.org,
        "role": p.role, "username": username, "userIds": f"{{LDAP:{username}}}",
        "givenName": p.given, "familyName": p.family, "middleName": "", "identifier": p.identifier,
        "email": p.email, "sms": p.sms, "phone": p.phone, "agentSourcedIds": "", "grades": "",
        "password": "", "metadata.language": p.language,
    }  # fmt: skip


def family_row(p: Guardian | Relative) -> dict[str, str]:
    if isinstance(p, Guardian):
        role, language = p.role, p.language
        agents = [s.sid for s in p.students if s.school != PINE]
    else:
        role, language, agents = "relative", "", [p.student.sid]
    return {
        **active(p.modified), "sourcedId": p.sid, "enabledUser": "true", "orgSourcedIds": DISTRICT,
        "role": role, "username": p.email or p.sid, "userIds": "", "givenName": p.given,
        "familyName": p.family, "middleName": "", "identifier": "", "email": p.email,
        "sms": p.sms, "phone": p.phone, "agentSourcedIds": ",".join(agents), "grades": "",
        "password": "", "metadata.language": language,
    }  # fmt: skip


def users_table(district: District) -> Table:
    """Students, then staff, then family members: the order of a by-role export."""
    people = district.people
    rows = [student_row(s) for s in people.students]
    rows += [staff_row(p) for p in district.staff]
    rows += [family_row(g) for g in people.guardians if g.in_users]
    rows += [family_row(r) for r in people.relatives if r.student.school != PINE]
    return Table(header(USERS_HEADER), rows)


def guardians_table(district: District) -> Table:
    """Pine Ridge High's family relationships (one row per guardian and student)."""
    rows: list[dict[str, str]] = []
    for g in district.people.guardians:
        for s in sorted(g.students, key=lambda s: s.number):
            if s.school == PINE:
                rows.append({"sourcedId": g.sid, "studentSourcedId": s.sid, "relationship": g.role,
                             "givenName": g.given, "familyName": g.family, "email": g.email,
                             "sms": g.sms, "phone": g.phone, "language": g.language})  # fmt: skip
    for r in district.people.relatives:
        if r.student.school == PINE:
            rows.append({"sourcedId": r.sid, "studentSourcedId": r.student.sid,
                         "relationship": "relative", "givenName": r.given, "familyName": r.family,
                         "email": r.email, "sms": r.sms, "phone": r.phone,
                         "language": ""})  # fmt: skip
    return Table(
        header(GUARDIANS_HEADER), [{"status": "", "dateLastModified": "", **r} for r in rows]
    )


def enrollments_table(district: District) -> Table:
    rows = [
        {**active(e.modified), "sourcedId": e.sid, "classSourcedId": e.klass.sid,
         "schoolSourcedId": e.klass.school, "userSourcedId": e.user, "role": e.role,
         "primary": "true" if e.role == "teacher" else "false", "beginDate": e.begin,
         "endDate": ""}
        for e in district.enrollments
    ]  # fmt: skip
    return Table(header(ENROLLMENTS_HEADER), rows)


RACE_BY_POOL = {
    "anglo": ("white",),
    "hispanic": ("white",),
    "vietnamese": ("asian",),
    "chinese": ("asian",),
    "african_american": ("blackOrAfricanAmerican",),
    "south_asian": ("asian",),
    "african": ("blackOrAfricanAmerican",),
    "middle_eastern": ("white",),
    "european": ("white",),
}
ABROAD = {
    "hispanic": "MX",
    "vietnamese": "VN",
    "chinese": "CN",
    "south_asian": "IN",
    "african": "ET",
}
RACES = (
    "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander", "white",
)  # fmt: skip


def demographics_row(s: Student) -> dict[str, str]:
    rng = random.Random(f"demographics-{s.sid}")  # per student: stable whatever else changes
    races = set(RACE_BY_POOL[s.pool])
    if rng.random() < 0.06:
        races.add(rng.choice(RACES))
    abroad = s.pool in ABROAD and rng.random() < 0.15
    row = {
        **active(s.created), "sourcedId": s.sid, "birthDate": s.birth.isoformat(), "sex": s.sex,
        "demographicRaceTwoOrMoreRaces": "true" if len(races) > 1 else "false",
        "hispanicOrLatinoEthnicity": "true" if s.pool == "hispanic" else "false",
        "countryOfBirthCode": ABROAD[s.pool] if abroad else "US",
        "stateOfBirthAbbreviation": "" if abroad else rng.choice(("OR", "OR", "OR", "WA", "CA")),
        "cityOfBirth": "" if abroad else rng.choice(("Maplewood", "Maplewood", "Salem")),
        "publicSchoolResidenceStatus": "",
    }  # fmt: skip
    row.update({race: "true" if race in races else "false" for race in RACES})
    return row


def demographics_table(district: District) -> Table:
    return Table(
        header(DEMOGRAPHICS_HEADER), [demographics_row(s) for s in district.people.students]
    )


def attributes_table(district: District) -> Table:
    rows = [
        {
            "studentSourcedId": s.sid,
            "name": name,
            "value": value,
            "status": "",
            "dateLastModified": "",
        }
        for s in district.people.students
        for name, value in sorted(s.attributes.items())
    ]
    return Table(header(ATTRIBUTES_HEADER), rows)


def bulk_drop(district: District) -> Drop:
    tables = {
        "orgs.csv": orgs_table(),
        "academicSessions.csv": sessions_table(),
        "courses.csv": courses_table(district),
        "classes.csv": classes_table(district),
        "users.csv": users_table(district),
        "enrollments.csv": enrollments_table(district),
        "demographics.csv": demographics_table(district),
        "guardians.csv": guardians_table(district),
        "student_attributes.csv": attributes_table(district),
    }
    entities = [name.removesuffix(".csv") for name in tables]
    return {"manifest.csv": manifest(dict.fromkeys(entities, "bulk")), **tables}
