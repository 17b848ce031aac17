"""Fixtures for duplicate tests: the engine (it scans after each applied run), a district with
look-alikes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from daemon.db import Database
from tests.conftest import Sync
from tests.district import TinyDistrict

DIRECTORY_TABLES = (
    "schools",
    "school_sis_ids",
    "classrooms",
    "users",
    "enrollments",
    "guardian_links",
    "student_attributes",
)


def add_student_like(tiny: TinyDistrict, sid: str, new_sid: str, **changes: str) -> dict[str, str]:
    """A second users.csv row (and demographics row) copied from `sid`, with changes.

    `birthDate` changes the demographics row; anything else changes the users row.
    """
    row = copy.deepcopy(tiny.row("users.csv", sid))
    row["sourcedId"] = new_sid
    birth = changes.pop("birthDate", None)
    row.update(changes)
    tiny.rows("users.csv").append(row)
    demo = copy.deepcopy(tiny.row("demographics.csv", sid))
    demo["sourcedId"] = new_sid
    if birth is not None:
        demo["birthDate"] = birth
    tiny.rows("demographics.csv").append(demo)
    return row


def user_id(engine: Any, sis_id: str) -> int:
    return int(engine.db.one("SELECT user_id FROM users WHERE sis_id = ?", [sis_id]))


def open_pairs(engine: Any, kind: str | None = None) -> set[frozenset[int]]:
    page = engine.duplicates_list(status="open", limit=500, kind=kind)
    return {frozenset((c.left.user_id, c.right.user_id)) for c in page.items}


def pair(engine: Any, a: str | int, b: str | int) -> frozenset[int]:
    ids = [x if isinstance(x, int) else user_id(engine, x) for x in (a, b)]
    return frozenset(ids)


def snapshot(db: Database) -> dict[str, list[tuple]]:
    """Every row of every directory table, in a stable order."""
    return {t: db.rows(f"SELECT * FROM {t} ORDER BY ALL") for t in DIRECTORY_TABLES}


@pytest.fixture
def sync(engine: Any, tmp_path: Path) -> Sync:
    """As everywhere, but applying also scans for duplicates, as the product does."""
    return Sync(engine, tmp_path / "drops", scan_duplicates=True)
