"""Secrets read from files: one rule for every credential the daemon reads (SFTP, mail,
webhooks, API sources). A file others can read is refused, because that secret is already out."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pydantic import SecretStr

from daemon.errors import RosterSyncError

MAX_SECRET_BYTES = 64 * 1024  # a password, key passphrase or token; anything larger is not one


def require_owner_only(
    path: Path, what: str, st: os.stat_result, error: type[RosterSyncError]
) -> None:
    """Refuse a secret (or private key) that anyone but its owner may read."""
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise error(
            f"{what} {path} has mode {mode:04o}; it must be readable only by its owner "
            f"(chmod 600 {path}, or mode 0400 for a container secret)"
        )


def read_secret_file(path: Path, what: str, error: type[RosterSyncError]) -> SecretStr:
    """The secret in `path` (its first line ending aside), raising `error` in words when the
    file is missing, not a regular file, readable by others, not UTF-8 or empty."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{what} {path} is not a regular file")
        require_owner_only(path, what, st, error)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_SECRET_BYTES)
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None
    if not text.strip():
        raise error(f"{what} {path} is empty")
    return SecretStr(text)
