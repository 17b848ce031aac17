"""The installed `roster-tui` command (see daemon/entry.py)."""

from __future__ import annotations

from daemon.entry import run_program


def main() -> int:
    return run_program("roster-tui", "roster_tui.__main__")
