"""The daemon's Unix socket: JSON lines in, JSON lines out, each call checked against roles.

The caller's Unix user is read from the socket (peer credentials), never from the message.
"""

from __future__ import annotations

import grp
import json
import logging
import os
import pwd
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from daemon.service.api import (
    METHODS,
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
    ) -> None:
        self.path = path
        self.roles = roles
        self.engine_factory = engine_factory
        self.write_lock = write_lock
        self.group = group
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

    def _serve_connection(self, handler: socketserver.StreamRequestHandler) -> None:
        uid, user, groups = peer_identity(handler.connection)
        roles = roles_for(uid, user, groups, self.roles)
        while True:
            line = handler.rfile.readline(MAX_REQUEST_BYTES + 1)
            if not line:
                return
            response = self._answer(line, user, roles)
            handler.wfile.write(response.model_dump_json().encode() + b"\n")
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
            return Response(
                id=request.id, ok=False, error=ErrorBody(type="PermissionDenied", message=str(exc))
            )
        except Exception as exc:  # every error travels back as a message, never a dropped link
            if not isinstance(exc, ValueError | PermissionError | LookupError | OSError):
                LOG.exception("%s by %s failed", request.method, user)
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Response(
                id=request.id, ok=False, error=ErrorBody(type=type(exc).__name__, message=message)
            )

    def _call(self, request: Request, user: str) -> Any:
        with self.engine_factory(user) as engine:
            method = getattr(engine, request.method)
            if (
                request.method in WRITES and request.method != "sync_now"
            ):  # sync_now only sets a flag
                with self.write_lock:
                    result = method(**request.params)
                LOG.info(
                    "%s by %s: %s",
                    request.method,
                    user,
                    json.dumps(request.params, default=str)[:200],
                )
                return result
            return method(**request.params)


assert set(METHODS)  # the registry is the single list of operations
