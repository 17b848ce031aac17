"""The error family: every error Roster Sync raises on purpose is a `RosterSyncError`.

An expected error is a request that cannot be done as asked (a held run, a refused edit, an
unknown setting, a locked database, a daemon that does not answer...). Its message is one line
that says why and what to do; its `title` heads the review UI's notice. Each edge catches the
family once: the CLI prints the message (`daemon/cli/main.py`), the socket server answers with
it and logs only the type (`daemon/service/server.py`), the review UI shows title and message
(`roster_tui/gateway.py`). Anything else is a fault: logged with its traceback, shown as an
internal error.

This module is the lowest layer of the engine: every other layer may import it.
"""

from __future__ import annotations

from typing import ClassVar


class RosterSyncError(Exception):
    """An expected error: the message says why (one line), `title` names it for a notice."""

    title: str = "Not done"
    family: ClassVar[dict[str, type[RosterSyncError]]] = {}

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        RosterSyncError.family.setdefault(cls.__name__, cls)


def title_for(exc: BaseException) -> str | None:
    """The notice title of an expected error; None for a fault (or an error of the system that
    names no path the caller gave: shown as unexpected)."""
    if isinstance(exc, RosterSyncError):
        return exc.title or None
    if isinstance(exc, FileNotFoundError):  # a path the caller named
        return "Not found"
    return None


def title_of_kind(kind: str) -> str | None:
    """The title of an error known only by its class name (what an older daemon sends)."""
    if kind == "FileNotFoundError":
        return "Not found"
    found = RosterSyncError.family.get(kind)
    return found.title if found is not None else None


EXPECTED: tuple[type[BaseException], ...] = (RosterSyncError, OSError)
"""What an edge answers in one line, never as a fault: the family, and an OSError (a path the
caller named: not found, not allowed, a folder)."""


def interrupted(exc: BaseException) -> bool:
    """Ctrl-C: Python's KeyboardInterrupt, or DuckDB's "Query interrupted" (a RuntimeError,
    raised when the signal comes while a statement runs)."""
    return isinstance(exc, KeyboardInterrupt) or (
        type(exc) is RuntimeError and str(exc) == "Query interrupted"
    )
