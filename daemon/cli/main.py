"""`roster-sync`: the command line. Scripts rely on its commands, flags and JSON keys."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

from daemon.cli import (
    commands_directory,
    commands_duplicates,
    commands_runs,
    commands_service,
    commands_sources,
)
from daemon.cli.errors import CliError
from daemon.cli.render import set_hint_command
from daemon.errors import EXPECTED
from daemon.service.client import ApiError

Handler = Callable[[argparse.Namespace], int]
DB_HELP = "database file (default: $ROSTER_SYNC_DB or the XDG data dir)"
CONFIG_HELP = "daemon config file (TOML): finds the database and socket"


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake in the arguments is one line that says where to look."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("roster-sync").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"roster-sync: {where}{message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="roster-sync",
        description="Keep the roster directory in step with the SIS's OneRoster drops.",
    )
    parser.add_argument("--db", metavar="PATH", help=DB_HELP)
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.set_defaults(creates_database=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    commands_runs.register(sub)
    commands_directory.register(sub)
    commands_duplicates.register(sub)
    commands_sources.register(sub)
    commands_service.register(sub)
    for command in subcommands(parser):
        # `roster-sync daemon --config FILE` works as well as `roster-sync --config FILE daemon`;
        # SUPPRESS keeps a value given before the command when none is given after it.
        command.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help=DB_HELP)
        command.add_argument(
            "--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP
        )
    return parser


def subcommands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser below `parser`, depth first (`schools`, then `schools list`, ...)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield child
                yield from subcommands(child)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    set_hint_command(getattr(args, "db", None), getattr(args, "config", None))
    handler: Handler = args.handler
    try:
        return handler(args)
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        return 0
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except ApiError as exc:
        if exc.internal:  # the daemon's log has the details
            return _fail(f"internal error in the daemon: {exc.type}: {exc} (see the daemon's log)")
        return _fail(str(exc).splitlines()[0] if str(exc) else exc.type)
    except EXPECTED as exc:  # the error family, or an OSError about a path the caller named
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:  # never a traceback for an administrator
        if os.environ.get("ROSTER_SYNC_DEBUG"):
            raise
        return _fail(
            f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (set ROSTER_SYNC_DEBUG=1 for details)"
        )


def _fail(message: str, code: int = 1) -> int:
    print(f"roster-sync: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
