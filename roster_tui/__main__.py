"""`roster-tui`: open the review UI on the daemon's socket, a database file, or a fresh demo."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.formats.controls import printable
from daemon.service.client import DEFAULT_SOCKET, Locations, locate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roster-tui",
        description="Review and approve Roster Sync runs in the terminal (keyboard-driven).",
    )
    parser.add_argument("--db", metavar="PATH", help="database file (embedded mode, no daemon)")
    parser.add_argument(
        "--config", metavar="FILE", help="daemon config file (TOML): finds the database and socket"
    )
    parser.add_argument(
        "--socket", metavar="PATH", help=f"the daemon's socket (default: {DEFAULT_SOCKET})"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="build a fresh demo database (the sample district) in a temporary folder, open it, "
        "and remove the folder on exit",
    )
    colours = parser.add_mutually_exclusive_group()
    colours.add_argument(
        "--ansi", action="store_true", default=None, help="use the 16 terminal colours"
    )
    colours.add_argument("--no-ansi", dest="ansi", action="store_false", help="use full colours")
    return parser


def plain_terminal() -> bool:
    """Rich's own rule: without COLORTERM or a 256color TERM, assume 16 colours."""
    if os.environ.get("TEXTUAL_COLOR_SYSTEM", "").lower() == "standard":
        return True
    if os.environ.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return False
    term = os.environ.get("TERM", "")
    return "256color" not in term and "truecolor" not in term and "direct" not in term


def locations(args: argparse.Namespace) -> Locations:
    """The database, and the socket of a daemon that may serve it: as the CLI finds them."""
    from daemon.service.config import config_path, load_config

    path = config_path(args.config)
    config = load_config(path) if path else None
    return locate(args.db, config, Path(args.socket) if args.socket else None)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ansi = plain_terminal() if args.ansi is None else args.ansi
    try:
        if args.demo:
            return run_demo(ansi)
        return run_connected(args, ansi)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for an administrator, never a traceback
        if os.environ.get("ROSTER_SYNC_DEBUG"):
            raise
        from roster_tui.gateway import describe_error

        title, message = describe_error(exc)
        print(f"roster-tui: {title.lower()}: {message}", file=sys.stderr)
        return 1


def run_connected(args: argparse.Namespace, ansi: bool) -> int:
    from roster_tui.app import RosterApp
    from roster_tui.embedded import NoDatabase

    where = locations(args)
    database, socket_path = where.database, where.socket
    if not args.db and not database.exists() and not (socket_path and socket_path.exists()):
        print(
            f"roster-tui: no database at {database} and no daemon socket; give --db FILE, "
            "--config FILE, or try --demo",
            file=sys.stderr,
        )
        return 2
    from daemon.db import DatabaseUnusable

    try:
        with open_client(where) as client:
            RosterApp(client, ansi=ansi).run()
    except NoDatabase as exc:  # a mistyped --db makes nothing
        print(
            f"roster-tui: {printable(str(exc))}; check the path, or start one with: "
            "roster-sync run DROP",
            file=sys.stderr,
        )
        return 2
    except DatabaseUnusable as exc:
        print(f"roster-tui: {printable(str(exc))}", file=sys.stderr)
        return 2
    return 0


@contextmanager
def open_client(where: Locations) -> Iterator[Any]:
    """The daemon's socket when it answers for the database; otherwise the file itself, opened
    for each call only (never held open while a person reads, so the CLI keeps working on it)."""
    from daemon.audit import current_actor
    from daemon.service.client import SocketClient, daemon_serving
    from roster_tui.embedded import PerCallEngine

    if where.socket is not None and daemon_serving(where):
        client = SocketClient(where.socket).connect()
        try:
            yield client
        finally:
            client.close()
        return
    yield PerCallEngine(where.database, current_actor()).prepare()


def run_demo(ansi: bool) -> int:
    from daemon.audit import current_actor
    from daemon.demo import build_demo
    from roster_tui.app import RosterApp
    from roster_tui.embedded import PerCallEngine

    folder = Path(tempfile.mkdtemp(prefix="roster-demo-"))
    try:
        print(f"Building a demo database (the sample district) in {folder} …", file=sys.stderr)
        path = build_demo(folder, fixed_time=datetime.now())  # nightly drops before today
        client = PerCallEngine(path, current_actor()).prepare()
        RosterApp(client, ansi=ansi, demo_path=path).run()
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # made by mkdtemp above: ours to remove
    print("The demo database was temporary and is gone; scripts/demo.sh keeps one in .demo/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
