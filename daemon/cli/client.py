"""How a CLI command reaches the engine: the daemon's socket when it runs, else the database."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from daemon.paths import resolve_database_path
from daemon.progress import TerminalProgress
from daemon.service.client import DEFAULT_SOCKET, connect
from daemon.service.config import DaemonConfig, config_path, load_config


def daemon_config(args: argparse.Namespace) -> DaemonConfig | None:
    path = config_path(getattr(args, "config", None))
    return load_config(path) if path else None


def locations(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """(database, socket): --db wins; a config file names both; else the defaults."""
    config = daemon_config(args)
    if getattr(args, "db", None):
        return resolve_database_path(args.db), config.socket if config else None
    if config is not None:
        return config.database, config.socket
    return resolve_database_path(None), DEFAULT_SOCKET


def database_path(args: argparse.Namespace) -> str:
    return str(locations(args)[0])


@contextmanager
def engine(args: argparse.Namespace) -> Iterator[Any]:
    """The engine for this command: the daemon's socket if it answers, else the database."""
    database, socket_path = locations(args)
    with connect(database, socket_path) as client:
        if hasattr(client, "progress"):
            client.progress = TerminalProgress()
        yield client
