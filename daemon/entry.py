"""The installed commands start here. Ctrl-C while Python still loads a program is one line, as
it is later (it was a traceback: a program's imports run before its `main` can catch it), and so
is one that escapes `main` (Python's KeyboardInterrupt firing while `main` handled DuckDB's
"Query interrupted")."""

from __future__ import annotations

import importlib
import sys


def run_program(name: str, module: str) -> int:
    """`module`'s main(), loaded here, where Ctrl-C is caught."""
    try:
        program = importlib.import_module(module)
        return int(program.main())
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
