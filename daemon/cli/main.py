"""`roster-sync`: the command line. Scripts rely on its commands, flags and JSON keys."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, NoReturn

from daemon.cli import (
    commands_directory,
    commands_duplicates,
    commands_runs,
    commands_service,
    commands_sources,
)
from daemon.cli.errors import CliError
from daemon.cli.render import printable_output, set_hint_command
from daemon.errors import EXPECTED, interrupted
from daemon.formats.controls import printable
from daemon.service.api import WRITES
from daemon.service.client import ApiError, DaemonUnavailable, SocketClient

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


def not_utf8(argv: Sequence[str]) -> str | None:
    """The first argument that is not valid UTF-8 (a byte the terminal or a file name carries
    in another encoding), shown with its bytes escaped; None when all are."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raw = os.fsencode(arg)
            return raw.decode("utf-8", "backslashreplace")
    return None


def write_in_flight(tb: TracebackType | None) -> dict[str, Any] | None:
    """The parameters of a write this command had sent to the daemon when it was cut off (Ctrl-C,
    no answer in time, a lost link), or None: such a write may still have been done."""
    while tb is not None:
        local = tb.tb_frame.f_locals
        if isinstance(local.get("self"), SocketClient) and local.get("method") in WRITES:
            return dict(local.get("params") or {})
        tb = tb.tb_next
    return None


def maybe_done(params: dict[str, Any]) -> str:
    run_id = params.get("run_id")
    where = f"roster-sync show {run_id}" if isinstance(run_id, int) else "roster-sync status"
    return f"the daemon may still have done it: check with {where}"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    wrong = not_utf8(arguments)
    if wrong is not None:  # refused before anything is asked, the same with or without daemon
        return _fail(
            f"argument '{wrong}' is not valid UTF-8: rename the folder or type it again", 2
        )
    parser = build_parser()
    args = parser.parse_args(arguments)
    set_hint_command(getattr(args, "db", None), getattr(args, "config", None))
    handler: Handler = args.handler
    try:
        with printable_output(json_output=getattr(args, "json", False)):
            return handler(args)
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        return 0
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except DaemonUnavailable as exc:  # no answer in time, or the link was lost: maybe done
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sent = write_in_flight(exc.__traceback__)
        if sent is not None and "whether it was done" not in message:
            message = f"{message}; {maybe_done(sent)}"
        return _fail(message)
    except ApiError as exc:
        if exc.internal:  # the daemon's log has the details
            return _fail(f"internal error in the daemon: {exc.type}: {exc} (see the daemon's log)")
        return _fail(str(exc).splitlines()[0] if str(exc) else exc.type)
    except EXPECTED as exc:  # the error family, or an OSError about a path the caller named
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except KeyboardInterrupt as exc:
        return _interrupted(exc, args)
    except Exception as exc:  # never a traceback for an administrator
        if interrupted(exc):  # Ctrl-C while DuckDB ran a statement
            return _interrupted(exc, args)
        if os.environ.get("ROSTER_SYNC_DEBUG"):
            raise
        return _fail(
            f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (set ROSTER_SYNC_DEBUG=1 for details)"
        )


def _interrupted(exc: BaseException, args: argparse.Namespace) -> int:
    sent = write_in_flight(exc.__traceback__)
    if sent is not None:
        return _fail(f"interrupted; {maybe_done(sent)}", 130)
    check = getattr(args, "interrupted_check", None)  # a command that changes a run
    if check is not None:
        where = check.format(run=getattr(args, "run", ""))
        return _fail(f"interrupted; it may have been done (whole) already: check with {where}", 130)
    return _fail("interrupted", 130)


def _fail(message: str, code: int = 1) -> int:
    print(f"roster-sync: {printable(_shortened(message))}", file=sys.stderr)
    return code


_LONG_WORD = re.compile(r"\S{200,}")


def _shortened(message: str) -> str:
    """The message with any value of 200 characters or more (a pasted file, a stuck key) cut
    to its opening, its end (a path's file name) and its length: the line stays one a terminal
    shows."""

    def cut(match: re.Match[str]) -> str:
        word = match.group()
        return f"{word[:50]}…{word[-50:]} ({len(word):,} characters)"

    return _LONG_WORD.sub(cut, message)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
