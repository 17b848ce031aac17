"""The OneRoster REST binding (1.1 and 1.2) as a OneRoster CSV drop.

ClassLink's Roster Server and many SIS APIs (Aeries, Infinite Campus, PowerSchool...) speak it.
Each collection is read page by page; each record becomes one CSV row (a 1.2 user also one
roles.csv row per role), written as it is read. Records marked `tobedeleted` are not in a bulk
file: leaving them out is what archives them, as a SIS's full export would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.formats import spec
from daemon.formats.spec import ONEROSTER_11, ONEROSTER_12
from daemon.progress import Progress
from daemon.sources.drop_writer import CsvOut, DropWriter
from daemon.sources.errors import SourceError, redact
from daemon.sources.http import Fetcher
from daemon.sources.paging import LOG, Absent, Notes, offset_pages
from daemon.sources.values import Unreadable, cell, enabled, user_ids


@dataclass(frozen=True)
class Field:
    """How a column reads the JSON field `name`; an unreadable value names the field."""

    name: str
    read: Callable[[Any], str] = cell

    def __call__(self, record: dict[str, Any]) -> str:
        try:
            return self.read(record.get(self.name))
        except Unreadable as exc:
            raise Unreadable(f"{self.name} is {exc}") from None


Getter = Field
field = Field


@dataclass(frozen=True)
class UserIds(Field):
    """userIds as the CSV binding writes them; an entry without an identifier, or holding what
    the binding's form cannot carry, is left out (values.user_ids), and `left_out` says which."""

    name: str = "userIds"

    def __call__(self, record: dict[str, Any]) -> str:
        return self._read(record)[0]

    def left_out(self, record: dict[str, Any]) -> list[str]:
        """Why each entry left out of the cell was (the row's WARNING, and the log's)."""
        found = [f"{self.name} entry {index} {why}" for index, why in self._read(record)[1]]
        for message in found:
            LOG.warning("%s", redact(f"users: {_id_of(record)}: {message}, so it is left out"))
        return found

    def _read(self, record: dict[str, Any]) -> tuple[str, list[tuple[int, str]]]:
        try:
            return user_ids(record.get(self.name))
        except Unreadable as exc:
            raise Unreadable(f"{self.name} is {exc}") from None


_ids = UserIds()
_enabled = field("enabledUser", enabled)


COMMON = ("sourcedId", "status", "dateLastModified")
# Bookkeeping the sync never reads (ingest/load.py): a value of it that cannot be read is a
# WARNING on its row, not an ERROR that would hold the record back.
NEVER_SYNCED = frozenset({"dateLastModified"})


@dataclass(frozen=True)
class Collection:
    """One REST collection and the CSV file it fills: column -> how to read it from a record."""

    name: str  # the path and the JSON key: /users -> {"users": [...]}
    file_name: str
    columns: dict[str, Getter]
    required: bool = False


def _plain(*names: str) -> dict[str, Getter]:
    return {n: field(n) for n in names}


ORGS = Collection(
    "orgs",
    "orgs.csv",
    {**_plain(*COMMON, "name", "type", "identifier"), "parentSourcedId": field("parent")},
    required=True,
)
SESSIONS = Collection(
    "academicSessions",
    "academicSessions.csv",
    {
        **_plain(*COMMON, "title", "type", "startDate", "endDate"),
        "parentSourcedId": field("parent"),
        "schoolYear": field("schoolYear"),
    },
)
COURSES = Collection(
    "courses",
    "courses.csv",
    {
        **_plain(*COMMON),
        "schoolYearSourcedId": field("schoolYear"),
        **_plain("title", "courseCode", "grades"),
        "orgSourcedId": field("org"),
        **_plain("subjects", "subjectCodes"),
    },
)
CLASSES = Collection(
    "classes",
    "classes.csv",
    {
        **_plain(*COMMON, "title", "grades"),
        "courseSourcedId": field("course"),
        **_plain("classCode", "classType", "location"),
        "schoolSourcedId": field("school"),
        "termSourcedIds": field("terms"),
        **_plain("subjects", "subjectCodes", "periods"),
    },
    required=True,
)
USERS_11 = Collection(
    "users",
    "users.csv",
    {
        **_plain(*COMMON),
        "enabledUser": _enabled,
        "orgSourcedIds": field("orgs"),
        "role": field("role"),
        "username": field("username"),
        "userIds": _ids,
        **_plain("givenName", "familyName", "middleName", "identifier", "email", "sms", "phone"),
        "agentSourcedIds": field("agents"),
        **_plain("grades", "password"),
    },
    required=True,
)
USERS_12 = Collection(
    "users",
    "users.csv",
    {
        **_plain(*COMMON),
        "enabledUser": _enabled,
        "username": field("username"),
        "userIds": _ids,
        **_plain("givenName", "familyName", "middleName", "identifier", "email", "sms", "phone"),
        "agentSourcedIds": field("agents"),
        **_plain("grades", "password", "userMasterIdentifier"),
        "preferredGivenName": field("preferredFirstName"),
        "preferredMiddleName": field("preferredMiddleName"),
        "preferredFamilyName": field("preferredLastName"),
        "primaryOrgSourcedId": field("primaryOrg"),
        "pronouns": field("pronouns"),
    },
    required=True,
)
ROLES_12_HEADER = [
    *COMMON,
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
]
ENROLLMENTS = Collection(
    "enrollments",
    "enrollments.csv",
    {
        **_plain(*COMMON),
        "classSourcedId": field("class"),
        "schoolSourcedId": field("school"),
        "userSourcedId": field("user"),
        **_plain("role", "primary", "beginDate", "endDate"),
    },
    required=True,
)
DEMOGRAPHICS = Collection(
    "demographics",
    "demographics.csv",
    # every column demographics.csv has (formats/spec.py): the JSON binding uses the same names
    _plain(*(column.name for column in spec.DEMOGRAPHICS.columns)),
)


def collections(version: str) -> list[Collection]:
    users = USERS_12 if version == "1.2" else USERS_11
    return [ORGS, SESSIONS, COURSES, users, CLASSES, ENROLLMENTS, DEMOGRAPHICS]


def read_row(
    collection: Collection, record: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The record as its CSV row, and the columns whose value cannot be read (why): each is
    left empty, and the row is an error (OneRosterPull._write), so nothing is blanked."""
    row, unreadable = {}, {}
    for column, get in collection.columns.items():
        try:
            row[column] = get(record)
        except Unreadable as exc:
            row[column], unreadable[column] = "", str(exc)
    if row.get("status", "").lower() == "active":
        row["status"] = ""  # a bulk file leaves status empty; every record here is current
    return row, unreadable


def _id_of(record: dict[str, Any]) -> str:
    try:
        return cell(record.get("sourcedId")) or "(a record without a sourcedId)"
    except Unreadable:
        return "(a record whose sourcedId cannot be read)"


def role_rows(record: dict[str, Any]) -> list[dict[str, str]]:
    """A 1.2 user's roles as roles.csv rows; a role has no id in REST, so one is made from what
    identifies it (the same every night)."""
    rows = []
    for role in _roles(record):
        user, org, name = cell(record.get("sourcedId")), _org(role), field("role")(role)
        rows.append(
            {
                "sourcedId": f"{user}:{org}:{name}",
                "status": "",
                "dateLastModified": "",
                "userSourcedId": user,
                "roleType": field("roleType")(role),
                "role": name,
                "beginDate": field("beginDate")(role),
                "endDate": field("endDate")(role),
                "orgSourcedId": org,
                "userProfileSourcedId": field("userProfile")(role),
            }
        )
    return rows


_org = field("org")


def _roles(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A 1.2 user's role objects; one object alone is read as that role. Roles that cannot all be
    read are none: the user's row is then an error and the person stays as they are (leaving out
    only the unreadable one would move them out of that org)."""
    roles = record.get("roles")
    if isinstance(roles, dict):
        return [roles]
    if isinstance(roles, list) and all(isinstance(role, dict) for role in roles):
        return roles
    return []


def _never_sent(collection: Collection, fields: set[str], version: str) -> list[str]:
    """The columns (file.column) whose JSON field no record of the collection has: a server that
    does not serve a field at all says nothing of it, as a CSV file without that column does, so
    the manifest says they are not carried and the directory keeps its values (an empty cell in
    every row would blank them all). A field one record leaves out is empty on that record only.
    Columns that place a row (its id, a required reference, status) are never declared so."""
    spec = (ONEROSTER_12 if version == "1.2" else ONEROSTER_11).specs.get(
        collection.file_name.removesuffix(".csv")
    )
    if spec is None:
        return []
    found = []
    for name, get in collection.columns.items():
        column = spec.column(name)
        if get.name not in fields and column is not None and not spec.places_rows(column):
            found.append(f"{spec.entity}.{column.name}")
    return found


class OneRosterPull:
    """Pull every collection of one OneRoster REST source into `writer`."""

    derived_ids: tuple[str, ...] = ()  # every id is the SIS's

    def __init__(
        self, fetcher: Fetcher, base_url: str, version: str, page_size: int, progress: Progress
    ) -> None:
        self.fetcher, self.base, self.version = fetcher, base_url, version
        self.limit, self.progress = page_size, progress
        self.resources: dict[str, dict[str, Any]] = {}
        self.absent: list[str] = []
        self.not_carried: list[str] = []  # file.column: a field no record of its collection has
        self.notes = Notes()  # what the run's reviewer is told beside the log

    def run(self, writer: DropWriter) -> None:
        for collection in collections(self.version):
            self._collection(writer, collection)

    def _collection(self, writer: DropWriter, collection: Collection) -> None:
        stats: dict[str, Any] = {
            "pages": 0, "records": 0, "deleted": 0, "total": None, "seconds": 0.0,
        }  # fmt: skip
        self.resources[collection.name] = stats
        started = time.monotonic()
        self.progress.start(f"Pulling {collection.name}")
        try:
            out = roles = None
            fields: set[str] = set()  # the JSON fields the collection's records have
            # The last record read, written once the next page is read: that page begins with it
            # again (the overlap), and when the record changed in between, the later read is the
            # newer one (a student marked tobedeleted, or back, while the pull paged).
            held: tuple[str, int, dict[str, Any]] | None = None
            for page in offset_pages(
                self.fetcher, self.base, collection.name, collection.name, self.limit,
                optional=not collection.required, notes=self.notes,
            ):  # fmt: skip
                if page.number == 1:  # the start, or the start again: the collection moved
                    if out is not None:
                        writer.discard(collection.name, out, roles)
                        stats.update(pages=0, records=0, deleted=0, reread=page.read - 1)
                    out = writer.csv(collection.file_name, collection.columns)
                    roles = self._roles_file(writer, collection)
                    fields = set()
                    held = None
                assert out is not None
                page_name = writer.page(collection.name, page.number, page.body)
                if held is not None and page.first:
                    held = (page_name, 0, page.records[0])  # the same record, read again
                pending = [*([held] if held else []), *((page_name, i, r) for i, r in page.added())]
                for where_, index, record in pending[:-1]:
                    self._write(
                        writer, collection, out, roles, where_, index, record, stats, fields
                    )
                held = pending[-1] if pending else None
                stats["pages"] = page.number
                stats["records"] += len(page.records) - page.first
                stats["total"] = page.total
                if page.number == 1:  # now the size is known (when the server says it)
                    self.progress.start(f"Pulling {collection.name}", page.total)
                self.progress.advance(len(page.records) - page.first)
                self.progress.note(f"page {page.number}, {stats['records']:,} records")
            if held is not None:
                assert out is not None
                self._write(writer, collection, out, roles, *held, stats, fields)
            self.not_carried += _never_sent(collection, fields, self.version) if fields else []
        except Absent:
            self.absent.append(collection.name)
            stats["absent"] = True
        except SourceError as exc:
            stats["seconds"] = round(time.monotonic() - started, 3)
            raise SourceError(f"{collection.name}: {exc}", self.summary()) from None
        finally:
            self.progress.finish()
        stats["seconds"] = round(time.monotonic() - started, 3)

    def _write(
        self, writer: DropWriter, collection: Collection, out: CsvOut, roles: CsvOut | None,
        page_name: str, index: int, record: dict[str, Any], stats: dict[str, Any],
        fields: set[str],
    ) -> None:  # fmt: skip
        """One record as its CSV row (a 1.2 user's roles as roles.csv rows too); one marked
        tobedeleted is counted, not written. What its userIds left out is that row's WARNING; a
        value that cannot be read is that row's ERROR (its cell left empty), so the sync keeps
        the record as the directory has it and plans the rest of the district."""
        row, unreadable = read_row(collection, record)
        if row.get("status", "").lower() == "tobedeleted" and "status" not in unreadable:
            stats["deleted"] += 1
            return
        if "sourcedId" in unreadable:  # no row can name the record: it would be absent
            raise SourceError(
                f"{_id_of(record)}: sourcedId is {unreadable['sourcedId']}; the pull is refused "
                "rather than archive the record it names, so nothing was planned"
            )
        its_roles: list[dict[str, str]] = []
        if roles is not None:
            try:
                its_roles = role_rows(record)
            except Unreadable as exc:
                unreadable["roles"] = f"roles: {exc}"
        left_out = (
            _ids.left_out(record)
            if "userIds" in collection.columns and "userIds" not in unreadable
            else []
        )
        line = out.write(row, page_name, index)
        sid = row["sourcedId"]
        for column, why in unreadable.items():
            LOG.warning("%s", redact(f"{collection.name}: {_id_of(record)}: {why}"))
            if column in NEVER_SYNCED:
                writer.row_note(
                    out, line, sid, column, "unreadable", f"{why}; ignored (it is never synced)"
                )
                continue
            writer.row_note(
                out, line, sid, column, "unreadable",
                f"{sid or '(no sourcedId)'}: {why}; the row is an error, so the record is kept "
                "as the directory has it",
                "ERROR",
            )  # fmt: skip
        for message in left_out:
            writer.row_note(
                out, line, sid, "userIds", "user_ids",
                f"{message}: it is left out (the other entries are used)",
            )  # fmt: skip
        fields.update(record)
        for role_row in [] if unreadable else its_roles:
            assert roles is not None
            roles.write(role_row, page_name, index)

    def _roles_file(self, writer: DropWriter, collection: Collection) -> CsvOut | None:
        if self.version == "1.2" and collection.name == "users":
            return writer.csv("roles.csv", ROLES_12_HEADER)
        return None

    def summary(self) -> dict[str, Any]:
        return {"resources": self.resources, "absent": self.absent}
