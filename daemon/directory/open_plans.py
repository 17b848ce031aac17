"""Plans go stale when the directory changes under them.

A run is planned against one directory version; every transaction that changes the directory (a
hand edit, a conflict's feed value taken at once, an apply) supersedes the runs still open, so
nobody approves a plan made against a directory that no longer exists. It lives here, below both
the hand edits and the sync, so neither has to import the other for it.
"""

from __future__ import annotations

from daemon.db import Database


def supersede_open_runs(db: Database, except_run: int | None = None) -> None:
    """Called inside every transaction that changes the directory."""
    db.execute(
        "UPDATE runs SET status = 'superseded' WHERE status IN ('planned', 'held') AND run_id <> ?",
        [except_run if except_run is not None else -1],
    )
