"""Small districts that change from night to night in the ways real drops do, for property tests.

A night is the tiny district after a list of events: people come and go, rows are marked
tobedeleted, a membership is sent twice, a value breaks its type, a row has an error or a broken
shape, a file is sent as a delta, and (in OneRoster 1.2) a role is missing or an extension.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings

from daemon.db import Database
from daemon.formats.spec import NOT_CARRIED_COLUMN
from daemon.service.engine import Engine
from tests.district import TinyDistrict, _enrollment, _user

# Lines that move or repeat around unchanged lines: a shortcut keyed by line must not be fooled.
LINE_SHIFT_EVENTS = (
    "insert_above",
    "reorder_file",
    "duplicate_line",
    "reuse_enrollment_id_above",
    "repeat_enrollment_above",
)
# What an unchanged line names changes, or one member of a group changes alone.
TARGET_EVENTS = (
    "remove_class_keep_enrollments",
    "student_to_teacher",
    "org_to_department",
    "guardian_one_side",
    "demographics_only",
    "rekey_enrollment",
)
# How a night's files are written (the same rows): columns in another order, CRLF line ends, a
# last line without its newline, users.csv in Windows-1252.
FORM_EVENTS = ("turn_columns", "crlf", "no_final_newline", "cp1252_users")
# Whose drop it is: a school-level upload (source.schools), or a hub's (source.systemName, with
# made-up enrollment ids in source.derivedIds) between the SIS's bulk nights.
SOURCE_EVENTS = ("scoped_night", "hub_night")
EVENTS_11 = (
    "rename",
    "accented_name",
    "new_email",
    "drop_student",
    "add_student",
    "renumber_student",
    "rekey_student_in_error",
    "tobedeleted_class",
    "tobedeleted_student",
    "tobedeleted_guardian",
    "tobedeleted_school",
    "tobedeleted_enrollment",
    "repeat_enrollment",
    "invalid_birth_date",
    "valid_birth_date",
    "invalid_begin_date",
    "invalid_primary",
    "invalid_contact",
    "required_missing",
    "dangling_enrollment",
    "unlink_guardian",
    "delta_enrollments",
    "delta_users",
    "delta_classes",
    "guardians_file",
    "guardians_row_ends",
    "attribute",
    "attribute_in_error",
    "shape_short_row",
    "shape_extra_fields",
    "shape_unclosed_quote",
    "not_carried",
    *LINE_SHIFT_EVENTS,
    *TARGET_EVENTS,
    *FORM_EVENTS,
    *SOURCE_EVENTS,
)
EVENTS_12 = (*EVENTS_11, "drop_role", "role_in_error", "ext_role", "ext_class_type")
SHAPE_EVENTS = ("shape_short_row", "shape_extra_fields", "shape_unclosed_quote")


@dataclass
class Night:
    """One night's drop: the district's files plus line-level damage done after writing."""

    tiny: TinyDistrict
    version: str = "1.1"
    damage: list[tuple[str, str, str]] = field(default_factory=list)  # (file, sourcedId, how)
    drop_roles: set[str] = field(default_factory=set)  # 1.2: users with no roles.csv row
    bad_roles: set[str] = field(default_factory=set)  # 1.2: users whose role row is in error
    ext_roles: set[str] = field(default_factory=set)  # 1.2: users with an ext: role
    turned: dict[str, int] = field(default_factory=dict)  # file: how far its columns turn
    crlf: set[str] = field(default_factory=set)  # files written with CRLF line ends
    no_final_newline: set[str] = field(default_factory=set)
    cp1252: bool = False  # users.csv in Windows-1252

    def write(self, root: Path) -> Path:
        folder = self.tiny.write(root)
        if self.version == "1.2":
            _as_oneroster12(folder, self)
        for file, turn in self.turned.items():
            # A damaged file keeps sourcedId first (the damage finds its line by it).
            damaged = any(f == file for f, _, _ in self.damage)
            _turn_columns(folder / file, turn, keep_first=damaged)
        for file, sourced_id, how in self.damage:
            _damage(folder / file, sourced_id, how)
        for file in self.crlf:
            if (folder / file).exists():
                text = (folder / file).read_text(encoding="utf-8")
                (folder / file).write_text(text.replace("\n", "\r\n"), encoding="utf-8")
        for file in self.no_final_newline:
            if (folder / file).exists():
                text = (folder / file).read_text(encoding="utf-8")
                (folder / file).write_text(text.rstrip("\r\n"), encoding="utf-8")
        if self.cp1252:
            text = (folder / "users.csv").read_text(encoding="utf-8")
            (folder / "users.csv").write_bytes(text.encode("cp1252"))
        return folder


def _as_delta(tiny: TinyDistrict, entity: str, rows: list[dict[str, str]]) -> None:
    """The file as changes only, carrying `rows` (each with a status and a date, as a delta's)."""
    tiny.manifest[f"file.{entity}"] = "delta"
    for row in rows:
        row["status"] = row.get("status") or "active"
        row["dateLastModified"] = "2026-11-30T06:00:00.000Z"
    tiny.files[f"{entity}.csv"] = rows


def apply_event(night: Night, event: str, pick: int) -> None:
    """Change `night` by one event; `pick` chooses which row (taken modulo the candidates)."""
    tiny = night.tiny
    users = tiny.rows("users.csv")
    students = [u for u in users if u["role"] == "student" and u.get("status") != "tobedeleted"]
    enrollments = tiny.rows("enrollments.csv")
    classes = tiny.rows("classes.csv")

    def one(rows: list[dict[str, str]]) -> dict[str, str] | None:
        return rows[pick % len(rows)] if rows else None

    student = one(students)
    if event == "rename" and (user := one(users)):
        user["familyName"] = user["familyName"] + "-Nguyen"
    elif event == "accented_name" and (user := one(users)):
        user["givenName"] = ("José", "Zoë", "Åsa", "François")[pick % 4]
    elif event == "new_email" and (user := one(users)):
        user["email"] = f"new-{pick}-" + (user.get("email") or "x@example.org")
    elif event == "drop_student" and student:
        tiny.remove("users.csv", sourcedId=student["sourcedId"])
        tiny.remove("enrollments.csv", userSourcedId=student["sourcedId"])
        tiny.files["demographics.csv"] = [
            d for d in tiny.rows("demographics.csv") if d["sourcedId"] != student["sourcedId"]
        ]
    elif event == "add_student":
        sid = f"stu-n{pick % 97}-{len(users)}"
        if not any(u["sourcedId"] == sid for u in users):
            users.append(_user(sid, "student", "Nova", f"Ray{pick % 7}", identifier=f"N{sid}"))
            if (cls := one(classes)) is not None:
                enrollments.append(_enrollment(f"enr-{sid}", cls["sourcedId"], sid))
    elif event == "renumber_student" and student:
        # the SIS gives a student a new identifier (student_id = identifier keeps the record)
        student["identifier"] = f"R{pick % 89}-{student['sourcedId']}"
    elif event == "rekey_student_in_error" and student:
        # a new sourcedId, the same identifier, and the row in error: under student_id =
        # identifier the row names its student by identifier, whose record it must not cost
        student["sourcedId"] = student["sourcedId"] + "-rk"
        student["givenName"] = ""
    elif event == "tobedeleted_class" and (cls := one(classes)):
        cls["status"] = "tobedeleted"
    elif event == "tobedeleted_student" and student:
        student["status"] = "tobedeleted"
    elif event == "tobedeleted_guardian" and (
        guardian := one([u for u in users if u["role"] == "parent"])
    ):
        guardian["status"] = "tobedeleted"
    elif event == "tobedeleted_school":
        school = one([o for o in tiny.rows("orgs.csv") if o["type"] == "school"])
        if school:
            school["status"] = "tobedeleted"
    elif event == "tobedeleted_enrollment" and (enrollment := one(enrollments)):
        enrollment["status"] = "tobedeleted"
    elif event == "repeat_enrollment" and (enrollment := one(enrollments)):
        prefix = "aaa" if pick % 2 else "zzz"  # sorts before or after the original
        enrollments.append(dict(enrollment, sourcedId=f"{prefix}-{enrollment['sourcedId']}"))
    elif event in ("invalid_birth_date", "valid_birth_date") and (
        demo := one(tiny.rows("demographics.csv"))
    ):
        demo["birthDate"] = (
            "2015-02-30" if event.startswith("invalid") else "2014-12-0" + str(1 + pick % 9)
        )
    elif event == "invalid_begin_date" and (enrollment := one(enrollments)):
        enrollment["beginDate"] = "2026-13-01"
    elif event == "invalid_primary" and (enrollment := one(enrollments)):
        enrollment["primary"] = "yes"
    elif event == "invalid_contact" and (user := one(users)):
        column, value = (("email", "ava-at-students"), ("sms", "call me"), ("grades", "5th"))[
            pick % 3
        ]
        user[column] = value
    elif event == "required_missing" and (user := one(users)):
        user["givenName"] = ""
    elif event == "dangling_enrollment" and (enrollment := one(enrollments)):
        enrollment["classSourcedId"] = "cls-gone"
    elif event == "unlink_guardian" and student:
        student["agentSourcedIds"] = ""
    elif event == "delta_enrollments":
        keep = max(1, len(enrollments) // 3)
        _as_delta(tiny, "enrollments", enrollments[pick % 2 :: 3][:keep])
    elif event == "delta_users":
        _as_delta(tiny, "users", users[pick % 3 :: 4])
    elif event == "delta_classes":
        _as_delta(tiny, "classes", classes[pick % 2 :: 2])
    elif event == "guardians_file" and student:
        tiny.rows("guardians.csv").append(
            {
                "sourcedId": f"gf-{pick % 5}",
                "status": "",
                "dateLastModified": "",
                "studentSourcedId": student["sourcedId"],
                "relationship": ("parent", "guardian", "relative")[pick % 3],
                "givenName": "Robin",
                "familyName": student["familyName"],
                "email": f"robin{pick % 5}@example.net",
                "sms": "",
                "phone": "",
                "language": "es" if pick % 2 else "",
            }
        )
    elif event == "guardians_row_ends" and (row := one(tiny.rows("guardians.csv"))):
        # the link's row, or the student it names, marked tobedeleted: the guardian may be
        # left with no student (feed/users.archive_guardians_left_without_a_student)
        target = (
            row
            if pick % 2
            else next((u for u in users if u["sourcedId"] == row["studentSourcedId"]), row)
        )
        target["status"] = "tobedeleted"
    elif event in ("attribute", "attribute_in_error") and student:
        tiny.rows("student_attributes.csv").append(
            {
                "studentSourcedId": student["sourcedId"],
                "name": "lunch plan" if event == "attribute_in_error" else f"plan_{pick % 3}",
                "value": str(pick),
                "status": "",
                "dateLastModified": "",
            }
        )
    elif event in SHAPE_EVENTS:
        file = ("users.csv", "classes.csv", "enrollments.csv")[pick % 3]
        rows = tiny.rows(file)
        if rows:
            night.damage.append((file, rows[pick % len(rows)]["sourcedId"], event))
    elif event == "drop_role" and student:
        night.drop_roles.add(student["sourcedId"])
    elif event == "role_in_error" and student:
        night.bad_roles.add(student["sourcedId"])
    elif event == "ext_role" and (user := one(users)):
        night.ext_roles.add(user["sourcedId"])
    elif event == "not_carried" and (user := one(users)):
        # The row has no data for some columns (as a hub's rows say, docs/sources.md).
        named = ("sms,phone", "grades", "phone,grades")[pick % 3]
        user[NOT_CARRIED_COLUMN] = named
        for column in named.split(","):
            user[column] = ""
    elif event == "ext_class_type" and (cls := one(classes)):
        cls["classType"] = "ext:lab"
    elif event in LINE_SHIFT_EVENTS or event in TARGET_EVENTS:
        _shift_or_retarget(tiny, event, pick)
    elif event in FORM_EVENTS or event in SOURCE_EVENTS:
        _form_or_source(night, event, pick)


FORMED_FILES = ("users.csv", "enrollments.csv", "classes.csv", "orgs.csv", "demographics.csv")


def _form_or_source(night: Night, event: str, pick: int) -> None:
    """Events of FORM_EVENTS and SOURCE_EVENTS; `pick` chooses the file, school or form."""
    tiny = night.tiny
    file = FORMED_FILES[pick % len(FORMED_FILES)]
    if event == "turn_columns":
        night.turned[file] = 1 + pick % 7
    elif event == "crlf":
        night.crlf |= set(FORMED_FILES) if pick % 2 else {file}
    elif event == "no_final_newline":
        night.no_final_newline.add(file)
    elif event == "cp1252_users":
        night.cp1252 = True
        users = tiny.rows("users.csv")
        if users and all(u["givenName"].isascii() for u in users):
            users[pick % len(users)]["familyName"] = "Muñoz-Lefèvre"
    elif event == "scoped_night":
        school = ("sch-a", "sch-b")[pick % 2]
        tiny.manifest["source.schools"] = school
        if pick % 3:  # the school's own rows only (else the others' stay in, as warnings)
            tiny.files["orgs.csv"] = [
                o
                for o in tiny.rows("orgs.csv")
                if o["sourcedId"] == school or o["type"] == "district"
            ]
            tiny.files["users.csv"] = [
                u for u in tiny.rows("users.csv") if u["orgSourcedIds"] == school
            ]
            kept = {u["sourcedId"] for u in tiny.rows("users.csv")}
            for name, column in (
                ("classes.csv", "schoolSourcedId"),
                ("enrollments.csv", "schoolSourcedId"),
            ):
                tiny.files[name] = [r for r in tiny.rows(name) if r[column] == school]
            tiny.files["demographics.csv"] = [
                d for d in tiny.rows("demographics.csv") if d["sourcedId"] in kept
            ]
    elif event == "hub_night":
        # A hub's drop: its enrollment ids are made up from class and person.
        tiny.manifest["source.systemName"] = "Clever"
        tiny.manifest["source.derivedIds"] = "enrollments"
        if pick % 2:
            tiny.manifest["source.notCarried"] = (
                "enrollments.primary;enrollments.beginDate;enrollments.endDate"
            )
        for row in tiny.rows("enrollments.csv"):
            row["sourcedId"] = f"{row['classSourcedId']}:{row['userSourcedId']}"


def _shift_or_retarget(tiny: TinyDistrict, event: str, pick: int) -> None:
    """Events of LINE_SHIFT_EVENTS and TARGET_EVENTS; `pick` chooses the rows."""
    users = tiny.rows("users.csv")
    enrollments = tiny.rows("enrollments.csv")
    classes = tiny.rows("classes.csv")
    live = [u for u in users if u.get("status") != "tobedeleted"]
    students = [u for u in live if u["role"] == "student"]

    def one(rows: list[dict[str, str]]) -> dict[str, str] | None:
        return rows[pick % len(rows)] if rows else None

    if event == "insert_above":
        # A new person (users.csv) or a new membership (enrollments.csv) as the file's first line.
        if pick % 2 and (cls := one(classes)) and (student := one(students)):
            row = _enrollment(f"enr-top-{pick % 11}", cls["sourcedId"], student["sourcedId"])
            if not any(e["sourcedId"] == row["sourcedId"] for e in enrollments):
                enrollments.insert(0, row)
        else:
            sid = f"stu-top-{pick % 11}"
            if not any(u["sourcedId"] == sid for u in users):
                users.insert(0, _user(sid, "student", "Ada", f"Top{pick % 5}", identifier=sid))
    elif event == "reorder_file":
        name = ("users.csv", "enrollments.csv", "classes.csv", "orgs.csv")[pick % 4]
        rows = tiny.rows(name)
        if len(rows) > 1:
            turn = 1 + pick % (len(rows) - 1)  # a rotation, or the reverse on odd picks
            rows[:] = rows[::-1] if pick % 8 == 1 else rows[turn:] + rows[:turn]
    elif event == "duplicate_line":
        name = ("users.csv", "enrollments.csv", "classes.csv")[pick % 3]
        rows = tiny.rows(name)
        if rows:
            i = pick % len(rows)
            rows.insert(i + 1, dict(rows[i]))
    elif event == "reuse_enrollment_id_above" and (old := one(enrollments)):
        # A new membership that reuses an existing one's sourcedId, one line above it.
        other = [c["sourcedId"] for c in classes if c["sourcedId"] != old["classSourcedId"]] or [
            old["classSourcedId"]
        ]
        row = dict(old, classSourcedId=other[pick % len(other)])
        enrollments.insert(enrollments.index(old), row)
    elif event == "repeat_enrollment_above" and (old := one(enrollments)):
        # The same class and person again, under a new sourcedId, one line above the first.
        enrollments.insert(enrollments.index(old), dict(old, sourcedId=f"again-{old['sourcedId']}"))
    elif event == "remove_class_keep_enrollments" and (cls := one(classes)):
        tiny.remove("classes.csv", sourcedId=cls["sourcedId"])  # its enrollments now dangle
    elif event == "student_to_teacher" and (student := one(students)):
        student["role"] = "teacher"  # still enrolled as a student, demographics and guardians
    elif event == "org_to_department":
        schools = [o for o in tiny.rows("orgs.csv") if o["type"] == "school"]
        if school := one(schools):
            school["type"] = "department"
    elif event == "guardian_one_side" and (student := one(students)):
        # The student names another guardian; neither guardian's row changes.
        guardians = [u["sourcedId"] for u in live if u["role"] == "parent"]
        if guardians:
            student["agentSourcedIds"] = guardians[(pick + 1) % len(guardians)]
    elif event == "demographics_only" and (demo := one(tiny.rows("demographics.csv"))):
        demo["sex"] = "male" if demo.get("sex") != "male" else "female"
    elif event == "rekey_enrollment" and (enrollment := one(enrollments)):
        # The same class and person under a new sourcedId (the old one is gone).
        enrollment["sourcedId"] = f"rk{pick % 7}-{enrollment['sourcedId']}"


def _turn_columns(path: Path, turn: int, keep_first: bool) -> None:
    """Rewrite the file with its columns turned by `turn` (the same rows and values)."""
    if not path.exists():
        return
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or len(rows[0]) < 3:
        return
    first, rest = (1, rows[0][1:]) if keep_first else (0, rows[0])
    n = turn % len(rest) or 1
    order = list(range(first)) + [first + (i + n) % len(rest) for i in range(len(rest))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([[row[i] for i in order] for row in rows])
    path.write_text(out.getvalue(), encoding="utf-8")


def _damage(path: Path, sourced_id: str, how: str) -> None:
    """Break the shape of the line that starts with `sourced_id` (if it is still there)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines):
        if i == 0 or not line.startswith(sourced_id + ","):
            continue
        if how == "shape_short_row":
            lines[i] = line.rsplit(",", 1)[0]
        elif how == "shape_extra_fields":
            lines[i] = line + ",extra,values"
        else:  # an opening quote in the third field that never closes
            parts = line.split(",")
            lines[i] = ",".join([*parts[:2], '"' + parts[2], *parts[3:]])
        break
    path.write_text("\n".join(lines), encoding="utf-8")


USERS_12 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
]
ROLES_12 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
]


def _as_oneroster12(folder: Path, night: Night) -> None:
    """Rewrite a 1.1 drop as 1.2: users.csv without role and orgs, and roles.csv for them."""
    with open(folder / "users.csv", newline="", encoding="utf-8") as handle:
        users = list(csv.DictReader(handle))
    roles = []
    for user in users:
        sid = user["sourcedId"]
        if sid in night.drop_roles:
            continue
        role = user["role"]
        if sid in night.bad_roles:
            role = "techer"
        elif sid in night.ext_roles:
            role = "ext:coach"
        for n, org in enumerate(o for o in user["orgSourcedIds"].split(",") if o):
            roles.append(
                {
                    "sourcedId": f"role-{sid}-{n}",
                    "status": user.get("status", ""),
                    "dateLastModified": user.get("dateLastModified", ""),
                    "userSourcedId": sid,
                    "roleType": "primary",
                    "role": role,
                    "beginDate": "",
                    "endDate": "",
                    "orgSourcedId": org,
                    "userProfileSourcedId": "",
                }
            )
    extension = [NOT_CARRIED_COLUMN] if any(u.get(NOT_CARRIED_COLUMN) for u in users) else []
    _write(folder / "users.csv", [*USERS_12, *extension], users)
    _write(folder / "roles.csv", ROLES_12, roles)
    manifest = {"manifest.version": "1.0", "oneroster.version": "1.2", **night.tiny.manifest}
    text = "propertyName,value\n" + "".join(f"{k},{v}\n" for k, v in manifest.items())
    (folder / "manifest.csv").write_text(text, encoding="utf-8")


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def property_settings(in_ci: int, elsewhere: int, *suppress: HealthCheck) -> settings:
    """Each property's examples: bounded in CI (the same ones each run), more elsewhere;
    ROSTER_SYNC_PROPERTY_EXAMPLES asks for more. Examples plan and apply whole nights: no
    deadline, and never too slow."""
    default = in_ci if os.environ.get("CI") else elsewhere
    return settings(
        max_examples=int(os.environ.get("ROSTER_SYNC_PROPERTY_EXAMPLES", default)),
        deadline=None,
        derandomize=bool(os.environ.get("CI")),
        suppress_health_check=[HealthCheck.too_slow, *suppress],
    )


@contextmanager
def property_engine(path: Path) -> Iterator[Engine]:
    """An engine on the database at `path`, closed afterwards. No deletion threshold holds a
    generated night: they archive as much as they like, and the properties are about what
    applying does."""
    db = Database(path)
    try:
        engine = Engine(db, "property")
        engine.settings_set("deletion_threshold", "100")
        yield engine
    finally:
        db.close()
