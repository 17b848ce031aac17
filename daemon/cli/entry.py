"""The installed `roster-sync` command. Ctrl-C while Python still loads the program is one line,
as it is later (it was a traceback: the program's imports run before `main` can catch it)."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from daemon.cli.main import main as run
    except KeyboardInterrupt:
        print("roster-sync: interrupted", file=sys.stderr)
        return 130
    return run()
