"""The one error type of duplicate handling: a refusal the administrator can act on."""

from __future__ import annotations

from daemon.directory.records import EditRefused


class DuplicateError(EditRefused):
    """A merge, undo or decision that is not allowed; the one-line message says why and what to do.

    A kind of EditRefused: a merge is an edit of the directory.
    """

    title = "Duplicates"
