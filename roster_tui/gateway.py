"""One way to the engine: every call is serialized and its errors are worded for people.

Embedded, each call opens the database file and closes it again (roster_tui/embedded.py);
workers may run at once, so all calls pass one lock. Nothing here runs on the UI thread:
screens call it from thread workers.

It is also the one edge where text reaches the screens: what a call returns, an error's words
and a progress label come back as display copies, every string through `printable`
(daemon/formats/controls.py), so that no value from a drop (or typed into an older version)
writes an escape sequence to the terminal. Text without such characters is left as it is, so
an id the screens pass back still finds its record (ingest refuses an id that holds one).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from daemon.errors import RosterSyncError, title_for
from daemon.formats.controls import printable
from daemon.models import Access
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
    kind = printable(getattr(exc, "type", None) or type(exc).__name__)
    message = printable(str(exc).strip()) or kind
    title = None if getattr(exc, "internal", False) else title_for(exc)
    if title is None:
        if "no method" in message.lower() or "not an operation" in message.lower():
            return "Not available", message
        return "Unexpected error", f"{kind}: {message.splitlines()[0]}"
    return printable(title), message.splitlines()[0]


def for_display(value: T) -> T:
    """A display copy of what the engine returned: every string in it (in models, dataclasses,
    lists, tuples, dicts, keys too) through `printable`. What holds none to replace is returned
    itself, not copied."""
    shown: Any
    if isinstance(value, str):
        shown = printable(value)
    elif isinstance(value, BaseModel):
        fields = {name: getattr(value, name) for name in type(value).model_fields}
        changed = {k: s for k, v in fields.items() if (s := for_display(v)) is not v}
        shown = value.model_copy(update=changed) if changed else value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
        changed = {k: s for k, v in fields.items() if (s := for_display(v)) is not v}
        shown = dataclasses.replace(value, **changed) if changed else value
    elif isinstance(value, dict):
        items = [(for_display(k), for_display(v)) for k, v in value.items()]
        same = all(
            k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)
        )
        shown = value if same else dict(items)
    elif isinstance(value, (list, tuple)):
        items = [for_display(v) for v in value]
        if all(v is v0 for v, v0 in zip(items, value, strict=True)):
            shown = value
        elif isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
            shown = type(value)(*items)
        else:
            shown = type(value)(items)
    else:
        shown = value
    return cast(T, shown)


def is_blackout_refusal(exc: BaseException) -> bool:
    """The engine refused to plan because today is in a blackout (and it was not forced),
    embedded or from the daemon's socket (known there by its kind)."""
    return (getattr(exc, "type", None) or type(exc).__name__) == "BlackoutDay"


def operations_of(declared: dict[str, str | tuple[str, ...]], action: str) -> tuple[str, ...]:
    """The engine operations a screen's `action` ends in (none: it only reads or moves)."""
    found = declared.get(action, ())
    return (found,) if isinstance(found, str) else found


class Gateway:
    """Wraps a client (an `Engine`, the per-call embedded engine or a `SocketClient`: the same
    operations, typed by `EngineClient`). Screens pass an operation on the client,
    `lambda engine: engine.get_run(5)`, so mypy checks the call and what it returns."""

    def __init__(self, client: Any) -> None:
        self.client: EngineClient = client
        self._lock = threading.Lock()
        self.access: Access | None = None  # what the caller may do, once the engine said

    def permits(self, *operations: str) -> bool:
        """Whether the caller may call every one of `operations`, as far as the app knows:
        every key is offered until the engine has said (an older daemon never says; it refuses
        instead)."""
        return self.access is None or all(op in self.access.operations for op in operations)

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
            return for_display(operation(cast(EngineClient, _Checked(self))))

    def run_with_progress(self, operation: Operation[T], progress: ProgressCallback) -> T:
        """Like `run`, reporting the engine's steps when it runs here (embedded mode)."""
        if self.remote or not hasattr(self.client, "progress"):
            return self.run(operation)
        client: Any = self.client
        with self._lock:
            previous: Progress = client.progress
            client.progress = CallbackProgress(
                lambda label, done, total: progress(printable(label), done, total)
            )
            try:
                return for_display(operation(cast(EngineClient, _Checked(self))))
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
