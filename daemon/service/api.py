"""The local API: which engine calls travel over the daemon's socket, and who may make them.

The operations and their roles are declared once, on the engine's methods (`@operation(ROLE)`,
daemon/service/operations.py); this module derives its method table from them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from daemon.errors import RosterSyncError
from daemon.service.engine import Engine
from daemon.service.operations import (
    READ,
    ROLE_ORDER,
    declared_operations,
)

# method name -> the least role that may call it: the operations Engine declares
METHODS: dict[str, str] = dict(declared_operations(Engine))
# Writes that do not take the write lock: sync_now only sets a flag; notify_test talks to mail
# and web servers (seconds) and writes nothing, so it never holds up the loop or other calls;
# set_aside_drop asks the loop, which writes under the lock itself (and waits for it here).
UNLOCKED = {"sync_now", "notify_test", "set_aside_drop"}
WRITES = {name for name, role in METHODS.items() if role != READ} - {"duplicates_list"}
# Item types of paged results, so a client can rebuild them.
PAGE_ITEMS = {
    "change_page": "Change",
    "results_page": "RowResult",
    "conflicts": "Conflict",
    "withheld_page": "WithheldArchive",
    "duplicates_list": "DuplicateCandidate",
    "find_users": "UserRow",
    "find_classrooms": "ClassroomRow",
}


class Request(BaseModel):
    id: int = 0
    method: str
    params: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    type: str
    message: str
    internal: bool = False  # a fault of Roster Sync, not of the request (logged by the daemon)
    title: str | None = None  # an expected error's title (RosterSyncError.title), for notices


class Response(BaseModel):
    id: int = 0
    ok: bool
    result: Any = None
    error: ErrorBody | None = None


class PermissionDenied(RosterSyncError, PermissionError):
    """The caller's Unix user has no role that allows the call."""

    title = "Permission denied"


def allowed(roles: set[str], method: str) -> bool:
    need = METHODS.get(method)
    if need is None:
        return False
    return any(ROLE_ORDER[r] >= ROLE_ORDER[need] for r in roles if r in ROLE_ORDER)


def check(roles: set[str], method: str, user: str) -> None:
    if method not in METHODS:
        raise PermissionDenied(f"'{method}' is not an operation of the Roster Sync API")
    if not allowed(roles, method):
        raise PermissionDenied(
            f"{user} may not {method.replace('_', ' ')}: it needs the role {METHODS[method]} "
            f"(you have: {', '.join(sorted(roles)) or 'no role'}); ask for it in the daemon's [roles] config"
        )
