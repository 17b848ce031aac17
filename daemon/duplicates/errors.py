"""The one error type of duplicate handling: a refusal the administrator can act on."""

from __future__ import annotations

from daemon.directory.records import EditRefused
from daemon.errors import RosterSyncError


class DuplicateError(EditRefused):
    """A merge, undo or decision that is not allowed; the one-line message says why and what to do.

    A kind of EditRefused: a merge is an edit of the directory.
    """

    title = "Duplicates"


class DuplicateScanNotDone(RosterSyncError):
    """A run was applied, but the duplicate scan after it did not finish (Ctrl-C, a fault): the
    message must not read as if the run had not been applied."""

    title = "Applied; duplicates not scanned"
