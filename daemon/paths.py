"""Where Roster Sync keeps its files when nobody says otherwise (XDG base directories)."""

from __future__ import annotations

import os
from pathlib import Path

DB_ENV = "ROSTER_SYNC_DB"


def data_home() -> Path:
    """The XDG spec says a relative XDG_DATA_HOME is invalid and is ignored, like an empty one."""
    base = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        base = str(Path.home() / ".local" / "share")
    return Path(base) / "roster-sync"


def default_database_path() -> Path:
    return data_home() / "roster.duckdb"


def resolve_database_path(explicit: str | os.PathLike[str] | None) -> Path:
    """`--db` wins, then `ROSTER_SYNC_DB`, then the XDG data directory."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(DB_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return default_database_path()
