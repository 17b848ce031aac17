"""The one error type of duplicate handling: a refusal the administrator can act on."""

from __future__ import annotations

from daemon.directory.records import EditRefused


class DuplicateError(EditRefused):
    """A merge, undo or decision that is not allowed; the one-line message says why and what to do.

    A subclass of EditRefused (a ValueError) so the CLI and the socket API report it as a user
    error, never as a traceback.
    """
