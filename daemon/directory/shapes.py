"""What directory look-ups return: dicts (the TUI and the CLI index them), typed at the boundary.

Over the daemon's socket a value travels as JSON, so a timestamp arrives as a string; the client
rebuilds each answer with these types (pydantic), and a command prints the same embedded and
through the daemon. Keys not named here pass through unchanged (extra="allow").
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

OPEN = ConfigDict(extra="allow")


@with_config(OPEN)
class HistoryEntry(TypedDict, total=False):
    happened_at: datetime | None
    who: str | None
    what: str | None
    detail: str | None


@with_config(OPEN)
class UserRow(TypedDict, total=False):
    """One person in a list (`find_users`)."""

    user_id: int
    archived_at: datetime | None


@with_config(OPEN)
class UserDetail(TypedDict, total=False):
    """One person with schools, links, classrooms, attributes and history (`user_detail`)."""

    user_id: int
    created_at: datetime | None
    updated_at: datetime | None
    archived_at: datetime | None
    history: list[HistoryEntry]


@with_config(OPEN)
class ClassroomRow(TypedDict, total=False):
    """One classroom in a list (`find_classrooms`)."""

    classroom_id: int


@with_config(OPEN)
class ClassroomDetail(TypedDict, total=False):
    """One classroom with its members and history (`classroom_detail`)."""

    classroom_id: int
    created_at: datetime | None
    updated_at: datetime | None
    archived_at: datetime | None
    history: list[HistoryEntry]
