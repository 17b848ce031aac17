"""The database file opened for each call and closed after it, so the UI never holds it.

DuckDB lets one process open a file read-write and then locks every other process out, even
readers; a read-only connection in turn keeps writers out. An administrator who leaves the review
UI open must still be able to run `roster-sync` on the same file, so no connection outlives the
call that needed it: reads open the file read-only, changes open it read-write, and both close it
as soon as the engine answers (about 50 ms to open the demo database). While another process
holds the file, a call waits a few seconds for it, then says who holds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from daemon.db import Database
from daemon.db.database import DatabaseLocked
from daemon.errors import RosterSyncError
from daemon.progress import Progress
from daemon.service.api import METHODS, READ
from daemon.service.engine import Engine
from daemon.sync.runs import recover_interrupted

READS = frozenset(name for name, role in METHODS.items() if role == READ)


class NoDatabase(RosterSyncError, FileNotFoundError):
    """The file named is not there (a mistyped --db, most often)."""

    title = "No database"


class PerCallEngine:
    """The engine's calls, each on its own short-lived connection to `database`."""

    is_remote = False

    def __init__(self, database: Path, actor: str, *, wait: float = 5.0) -> None:
        self.database = Path(database)
        self.actor = actor
        self.wait = wait
        self.progress = Progress()  # the gateway swaps in a reporting one around long calls
        self.connections = 0  # how many times the file was opened (for tests and the curious)

    def prepare(self) -> PerCallEngine:
        """Open the file once read-write: brings its schema up to date and fails fast when the
        file is missing or held, before any screen is shown."""
        if not self.database.exists():  # a folder or such is named as the CLI names it
            raise NoDatabase(f"no database at {self.database}")
        with self._engine(read_only=False) as engine:
            recover_interrupted(engine.db)  # a run left loading by a process that died
        return self

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_") or not callable(getattr(Engine, method, None)):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._engine(read_only=method in READS) as engine:
                return getattr(engine, method)(*args, **kwargs)

        return call

    @contextmanager
    def _engine(self, *, read_only: bool) -> Iterator[Engine]:
        db = self._open(read_only)
        try:
            yield Engine(db, self.actor, self.progress)
        finally:
            db.close()

    def _open(self, read_only: bool) -> Database:
        if not self.database.exists():  # never create one behind the user's back
            raise NoDatabase(f"no database at {self.database} (was it moved or deleted?)")
        deadline = time.monotonic() + self.wait
        while True:
            try:
                db = Database(self.database, read_only=read_only)
            except DatabaseLocked:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
                continue
            self.connections += 1
            return db
