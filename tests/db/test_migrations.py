"""The schema follows the numbered migrations: a new database starts at the latest version, an
older one is upgraded in place with its data, and a newer one is refused untouched."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from daemon.db import Database, NotRosterSyncDatabase, SchemaTooNew
from daemon.db import migrate as migrate_module
from daemon.db.migrate import available_migrations, current_version

MIGRATIONS = available_migrations()
LATEST = MIGRATIONS[-1][0]
PREVIOUS = MIGRATIONS[-2][0]  # numbers may skip one while branches are merged


def _applied(db: Database) -> list[tuple[int, str]]:
    return db.rows("SELECT version, name FROM schema_migrations ORDER BY version")


def _columns(db: Database, table: str) -> list[str]:
    return [
        name
        for (name,) in db.rows(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [table],
        )
    ]


def _made_before(db_path: Path, monkeypatch, version: int) -> Database:
    """A database made by a Roster Sync that knew only the migrations before `version`."""
    with monkeypatch.context() as older:
        older.setattr(
            migrate_module,
            "available_migrations",
            lambda: [m for m in MIGRATIONS if m[0] < version],
        )
        return Database(db_path)


@pytest.fixture
def old_db(db_path: Path, monkeypatch) -> Path:
    """A database made by a Roster Sync that knew only the migrations before the last one,
    holding a school, a student, a classroom and an enrollment."""
    db = _made_before(db_path, monkeypatch, LATEST)
    try:
        assert current_version(db.con) == PREVIOUS
        db.execute(
            "INSERT INTO schools (school_id, sis_id, org_type, name, status, origin) "
            "VALUES (1, 'sch-a', 'school', 'Alder School', 'active', 'sync')"
        )
        db.execute(
            "INSERT INTO users (user_id, kind, role, sis_id, given_name, family_name, status, "
            "origin) VALUES (1, 'student', 'student', 'stu-1', 'Ava', 'Lopez', 'active', 'sync')"
        )
        db.execute(
            "INSERT INTO classrooms (classroom_id, sis_id, school_id, name, status, origin) "
            "VALUES (1, 'cls-a1', 1, 'Homeroom 5A', 'active', 'sync')"
        )
        db.execute(
            "INSERT INTO enrollments (enrollment_id, classroom_id, user_id, role, sis_id, status, "
            "origin) VALUES (1, 1, 1, 'student', 'enr-1a', 'active', 'sync')"
        )
        db.execute("UPDATE meta SET value = '7' WHERE key = 'directory_version'")
    finally:
        db.close()
    return db_path


def test_a_new_database_is_at_the_latest_schema_version(db_path):
    with Database(db_path) as db:
        assert current_version(db.con) == LATEST
        assert _applied(db) == [(number, name) for number, name, _ in MIGRATIONS]
        assert db.directory_version() == 0


def test_reopening_a_current_database_applies_nothing_again(db_path):
    Database(db_path).close()
    with Database(db_path) as db:
        assert _applied(db) == [(number, name) for number, name, _ in MIGRATIONS]


def test_an_older_database_is_upgraded_when_opened(old_db):
    with Database(old_db) as db:
        assert current_version(db.con) == LATEST
        assert [v for v, _ in _applied(db)] == [number for number, _, _ in MIGRATIONS]
        assert {"source_hash", "synced_hash"} <= set(_columns(db, "enrollments"))  # 0004
        assert "override_reason" in _columns(db, "runs")  # 0006


def test_an_upgraded_database_keeps_its_data(old_db):
    with Database(old_db) as db:
        assert db.rows("SELECT sis_id, name FROM schools") == [("sch-a", "Alder School")]
        assert db.rows("SELECT sis_id, given_name, family_name FROM users") == [
            ("stu-1", "Ava", "Lopez")
        ]
        assert db.rows("SELECT sis_id, name FROM classrooms") == [("cls-a1", "Homeroom 5A")]
        assert db.rows(
            "SELECT sis_id, classroom_id, user_id, source_hash, synced_hash FROM enrollments"
        ) == [("enr-1a", 1, 1, None, None)]
        assert db.directory_version() == 7


def test_a_database_from_a_newer_roster_sync_is_refused_and_left_untouched(db_path):
    Database(db_path).close()
    future = LATEST + 1
    con = duckdb.connect(str(db_path))
    con.execute(
        "INSERT INTO schema_migrations VALUES (?, '9999_from_the_future.sql', current_timestamp)",
        [future],
    )
    con.close()

    with pytest.raises(SchemaTooNew) as refused:
        Database(db_path)
    assert str(refused.value) == (
        f"{db_path}: the database is at schema version {future}, newer than this Roster Sync knows "
        f"(up to {LATEST}); upgrade Roster Sync to open it"
    )
    # The refusal let go of the file and changed nothing in it.
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchone() == (future,)
    finally:
        con.close()


def _tables(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            n
            for (n,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        ]
    finally:
        con.close()


def test_another_programs_database_is_refused_and_left_untouched(db_path):
    """A read-only command once filled another program's DuckDB file with Roster Sync's tables."""
    con = duckdb.connect(str(db_path))
    con.execute("CREATE TABLE users (id INTEGER, name VARCHAR)")
    con.close()
    with pytest.raises(NotRosterSyncDatabase) as refused:
        Database(db_path)
    assert str(refused.value) == (
        f"{db_path}: not a Roster Sync database: it holds other tables (users) and no Roster Sync "
        "schema record; name a Roster Sync database, or a new file"
    )
    assert _tables(db_path) == ["users"]


def test_a_database_without_its_schema_record_is_refused(db_path):
    Database(db_path).close()
    con = duckdb.connect(str(db_path))
    con.execute("DROP TABLE schema_migrations")
    con.close()
    with pytest.raises(NotRosterSyncDatabase, match="and no Roster Sync schema record"):
        Database(db_path)


def test_people_made_by_hand_before_keep_their_typed_contacts_as_edited_by_hand(
    db_path, monkeypatch
):
    """0016: contacts typed for a person made by hand are a person's (records.create_user)."""
    with _made_before(db_path, monkeypatch, 16) as older:
        older.execute(
            "INSERT INTO users (user_id, kind, role, given_name, family_name, email, status, "
            "origin) VALUES (1, 'student', 'student', 'Ava', 'Lopez', NULL, 'active', 'sync'),"
            "(2, 'guardian', 'parent', 'Rosa', 'Lopez', 'rosa@example.org', 'active', 'hand'),"
            "(3, 'guardian', 'parent', 'Tom', 'Lopez', NULL, 'active', 'hand')"
        )
    with Database(db_path) as db:
        assert db.rows("SELECT user_id, contacts_edited FROM users ORDER BY 1") == [
            (1, False),
            (2, True),
            (3, False),
        ]


def test_links_and_memberships_made_by_hand_that_the_sync_took_over_are_hand_made_again(
    db_path, monkeypatch
):
    """0017: a membership or link a person made stays theirs (sync/kinds.py adopts_hand_made).
    One the feed took over before is told by its maker: no run created it."""
    with _made_before(db_path, monkeypatch, 17) as older:
        older.execute(
            "INSERT INTO guardian_links (link_id, student_id, guardian_id, relationship, status, "
            "origin, created_run) VALUES (1, 1, 2, 'parent', 'active', 'sync', NULL),"
            "(2, 1, 3, 'parent', 'active', 'sync', 4), (3, 4, 2, 'parent', 'archived', 'sync', NULL)"
        )
        older.execute(
            "INSERT INTO enrollments (enrollment_id, classroom_id, user_id, role, status, origin, "
            "created_run) VALUES (1, 1, 5, 'teacher', 'active', 'sync', NULL),"
            "(2, 1, 1, 'student', 'active', 'sync', 4)"
        )
    with Database(db_path) as db:
        assert db.rows("SELECT link_id, origin FROM guardian_links ORDER BY 1") == [
            (1, "hand"),  # a person's link the feed took over
            (2, "sync"),  # a run made it
            (3, "sync"),  # archived by the sync since: the feed may bring it back
        ]
        assert db.rows("SELECT enrollment_id, origin FROM enrollments ORDER BY 1") == [
            (1, "hand"),
            (2, "sync"),
        ]
