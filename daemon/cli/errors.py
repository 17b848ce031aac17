"""The CLI's own error: a mistake in how a command was used, reported as one line on stderr."""

from __future__ import annotations

from daemon.errors import RosterSyncError


class CliError(RosterSyncError):
    """What the command line refuses before asking the engine; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
