"""What a pull raises: a source problem fails the run (like a broken drop) and never plans.

Every message passes through `redact` when its SourceError is made: a server that echoes the
client secret in its error text, or a token that breaks a header (httpx quotes the header in its
error), must not put the secret into logs, the run record or the CLI. The secrets of the pull in
progress are registered with `hide` (the configured secret when the pull starts, each token as it
is issued), so no raise site has to remember to redact.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, quote_plus

from daemon.formats.drop import DropError

REDACTED = "[redacted]"
MIN_SECRET_PART = 4  # a shorter piece of a secret is too common to blank out of a message
_HIDDEN: ContextVar[set[str] | None] = ContextVar("roster_sync_hidden_secrets", default=None)


@contextmanager
def secrets_hidden(*values: str) -> Iterator[None]:
    """While a pull runs: every SourceError and warning hides `values` and whatever `hide` adds."""
    token = _HIDDEN.set(set())
    try:
        for value in values:
            hide(value)
        yield
    finally:
        _HIDDEN.reset(token)


def hide(value: str | None) -> None:
    """From now on (in this pull) messages never show `value`, nor its pieces and encodings."""
    hidden = _HIDDEN.get()
    if hidden is None or not value:
        return
    forms = {value, value.strip(), repr(value)[1:-1], repr(value.encode())[2:-1]}
    forms |= {quote(value, safe=""), quote_plus(value), base64.b64encode(value.encode()).decode()}
    forms |= {line.strip() for line in value.splitlines()}  # a secret wrapped over lines
    hidden.update(f for f in forms if len(f) >= MIN_SECRET_PART)


def redact(text: str) -> str:
    hidden = _HIDDEN.get()
    for value in sorted(hidden or (), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


class SourceError(DropError):
    """A pull could not fetch the whole district; the run fails, the directory is untouched.

    `summary` holds what was fetched before the failure (pages and records per resource), so the
    failed run still shows how far it got. The message is redacted (see the module docstring)."""

    title = "Pull failed"

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(redact(message))
        self.summary = summary


class SourceConfigError(SourceError):
    """A `[sources.NAME]` table or its secret cannot be used (refused secret file, no HTTPS...)."""

    title = "Source not usable"


class SourceAuthError(SourceError):
    """The API refused the credentials. Not retried: repeating them only risks a lockout."""

    title = "Credentials refused"
