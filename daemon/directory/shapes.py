"""What directory look-ups return, typed at the boundary.

Pages of people and classrooms (`find_users`, `find_classrooms`) carry dicts typed by TypedDicts;
one record's detail and the list of schools are pydantic models. Over the daemon's socket a value
travels as JSON, so a timestamp arrives as a string; the client rebuilds each answer with these
types, and a command prints the same embedded and through the daemon.

The fields of a detail are declared in the order of the table's columns, so `--json` prints the
keys in the order it always did; columns added later pass through unchanged (extra="allow").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, with_config
from typing_extensions import TypedDict

OPEN = ConfigDict(extra="allow")


class Shape(BaseModel):
    """A row the engine hands out: typed fields, and any further column kept as it came."""

    model_config = OPEN

    def as_dict(self) -> dict[str, Any]:
        """The row as the plain dict `--json` prints (timestamps as Python values)."""
        return self.model_dump()


class HistoryEntry(Shape):
    """A run that changed the record, or a person who edited it."""

    happened_at: datetime | None = None
    who: str | None = None
    what: str | None = None
    detail: str | None = None


@with_config(OPEN)
class UserRow(TypedDict, total=False):
    """One person in a list (`find_users`)."""

    user_id: int
    archived_at: datetime | None


class UserLink(Shape):
    """A guardian link seen from one side: the person at the other end."""

    link_id: int
    status: str
    origin: str
    relationship: str | None = None
    user_id: int
    given_name: str | None = None
    family_name: str | None = None
    sis_id: str | None = None


class UserClassroom(Shape):
    """A classroom a person is enrolled in, with the enrollment's role and state."""

    classroom_id: int
    name: str | None = None
    sis_id: str | None = None
    role: str
    status: str
    origin: str


class StudentAttribute(Shape):
    name: str
    value: str | None = None
    status: str
    origin: str


class MergedRecord(Shape):
    """A record merged into this one (kept, marked merged)."""

    user_id: int
    sis_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None


class UserDetail(Shape):
    """One person with schools, links, classrooms, attributes and history (`user_detail`)."""

    user_id: int
    kind: str
    role: str | None = None
    sis_id: str | None = None
    identifier: str | None = None
    username: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    middle_name: str | None = None
    preferred_given_name: str | None = None
    email: str | None = None
    mobile_phone: str | None = None
    home_phone: str | None = None
    language: str | None = None
    grades: str | None = None
    birth_date: str | None = None
    org_sis_ids: str | None = None
    enabled: bool | None = None
    status: str
    origin: str
    merged_into: int | None = None
    account_active: bool = False
    contacts_edited: bool = False
    created_run: int | None = None
    last_run: int | None = None
    archived_run: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    archived_at: datetime | None = None
    source_file: str | None = None
    source_line: int | None = None
    user_ids: str | None = None
    schools: list[str] = []
    links: list[UserLink] = []
    classrooms: list[UserClassroom] = []
    attributes: list[StudentAttribute] = []
    history: list[HistoryEntry] = []
    merged_records: list[MergedRecord] = []


@with_config(OPEN)
class ClassroomRow(TypedDict, total=False):
    """One classroom in a list (`find_classrooms`)."""

    classroom_id: int
    students: int  # active students


class ClassroomMember(Shape):
    """A person enrolled in a classroom, with the enrollment's role and state."""

    user_id: int
    given_name: str | None = None
    family_name: str | None = None
    sis_id: str | None = None
    kind: str
    role: str
    status: str
    origin: str


class ClassroomDetail(Shape):
    """One classroom with its members and history (`classroom_detail`)."""

    classroom_id: int
    sis_id: str | None = None
    school_id: int | None = None
    name: str | None = None
    name_locked: bool = False
    class_code: str | None = None
    class_type: str | None = None
    grades: str | None = None
    subjects: str | None = None
    course_sis_id: str | None = None
    term_sis_ids: str | None = None
    periods: str | None = None
    location: str | None = None
    status: str
    origin: str
    created_run: int | None = None
    last_run: int | None = None
    archived_run: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    archived_at: datetime | None = None
    source_file: str | None = None
    source_line: int | None = None
    subject_codes: str | None = None
    school: str | None = None
    members: list[ClassroomMember] = []
    history: list[HistoryEntry] = []


class School(Shape):
    """One school (or the district) in `list_schools`: its SIS ids and active students."""

    school_id: int
    name: str | None = None
    org_type: str
    status: str
    origin: str
    sis_ids: str | None = None  # comma separated
    students: int = 0
