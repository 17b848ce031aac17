"""The daemon's Unix socket: JSON lines in, JSON lines out, each call checked against roles.

The caller's Unix user is read from the socket (peer credentials), never from the message.
Every member of the socket's group can connect, so a connection costs the daemon little and
never lasts: a peer without a role is told so and closed at once, an idle connection is closed
after `idle_seconds` (clients connect again when they next need to), and each Unix user may hold
at most `per_user` connections (and everyone together `max_connections`), so nobody can use up
the daemon's file descriptors. The log names operations, callers and field names, never values.

Every request is checked before it runs: the operation must exist, its parameters are those of
the Engine method and of its types (a one-line BadRequest otherwise, not a fault), and a path it
names must be one the caller could read (a drop) or write (an export) itself, since the daemon
acts with its own rights. A write waits for the write lock while looking whether its caller is
still there: one whose caller hung up is dropped, never done behind their back.
"""

from __future__ import annotations

import contextlib
import functools
import grp
import inspect
import json
import logging
import os
import pwd
import select
import socket
import socketserver
import stat
import struct
import threading
import time
import traceback
import typing
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

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
from daemon.service.config import RolesConfig, socket_group_id
from daemon.service.engine import Engine

LOG = logging.getLogger("roster_sync.api")
MAX_REQUEST_BYTES = 1 << 20
IDLE_SECONDS = 60.0  # a connection with no request for this long is closed
PER_USER = 16  # open connections per Unix user (a TUI holds one; each CLI command one)
MAX_CONNECTIONS = 256  # open connections in all
WARN_EVERY = 60.0  # seconds between two log lines about one caller's refused connections
# how often the serving thread looks whether it was asked to stop: a stop (of the daemon) waits up
# to this long for it (the tests, which start and stop hundreds of daemons, shorten it)
STOP_POLL_SECONDS = 0.5
LOCK_POLL = (
    0.2  # while a write waits for the write lock, how often it looks whether the caller left
)
# Operations that read (a drop) or write (an export) a path the caller names: the parameter.
READS_PATH = {"plan_source": "source"}
WRITES_PATH = {"export": "folder"}

EngineFactory = Callable[[str], AbstractContextManager[Any]]


@dataclass(frozen=True)
class Caller:
    """The Unix user at the other end of a connection, from the socket's peer credentials."""

    uid: int
    name: str
    groups: set[str] = field(default_factory=set)  # names, for [roles]
    gids: frozenset[int] = frozenset()  # ids, for the mode bits of the paths it names


def peer_caller(sock: socket.socket) -> Caller:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, gid = struct.unpack("3i", creds)
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return Caller(uid, f"uid:{uid}", set(), frozenset({gid}))
    gids = frozenset({gid, *os.getgrouplist(name, gid)})
    groups = set()
    for g in gids:
        try:
            groups.add(grp.getgrgid(g).gr_name)
        except KeyError:
            continue
    return Caller(uid, name, groups, gids)


def peer_identity(sock: socket.socket) -> tuple[int, str, set[str]]:
    """(uid, user name, group names) of the process at the other end."""
    caller = peer_caller(sock)
    return caller.uid, caller.name, caller.groups


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


class SocketPathError(RosterSyncError):
    """The socket cannot be made where the config says; the message says why and what to do."""

    title = "Daemon socket"


class BadRequest(RosterSyncError):
    """A request the API cannot take: not JSON, an unknown operation, wrong parameters."""

    title = "Not a valid request"


class PathRefused(PermissionDenied):
    """The caller named a path it could not read (or write into) itself."""


class _Abandoned(Exception):
    """The caller hung up while its write waited for the write lock: nothing was done."""


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


def remove_socket(path: Path) -> None:
    """Remove a socket left at `path`; anything else there is refused, never removed (the
    config's `socket` may name the database by mistake)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise SocketPathError(
            f"socket path {path} exists and is not a socket; name a free path for `socket` in "
            "the daemon's config"
        )
    path.unlink()


# ------------------------------------------------------------------------- parameters
@functools.cache
def parameters_of(method: str) -> type[BaseModel]:
    """The operation's parameters as a model, from the Engine method's signature and hints
    (built once per operation): unknown names are refused, values are checked and converted."""
    function = getattr(Engine, method)
    hints = typing.get_type_hints(function)
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(function).parameters.items():
        if name == "self":
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hints.get(name, Any), default)
    config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    model: type[BaseModel] = create_model(f"{method}_parameters", __config__=config, **fields)
    return model


def shown(value: object, limit: int = 40) -> str:
    """A name from a request, safe to quote in one line (escaped, shortened)."""
    text = repr(str(value))
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def checked_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as the operation takes them, or BadRequest in one line."""
    model = parameters_of(method)
    try:
        values = model.model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = shown(first["loc"][0]) if first["loc"] else "its parameters"
        takes = ", ".join(model.model_fields) or "no parameters"
        if first["type"] == "extra_forbidden":
            raise BadRequest(f"{method} has no parameter {name} (it takes: {takes})") from None
        if first["type"] == "missing":
            raise BadRequest(f"{method} needs the parameter {name}") from None
        raise BadRequest(f"{method}: {name}: {first['msg']}") from None
    return {name: getattr(values, name) for name in params}  # in the caller's order


def bad_json_message(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if first["type"] != "json_invalid" and where:
            return f"not a valid request: {shown(where)}: {first['msg']}"
    return "not a valid request: send one JSON object per line, in UTF-8"


# ------------------------------------------------------------------------- paths
def _allows(st: os.stat_result, caller: Caller, want: int) -> bool:
    """Whether the mode bits give `caller` every bit of `want` (4 read, 2 write, 1 search)."""
    if st.st_uid == caller.uid:
        bits = st.st_mode >> 6
    elif st.st_gid in caller.gids:
        bits = st.st_mode >> 3
    else:
        bits = st.st_mode
    return bits & want == want


def _searchable_up_to(path: Path, caller: Caller) -> Path | None:
    """The deepest existing folder or file of `path` the caller reaches by searching every folder
    above it; None when a folder on the way is closed to it."""
    reached = Path(path.anchor)
    for part in path.parts[1:]:
        try:
            st = reached.stat()
        except OSError:
            return reached
        if not _allows(st, caller, 1):
            return None
        if not (reached / part).exists():
            return reached
        reached = reached / part
    return reached


def may_read(path: str, caller: Caller) -> bool:
    """Whether the caller could read the drop at `path` itself: search along the way, read on a
    file, read and search on a folder and read on what is directly in it (a link in it judged
    by where it leads, as the loader would follow it)."""
    real = Path(os.path.realpath(path))
    reached = _searchable_up_to(real, caller)
    if reached is None:
        return False
    if reached != real:
        return True  # not there: the operation says so, as it would to the caller
    try:
        st = real.stat()
        if not stat.S_ISDIR(st.st_mode):
            return _allows(st, caller, 4)
        if not _allows(st, caller, 5):
            return False
        for entry in os.scandir(real):
            inner = Path(os.path.realpath(entry.path))
            if entry.is_symlink():
                beyond = _searchable_up_to(inner, caller)
                if beyond is None:
                    return False
                if beyond != inner:
                    continue  # a link to nothing: the loader says so
            st = inner.stat()
            if not _allows(st, caller, 5 if stat.S_ISDIR(st.st_mode) else 4):
                return False
    except OSError:
        return True  # gone meanwhile: the operation says so
    return True


def may_write_into(path: str, caller: Caller) -> bool:
    """Whether the caller could make `path` (or write into it, if it is a folder) itself: write
    and search on the folder, or on the deepest folder above it that exists."""
    real = Path(os.path.realpath(path))
    reached = _searchable_up_to(real, caller)
    if reached is None:
        return False
    try:
        st = reached.stat()
    except OSError:
        return True
    if not stat.S_ISDIR(st.st_mode):
        return True  # a file on the way: export says so
    return _allows(st, caller, 3)


def check_paths(method: str, params: dict[str, Any], caller: Caller) -> None:
    """The daemon reads and writes with its own rights: it acts only on paths the caller could
    read (a drop) or write (an export) itself. root may do anything."""
    if caller.uid == 0:
        return
    read = params.get(READS_PATH.get(method, ""))
    if read is not None and not may_read(str(read), caller):
        raise PathRefused(
            f"you ({caller.name}) cannot read {read}; the daemon acts only on "
            "paths you could read yourself"
        )
    written = params.get(WRITES_PATH.get(method, ""))
    if written is not None and not may_write_into(str(written), caller):
        raise PathRefused(
            f"you ({caller.name}) cannot write into {written}; the daemon acts only "
            "on paths you could write yourself"
        )


def caller_left(sock: socket.socket) -> bool:
    """Whether the client hung up: its end is readable and reading it would give no bytes."""
    try:
        if not select.select([sock], [], [], 0)[0]:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


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
        self._warned: dict[tuple[int, str], float] = {}
        self._suppressed: Counter[tuple[int, str]] = Counter()
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the socket; whatever can fail is checked first, so a daemon that cannot serve
        leaves nothing bound behind it."""
        gid = socket_group_id(self.group)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_socket(self.path)  # a stale socket of a daemon that was killed; nothing else
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
        try:
            os.chmod(self.path, 0o660)
            if gid is not None:
                os.chown(self.path, -1, gid)
        except OSError as exc:
            self.stop()
            raise SocketPathError(
                f"cannot give the socket {self.path} to the group {self.group} "
                f"({exc.strerror or exc}); add the daemon's user to that group"
            ) from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(STOP_POLL_SECONDS,), name="api", daemon=True
        )
        self._thread.start()
        LOG.info(
            "listening on %s (mode 0660%s)",
            self.path,
            f", group {self.group}" if self.group else "",
        )

    def stop(self) -> None:
        """Stop serving (if it started), close the socket and remove its file (only a socket
        this server made)."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread is not None and self._thread.is_alive():
            server.shutdown()  # waits for serve_forever, so only when it runs
        server.server_close()
        with contextlib.suppress(SocketPathError, OSError):
            remove_socket(self.path)

    def open_connections(self) -> int:
        with self._open_lock:
            return sum(self._open.values())

    def _serve_connection(self, handler: socketserver.StreamRequestHandler) -> None:
        caller = peer_caller(handler.connection)
        uid, user = caller.uid, caller.name
        roles = roles_for(uid, user, caller.groups, self.roles)
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
                try:
                    response = self._answer(line, caller, roles, handler.connection)
                except _Abandoned:
                    return  # nobody is left to answer
                handler.wfile.write(response.model_dump_json().encode() + b"\n")
                handler.wfile.flush()
        except OSError:
            return  # the client went away while we answered
        finally:
            with self._open_lock:
                self._open[uid] -= 1
                if self._open[uid] <= 0:
                    del self._open[uid]

    def _warn_once(self, uid: int, message: str, *args: Any, kind: str = "refused") -> None:
        """A refusal is logged once a minute per caller: a flood must not flood the journal."""
        if self._due(uid, kind):
            LOG.warning(message, *args)

    def _due(self, uid: int, kind: str) -> bool:
        """Whether a log line of this kind about this caller is due (once a minute at most)."""
        now = time.monotonic()
        key = (uid, kind)
        with self._open_lock:
            if now - self._warned.get(key, -WARN_EVERY) < WARN_EVERY:
                self._suppressed[key] += 1
                return False
            self._warned[key] = now
        return True

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

    def _answer(
        self, line: bytes, caller: Caller, roles: set[str], sock: socket.socket
    ) -> Response:
        user = caller.name
        try:
            request = Request.model_validate_json(line)
        except ValueError as exc:
            self._bad_request(caller)
            body = ErrorBody(
                type="BadRequest", message=bad_json_message(exc), title=BadRequest.title
            )
            return Response(ok=False, error=body)
        if request.method not in METHODS:  # its name is not logged: it may hold anything
            self._bad_request(caller)
            message = f"{shown(request.method)} is not an operation of the Roster Sync API"
            body = ErrorBody(type="BadRequest", message=message, title=BadRequest.title)
            return Response(id=request.id, ok=False, error=body)
        try:
            check(roles, request.method, user)
            params = checked_params(request.method, request.params)
            check_paths(request.method, params, caller)
            result = self._call(request.method, params, user, roles, sock)
            return Response(id=request.id, ok=True, result=to_jsonable(result))
        except PathRefused as exc:  # the message names the path: the log says only that
            LOG.warning(
                "refused %s to %s: a path they may not use themselves", request.method, user
            )
            body = ErrorBody(type="PermissionDenied", message=str(exc), title=exc.title)
            return Response(id=request.id, ok=False, error=body)
        except PermissionDenied as exc:
            LOG.warning("refused %s to %s: %s", request.method, user, exc)
            body = ErrorBody(type="PermissionDenied", message=str(exc), title=exc.title)
            return Response(id=request.id, ok=False, error=body)
        except BadRequest as exc:
            self._bad_request(caller, request.method)
            body = ErrorBody(type="BadRequest", message=str(exc), title=exc.title)
            return Response(id=request.id, ok=False, error=body)
        except _Abandoned:
            raise
        except Exception as exc:  # every error travels back as a message, never a dropped link
            internal = not isinstance(exc, EXPECTED)
            if internal:  # the traceback without the message: it may quote values
                self._log_internal(request.method, caller, exc)
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

    def _bad_request(self, caller: Caller, method: str | None = None) -> None:
        """Logged once a minute per caller at most, naming only a known operation."""
        if self._due(caller.uid, "bad request"):
            LOG.info("refused a request from %s: not valid (%s)", caller.name, method or "-")

    def _log_internal(self, method: str, caller: Caller, exc: Exception) -> None:
        """A fault's traceback, once a minute per caller at most (a caller that can trigger one
        must not flood the journal); the next one says how many were not logged."""
        key = (caller.uid, "internal")
        if not self._due(caller.uid, "internal"):
            return
        with self._open_lock:
            skipped = self._suppressed.pop(key, 0)
        LOG.error(
            "%s by %s failed with %s%s:\n%s",
            method,
            caller.name,
            type(exc).__name__,
            f" ({skipped} more internal errors from {caller.name} were not logged)"
            if skipped
            else "",
            "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
        )

    def _call(
        self,
        method_name: str,
        params: dict[str, Any],
        user: str,
        roles: set[str],
        sock: socket.socket,
    ) -> Any:
        with self.engine_factory(user) as engine:
            engine.caller_roles = frozenset(roles)
            method = getattr(engine, method_name)
            if method_name in WRITES and method_name not in UNLOCKED:
                self._lock_for(method_name, user, sock)
                try:
                    result = method(**params)
                finally:
                    self.write_lock.release()
                LOG.info("%s by %s (%s)", method_name, user, field_names(params))
                return result
            return method(**params)

    def _lock_for(self, method: str, user: str, sock: socket.socket) -> None:
        """Take the write lock for a write, unless its caller hangs up meanwhile (Ctrl-C, or
        its wait ran out): then the write is dropped, never done behind its back."""
        while not self.write_lock.acquire(timeout=LOCK_POLL):
            if caller_left(sock):
                break
        else:
            if not caller_left(sock):
                return
            self.write_lock.release()
        LOG.info("%s by %s abandoned by the caller before it started; not done", method, user)
        raise _Abandoned


assert set(METHODS)  # the registry is the single list of operations
