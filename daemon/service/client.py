"""One client interface, two implementations: the daemon's socket, or the database in process.

`SocketClient` answers the same calls as `Engine` (same names, same arguments, same return
types), so the CLI and the TUI do not care which one they hold.
"""

from __future__ import annotations

import errno
import functools
import inspect
import itertools
import json
import os
import select
import socket
import threading
import typing
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pydantic import TypeAdapter

from daemon import models
from daemon.audit import current_actor
from daemon.db import Database
from daemon.directory import shapes
from daemon.duplicates.models import DuplicateCandidate
from daemon.errors import RosterSyncError, title_of_kind
from daemon.paths import DB_ENV, resolve_database_path
from daemon.service.api import METHODS, PAGE_ITEMS, READ
from daemon.service.config import ConfigError, DaemonConfig
from daemon.service.engine import Engine
from daemon.service.interface import EngineClient
from daemon.sync.runs import RunSuperseded, recover_interrupted

DEFAULT_SOCKET = Path("/run/roster-sync/roster-sync.sock")


class ApiError(RosterSyncError):
    """An error the daemon reported; `type` is the engine's exception name, `title` the one the
    daemon sent (empty for a fault: `internal`)."""

    def __init__(
        self, type_: str, message: str, internal: bool = False, title: str | None = None
    ) -> None:
        if title is None and not internal:
            title = _title_of_old_answer(type_, message)
        super().__init__(message, title=title or "")
        self.type = type_
        self.internal = internal


def _title_of_old_answer(type_: str, message: str) -> str | None:
    """A daemon that sends no title (an older one) is understood by the error's class name."""
    if type_ == "RunError" and "superseded" in message:
        return RunSuperseded.title
    return title_of_kind(type_)


class DaemonUnavailable(RosterSyncError, ConnectionError):
    """The daemon's socket does not answer (or was closed while it answered)."""

    title = "Daemon unavailable"


class DaemonBusy(DaemonUnavailable):
    """The daemon's socket is there but does not take the connection now (never a reason to
    open the database instead: the daemon still owns it)."""


CONNECT_SECONDS = 5.0
NOT_LISTENING = (errno.ENOENT, errno.ECONNREFUSED)


def _page_item_models() -> dict[str, TypeAdapter[list[Any]]]:
    """How to rebuild the items of each kind of page (api.PAGE_ITEMS names them)."""
    return {
        "Change": TypeAdapter(list[models.Change]),
        "RowResult": TypeAdapter(list[models.RowResult]),
        "Conflict": TypeAdapter(list[models.Conflict]),
        "WithheldArchive": TypeAdapter(list[models.WithheldArchive]),
        "UserRow": TypeAdapter(list[shapes.UserRow]),
        "ClassroomRow": TypeAdapter(list[shapes.ClassroomRow]),
        "DuplicateCandidate": TypeAdapter(list[DuplicateCandidate]),
    }


class SocketClient:
    """Calls the daemon over its Unix socket; one request at a time per client."""

    is_remote = True

    def __init__(self, path: Path, timeout: float | None = 600) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._items = _page_item_models()
        self.actor = "daemon"

    def connect(self) -> SocketClient:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(min(CONNECT_SECONDS, self.timeout or CONNECT_SECONDS))
        try:
            sock.connect(str(self.path))
        except OSError as exc:
            sock.close()
            if isinstance(exc, TimeoutError) or exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise DaemonBusy(
                    f"the daemon at {self.path} is busy and did not take the connection; "
                    "try again in a moment"
                ) from exc
            raise DaemonUnavailable(
                f"cannot reach the daemon at {self.path}: {exc.strerror or exc}"
            ) from exc
        sock.settimeout(self.timeout)
        self._sock, self._file = sock, sock.makefile("rwb")
        return self

    def close(self) -> None:
        if self._sock is not None:
            with suppress(OSError):
                self._file.close()
            self._sock.close()
            self._sock = None

    def call(self, method: str, **params: Any) -> Any:
        request = {"method": method, "params": params}
        with self._lock:
            line = self._exchange(request)
            if not line and METHODS.get(method) == READ:
                # closed (idle) just as we asked: a read is safe to ask once more
                line = self._exchange(request)
            if not line:
                self.close()
                raise DaemonUnavailable(
                    f"the daemon closed the connection before answering ({method.replace('_', ' ')}); "
                    "see whether it was done (roster-sync status), then try again"
                )
        answer = json.loads(line)
        if not answer["ok"]:
            error = answer["error"]
            raise ApiError(
                error["type"], error["message"], bool(error.get("internal")), error.get("title")
            )
        return self._rebuild(method, answer["result"])

    def _exchange(self, request: dict[str, Any]) -> bytes:
        """Send one request and read its answer line (b"" if the daemon closed the link)."""
        if self._sock is None:
            self.connect()
        self._notice()
        request = {"id": next(self._ids), **request}
        try:
            self._file.write(json.dumps(request, default=str).encode() + b"\n")
            self._file.flush()
        except OSError as exc:  # closed while we wrote: maybe with a line saying why
            self._notice(reconnect=False)
            self.close()
            raise DaemonUnavailable(f"lost the connection to the daemon: {exc}") from exc
        try:
            line = self._file.readline()
        except OSError as exc:
            self.close()
            if isinstance(exc, TimeoutError):
                raise DaemonBusy(
                    f"the daemon at {self.path} did not answer within {self.timeout:.0f} s"
                ) from exc
            raise DaemonUnavailable(f"lost the connection to the daemon: {exc}") from exc
        if not line:
            self.close()
        return line

    def _notice(self, reconnect: bool = True) -> None:
        """Before a request nothing should be waiting; if something is, the daemon closed this
        link (idle too long: connect again) or refused it with a line saying why (raise it)."""
        assert self._sock is not None
        if not select.select([self._sock], [], [], 0)[0]:
            return
        try:
            line = self._file.readline()
        except OSError:
            line = b""
        self.close()
        if line:
            answer = json.loads(line)
            error = answer.get("error") or {}
            raise ApiError(
                error.get("type", "Refused"),
                error.get("message", "the daemon refused the connection"),
                bool(error.get("internal")),
                error.get("title"),
            )
        if reconnect:
            self.connect()

    def _rebuild(self, method: str, result: Any) -> Any:
        """The answer as the engine returned it: the type is the operation's return annotation
        (declared once, on `Engine`)."""
        hint = _result_type(method)
        if hint is models.Page:
            page = models.Page.model_validate(result)
            items_type = self._items.get(PAGE_ITEMS.get(method, ""))
            if items_type is not None:
                items = items_type.validate_python(page.items)
                page.items = _in_order(result["items"], items)
            return page
        if hint is None or hint is type(None):
            return result
        try:
            return _in_order(result, _adapter(hint).validate_python(result))
        except Exception:
            return result

    def __getattr__(self, method: str) -> Any:
        if method not in METHODS:
            raise AttributeError(method)
        signature = inspect.signature(getattr(Engine, method))

        def remote(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(None, *args, **kwargs)
            params = {k: v for k, v in bound.arguments.items() if k != "self"}
            return self.call(method, **params)

        return remote


@functools.cache
def _result_type(method: str) -> Any:
    engine_method = getattr(Engine, method, None)
    return typing.get_type_hints(engine_method).get("return") if engine_method else None


@functools.cache
def _adapter(hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(hint)


def _in_order(sent: Any, rebuilt: Any) -> Any:
    """Typed dicts come back with their declared keys first: put keys in the order sent, so
    `--json` prints the same through the daemon as embedded."""
    if isinstance(sent, dict) and isinstance(rebuilt, dict):
        return {k: _in_order(sent[k], rebuilt[k]) for k in sent if k in rebuilt}
    if isinstance(sent, list) and isinstance(rebuilt, list):
        return [_in_order(a, b) for a, b in zip(sent, rebuilt, strict=False)]
    return rebuilt


@dataclass(frozen=True)
class Locations:
    """Where a command's directory is: its database, and the socket of a daemon that may serve
    it. `socket_must_serve`: the socket is only a guess (the default one, for a database named
    by --db or ROSTER_SYNC_DB), used only if its daemon serves that very database."""

    database: Path
    socket: Path | None
    socket_must_serve: bool = False


def locate(
    db: str | None, config: DaemonConfig | None, socket_path: Path | None = None
) -> Locations:
    """--db wins, then a config file's database, then ROSTER_SYNC_DB, then the default one.

    A database named by --db or ROSTER_SYNC_DB is reached through the daemon only if the daemon
    serves it: a test copy named by ROSTER_SYNC_DB once went to the daemon of the default
    socket, and a run meant for the copy was planned on the district's directory."""
    if db is not None and not db.strip():
        raise ConfigError("--db is empty: give the database file's path")
    if db:
        database = resolve_database_path(db)
        if socket_path is not None:
            return Locations(database, socket_path)
        if config is not None:
            same = database.resolve() == config.database.resolve()
            return Locations(database, config.socket if same else None)
        return Locations(database, DEFAULT_SOCKET, socket_must_serve=True)
    if config is not None:
        return Locations(config.database, socket_path or config.socket)
    if os.environ.get(DB_ENV):
        database = resolve_database_path(None)
        return Locations(database, socket_path or DEFAULT_SOCKET, socket_must_serve=not socket_path)
    return Locations(resolve_database_path(None), socket_path or DEFAULT_SOCKET)


def daemon_serving(where: Locations) -> bool:
    """Whether a daemon answers at `where.socket` for `where.database`."""
    if where.socket is None or not daemon_running(where.socket):
        return False
    if not where.socket_must_serve:
        return True
    client = SocketClient(where.socket).connect()
    try:
        served = Path(client.call("status").database)
    finally:
        client.close()
    return served.resolve() == where.database.resolve()


def daemon_running(path: Path) -> bool:
    """Whether a daemon listens on `path`. Busy counts as running (DaemonBusy): the database is
    the daemon's, so a command must not open it behind its back."""
    if not path.exists():
        return False
    try:
        SocketClient(path, timeout=CONNECT_SECONDS).connect().close()
    except DaemonBusy:
        raise
    except DaemonUnavailable as exc:
        if isinstance(exc.__cause__, PermissionError):
            raise DaemonUnavailable(
                f"you may not use the daemon's socket {path}: ask to be added to its group"
            ) from exc
        cause = exc.__cause__
        if isinstance(cause, OSError) and cause.errno in NOT_LISTENING:
            return False  # a socket file left by a daemon that stopped
        raise
    return True


@contextmanager
def connect(where: Locations, *, create: bool = True) -> Iterator[EngineClient]:
    """The daemon's socket when it answers for the database; otherwise the database, opened in
    this process (made when missing only if `create`)."""
    if where.socket is not None and daemon_serving(where):
        client = SocketClient(where.socket).connect()
        try:
            yield cast(EngineClient, client)  # every operation, answered through __getattr__
        finally:
            client.close()
        return
    db = Database(where.database, create=create)
    try:
        recover_interrupted(db)  # this process holds the database: no one else is planning
        yield Engine(db, current_actor())
    finally:
        db.close()
