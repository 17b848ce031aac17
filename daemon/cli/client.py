"""How a CLI command reaches the engine: the daemon's socket when it runs, else the database."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from daemon.audit import current_actor
from daemon.db import Database
from daemon.paths import resolve_database_path
from daemon.progress import TerminalProgress
from daemon.service.engine import Engine


def database_path(args: argparse.Namespace) -> str:
    return str(resolve_database_path(getattr(args, "db", None)))


@contextmanager
def engine(args: argparse.Namespace) -> Iterator[Engine]:
    """An engine for this command (embedded: this process opens the database)."""
    db = Database(database_path(args))
    try:
        yield Engine(db, current_actor(), TerminalProgress())
    finally:
        db.close()
