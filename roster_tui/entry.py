"""The installed `roster-tui` command. Ctrl-C while Python still loads the program is one line,
as it is later (it was a traceback: the program's imports run before `main` can catch it)."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from roster_tui.__main__ import main as run
    except KeyboardInterrupt:
        print("roster-tui: interrupted", file=sys.stderr)
        return 130
    return run()
