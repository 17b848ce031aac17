"""The `[sftp]` settings, apart from the SFTP client (daemon/service/sftp.py): reading a config
must not import paramiko, which every `roster-sync` command would pay for at start."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from daemon.service.inbox import is_ignored_name


class SftpConfig(BaseModel):
    """The `[sftp]` table of the daemon's TOML config. Holds secret *locations*, never secrets."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    path: str = Field(min_length=1, description="remote folder holding the drops")
    key_file: Path | None = None
    password_file: Path | None = None
    password_env: str | None = Field(default=None, min_length=1)
    passphrase_file: Path | None = None
    passphrase_env: str | None = Field(default=None, min_length=1)
    known_hosts: Path
    poll_seconds: float = Field(default=300, gt=0)
    timeout_seconds: float = Field(default=30, gt=0)
    retries: int = Field(default=5, ge=1, description="failed connections before giving up")
    remote_quiet_seconds: float = Field(
        default=120, ge=0, description="a changed remote file is mirrored once it lists the same"
    )
    ready_marker: str | None = Field(
        default=None, description="a drop is synced only once this file, written last, is in it"
    )

    @field_validator("key_file", "password_file", "passphrase_file", "known_hosts")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("ready_marker")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        return check_marker_name(value, "[sftp] ready_marker")

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        if not (self.key_file or self.password_file or self.password_env):
            raise ValueError("[sftp] needs key_file, password_file or password_env to log in")
        if self.password_file and self.password_env:
            raise ValueError("[sftp] set only one of password_file and password_env")
        if self.passphrase_file and self.passphrase_env:
            raise ValueError("[sftp] set only one of passphrase_file and passphrase_env")
        if (self.passphrase_file or self.passphrase_env) and not self.key_file:
            raise ValueError(
                "[sftp] passphrase_file / passphrase_env unlock key_file, which is unset"
            )
        return self


def check_marker_name(value: str | None, what: str) -> str | None:
    """A ready marker is a plain file name the mirror and the inbox see (not hidden, no folder)."""
    if value is None:
        return None
    if not value.strip() or "/" in value or "\\" in value or value in (".", ".."):
        raise ValueError(f"{what} must be a plain file name, like export.done or manifest.csv")
    if is_ignored_name(value):
        raise ValueError(
            f"{what} {value!r} is a hidden or temporary name, which is never part of a drop"
        )
    return value
