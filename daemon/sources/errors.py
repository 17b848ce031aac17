"""What a pull raises: a source problem fails the run (like a broken drop) and never plans."""

from __future__ import annotations

from typing import Any

from daemon.formats.drop import DropError


class SourceError(DropError):
    """A pull could not fetch the whole district; the run fails, the directory is untouched.

    `summary` holds what was fetched before the failure (pages and records per resource), so the
    failed run still shows how far it got."""

    title = "Pull failed"

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.summary = summary


class SourceConfigError(SourceError):
    """A `[sources.NAME]` table or its secret cannot be used (refused secret file, no HTTPS...)."""

    title = "Source not usable"


class SourceAuthError(SourceError):
    """The API refused the credentials. Not retried: repeating them only risks a lockout."""

    title = "Credentials refused"
