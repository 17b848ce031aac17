"""The one DuckDB file that holds the directory, the runs and their history."""

from __future__ import annotations

import itertools
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from daemon.db.lock_holder import lock_holder
from daemon.db.migrate import NotRosterSyncDatabase, SchemaTooNew, current_version, migrate
from daemon.errors import RosterSyncError

MEMORY_LIMIT_ENV = "ROSTER_SYNC_MEMORY_LIMIT"
THREADS_ENV = "ROSTER_SYNC_THREADS"
DEFAULT_MEMORY_LIMIT = "2GB"
ALLOCATOR_FLUSH_THRESHOLD = "16MB"
ALLOCATOR_BULK_FLUSH_THRESHOLD = "64MB"


class DatabaseLocked(RosterSyncError):
    """Another process (usually the daemon) holds the database file."""

    title = "Database in use"


class DatabaseUnusable(RosterSyncError):
    """The path names no database this process may open: missing, a folder, or not DuckDB."""

    title = "Database not usable"


class EnvironmentSettingError(RosterSyncError, ValueError):
    """An environment variable Roster Sync reads (ROSTER_SYNC_MEMORY_LIMIT, ...) holds no value
    it can use."""

    title = "Environment"


class Database:
    """A connection to the Roster Sync database, migrated to the current schema on open."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        create: bool = True,
        connection: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        """`create=False` opens only an existing database: a mistyped path makes nothing."""
        self.path = Path(path)
        self.created = False
        if connection is not None:  # a view for another thread on an open database
            self.con = connection
            self._macros()
            return
        try:
            is_dir, exists = self.path.is_dir(), self.path.exists()
        except PermissionError:  # a folder on the way this user may not enter
            raise DatabaseUnusable(_PERMISSION_DENIED.format(path=self.path)) from None
        if is_dir:
            raise DatabaseUnusable(
                f"{self.path} is a folder; name the database file in it "
                f"(for example {self.path / 'roster.duckdb'})"
            )
        if exists and not self.path.is_file():  # /dev/null, a FIFO: DuckDB failed to fsync it
            raise DatabaseUnusable(
                f"{self.path} is not a regular file; name a database file (roster.duckdb)"
            )
        if exists and _foreign_file(self.path):
            raise DatabaseUnusable(f"{self.path} is not a Roster Sync database (not a DuckDB file)")
        if not exists:
            if read_only or not create:
                raise DatabaseUnusable(
                    f"no database at {self.path}; check the path, or start one with: "
                    "roster-sync run DROP"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.created = True
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise _open_error(self.path, exc) from exc
        try:
            self._configure()
            if not read_only:
                migrate(self.con)
            elif current_version(self.con) == 0:
                raise NotRosterSyncDatabase("not a Roster Sync database (no schema record)")
        except (SchemaTooNew, NotRosterSyncDatabase) as exc:
            self.con.close()  # a refused database is not left open (and locked)
            raise type(exc)(f"{self.path}: {exc}") from None
        except BaseException:
            self.con.close()
            raise
        self._macros()

    def _macros(self) -> None:
        """Helpers the planner's SQL uses (per connection, so temporary)."""
        # A value as the sync reads it: trimmed, empty as NULL, without copying clean values.
        self.con.execute(
            "CREATE OR REPLACE TEMP MACRO rs_clean(x) AS CASE WHEN x IS NULL OR x = '' THEN NULL "
            "WHEN starts_with(x, ' ') OR ends_with(x, ' ') THEN nullif(trim(x), '') ELSE x END"
        )

    def _configure(self) -> None:
        self.con.execute(f"SET memory_limit = '{_memory_limit()}'")
        self.con.execute("SET checkpoint_threshold = '1GB'")
        # DuckDB's allocator keeps memory freed by a statement for the next one, uncounted by
        # the memory limit, and returns it to the system only past these thresholds (128 MB and
        # 512 MB by default). With them, a first load of 3M students reached 2.66 GB resident
        # under a 2 GB limit, and a full duplicate scan of them 2.58-2.68 GB; at 16 MB and 64 MB,
        # 2.31 and 2.28 GB, and at 1M the plans and the scan took as long (BENCHMARKS.md).
        self.con.execute(f"SET allocator_flush_threshold = '{ALLOCATOR_FLUSH_THRESHOLD}'")
        self.con.execute(
            f"SET allocator_bulk_deallocation_flush_threshold = '{ALLOCATOR_BULK_FLUSH_THRESHOLD}'"
        )
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET preserve_insertion_order = true")
        temp_dir = self.path.parent / (self.path.name + ".tmp")
        self.con.execute(f"SET temp_directory = '{_sql_str(str(temp_dir))}'")
        threads = os.environ.get(THREADS_ENV)
        if threads:
            if not threads.strip().isdigit() or int(threads) < 1:
                raise EnvironmentSettingError(
                    f"{THREADS_ENV}={threads!r}: expected a number of threads such as 4"
                )
            self.con.execute(f"SET threads = {int(threads)}")

    # -- queries ---------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        if _PROFILE:
            started = time.perf_counter()
            self.con.execute(sql, params or [])
            _profile(sql, time.perf_counter() - started)
            _plan_tree(self.con, sql)
            return
        self.con.execute(sql, params or [])

    def execute_all(self, statements: Iterable[str]) -> None:
        """Statements without parameters or results, sent to DuckDB in one call (each still
        commits on its own): many small ones (dropping tables or columns) cost less so."""
        batch = ";\n".join(statements)
        if batch:
            self.execute(batch)

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple]:
        started = time.perf_counter()
        result = self.con.execute(sql, params or []).fetchall()
        if _PROFILE:
            _profile(sql, time.perf_counter() - started)
        return result

    def dicts(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        started = time.perf_counter()
        row = self.con.execute(sql, params or []).fetchone()
        if _PROFILE:
            _profile(sql, time.perf_counter() - started)
        return None if row is None else row[0]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: the directory is as before or fully changed.

        DuckDB takes COMMIT of a transaction in which a statement failed (its error caught on
        the way) without a word, and keeps nothing of it. One more statement before the commit
        raises there instead, so such a block fails rather than silently losing its writes."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
            self.con.execute("SELECT 1")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    # -- directory version -----------------------------------------------------------------
    def directory_version(self) -> int:
        return int(self.one("SELECT value FROM meta WHERE key = 'directory_version'"))

    def bump_directory_version(self, except_run: int | None = None) -> int:
        """Called inside every transaction that changes the directory (or the settings a plan
        is made under). The runs still open were planned against the directory as it was, so
        they are superseded at once, all but `except_run` (the run being applied): nobody
        approves a plan made against a directory that no longer exists."""
        self.execute(
            "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
            "WHERE key = 'directory_version'"
        )
        self.execute(
            "UPDATE runs SET status = 'superseded' WHERE status IN ('planned', 'held') "
            "AND run_id <> ?",
            [except_run if except_run is not None else -1],
        )
        return self.directory_version()

    @contextmanager
    def unordered(self) -> Iterator[None]:
        """Bulk work whose row order does not matter runs faster without keeping it."""
        self.con.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            self.con.execute("SET preserve_insertion_order = true")

    def table_exists(self, name: str, schema: str = "main") -> bool:
        return bool(
            self.one(
                "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                [schema, name],
            )
        )

    def tables(self, schema: str) -> set[str]:
        """The names of a schema's tables (one catalog read for many `table_exists`)."""
        return {
            r[0]
            for r in self.rows(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [schema]
            )
        }

    def columns(self, name: str, schema: str = "main", *, temporary: bool = False) -> list[str]:
        """A table's column names in table order (a temporary table lives in database `temp`)."""
        where = "database_name = 'temp'" if temporary else "schema_name = ?"
        params = [name] if temporary else [schema, name]
        return [
            r[0]
            for r in self.rows(
                f"SELECT column_name FROM duckdb_columns() WHERE {where} AND table_name = ? "
                "ORDER BY column_index",
                params,
            )
        ]

    def for_thread(self) -> Database:
        """Another cursor on the same database, for use by one other thread."""
        return Database(self.path, connection=self.con.cursor())

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT])(i?)B", re.IGNORECASE)


def _memory_limit() -> str:
    """DuckDB's memory limit, as configured (ROSTER_SYNC_MEMORY_LIMIT)."""
    memory = os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
    if not _SIZE.fullmatch(memory):
        raise EnvironmentSettingError(f"{MEMORY_LIMIT_ENV}={memory!r}: expected a size such as 2GB")
    return memory


_PERMISSION_DENIED = "{path}: permission denied (ask who runs Roster Sync for access)"
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def _foreign_file(path: Path) -> bool:
    """A file with content that is not DuckDB's. DuckDB itself takes some other formats for
    databases to attach (a SQLite file: it then went to the network for an extension)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError:  # not readable, or not a plain file: DuckDB says why
        return False
    return len(head) == 12 and head[8:12] != DUCKDB_MAGIC


def _open_error(path: Path, exc: duckdb.IOException) -> Exception:
    """DuckDB's reason for not opening a file, as one line about the file."""
    text = str(exc)
    if "lock" in text.lower():
        holder = lock_holder(text) or "another process (DuckDB did not say which)"
        if holder.startswith("roster-sync daemon"):  # it serves the file: go through it
            return DatabaseLocked(
                f"{path} is in use by {holder}, which serves it: pass the daemon's config "
                "(--config FILE, or ROSTER_SYNC_CONFIG) to go through it"
            )
        return DatabaseLocked(
            f"{path} is in use by {holder}; try again when it has finished or is closed"
        )
    if "not a valid DuckDB database" in text:
        return DatabaseUnusable(f"{path} is not a Roster Sync database (not a DuckDB file)")
    if "Permission denied" in text:
        return DatabaseUnusable(_PERMISSION_DENIED.format(path=path))
    return DatabaseUnusable(f"cannot open {path}: {text.removeprefix('IO Error: ')}")


_PROFILE = bool(os.environ.get("ROSTER_SYNC_PROFILE"))


_statements = itertools.count(1)


def _plan_tree(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """ROSTER_SYNC_PROFILE_TREES=DIR: DuckDB's timed plan of each statement, one file apiece
    (DuckDB writes the last statement's plan to `profiling_output`; it is kept under a number)."""
    trees = os.environ.get("ROSTER_SYNC_PROFILE_TREES")
    if trees:
        last = Path(trees) / "last.txt"
        if last.exists():
            kept = Path(trees) / f"{next(_statements):04d}.txt"
            kept.write_text(" ".join(sql.split())[:300] + "\n" + last.read_text())
            last.unlink()
        con.execute("SET enable_profiling = 'json'")
        con.execute(f"SET profiling_output = '{_sql_str(str(last))}'")


def _profile(sql: str, seconds: float) -> None:
    """ROSTER_SYNC_PROFILE=1 prints slow statements to stderr (for benchmarks, not production)."""
    if seconds >= float(os.environ.get("ROSTER_SYNC_PROFILE_MIN", "0.05")):
        # ROSTER_SYNC_PROFILE_FULL=1: the whole statement, to EXPLAIN ANALYZE it by hand.
        first = " ".join(sql.split())[: None if os.environ.get("ROSTER_SYNC_PROFILE_FULL") else 150]
        print(f"[{seconds:7.3f}s] {first}", file=sys.stderr)


def _sql_str(value: str) -> str:
    return value.replace("'", "''")


def sql_literal(value: str) -> str:
    """A quoted SQL string literal, for the few places (file paths in read_csv) parameters can't go."""
    return "'" + _sql_str(value) + "'"


def temp_table(run_id: int, name: str) -> str:
    """A run's working table: temporary (in memory, spilling to disk), gone with the process."""
    return f'"run{run_id}_{name}"'


def drop_temp_tables(db: Database, keep: Callable[[str], bool]) -> None:
    """Drop the temporary tables and views whose name `keep` selects (a long-lived daemon
    connection must not hold a run's working tables: they hold a whole day)."""
    db.execute_all(
        f"DROP {kind} IF EXISTS {sql_ident(name)}"
        for kind, name in db.rows(
            "SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary "
            "UNION ALL SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary"
        )
        if keep(name)
    )


def drop_run_tables(db: Database, run_id: int) -> None:
    """Every working table of a run, whether planning started or the drop was refused."""
    prefix = f"run{run_id}_"
    drop_temp_tables(db, lambda name: name.startswith(prefix))


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows_sharing_a_hash(source: str, row: str, hash_sql: str) -> str:
    """SQL selecting `row` of every row of `source` whose hash (`hash_sql`) another row shares,
    found by sorting the hashes: about half the time of grouping millions of strings by value.
    Every row of a repeated value is among them (a collision only adds a row), so grouping just
    these by the value finds every repeat."""
    return f"""SELECT {row} FROM (
                   SELECT {row}, h, lag(h) OVER w AS before, lead(h) OVER w AS after
                   FROM (SELECT {row}, {hash_sql} AS h FROM {source})
                   WINDOW w AS (ORDER BY h))
               WHERE h = before OR h = after"""
