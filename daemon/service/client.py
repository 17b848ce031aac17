"""One client interface, two implementations: the daemon's socket, or the database in process.

`SocketClient` answers the same calls as `Engine` (same names, same arguments, same return
types), so the CLI and the TUI do not care which one they hold.
"""

from __future__ import annotations

import inspect
import itertools
import json
import socket
import threading
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from daemon import models
from daemon.audit import current_actor
from daemon.db import Database
from daemon.service.api import METHODS, PAGE_ITEMS
from daemon.service.engine import Engine
from daemon.sync.runs import recover_interrupted

DEFAULT_SOCKET = Path("/run/roster-sync/roster-sync.sock")


class ApiError(Exception):
    """An error the daemon reported; `type` is the engine's exception name."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_


class DaemonUnavailable(ConnectionError):
    pass


def _page_item_models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {
        "Change": models.Change,
        "RowResult": models.RowResult,
        "Conflict": models.Conflict,
    }
    try:
        from daemon.duplicates.models import DuplicateCandidate

        found["DuplicateCandidate"] = DuplicateCandidate
    except ImportError:
        pass
    return found


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
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError as exc:
            sock.close()
            raise DaemonUnavailable(
                f"cannot reach the daemon at {self.path}: {exc.strerror or exc}"
            ) from exc
        self._sock, self._file = sock, sock.makefile("rwb")
        return self

    def close(self) -> None:
        if self._sock is not None:
            self._file.close()
            self._sock.close()
            self._sock = None

    def call(self, method: str, **params: Any) -> Any:
        with self._lock:
            if self._sock is None:
                self.connect()
            request = {"id": next(self._ids), "method": method, "params": params}
            try:
                self._file.write(json.dumps(request, default=str).encode() + b"\n")
                self._file.flush()
                line = self._file.readline()
            except OSError as exc:
                self.close()
                raise DaemonUnavailable(f"lost the connection to the daemon: {exc}") from exc
            if not line:
                self.close()
                raise DaemonUnavailable("the daemon closed the connection")
        answer = json.loads(line)
        if not answer["ok"]:
            raise ApiError(answer["error"]["type"], answer["error"]["message"])
        return self._rebuild(method, answer["result"])

    def _rebuild(self, method: str, result: Any) -> Any:
        engine_method = getattr(Engine, method, None)
        hint = typing.get_type_hints(engine_method).get("return") if engine_method else None
        if hint is models.Page:
            page = models.Page.model_validate(result)
            item_model = self._items.get(PAGE_ITEMS.get(method, ""))
            if item_model is not None:
                page.items = [item_model.model_validate(i) for i in page.items]
            return page
        if hint is None or hint is type(None):
            return result
        try:
            return TypeAdapter(hint).validate_python(result)
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


def daemon_running(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        SocketClient(path, timeout=2).connect().close()
    except DaemonUnavailable as exc:
        if isinstance(exc.__cause__, PermissionError):
            raise DaemonUnavailable(
                f"you may not use the daemon's socket {path}: ask to be added to its group"
            ) from exc
        return False
    return True


@contextmanager
def connect(database: Path, socket_path: Path | None) -> Iterator[Engine | SocketClient]:
    """The daemon's socket when it answers; otherwise the database, opened in this process."""
    if socket_path is not None and daemon_running(socket_path):
        client = SocketClient(socket_path).connect()
        try:
            yield client
        finally:
            client.close()
        return
    db = Database(database)
    try:
        recover_interrupted(db)  # this process holds the database: no one else is planning
        yield Engine(db, current_actor())
    finally:
        db.close()
