"""The audit log: who did what to the directory or the sync, and when."""

from __future__ import annotations

import getpass
import json
import os
from typing import Any

from daemon.db import Database


def current_actor() -> str:
    """The Unix user running this process (the daemon passes the caller's user instead)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def audit(
    db: Database,
    actor: str,
    action: str,
    *,
    target_kind: str | None = None,
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    db.execute(
        "INSERT INTO audit_log VALUES (nextval('audit_ids'), current_timestamp, ?, ?, ?, ?, ?)",
        [actor, action, target_kind, target_id, json.dumps(details or {}, default=str)],
    )
