"""The local API: which engine calls travel over the daemon's socket, and who may make them.

Roles follow the seed product's permissions: `viewer` reads, `users_manager` also edits contact
details, `rostering_admin` does everything else (approve, reject, merge, unarchive, settings).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["viewer", "users_manager", "rostering_admin"]
ROLE_ORDER: dict[str, int] = {"viewer": 0, "users_manager": 1, "rostering_admin": 2}

READ = "viewer"
CONTACTS = "users_manager"
ADMIN = "rostering_admin"

# method name -> the least role that may call it
METHODS: dict[str, str] = {
    # reading
    "status": READ,
    "list_runs": READ,
    "get_run": READ,
    "change_page": READ,
    "results_page": READ,
    "conflicts": READ,
    "settings_show": READ,
    "list_schools": READ,
    "find_users": READ,
    "find_classrooms": READ,
    "user_detail": READ,
    "classroom_detail": READ,
    "duplicates_list": READ,
    "check": READ,
    "notify_status": READ,
    # contact details
    "edit_contact": CONTACTS,
    "set_account_active": CONTACTS,
    # administration
    "plan_source": ADMIN,
    "apply_run": ADMIN,
    "reject_run": ADMIN,
    "replan_run": ADMIN,
    "resolve_conflicts": ADMIN,
    "settings_set": ADMIN,
    "export": ADMIN,
    "create_school": ADMIN,
    "add_school_sis_id": ADMIN,
    "create_classroom": ADMIN,
    "set_classroom_sis_id": ADMIN,
    "rename_classroom": ADMIN,
    "add_classroom_member": ADMIN,
    "create_user": ADMIN,
    "link_guardian": ADMIN,
    "archive_user": ADMIN,
    "unarchive_user": ADMIN,
    "duplicates_scan": ADMIN,
    "duplicates_merge": ADMIN,
    "duplicates_reject": ADMIN,
    "duplicates_skip": ADMIN,
    "duplicates_undo": ADMIN,
    "duplicates_undo_last": ADMIN,
    "archive_unsynced": ADMIN,
    "sync_now": ADMIN,
    "notify_test": ADMIN,
}
# Writes that do not take the write lock: sync_now only sets a flag; notify_test talks to mail
# and web servers (seconds) and writes nothing, so it never holds up the loop or other calls.
UNLOCKED = {"sync_now", "notify_test"}
WRITES = {name for name, role in METHODS.items() if role != READ} - {"duplicates_list"}
# Item types of paged results, so a client can rebuild them.
PAGE_ITEMS = {
    "change_page": "Change",
    "results_page": "RowResult",
    "conflicts": "Conflict",
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


class Response(BaseModel):
    id: int = 0
    ok: bool
    result: Any = None
    error: ErrorBody | None = None


class PermissionDenied(PermissionError):
    """The caller's Unix user has no role that allows the call."""


def user_errors() -> tuple[type[BaseException], ...]:
    """What the engine raises for a request it cannot do as asked: the caller's mistake (told as
    one line), never a fault (which the daemon logs and reports as an internal error)."""
    from daemon.db import DatabaseLocked, DatabaseUnusable, SchemaTooNew
    from daemon.directory.errors import EditRefused
    from daemon.formats.drop import DropError
    from daemon.formats.encoding import EncodingRefused
    from daemon.ingest.header import FileRefused
    from daemon.notify.config import NotifyError
    from daemon.service.sftp import SftpError
    from daemon.settings import SettingError
    from daemon.sync.conflicts import ConflictError
    from daemon.sync.export import ExportError
    from daemon.sync.runs import RunError

    return (
        RunError,
        ExportError,
        EditRefused,
        SettingError,
        ConflictError,
        DropError,
        FileRefused,
        EncodingRefused,
        SftpError,
        NotifyError,
        PermissionDenied,
        DatabaseLocked,
        DatabaseUnusable,
        SchemaTooNew,
        OSError,  # a path the caller named: not found, not allowed, a folder
    )


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
