"""Versioned schema migrations: numbered SQL files applied once each, in order, atomically."""

from __future__ import annotations

import re
from importlib import resources

import duckdb

from daemon.errors import RosterSyncError

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available_migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("daemon.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


class SchemaTooNew(RosterSyncError):
    """The database was written by a newer Roster Sync; this one must not touch it."""

    title = "Database too new"


class NotRosterSyncDatabase(RosterSyncError):
    """A DuckDB file of something else: Roster Sync must neither read nor change it."""

    title = "Not a Roster Sync database"


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the schema up to date; returns the resulting version.

    A file without Roster Sync's schema record is made one only while it is empty: another
    program's database (or one whose record was dropped) was once filled with Roster Sync's
    tables by a read-only command."""
    migrations = available_migrations()
    version = current_version(con)
    if version == 0:
        others = [
            str(name)
            for (name,) in con.execute(
                """SELECT table_name FROM duckdb_tables()
                   WHERE database_name = current_database() AND NOT temporary
                   UNION ALL SELECT view_name FROM duckdb_views()
                   WHERE database_name = current_database() AND NOT temporary AND NOT internal
                   ORDER BY 1 LIMIT 4"""
            ).fetchall()
        ]
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise NotRosterSyncDatabase(
                f"not a Roster Sync database: it holds other tables ({shown}) and no Roster "
                "Sync schema record; name a Roster Sync database, or a new file"
            )
    latest = migrations[-1][0] if migrations else 0
    if version > latest:
        raise SchemaTooNew(
            f"the database is at schema version {version}, newer than this Roster Sync knows "
            f"(up to {latest}); upgrade Roster Sync to open it"
        )
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    pending = [m for m in migrations if m[0] > version]
    # A new file gets its whole schema at once (all or nothing, and a third quicker than one
    # transaction apiece); an older database steps through each version, committed in turn.
    steps = [pending] if version == 0 and pending else [[m] for m in pending]
    for step in steps:
        con.execute("BEGIN TRANSACTION")
        try:
            for number, name, sql in step:
                con.execute(sql)
                con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp)",
                    [number, name],
                )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        version = step[-1][0]
    return version
