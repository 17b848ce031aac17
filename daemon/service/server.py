"""The daemon's Unix socket: JSON lines in, JSON lines out, each call checked against roles.

The caller's Unix user is read from the socket (peer credentials), never from the message.
Every member of the socket's group can connect, so a connection costs the daemon little and
never lasts: a peer without a role is told so and closed at once, an idle connection is closed
after `idle_seconds` (clients connect again when they next need to), and each Unix user may hold
at most `per_user` connections (and everyone together `max_connections`), so nobody can use up
the daemon's file descriptors. The log names operations, callers and field names, never values.
"""

from __future__ import annotations

import contextlib
import grp
import json
import logging
import os
import pwd
import socket
import socketserver
import struct
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from daemon.errors import EXPECTED, RosterSyncError, title_for
from daemon.service.api import (
    METHODS,
    UNLOCKED,
    WRITES,
    ErrorBody,
    PermissionDenied,
    Request,
    Response,
    check,
)
from daemon.service.config import RolesConfig

LOG = logging.getLogger("roster_sync.api")
MAX_REQUEST_BYTES = 1 << 20
IDLE_SECONDS = 60.0  # a connection with no request for this long is closed
PER_USER = 16  # open connections per Unix user (a TUI holds one; each CLI command one)
MAX_CONNECTIONS = 256  # open connections in all
WARN_EVERY = 60.0  # seconds between two log lines about one caller's refused connections

EngineFactory = Callable[[str], AbstractContextManager[Any]]


def peer_identity(sock: socket.socket) -> tuple[int, str, set[str]]:
    """(uid, user name, group names) of the process at the other end."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, gid = struct.unpack("3i", creds)
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return uid, f"uid:{uid}", set()
    groups = set()
    for g in os.getgrouplist(name, gid):
        try:
            groups.add(grp.getgrgid(g).gr_name)
        except KeyError:
            continue
    return uid, name, groups


def roles_for(uid: int, user: str, groups: set[str], config: RolesConfig) -> set[str]:
    """root and the daemon's own user may do everything; others get what the config names."""
    if uid == 0 or uid == os.getuid():
        return {"rostering_admin"}
    roles = set()
    for role in ("rostering_admin", "users_manager", "viewer"):
        for entry in getattr(config, role):
            if entry == user or (entry.startswith("@") and entry[1:] in groups):
                roles.add(role)
    return roles


def no_role_message(user: str) -> str:
    return (
        f"{user} may not use Roster Sync: it needs the role viewer at least (you have: no role); "
        "ask for it in the daemon's [roles] config"
    )


class Busy(RosterSyncError):
    """The daemon will not take another connection from this caller now."""

    title = "Daemon unavailable"
    wire_type = "DaemonUnavailable"  # the client's name for it (daemon/service/client.py)


def field_names(params: dict[str, Any]) -> str:
    """What a write touched, for the log: parameter and field names, never their values
    (a guardian's e-mail or phone number must not end up in the journal)."""
    parts = []
    for name, value in params.items():
        if isinstance(value, dict):
            parts.append(f"{name}: {', '.join(sorted(map(str, value))) or '-'}")
        elif value is not None:
            parts.append(name)
    return "; ".join(parts) or "no parameters"


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return json.loads(json.dumps(value, default=str))


class ApiServer:
    def __init__(
        self,
        path: Path,
        roles: RolesConfig,
        engine_factory: EngineFactory,
        write_lock: threading.Lock,
        group: str | None = None,
        *,
        idle_seconds: float = IDLE_SECONDS,
        per_user: int = PER_USER,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.path = path
        self.roles = roles
        self.engine_factory = engine_factory
        self.write_lock = write_lock
        self.group = group
        self.idle_seconds = idle_seconds
        self.per_user = per_user
        self.max_connections = max_connections
        self._open: Counter[int] = Counter()
        self._open_lock = threading.Lock()
        self._warned: dict[int, float] = {}
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.unlink()  # a stale socket of a daemon that was killed
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer._serve_connection(self)

        old_umask = os.umask(0o117)
        try:
            self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        finally:
            os.umask(old_umask)
        self._server.daemon_threads = True
        os.chmod(self.path, 0o660)
        if self.group:
            os.chown(self.path, -1, grp.getgrnam(self.group).gr_gid)
        self._thread = threading.Thread(target=self._server.serve_forever, name="api", daemon=True)
        self._thread.start()
        LOG.info(
            "listening on %s (mode 0660%s)",
            self.path,
            f", group {self.group}" if self.group else "",
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.path.exists():
            self.path.unlink()

    def open_connections(self) -> int:
        with self._open_lock:
            return sum(self._open.values())

    def _serve_connection(self, handler: socketserver.StreamRequestHandler) -> None:
        uid, user, groups = peer_identity(handler.connection)
        roles = roles_for(uid, user, groups, self.roles)
        if not roles:
            self._warn_once(uid, "refused connections from %s: no role", user)
            self._refuse(handler, PermissionDenied(no_role_message(user)))
            return
        refusal = self._admit(uid, user)
        if refusal is not None:
            self._warn_once(uid, "refused connections from %s: %s", user, refusal)
            self._refuse(handler, Busy(refusal))
            return
        try:
            handler.connection.settimeout(self.idle_seconds)
            while True:
                try:
                    line = handler.rfile.readline(MAX_REQUEST_BYTES + 1)
                except OSError:  # idle too long (or reset): the client connects again
                    return
                if not line:
                    return
                response = self._answer(line, user, roles)
                handler.wfile.write(response.model_dump_json().encode() + b"\n")
                handler.wfile.flush()
        except OSError:
            return  # the client went away while we answered
        finally:
            with self._open_lock:
                self._open[uid] -= 1
                if self._open[uid] <= 0:
                    del self._open[uid]

    def _warn_once(self, uid: int, message: str, *args: Any) -> None:
        """A refusal is logged once a minute per caller: a flood must not flood the journal."""
        now = time.monotonic()
        with self._open_lock:
            if now - self._warned.get(uid, -WARN_EVERY) < WARN_EVERY:
                return
            self._warned[uid] = now
        LOG.warning(message, *args)

    def _admit(self, uid: int, user: str) -> str | None:
        """Count the connection in, or say why not."""
        with self._open_lock:
            held = self._open[uid]
            if held >= self.per_user:
                return (
                    f"the daemon is busy: {user} already has {held} connection"
                    f"{'s' if held != 1 else ''} open (the limit per user); close other "
                    "roster-tui sessions or wait for your commands to finish, then try again"
                )
            if sum(self._open.values()) >= self.max_connections:
                return "the daemon is busy: too many connections are open; try again in a moment"
            self._open[uid] += 1
        return None

    def _refuse(self, handler: socketserver.StreamRequestHandler, exc: Exception) -> None:
        """One line saying why, then the connection is closed."""
        body = ErrorBody(
            type=getattr(exc, "wire_type", type(exc).__name__),
            message=str(exc),
            title=title_for(exc),
        )
        with contextlib.suppress(OSError):
            handler.connection.settimeout(1)
            handler.wfile.write(Response(ok=False, error=body).model_dump_json().encode() + b"\n")
            handler.wfile.flush()

    def _answer(self, line: bytes, user: str, roles: set[str]) -> Response:
        try:
            request = Request.model_validate_json(line)
        except ValueError as exc:
            return Response(
                ok=False, error=ErrorBody(type="BadRequest", message=f"not a valid request: {exc}")
            )
        try:
            check(roles, request.method, user)
            result = self._call(request, user)
            return Response(id=request.id, ok=True, result=to_jsonable(result))
        except PermissionDenied as exc:
            LOG.warning("refused %s to %s: %s", request.method, user, exc)
            body = ErrorBody(type="PermissionDenied", message=str(exc), title=exc.title)
            return Response(id=request.id, ok=False, error=body)
        except Exception as exc:  # every error travels back as a message, never a dropped link
            internal = not isinstance(exc, EXPECTED)
            if internal:  # the traceback without the message: it may quote values
                LOG.error(
                    "%s by %s failed with %s:\n%s",
                    request.method,
                    user,
                    type(exc).__name__,
                    "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
                )
            else:  # an answer, not a fault: the type only (the message may quote values)
                LOG.info("%s by %s refused: %s", request.method, user, type(exc).__name__)
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            body = ErrorBody(
                type=type(exc).__name__,
                message=message,
                internal=internal,
                title=None if internal else title_for(exc),
            )
            return Response(id=request.id, ok=False, error=body)

    def _call(self, request: Request, user: str) -> Any:
        with self.engine_factory(user) as engine:
            method = getattr(engine, request.method)
            if request.method in WRITES and request.method not in UNLOCKED:
                with self.write_lock:
                    result = method(**request.params)
                LOG.info("%s by %s (%s)", request.method, user, field_names(request.params))
                return result
            return method(**request.params)


assert set(METHODS)  # the registry is the single list of operations
