"""Who holds a locked database file, in words: DuckDB names the holder's program and PID."""

from __future__ import annotations

import os
import pwd
import re
from pathlib import Path

# DuckDB: 'Conflicting lock is held in /usr/bin/python3.11 (PID 12464) by user alice.'
HOLDER = re.compile(
    r"lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)(?: by user (?P<user>\S+?))?[.,]?(?:\s|$)"
)
# `python -m MODULE` for the two programs, named as installed
MODULES = {
    "daemon.cli.main": "roster-sync",
    "daemon.cli": "roster-sync",
    "roster_tui": "roster-tui",
}


def lock_holder(duckdb_message: str, proc: Path = Path("/proc")) -> str | None:
    """'roster-tui (PID 12464, user alice)', or None when DuckDB did not say who holds it."""
    found = HOLDER.search(duckdb_message)
    if found is None:
        return None
    pid = found["pid"]
    program = _program(proc / pid / "cmdline") or Path(found["program"]).name
    user = found["user"] or _owner(proc / pid)
    return f"{program} (PID {pid}{f', user {user}' if user else ''})"


def _program(cmdline: Path) -> str | None:
    """The command as a person ran it: the script a Python interpreter runs, not the interpreter;
    for roster-sync also its subcommand ('roster-sync daemon')."""
    try:
        args = [a for a in cmdline.read_bytes().decode(errors="replace").split("\0") if a]
    except OSError:
        return None
    if not args:
        return None
    if Path(args[0]).name.startswith("python") and len(args) > 1:
        if args[1] == "-m" and len(args) > 2:
            module, args = args[2], args[2:]
            if module not in MODULES:
                return f"python -m {module}"
            args[0] = MODULES[module]
        elif args[1].startswith("-"):  # python -c '...', an interactive session
            return f"{Path(args[0]).name} {args[1]}"
        else:
            args = args[1:]
    name = Path(args[0]).name
    if name == "roster-sync":
        words = _subcommand(args[1:])
        return f"roster-sync {words}" if words else name
    return name


def _subcommand(args: list[str]) -> str:
    """The first word that is not an option or an option's value (--db PATH, --config FILE)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--db", "--config", "--socket"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return ""


def _owner(process: Path) -> str | None:
    try:
        return pwd.getpwuid(os.stat(process).st_uid).pw_name
    except (OSError, KeyError):
        return None
