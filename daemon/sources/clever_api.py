"""Clever's Data API (v3.0 / v3.1, district-app bearer token) as a OneRoster CSV drop.

Clever's model is not OneRoster's: one `users` collection whose records carry role sub-objects
(student, teacher, staff, district_admin, contact), sections that list their students and
teachers, Clever's own ObjectIDs with the SIS's ids beside them (`sis_id`). So:

- every record is known by the SIS's id when Clever carries one (so switching from the SIS's own
  files to Clever and back churns nothing), by Clever's id otherwise;
- a student belongs to every school in `schools` (not only the primary `school`);
- a contact is a guardian of each student in its `student_relationships`, in the role its
  relationship and type say (a parent or guardian; an emergency contact is a `relative`, which
  the guardian_roles setting keeps out by default), at those students' schools; a contact
  without a SIS id gets one derived from what identifies the person (email and name, else phone
  and name, else name and first student), so it does not churn from one night to the next, and
  two parents who share one e-mail are two people (Clever's own id for such a contact changes
  whenever any of its data does, so it cannot be the id); Clever lists one person as a contact
  per record they were entered as, so contacts that derive one id are one guardian, with the
  students of each (as Clever CSV folds them), traced to the first;
- each section's students and teachers become enrollments.

Pages are followed through the `links` entry with rel `next` until a page has none (an empty
page with a next link is not the end; a link off the API's host is refused); the end is then
confirmed by asking for the page after the last record read, which must be empty. What is kept in
memory is the map from Clever's ids to the ids written (one short entry per person, school and
section), a short digest of each id of the collection being read (one sent twice fails the
pull) and the derived id of each contact without a SIS id (whose rows wait in a temporary file
until the contacts are read, to be folded), never the records themselves, save those of the
contacts being folded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from daemon.formats.spec import FORMER_ID_COLUMN, NOT_CARRIED_COLUMN
from daemon.progress import Progress
from daemon.sources.drop_writer import DropWriter
from daemon.sources.errors import SourceError, redact
from daemon.sources.http import LOG, Fetcher, where
from daemon.sources.oneroster_rest import (
    CLASSES,
    COURSES,
    ENROLLMENTS,
    ORGS,
    SESSIONS,
    USERS_11,
)
from daemon.sources.paging import (
    Notes,
    PageCount,
    Repeats,
    page_json,
    params_of,
    same_collection,
    with_param,
)
from daemon.sources.values import Unreadable, cell

ROLES = ("student", "teacher", "staff", "district_admin", "contact")
GRADES = {
    "InfantToddler": "IT",
    "Preschool": "PR",
    "PreKindergarten": "PK",
    "TransitionalKindergarten": "TK",
    "Kindergarten": "KG",
    "PostGraduate": "13",
    "Ungraded": "UG",
    "Other": "Other",
}
HOMEROOM = "homeroom/advisory"  # Clever's subject for a homeroom section
STAFF_ROLE = {"teacher": "teacher", "staff": "administrator", "district_admin": "administrator"}
# Files whose ids the mapping makes (Clever has no SIS id for terms, courses or enrollments):
# the manifest says so, and the plan keeps the directory's (daemon/sync/derived_ids.py).
DERIVED_IDS = ("academicSessions", "courses", "enrollments")
# Columns Clever has nothing for: the directory keeps what the SIS's files gave them.
NOT_CARRIED = (
    "classes.location", "classes.subjectCodes", "users.userIds",
    "enrollments.primary", "enrollments.beginDate", "enrollments.endDate",
)  # fmt: skip
# What Clever has no data for on a user's row, by role (users.csv columns): a student has no
# phone, staff have neither phones nor grades, a contact no grades. The row says so in Roster
# Sync's extension column, and the directory keeps what the SIS's files gave (sync/feed/users.py).
NOT_CARRIED_BY_ROLE = {
    "student": ("sms", "phone"),
    "teacher": ("sms", "phone", "grades"),
    "staff": ("sms", "phone", "grades"),
    "district_admin": ("sms", "phone", "grades"),
    "contact": ("grades", "identifier"),  # a contact has no number in Clever
}
USERS_HEADER = (*USERS_11.columns, NOT_CARRIED_COLUMN, FORMER_ID_COLUMN)


def grade(value: Any) -> str:
    """Clever's grade as OneRoster's; anything else is passed on as sent, for the sync to flag on
    that row (str.isdigit also holds for "²", which int() cannot read)."""
    text = cell(value)
    if text.isascii() and text.isdigit():
        return f"{int(text):02d}"
    return GRADES.get(text, text)


def clever_ids(value: Any) -> list[str] | None:
    """A list of Clever ids (a school's, a section's members). Read leniently where the shape
    still says which ids: one id alone (or one reference object), or objects carrying their `id`.
    None when it does not."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        one = _id_of_reference(value)
        return None if one is None else [one] if one else []
    if not isinstance(value, list):
        return None
    ids = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("id")
        if not isinstance(item, str):
            return None
        if item.strip():
            ids.append(item.strip())
    return ids


def _id_of_reference(value: dict[str, Any]) -> str | None:
    """A reference given as an object ({"id": "..."}, as Clever's docs and SDKs show expanded
    references): its id, when that is a string and nothing else in it says more (other keys
    empty, or a `uri` naming that same id). None for any other object: which record it means is
    not certain."""
    ident = value.get("id")
    if not isinstance(ident, str):
        return None
    for key, other in value.items():
        if key == "id" or other in (None, "", [], {}):
            continue
        if key == "uri" and isinstance(other, str) and other.rstrip("/").endswith(f"/{ident}"):
            continue
        return None
    return ident.strip()


def _reference(record: dict[str, Any], key: str) -> str:
    """A field Clever documents as another record's id (a section's school, course and term, a
    relationship's student): the id, or an object that is only that id (_id_of_reference)."""
    value = record.get(key)
    if isinstance(value, dict):
        ident = _id_of_reference(value)
        if ident is None:
            raise Unreadable(f"{key} is an object that is not only an id")
        return ident
    return _text(record, key)


def _text(record: dict[str, Any], key: str) -> str:
    """A field Clever documents as a string (or a number); an object there cannot be read."""
    value = record.get(key)
    try:
        if isinstance(value, dict):
            raise Unreadable("an object")
        return cell(value)
    except Unreadable as exc:
        raise Unreadable(f"{key} is {exc}") from None


def _relationships(value: Any) -> list[dict[str, Any]]:
    """A contact's student relationships; one object alone is read as that one. Anything else
    is Unreadable: reading none, or fewer, would archive that contact's links (or them)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    found = "a list of something else" if isinstance(value, list) else _shape(value)
    raise Unreadable(
        f"roles.contact.student_relationships is {found}, not a list of relationship objects"
    )


def _object(value: Any) -> dict[str, Any]:
    """A sub-object of a record, or {} when it is something else: its values then stay empty,
    and the sync refuses the row for the required ones (a row error on that record only)."""
    return value if isinstance(value, dict) else {}


def contact_role(relationships: list[dict[str, Any]]) -> str:
    """parent, guardian or relative (an emergency or other contact) from Clever's words."""
    roles = set()
    for rel in relationships:
        kind = _text(rel, "type").lower()
        relation = _text(rel, "relationship").lower()
        if kind in ("emergency", "other") and relation not in ("parent", "guardian"):
            roles.add("relative")
        elif relation in ("parent", "mother", "father", "stepmother", "stepfather"):
            roles.add("parent")
        elif relation == "guardian" or kind in ("parent/guardian", "primary", "secondary"):
            roles.add("guardian" if relation not in ("", "parent") else "parent")
        else:
            roles.add("relative")
    for role in ("parent", "guardian", "relative"):
        if role in roles:
            return role
    return "relative"


def contact_id(email: str, phone: str, name: str, students: list[str]) -> str:
    """A stable id for a contact Clever gives no SIS id, from what identifies the person: the
    e-mail with the name (two parents of one family often give one e-mail, and Clever lists them
    as two contacts), else the phone with the name, else the name and the lowest id of the
    students it is the contact of (Clever CSV has one row per student, so one student). That id
    moves when those students change: the directory's guardian of one of them by that name
    keeps its id (sync/derived_ids.keep_former_ids)."""
    digits = "".join(c for c in phone if c.isdigit())
    if email:
        key = f"email:{email.strip().lower()}|name:{' '.join(name.split()).lower()}"
    elif digits:
        key = f"phone:{digits}|{name.strip().lower()}"
    else:
        key = f"name:{name_key(name)}|{min(students) if students else ''}"
    return _hashed(key)


def name_key(name: str) -> str:
    """A name-only contact's name as its id is made from it."""
    return name.strip().lower()


def former_contact_id(email: str) -> str:
    """The id contact_id gave a contact with an e-mail until it took the name in too (the e-mail
    alone, which a family's second parent repeated): the row carries it (FORMER_ID_COLUMN), so a
    guardian the directory holds under it keeps it. Empty without an e-mail: that rule is
    unchanged."""
    return _hashed(f"email:{email.strip().lower()}") if email else ""


def _hashed(key: str) -> str:
    return "contact-" + hashlib.sha256(key.encode()).hexdigest()[:16]


CONTACT_ROLES = ("parent", "guardian", "relative")  # contact_role's order: the first found wins


@dataclass
class _Held:
    """A user's row, the record it is traced to (page, index), the values it could not read,
    and the Clever users it was made from (more than one when contacts are folded)."""

    row: dict[str, str]
    page: str
    index: int
    unreadable: dict[str, str]
    clever_ids: list[str]

    def fold(self, other: _Held, district: str) -> None:
        """`other`, a record of the same person, into this row: the students and schools of
        both, the role the relationships of both give (contact_role), the rest as first read
        (Clever CSV folds a person's rows so: clever_csv._contacts)."""
        row = self.row
        for column in ("agentSourcedIds", "orgSourcedIds"):
            ids = {i for r in (row, other.row) for i in r[column].split(",") if i}
            if column == "orgSourcedIds" and len(ids) > 1:
                ids.discard(district)  # the district stands in for no school only
            row[column] = ",".join(sorted(ids))
        roles = {row["role"], other.row["role"]}
        row["role"] = next((r for r in CONTACT_ROLES if r in roles), row["role"])
        for column, why in other.unreadable.items():
            self.unreadable.setdefault(column, why)
        self.clever_ids += other.clever_ids


class _Folding:
    """The contacts without a SIS id, held until the collection is read: Clever lists one person
    as a contact per record they were entered as, so two records can derive one id (contact_id),
    and written as two rows the second would be a repeated sourcedId, in ERROR every night, its
    links never synced. Each id is written once, with the students of every record it came
    from. The rows wait in a temporary file beside the pages (nothing but a short id per contact
    is kept in memory, and the records of the ids Clever repeats); a contact with a SIS id is
    never folded (a repeated SIS id stays the duplicate-row ERROR it is)."""

    def __init__(self, writer: DropWriter) -> None:
        self.spill = tempfile.TemporaryFile("w+", encoding="utf-8", dir=writer.folder)  # noqa: SIM115
        self.seen: set[str] = set()
        self.repeated: set[str] = set()

    def hold(self, held: _Held) -> None:
        sid = held.row["sourcedId"]
        if sid in self.seen:
            self.repeated.add(sid)
        self.seen.add(sid)
        self.spill.write(json.dumps(dataclasses.astuple(held)) + "\n")

    def rows(self, district: str, notes: Notes) -> Iterator[_Held]:
        """The held rows in the order read, each repeated id once (where its last record was
        read), traced to its first record."""
        folded: dict[str, _Held] = {}
        with self.spill:
            self.spill.seek(0)
            for text in self.spill:
                held = _Held(*json.loads(text))
                sid = held.row["sourcedId"]
                if sid not in self.repeated:
                    yield held
                    continue
                first = folded.setdefault(sid, held)
                if first is not held:
                    first.fold(held, district)
        for sid, held in folded.items():
            LOG.info("users (contact): %s is Clever users %s", sid, ", ".join(held.clever_ids))
            notes.add(
                "users (contact)", "folded",
                f"users (contact): {sid} is {len(held.clever_ids)} Clever contacts of one name "
                "and e-mail (or phone) and no SIS id, written once with the students of each",
            )  # fmt: skip
            yield held


class CleverPull:
    """Pull a Clever district into `writer` (see the module docstring for the mapping)."""

    derived_ids = DERIVED_IDS
    not_carried = NOT_CARRIED

    def __init__(
        self,
        fetcher: Fetcher,
        base_url: str,
        page_size: int,
        progress: Progress,
        district_sis_id: str | None = None,
    ) -> None:
        self.fetcher, self.base, self.limit, self.progress = fetcher, base_url, page_size, progress
        self.district_sis_id = district_sis_id
        self.resources: dict[str, dict[str, Any]] = {}
        self.absent: list[str] = []
        self.schools: dict[str, str] = {}  # Clever id -> sourcedId
        self.people: dict[str, str] = {}  # Clever user id -> sourcedId
        self.written_as: dict[str, str] = {}  # Clever user id -> the role its row was written in
        self.unreadable: dict[str, str] = {}  # the user row being made: column -> why (ERRORs)
        self.derived = False  # the user row being made is a contact's, its id derived (contact_id)
        self.student_schools: dict[str, str] = {}  # Clever student id -> its schools' sourcedIds
        self.district = ""
        self.reading = ""  # the collection and page being read, for a message
        self.notes = Notes()  # what the run's reviewer is told beside the log

    def summary(self) -> dict[str, Any]:
        return {"resources": self.resources, "absent": self.absent}

    # ------------------------------------------------------------------ paging
    def pages(
        self, name: str, path: str, params: dict[str, Any]
    ) -> Iterator[tuple[int, bytes, list[dict[str, Any]]]]:
        first = f"{self.base}/{path}?{urlencode({**params, 'limit': self.limit})}"
        url: str | None = first
        last: str | None = None  # the id of the last record read: where the next page starts
        number = 0
        seen: set[str] = set()
        count = PageCount()
        repeats = Repeats(name, "id")
        stats = self.resources.setdefault(
            name, {"pages": 0, "records": 0, "deleted": 0, "total": None, "seconds": 0.0}
        )
        started = time.monotonic()
        self.progress.start(f"Pulling {name}")
        try:
            while url is not None:
                count.next_page(url)
                if url in seen:
                    raise SourceError(
                        f"{where(url)}: the next link leads back to a page already read"
                    )
                seen.add(url)
                response = self.fetcher.get(url)
                body = _parse(response, url)
                records = [d.get("data") for d in body["data"]]
                if not all(isinstance(r, dict) for r in records):
                    raise SourceError(f"{where(url)}: a page holds an entry without its data")
                repeats.check(records, url)
                nxt = _next(body)
                if nxt:
                    count.added(len(records), url)
                last = next((r["id"] for r in reversed(records) if _is_id(r.get("id"))), last)
                if nxt:
                    url = _onward(
                        self.fetcher.follow(url, nxt), first, name, params, last, self.notes
                    )
                elif last is not None and params_of(url, "starting_after") != [last]:
                    # the end is confirmed: the page after the last record must be empty (a next
                    # link left out mid-collection, or a page come back empty too soon after a
                    # link that did not start after the last record, would otherwise end it
                    # short, archiving the rest)
                    url = f"{first}&{urlencode({'starting_after': last})}"
                else:
                    url = None
                if not records and number > 0:
                    continue  # Clever ends a collection by leaving out the next link, not here
                number += 1
                self.reading = f"{name}, page {number}"
                stats["pages"] = number
                stats["records"] += len(records)
                yield number, response.content, records
                self.progress.advance(len(records))
                self.progress.note(f"page {number}, {stats['records']:,} records")
        except SourceError as exc:
            raise SourceError(f"{name}: {exc}", self.summary()) from None
        finally:
            stats["seconds"] = round(stats["seconds"] + time.monotonic() - started, 3)
            self.progress.finish()

    # ------------------------------------------------------------------ the pull
    def run(self, writer: DropWriter) -> None:
        try:
            self._run(writer)
        except Unreadable as exc:
            raise SourceError(
                f"{self.reading}: {exc}; the pull is refused rather than blank what the directory "
                "holds, so nothing was planned",
                self.summary(),
            ) from None

    def _run(self, writer: DropWriter) -> None:
        orgs = writer.csv(ORGS.file_name, ORGS.columns)
        self._district(writer, orgs)
        for number, body, records in self.pages("schools", "schools", {}):
            page = writer.page("schools", number, body)
            for index, school in enumerate(records):
                sid = _text(school, "sis_id") or _text(school, "id")
                self.schools[_text(school, "id")] = sid
                orgs.write(
                    {
                        "sourcedId": sid,
                        "name": _text(school, "name"),
                        "type": "school",
                        "identifier": _text(school, "school_number"),
                        "parentSourcedId": self.district,
                    },
                    page,
                    index,
                )
        self._terms(writer)
        self._courses(writer)
        users = writer.csv(USERS_11.file_name, USERS_HEADER)
        for role in ROLES:
            self._users(writer, users, role)
        self._sections(writer)

    def _district(self, writer: DropWriter, orgs: Any) -> None:
        """The token's district. A token that sees two or more is refused: a source is one
        district (its rows would all be given the one district_sis_id, and every school, person
        and section of both read as one district's)."""
        found = []
        for number, body, records in self.pages("districts", "districts", {}):
            page = writer.page("districts", number, body)
            found += [(page, index, district) for index, district in enumerate(records)]
        if len(found) > 1:
            named = ", ".join(
                f"{_text(d, 'name') or '(no name)'} ({_text(d, 'id')})" for _, _, d in found
            )
            raise SourceError(
                f"districts: the token sees {len(found)} districts ({named}), and a source pulls "
                "one; set client_secret_file to a token of that district alone (Clever's "
                "district-app token for it), one source per district; nothing was planned"
            )
        for page, index, district in found:
            self.district = self.district_sis_id or _text(district, "id")
            orgs.write(
                {"sourcedId": self.district, "name": _text(district, "name"), "type": "district"},
                page,
                index,
            )

    def _terms(self, writer: DropWriter) -> None:
        out = writer.csv(SESSIONS.file_name, SESSIONS.columns)
        for number, body, records in self.pages("terms", "terms", {}):
            page = writer.page("terms", number, body)
            for index, term in enumerate(records):
                end = _text(term, "end_date")
                out.write(
                    {
                        "sourcedId": _text(term, "id"),
                        "title": _text(term, "name"),
                        "type": "term",
                        "startDate": _text(term, "start_date")[:10],
                        "endDate": end[:10],
                        "schoolYear": end[:4],
                    },
                    page,
                    index,
                )

    def _courses(self, writer: DropWriter) -> None:
        out = writer.csv(COURSES.file_name, COURSES.columns)
        for number, body, records in self.pages("courses", "courses", {}):
            page = writer.page("courses", number, body)
            for index, course in enumerate(records):
                out.write(
                    {
                        "sourcedId": _text(course, "id"),
                        "title": _text(course, "name"),
                        "courseCode": _text(course, "number"),
                        "orgSourcedId": self.district,
                    },
                    page,
                    index,
                )

    def _users(self, writer: DropWriter, out: Any, role: str) -> None:
        name = f"users ({role})"
        folding = _Folding(writer) if role == "contact" else None
        for number, body, records in self.pages(name, "users", {"role": role}):
            page = writer.page(f"users-{role}", number, body)
            for index, user in enumerate(records):
                try:
                    row = self._user_row(user, role)
                except Unreadable:
                    raise  # run() names the page
                except SourceError as exc:
                    raise SourceError(f"{name}: {exc}", self.summary()) from None
                if row is None:
                    continue
                held = _Held(row, page, index, dict(self.unreadable), [_text(user, "id")])
                if folding is not None and self.derived:
                    folding.hold(held)
                else:
                    self._write_user(writer, out, name, held)
        if folding is not None:
            for held in folding.rows(self.district, self.notes):
                self._write_user(writer, out, name, held)

    def _write_user(self, writer: DropWriter, out: Any, name: str, held: _Held) -> None:
        """A user's row, traced to its (first) record, with a note per value it could not read."""
        row = held.row
        line = out.write(row, held.page, held.index)
        for column, why in held.unreadable.items():
            said = f"{row['sourcedId']} (user {', '.join(held.clever_ids)}): {why}"
            LOG.warning("%s", redact(f"{name}: {said}"))
            writer.row_note(
                out, line, row["sourcedId"], column, "unreadable",
                f"{said}; the row is an error, so the record is kept as the directory has it",
                "ERROR",
            )  # fmt: skip

    def _soft(self, column: str, read: Callable[[], str], soft: bool = True) -> str:
        """A value of the row being made that does not name its record: one that cannot be read
        is left empty and makes the row an ERROR (`unreadable`), so the sync keeps the record
        as it is. One that names it (`soft` False) raises: the pull is refused."""
        try:
            return read()
        except Unreadable as exc:
            if not soft:
                raise
            self.unreadable.setdefault(column, str(exc))
            return ""

    def _user_row(self, user: dict[str, Any], role: str) -> dict[str, str] | None:
        self.unreadable = {}
        self.derived = False
        clever_id = _text(user, "id")
        roles = user.get("roles")
        data = roles.get(role) if isinstance(roles, dict) else None
        if not isinstance(data, dict):
            # asked for by role, yet no role object: nothing says which SIS record this is, and
            # leaving the person out would archive them
            shape = (
                f"roles.{role} is {_shape(data)}"
                if isinstance(roles, dict)
                else f"roles is {_shape(roles)}"
            )
            raise SourceError(
                f"user {clever_id or '(no id)'} has no readable roles.{role} object ({shape}); "
                "its SIS id cannot be read, so the pull is refused rather than archive that person"
            )
        names = _object(user.get("name"))
        soft = self._soft
        # A contact without a SIS id is known by its name, e-mail and phone (contact_id): those
        # must be read, or the row would name another record.
        apart = role != "contact" or bool(_text(data, "sis_id"))
        credentials = _object(data.get("credentials"))
        row = {
            "enabledUser": "true",
            "username": soft("username", lambda: _text(credentials, "district_username")),
            "givenName": soft("givenName", lambda: _text(names, "first"), apart),
            "familyName": soft("familyName", lambda: _text(names, "last"), apart),
            "middleName": soft("middleName", lambda: _text(names, "middle")),
            "email": soft("email", lambda: _text(user, "email"), apart),
            NOT_CARRIED_COLUMN: ",".join(NOT_CARRIED_BY_ROLE[role]),
        }
        listed = clever_ids(data.get("schools"))
        if listed is None:
            raise SourceError(
                f"user {clever_id}: roles.{role}.schools is {_shape(data.get('schools'))}, not a "
                "list of school ids; the pull is refused rather than move that person"
            )
        schools = [self.schools.get(s, s) for s in (listed or clever_ids(data.get("school")) or [])]
        if role == "student":
            sid = _text(data, "sis_id") or clever_id
            orgs = ",".join(dict.fromkeys(schools))
            self.student_schools[clever_id] = orgs
            row.update(
                role="student", orgSourcedIds=orgs,
                identifier=soft("identifier", lambda: _text(data, "student_number")),
                grades=soft("grades", lambda: grade(data.get("grade"))),
            )  # fmt: skip
        elif role == "contact":
            return self._contact_row(clever_id, user, data, row)
        else:
            sid = _text(data, "sis_id") or _text(data, "staff_id") or clever_id
            number = data.get("teacher_number") if role == "teacher" else data.get("staff_id")
            row.update(
                role=STAFF_ROLE[role],
                orgSourcedIds=",".join(dict.fromkeys(schools)) or self.district,
                identifier=soft("identifier", lambda: cell(number)),
            )
        first = self.written_as.setdefault(clever_id, role)
        if first != role and self.people.get(clever_id) == sid:
            # one person in two roles under one SIS id (a teacher who is also staff): OneRoster
            # gives a person one row and one role, and a second row would be a duplicate in
            # error, which holds the person's memberships back every night
            self.notes.add(
                "users", "two roles",
                f"users: {sid} is both {first} and {role} in Clever under one SIS id, and is "
                f"written once, as {first} (a OneRoster user has one role)",
            )  # fmt: skip
            return None
        self.people.setdefault(clever_id, sid)  # a person in two roles: sections need the first
        row["sourcedId"] = sid
        return row

    def _contact_row(
        self, clever_id: str, user: dict[str, Any], data: dict[str, Any], row: dict[str, str]
    ) -> dict[str, str]:
        sid = _text(data, "sis_id")
        phone = self._soft("phone", lambda: _text(data, "phone"), bool(sid))
        cell_phone = self._soft("phone", lambda: _text(data, "phone_type")).lower() == "cell"
        full_name = f"{row['givenName']} {row['familyName']}"
        try:
            relationships = _relationships(data.get("student_relationships"))
            students = [_reference(r, "student") for r in relationships]
        except Unreadable as exc:
            # Known by name alone, its id comes from its students (contact_id): the row
            # would name another record, and leaving it out would archive it and its links.
            if not (sid or row["email"] or any(c.isdigit() for c in phone)):
                raise SourceError(
                    f"user {clever_id}: {exc}; the pull is refused rather than drop that "
                    "contact's links"
                ) from None
            relationships, students = [], []
            self.unreadable.setdefault("agentSourcedIds", str(exc))
        student_ids = sorted(self.people.get(s, s) for s in students)
        schools: dict[str, None] = {}
        for student in students:
            for school in self.student_schools.get(student, "").split(","):
                if school:
                    schools[school] = None
        if not sid:
            self.derived = True
            sid = contact_id(row["email"], phone, full_name, student_ids)
            row[FORMER_ID_COLUMN] = former_contact_id(row["email"])
        row.update(
            sourcedId=sid,
            username=row["username"] or row["email"] or sid,  # a contact has no Clever login
            role=self._soft("role", lambda: contact_role(relationships)),
            orgSourcedIds=",".join(sorted(schools)) or self.district,
            agentSourcedIds=",".join(student_ids),
            phone="" if cell_phone else phone,
            sms=phone if cell_phone else "",
        )
        if phone:  # one phone: the other column is not known (the SIS may have a second one)
            row[NOT_CARRIED_COLUMN] = f"grades,identifier,{'phone' if cell_phone else 'sms'}"
        self.people.setdefault(clever_id, sid)  # a teacher who is also a contact keeps classes
        return row

    def _sections(self, writer: DropWriter) -> None:
        classes = writer.csv(CLASSES.file_name, CLASSES.columns)
        enrollments = writer.csv(ENROLLMENTS.file_name, ENROLLMENTS.columns)
        for number, body, records in self.pages("sections", "sections", {}):
            page = writer.page("sections", number, body)
            for index, section in enumerate(records):
                sid = _text(section, "sis_id") or _text(section, "id")
                school = self.schools.get(
                    _reference(section, "school"), _reference(section, "school")
                )
                homeroom = _text(section, "subject").lower() == HOMEROOM
                classes.write(
                    {
                        "sourcedId": sid,
                        "title": _text(section, "name"),
                        "grades": grade(section.get("grade")),
                        "courseSourcedId": _reference(section, "course") or sid,
                        "classCode": _text(section, "section_number"),
                        "classType": "homeroom" if homeroom else "scheduled",
                        "schoolSourcedId": school,
                        "termSourcedIds": _reference(section, "term_id"),
                        "subjects": "" if homeroom else _text(section, "subject"),
                        "periods": _text(section, "period"),
                    },
                    page,
                    index,
                )
                teachers = clever_ids(section.get("teachers"))
                students = clever_ids(section.get("students"))
                if teachers is None or students is None:
                    raise SourceError(
                        f"sections: section {cell(section.get('id'))}: its teachers or students "
                        "are not a list of user ids; the pull is refused rather than drop its "
                        "enrollments"
                    )
                members = [("teacher", t) for t in teachers] + [("student", s) for s in students]
                for role, clever_user in members:
                    user = self.people.get(cell(clever_user), cell(clever_user))
                    enrollments.write(
                        {
                            "sourcedId": f"{sid}:{user}",
                            "classSourcedId": sid,
                            "schoolSourcedId": school,
                            "userSourcedId": user,
                            "role": role,
                        },
                        page,
                        index,
                    )


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _onward(
    link: str, first: str, name: str, params: dict[str, Any], last: str | None, notes: Notes
) -> str:
    """The page a next link leads to. Clever pages by id (`starting_after` the last record's id):
    a link starting after another id would skip the records between (never read, so archived)
    or read some again, so it is asked from the last record read all the same, and the log says
    so. A link to another collection, or one that drops the filter (`role=student`: every user
    would be read as a student), fails the pull; one without `starting_after` is followed as
    it is."""
    same_collection(link, first, name)
    for key, value in params.items():
        if params_of(link, key) != [str(value)]:
            raise SourceError(
                f"{where(first)}: the next link does not keep {key}={value} (it has "
                f"{', '.join(params_of(link, key)) or 'none'}), so its pages are not the {name}; "
                "the pull is incomplete, so nothing was planned"
            )
    after = params_of(link, "starting_after")
    if not after:
        return link
    if len(after) > 1:
        raise SourceError(
            f"{where(first)}: the next link gives starting_after {len(after)} times, so where "
            "the next page starts cannot be told; the pull is incomplete, so nothing was planned"
        )
    if last is None or after[0] == last:
        return link
    said = (
        f"{where(first)}: the next link starts after {after[0]}, but the last record read is "
        f"{last}, so the next page is asked from there instead (the link would skip records or "
        "read some again)"
    )
    LOG.warning("%s", redact(said))
    notes.add(name, "starting_after", said)
    return with_param(link, "starting_after", last)


def _shape(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


def _parse(response: Any, url: str) -> dict[str, Any]:
    data = page_json(response, url)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SourceError(f"{where(url)}: a page has no 'data' list")
    if not all(isinstance(d, dict) for d in data["data"]):
        raise SourceError(f"{where(url)}: a page's 'data' holds something other than records")
    links = data.get("links")
    if not isinstance(links, list) or not all(isinstance(link, dict) for link in links):
        # only the links say whether more pages follow: reading none as the end would be partial
        raise SourceError(
            f"{where(url)}: a page has no 'links' list of link objects (it has "
            f"{'none' if links is None else 'something else'}), so where the collection ends "
            "cannot be told; the pull is incomplete, so nothing was planned"
        )
    return data


def _next(body: dict[str, Any]) -> str | None:
    """The `links` entry with rel `next` (its uri is absolute or from the host's root); a rel is
    matched without regard to case, and may list several (RFC 8288)."""
    for link in body["links"]:
        if "next" in str(link.get("rel") or "").lower().split() and link.get("uri"):
            return str(link["uri"])
    return None


def count_clever(fetcher: Fetcher, base_url: str, page_size: int) -> dict[str, int | None]:
    """Records per collection (and users per role), paging through: Clever gives no totals."""
    pull = CleverPull(fetcher, base_url, page_size, Progress())
    counts: dict[str, int | None] = {}
    for name, path, params in [
        ("schools", "schools", {}),
        ("terms", "terms", {}),
        ("courses", "courses", {}),
        *((f"users ({r})", "users", {"role": r}) for r in ROLES),
        ("sections", "sections", {}),
    ]:
        counts[name] = sum(len(records) for _, _, records in pull.pages(name, path, params))
    return counts
