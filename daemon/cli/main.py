"""`roster-sync`: the command line. Scripts rely on its commands, flags and JSON keys."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from daemon.cli import commands_directory, commands_duplicates, commands_runs, commands_service
from daemon.cli.errors import USER_ERRORS, CliError

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roster-sync",
        description="Keep the roster directory in step with the SIS's OneRoster drops.",
    )
    parser.add_argument(
        "--db", metavar="PATH", help="database file (default: $ROSTER_SYNC_DB or the XDG data dir)"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="daemon config file (TOML): finds the database and socket"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    commands_runs.register(sub)
    commands_directory.register(sub)
    commands_duplicates.register(sub)
    commands_service.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except USER_ERRORS as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        return 0
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


def print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
        text = "[" + ",\n".join(v.model_dump_json(indent=2) for v in value) + "]"
    else:
        text = json.dumps(value, indent=2, default=str)
    print(text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
