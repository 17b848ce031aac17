"""How a CLI command reaches the engine: the daemon's socket when it runs, else the database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.paths import resolve_database_path
from daemon.progress import TerminalProgress
from daemon.service.client import DEFAULT_SOCKET, connect
from daemon.service.config import ConfigError, DaemonConfig, config_path, load_config
from daemon.service.engine import Engine
from daemon.service.interface import EngineClient


def daemon_config(args: argparse.Namespace) -> DaemonConfig | None:
    path = config_path(getattr(args, "config", None))
    if not path:
        return None
    try:
        return load_config(path)
    except OSError as exc:  # a folder, or a file this user may not read
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from exc


def locations(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """(database, socket): --db wins; a config file names both; else the defaults.

    A --db other than the config's database is opened directly: the daemon serves its own.
    """
    config = daemon_config(args)
    if getattr(args, "db", None):
        database = resolve_database_path(args.db)
        same = config is not None and _same_file(database, config.database)
        return database, config.socket if same and config else None
    if config is not None:
        return config.database, config.socket
    return resolve_database_path(None), DEFAULT_SOCKET


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def database_path(args: argparse.Namespace) -> str:
    return str(locations(args)[0])


@contextmanager
def engine(args: argparse.Namespace) -> Iterator[EngineClient]:
    """The engine for this command: the daemon's socket if it answers, else the database.

    Only a command that can start a directory (`run`, `settings set`, `users add`, ...) makes a
    database that is not there yet, and it says so; any other command names the missing file.
    """
    database, socket_path = locations(args)
    create = bool(getattr(args, "creates_database", False))
    with connect(database, socket_path, create=create) as client:
        if getattr(getattr(client, "db", None), "created", False):
            print(f"roster-sync: created a new database at {database}", file=sys.stderr)
        if isinstance(client, Engine):  # in process: the engine reports its steps here
            client.progress = TerminalProgress()
            config = daemon_config(args)  # and pulls the config's API sources itself
            if config is not None:
                client.configure_sources(config.sources, config.archive)
        yield client
