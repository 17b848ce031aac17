"""The installed `roster-sync` command (see daemon/entry.py)."""

from __future__ import annotations

from daemon.entry import run_program


def main() -> int:
    return run_program("roster-sync", "daemon.cli.main")
