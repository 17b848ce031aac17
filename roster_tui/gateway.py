"""One way to the engine: every call is serialized and its errors are worded for people.

Embedded, each call opens the database file and closes it again (roster_tui/embedded.py);
workers may run at once, so all calls pass one lock. Nothing here runs on the UI thread:
screens call it from thread workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from daemon.errors import RosterSyncError, title_for
from daemon.progress import CallbackProgress, Progress
from daemon.service.interface import EngineClient

T = TypeVar("T")
ProgressCallback = Callable[[str, int, int | None], None]
Operation = Callable[[EngineClient], T]  # one call on the engine: lambda engine: engine.status()


class Unsupported(RosterSyncError):
    """The engine on the other side has no such operation (an older daemon, say)."""

    title = "Not available"


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(title, message) for a notice: one or two plain lines, never a traceback. An expected
    error (daemon/errors.py) carries its title, also over the daemon's socket."""
    kind = getattr(exc, "type", None) or type(exc).__name__
    message = str(exc).strip() or kind
    title = None if getattr(exc, "internal", False) else title_for(exc)
    if title is None:
        if "no method" in message.lower() or "not an operation" in message.lower():
            return "Not available", message
        return "Unexpected error", f"{kind}: {message.splitlines()[0]}"
    return title, message.splitlines()[0]


def is_blackout_refusal(exc: BaseException) -> bool:
    """The engine refused to plan because today is in a blackout (and it was not forced),
    embedded or from the daemon's socket (known there by its kind)."""
    return (getattr(exc, "type", None) or type(exc).__name__) == "BlackoutDay"


class Gateway:
    """Wraps a client (an `Engine`, the per-call embedded engine or a `SocketClient`: the same
    operations, typed by `EngineClient`). Screens pass an operation on the client,
    `lambda engine: engine.get_run(5)`, so mypy checks the call and what it returns."""

    def __init__(self, client: Any) -> None:
        self.client: EngineClient = client
        self._lock = threading.Lock()

    @property
    def remote(self) -> bool:
        return bool(getattr(self.client, "is_remote", False))

    @property
    def where(self) -> str:
        """Where the data lives, for the help screen."""
        if self.remote:
            return f"the daemon at {getattr(self.client, 'path', '?')}"
        database = getattr(self.client, "database", None)
        if database is not None:
            return f"{database} (embedded: opened for each call, never held)"
        db = getattr(self.client, "db", None)
        return f"{getattr(db, 'path', '?')} (embedded)"

    def supports(self, method: str) -> bool:
        """Whether the client has the operation; the daemon's API lists what it answers."""
        if self.remote:
            from daemon.service.api import METHODS

            return method in METHODS
        return callable(getattr(self.client, method, None))

    def run(self, operation: Operation[T]) -> T:
        """Do one operation on the client, one at a time; an operation the client lacks (an
        older engine) raises `Unsupported`."""
        with self._lock:
            return operation(cast(EngineClient, _Checked(self)))

    def run_with_progress(self, operation: Operation[T], progress: ProgressCallback) -> T:
        """Like `run`, reporting the engine's steps when it runs here (embedded mode)."""
        if self.remote or not hasattr(self.client, "progress"):
            return self.run(operation)
        client: Any = self.client
        with self._lock:
            previous: Progress = client.progress
            client.progress = CallbackProgress(progress)
            try:
                return operation(cast(EngineClient, _Checked(self)))
            finally:
                client.progress = previous


class _Checked:
    """The gateway's client as an operation sees it: a missing operation is `Unsupported`."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def __getattr__(self, method: str) -> Any:
        if not self._gateway.supports(method):
            raise Unsupported(f"the engine has no operation '{method}'")
        return getattr(self._gateway.client, method)
