"""A tiny district written as a drop, for tests that need one precise situation."""

from __future__ import annotations

import copy
import csv
import itertools
from dataclasses import dataclass, field
from pathlib import Path

_DROP_NUMBERS = itertools.count(1)
USERS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
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
]
HEADERS = {
    "orgs.csv": [
        "sourcedId",
        "status",
        "dateLastModified",
        "name",
        "type",
        "identifier",
        "parentSourcedId",
    ],
    "users.csv": USERS_HEADER,
    "classes.csv": [
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ],
    "enrollments.csv": [
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ],
    "demographics.csv": ["sourcedId", "status", "dateLastModified", "birthDate", "sex"],
    "guardians.csv": [
        "sourcedId",
        "status",
        "dateLastModified",
        "studentSourcedId",
        "relationship",
        "givenName",
        "familyName",
        "email",
        "sms",
        "phone",
        "language",
    ],
    "student_attributes.csv": ["studentSourcedId", "name", "value", "status", "dateLastModified"],
}


def _user(
    sid: str, role: str, given: str, family: str, org: str = "sch-a", **extra: str
) -> dict[str, str]:
    row = {h: "" for h in USERS_HEADER}
    row.update(
        sourcedId=sid,
        enabledUser="true",
        orgSourcedIds=org,
        role=role,
        username=f"{given}.{family}".lower(),
        givenName=given,
        familyName=family,
    )
    row.update(extra)
    return row


def _enrollment(
    sid: str, cls: str, user: str, role: str = "student", school: str = "sch-a"
) -> dict[str, str]:
    return {
        "sourcedId": sid,
        "status": "",
        "dateLastModified": "",
        "classSourcedId": cls,
        "schoolSourcedId": school,
        "userSourcedId": user,
        "role": role,
        "primary": "",
        "beginDate": "",
        "endDate": "",
    }


def guardian_of(student: str, sis_id: str = "gf-1") -> dict[str, str]:
    """A guardians.csv row: guardian `sis_id` (Robin Contact, a parent) of `student`."""
    row = {h: "" for h in HEADERS["guardians.csv"]}
    row.update(
        sourcedId=sis_id,
        studentSourcedId=student,
        relationship="parent",
        givenName="Robin",
        familyName="Contact",
        email="robin@example.net",
    )
    return row


def base_files() -> dict[str, list[dict[str, str]]]:
    """Two schools, ten students, two teachers, guardians on both sides of agentSourcedIds."""
    students = [
        _user(
            f"stu-{i}",
            "student",
            given,
            family,
            "sch-a" if i <= 6 else "sch-b",
            identifier=f"S{i}",
            email=f"{given.lower()}@students.example.org",
            grades="05",
            agentSourcedIds=f"gdn-{i}",
        )
        for i, (given, family) in enumerate(
            [
                ("Ava", "Lopez"),
                ("Ben", "Okafor"),
                ("Cleo", "Nguyen"),
                ("Dev", "Patel"),
                ("Eli", "Cohen"),
                ("Fay", "Moreau"),
                ("Gus", "Silva"),
                ("Hana", "Kato"),
                ("Ivo", "Petrov"),
                ("Jia", "Wu"),
            ],
            start=1,
        )
    ]
    guardians = [
        _user(
            f"gdn-{i}",
            "parent",
            f"Parent{i}",
            s["familyName"],
            s["orgSourcedIds"],
            email=f"parent{i}@example.net",
            sms=f"555-01{i:02d}",
            phone=f"555-02{i:02d}",
            agentSourcedIds=f"stu-{i}",
        )
        for i, s in enumerate(students, start=1)
    ]
    teachers = [
        _user("tch-1", "teacher", "Tara", "Quinn", "sch-a", email="tquinn@example.org"),
        _user("tch-2", "teacher", "Omar", "Reyes", "sch-b", email="oreyes@example.org"),
    ]
    classes = [
        {
            "sourcedId": cid,
            "status": "",
            "dateLastModified": "",
            "title": title,
            "grades": "05",
            "courseSourcedId": "crs-1",
            "classCode": cid.upper(),
            "classType": ctype,
            "location": "",
            "schoolSourcedId": school,
            "termSourcedIds": "term-1",
            "subjects": "",
            "subjectCodes": "",
            "periods": "",
        }
        for cid, title, ctype, school in (
            ("cls-a1", "Homeroom 5A", "homeroom", "sch-a"),
            ("cls-a2", "Science 5", "scheduled", "sch-a"),
            ("cls-b1", "Homeroom 5B", "homeroom", "sch-b"),
        )
    ]
    enrollments = [
        _enrollment("enr-t1", "cls-a1", "tch-1", "teacher"),
        _enrollment("enr-t2", "cls-a2", "tch-1", "teacher"),
        _enrollment("enr-t3", "cls-b1", "tch-2", "teacher", "sch-b"),
    ]
    for i in range(1, 11):
        if i <= 6:
            enrollments.append(_enrollment(f"enr-{i}a", "cls-a1", f"stu-{i}"))
            enrollments.append(_enrollment(f"enr-{i}b", "cls-a2", f"stu-{i}"))
        else:
            enrollments.append(_enrollment(f"enr-{i}a", "cls-b1", f"stu-{i}", school="sch-b"))
    return {
        "orgs.csv": [
            {
                "sourcedId": "dist-1",
                "status": "",
                "dateLastModified": "",
                "name": "Tiny District",
                "type": "district",
                "identifier": "",
                "parentSourcedId": "",
            },
            {
                "sourcedId": "sch-a",
                "status": "",
                "dateLastModified": "",
                "name": "Alder School",
                "type": "school",
                "identifier": "A",
                "parentSourcedId": "dist-1",
            },
            {
                "sourcedId": "sch-b",
                "status": "",
                "dateLastModified": "",
                "name": "Birch School",
                "type": "school",
                "identifier": "B",
                "parentSourcedId": "dist-1",
            },
        ],
        "users.csv": students + guardians + teachers,
        "classes.csv": classes,
        "enrollments.csv": enrollments,
        "demographics.csv": [
            {
                "sourcedId": f"stu-{i}",
                "status": "",
                "dateLastModified": "",
                "birthDate": f"2015-0{1 + i % 9}-1{i % 10}",
                "sex": "female",
            }
            for i in range(1, 11)
        ],
    }


@dataclass
class TinyDistrict:
    """Mutable files of a drop; `write` puts them in a fresh folder."""

    files: dict[str, list[dict[str, str]]] = field(default_factory=base_files)
    manifest: dict[str, str] = field(default_factory=dict)

    def copy(self) -> TinyDistrict:
        return TinyDistrict(copy.deepcopy(self.files), dict(self.manifest))

    def rows(self, file: str) -> list[dict[str, str]]:
        return self.files.setdefault(file, [])

    def row(self, file: str, sourced_id: str) -> dict[str, str]:
        return next(r for r in self.files[file] if r.get("sourcedId") == sourced_id)

    def rename_org(self, old: str, new: str) -> None:
        """The org `old` is sent as `new`, wherever a file names it (lists included)."""
        for rows in self.files.values():
            for row in rows:
                for key, value in row.items():
                    if old in value.split(","):
                        row[key] = ",".join(new if v == old else v for v in value.split(","))

    def remove(self, file: str, **match: str) -> None:
        self.files[file] = [
            r for r in self.files[file] if any(r.get(k) != v for k, v in match.items())
        ]

    def write(self, root: Path) -> Path:
        folder = root / f"drop{next(_DROP_NUMBERS)}"
        folder.mkdir(parents=True)
        for name, rows in self.files.items():
            header = [] if rows else list(HEADERS[name])
            for row in rows:
                header += [key for key in row if key not in header]
            with open(folder / name, "w", newline="", encoding="utf-8") as out:
                writer = csv.DictWriter(
                    out, fieldnames=header, lineterminator="\n", extrasaction="ignore"
                )
                writer.writeheader()
                writer.writerows(rows)
        if self.manifest:
            lines = ["propertyName,value", *(f"{k},{v}" for k, v in self.manifest.items())]
            (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return folder


def write_changes_only_manifest(source: Path, folder: Path, entities: tuple[str, ...]) -> None:
    """`folder`'s manifest: `source`'s, with the files of `entities` as delta and every other
    file absent (a changes-only drop of those files)."""
    lines = []
    for line in (source / "manifest.csv").read_text().splitlines():
        name = line.split(",")[0]
        if name.startswith("file."):
            line = f"{name},{'delta' if name.removeprefix('file.') in entities else 'absent'}"
        lines.append(line)
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
