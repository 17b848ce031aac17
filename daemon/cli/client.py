"""How a CLI command reaches the engine: the daemon's socket when it runs, else the database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from daemon.progress import TerminalProgress
from daemon.service.client import Locations, connect, locate
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


def locations(args: argparse.Namespace) -> Locations:
    """The command's database, and the socket of a daemon that may serve it (service.client)."""
    return locate(getattr(args, "db", None), daemon_config(args))


def database_path(args: argparse.Namespace) -> str:
    return str(locations(args).database)


@contextmanager
def engine(args: argparse.Namespace) -> Iterator[EngineClient]:
    """The engine for this command: the daemon's socket if it answers, else the database.

    Only a command that can start a directory (`run`, `settings set`, `users add`, ...) makes a
    database that is not there yet, and it says so; any other command names the missing file.
    """
    where = locations(args)
    create = bool(getattr(args, "creates_database", False))
    with connect(where, create=create) as client:
        if getattr(getattr(client, "db", None), "created", False):
            print(f"roster-sync: created a new database at {where.database}", file=sys.stderr)
        if isinstance(client, Engine):  # in process: the engine reports its steps here
            client.progress = TerminalProgress()
            config = daemon_config(args)  # and pulls the config's API sources itself
            if config is not None:
                client.configure_sources(config.sources, config.archive)
        yield client
