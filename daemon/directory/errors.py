"""The one error of hand edits: the edit is not allowed, and the message says why."""

from __future__ import annotations

from daemon.errors import RosterSyncError


class EditRefused(RosterSyncError, ValueError):
    """The edit is not allowed; the message says why (naming records as the person named them)."""

    title = "Not changed"
