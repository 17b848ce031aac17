"""The expected results, computed from the files as written (read back from disk), and the
consistency checks the generator runs on its own output."""

from __future__ import annotations

from collections import Counter

from _csvio import ReadFile

Rows = dict[str, list[dict[str, str]]]  # entity (file name without .csv) -> rows
Key = tuple[str, ...]
State = dict[str, dict[Key, tuple[str, ...]]]  # kind -> key -> synced values

KINDS = (
    "schools", "classrooms", "students", "staff", "guardians", "enrollments", "guardian_links",
    "student_attributes",
)  # fmt: skip
OPS = ("create", "update", "archive", "unarchive")
STAFF_ROLES = {"administrator", "aide", "proctor", "teacher"}
GUARDIAN_ROLES = {"parent", "guardian"}  # `relative` is not synced by default
# agentSourcedIds is deliberately not a value: family links are their own kind.
PERSON_FIELDS = (
    "enabledUser", "username", "givenName", "familyName", "middleName", "identifier", "email",
    "sms", "phone", "grades", "metadata.language", "preferredGivenName",
)  # fmt: skip
CLASS_FIELDS = (
    "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId",
    "termSourcedIds", "subjects", "periods",
)  # fmt: skip
KEYS = {
    "guardians": ("sourcedId", "studentSourcedId"),
    "student_attributes": ("studentSourcedId", "name"),
}


def as_rows(files: dict[str, ReadFile]) -> Rows:
    return {
        name.removesuffix(".csv"): f.dicts() for name, f in files.items() if name != "manifest.csv"
    }


def row_counts(files: dict[str, ReadFile]) -> dict[str, int]:
    return {name: len(f.rows) for name, f in sorted(files.items())}


def split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def roles_and_orgs(rows: Rows) -> dict[str, tuple[str, str]]:
    """sourcedId -> (role, sorted orgs): from users.csv (1.1) or roles.csv (1.2)."""
    if "roles" in rows:
        found: dict[str, tuple[str, str]] = {}
        for user in {r["userSourcedId"] for r in rows["roles"]}:
            mine = [r for r in rows["roles"] if r["userSourcedId"] == user]
            primary = next(r for r in mine if r["roleType"] == "primary")
            found[user] = (primary["role"], ",".join(sorted({r["orgSourcedId"] for r in mine})))
        return found
    return {
        r["sourcedId"]: (r["role"], ",".join(sorted(split(r["orgSourcedIds"]))))
        for r in rows["users"]
    }


def state(rows: Rows) -> State:
    """What a sync of these files would hold, by kind, with the values whose change is an update."""
    result: State = {kind: {} for kind in KINDS}
    for org in rows.get("orgs", []):
        if org["type"] in ("school", "district"):
            result["schools"][(org["sourcedId"],)] = tuple(
                org[f] for f in ("name", "type", "identifier", "parentSourcedId")
            )
    for klass in rows.get("classes", []):
        result["classrooms"][(klass["sourcedId"],)] = tuple(klass[f] for f in CLASS_FIELDS)

    roles = roles_and_orgs(rows)
    births = {r["sourcedId"]: r["birthDate"] for r in rows.get("demographics", [])}
    users = {r["sourcedId"]: r for r in rows.get("users", [])}
    for sid, user in users.items():
        role, orgs = roles[sid]
        values = (role, orgs, *(user.get(f, "") for f in PERSON_FIELDS))
        if role == "student":
            result["students"][(sid,)] = (*values, births.get(sid, ""))
        elif role in STAFF_ROLES:
            result["staff"][(sid,)] = values
        elif role in GUARDIAN_ROLES:
            result["guardians"][(sid,)] = values
    for row in rows.get("guardians", []):  # users.csv details win; the first row wins
        if row["relationship"] in GUARDIAN_ROLES and (row["sourcedId"],) not in result["guardians"]:
            contact = ("givenName", "familyName", "email", "sms", "phone", "language")
            result["guardians"][(row["sourcedId"],)] = ("guardians.csv", *(row[f] for f in contact))

    students, guardians = result["students"], result["guardians"]
    links: set[Key] = set()
    for sid, user in users.items():
        for agent in split(user.get("agentSourcedIds", "")):
            links.add((sid, agent))
            links.add((agent, sid))
    for row in rows.get("guardians", []):
        if row["relationship"] in GUARDIAN_ROLES:
            links.add((row["studentSourcedId"], row["sourcedId"]))
    for student, guardian in links:
        if (student,) in students and (guardian,) in guardians:
            result["guardian_links"][(student, guardian)] = ()
    _district_guardians_at_their_students_schools(rows, result, users, links)

    for enrollment in rows.get("enrollments", []):
        key = (enrollment["classSourcedId"], enrollment["userSourcedId"])
        values = tuple(enrollment[f] for f in ("role", "primary", "beginDate", "endDate"))
        result["enrollments"][key] = values
    for attribute in rows.get("student_attributes", []):
        if (attribute["studentSourcedId"],) in students:
            key = (attribute["studentSourcedId"], attribute["name"])
            result["student_attributes"][key] = (attribute["value"],)
    return result


def _district_guardians_at_their_students_schools(
    rows: Rows, result: State, users: dict[str, dict[str, str]], links: set[Key]
) -> None:
    """A users.csv guardian whose only org is the district belongs to the schools of the
    students it is linked to (either side of agentSourcedIds)."""
    districts = {r["sourcedId"] for r in rows.get("orgs", []) if r["type"] == "district"}
    students = result["students"]
    for (sid,), values in list(result["guardians"].items()):
        if sid not in users or values[1] not in districts:
            continue
        schools = sorted(
            {
                org
                for student, guardian in links
                if guardian == sid and (student,) in students
                for org in split(students[(student,)][1])
            }
        )
        if schools:
            result["guardians"][(sid,)] = (values[0], ",".join(schools), *values[2:])


def diff(before: State, after: State) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        old, new = before.get(kind, {}), after[kind]
        counts[kind] = {
            "create": sum(1 for k in new if k not in old),
            "update": sum(1 for k in new if k in old and new[k] != old[k]),
            "archive": sum(1 for k in old if k not in new),
            "unarchive": 0,
        }
    return counts


def apply_delta(base: Rows, delta: dict[str, ReadFile], manifest: dict[str, str]) -> Rows:
    """Day 2 plus a delta drop: rows present replace or add, `tobedeleted` removes; a deleted
    student takes its enrollments, family rows, attributes and demographics along."""
    merged = {entity: list(rows) for entity, rows in base.items()}
    deleted_users: set[str] = set()
    for entity, rows in as_rows(delta).items():
        mode = manifest.get(f"file.{entity}", "bulk")
        if mode == "bulk":
            merged[entity] = rows
            continue
        if mode != "delta":
            continue
        key_fields = KEYS.get(entity, ("sourcedId",))
        current = {tuple(r[f] for f in key_fields): r for r in merged.get(entity, [])}
        for row in rows:
            key = tuple(row[f] for f in key_fields)
            if row["status"] == "tobedeleted":
                current.pop(key, None)
                if entity == "users":
                    deleted_users.add(row["sourcedId"])
            else:
                current[key] = row
        merged[entity] = list(current.values())
    cascade = {"enrollments": "userSourcedId", "guardians": "studentSourcedId",
               "student_attributes": "studentSourcedId", "demographics": "sourcedId"}  # fmt: skip
    for entity, column in cascade.items():
        merged[entity] = [r for r in merged.get(entity, []) if r[column] not in deleted_users]
    return merged


# ---------------------------------------------------------------------- checks
def check_shape(files: dict[str, ReadFile], label: str) -> list[str]:
    problems = []
    for name, f in files.items():
        for number, row in enumerate(f.rows, start=2):
            if len(row) != len(f.header):
                problems.append(f"{label}/{name} line {number}: {len(row)} columns")
    return problems


def check_unique(rows: Rows, label: str) -> list[str]:
    problems = []
    for entity, table in rows.items():
        key_fields = KEYS.get(entity, ("sourcedId",))
        counts = Counter(tuple(r[f] for f in key_fields) for r in table)
        problems += [
            f"{label}/{entity}: key {k} appears {n} times" for k, n in counts.items() if n > 1
        ]
    return problems


def check_references(rows: Rows, label: str) -> list[str]:
    """Every reference resolves, and users.csv family links are filled on both sides."""
    ids = {entity: {r.get("sourcedId", "") for r in table} for entity, table in rows.items()}
    roles = roles_and_orgs(rows)
    students = {sid for sid, (role, _orgs) in roles.items() if role == "student"}
    schools = (
        {r["sourcedId"] for r in rows["orgs"] if r["type"] == "school"} if "orgs" in rows else set()
    )
    problems: list[str] = []

    def need(values: list[str], pool: set[str], where: str) -> None:
        problems.extend(f"{label}: {where} names unknown '{v}'" for v in values if v not in pool)

    for r in rows.get("orgs", []):
        need(split(r["parentSourcedId"]), ids["orgs"], f"org {r['sourcedId']}")
    for r in rows.get("academicSessions", []):
        need(split(r["parentSourcedId"]), ids["academicSessions"], f"session {r['sourcedId']}")
    for r in rows.get("courses", []):
        need([r["orgSourcedId"]], ids.get("orgs", set()), f"course {r['sourcedId']}")
        need(split(r["schoolYearSourcedId"]), ids.get("academicSessions", set()), r["sourcedId"])
    for r in rows.get("classes", []):
        need([r["schoolSourcedId"]], schools, f"class {r['sourcedId']}")
        need(split(r["termSourcedIds"]), ids.get("academicSessions", set()), r["sourcedId"])
        need([r["courseSourcedId"]], ids.get("courses", set()), f"class {r['sourcedId']}")
    users = {r["sourcedId"]: r for r in rows["users"]}
    for sid, user in users.items():
        need(split(user.get("orgSourcedIds", "")), ids.get("orgs", set()), f"user {sid}")
        need(split(user.get("primaryOrgSourcedId", "")), ids.get("orgs", set()), f"user {sid}")
        need(split(user["agentSourcedIds"]), set(users), f"user {sid} agentSourcedIds")
        for agent in split(user["agentSourcedIds"]):
            if agent in users and sid not in split(users[agent]["agentSourcedIds"]):
                problems.append(f"{label}: {agent} does not list {sid} back in agentSourcedIds")
    for r in rows.get("roles", []):
        need([r["userSourcedId"]], set(users), f"role {r['sourcedId']}")
        need([r["orgSourcedId"]], ids.get("orgs", set()), f"role {r['sourcedId']}")
    for r in rows.get("enrollments", []):
        need([r["classSourcedId"]], ids["classes"], f"enrollment {r['sourcedId']}")
        need([r["userSourcedId"]], set(users), f"enrollment {r['sourcedId']}")
        need([r["schoolSourcedId"]], schools, f"enrollment {r['sourcedId']}")
    for r in rows.get("demographics", []):
        need([r["sourcedId"]], students, "demographics")
    for entity in ("guardians", "student_attributes"):
        for r in rows.get(entity, []):
            need([r["studentSourcedId"]], students, entity)
    if "demographics" in rows:  # every student has a birth date
        need(sorted(students), {r["sourcedId"] for r in rows["demographics"]}, "demographics.csv")
    return problems
