"""The `[notify]` table of the daemon's TOML config: the district's name, when to remind and
summarise, and the channels (email over SMTP, signed webhooks).

The config holds secret *locations* (a file, or an environment variable), never secrets: a
config file is read by more people and tools than a secret should be. Secrets are read when a
message is sent (so a rotated password is picked up without a restart), from a file only its
owner may read, and are held as `SecretStr` so they never reach a log line, `status` or the
database.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import time as dtime
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from daemon.errors import RosterSyncError
from daemon.secrets import read_secret_file

# What a channel can be sent, in the order the docs list them. `test` always goes through.
EVENTS: dict[str, str] = {
    "run_held": "a run is held and waits for a decision",
    "run_failed": "a run failed (nothing was changed)",
    "review_reminder": "a run has waited for review longer than review_reminder_hours",
    "new_conflicts": "a run brought conflicts to decide",
    "new_duplicates": "new duplicate candidates were found",
    "source_unreachable": "a source (the SFTP server) could not be reached for unreachable_hours",
    "source_recovered": "a source reported unreachable answers again",
    "sftp_folder_unreadable": (
        "drops have waited unreachable_hours on an SFTP folder the server answers for but "
        "does not let the daemon list"
    ),
    "sftp_folder_recovered": "no drop waits any more on an SFTP folder reported unreadable",
    "daily_summary": "the day's runs, changes by kind and rows in error",
}
TEST_EVENT = "test"


class NotifyError(RosterSyncError):
    """Notifications cannot be configured or sent as asked (shown as one line)."""

    title = "Notifications"


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(value: str | None, setting: str) -> str | None:
    """`*_env` holds a variable's *name*; a value that is not one is most likely the secret
    itself pasted there, so the message never repeats it."""
    if value is not None and not ENV_NAME.fullmatch(value):
        raise ValueError(
            f"{setting} must be the name of an environment variable (letters, digits, _), "
            "not the secret itself"
        )
    return value


def _no_control(value: str) -> bool:
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(
        default=None, min_length=1, description="how status and logs name it (default email-1...)"
    )
    events: list[str] | None = Field(default=None, description="only these events (default all)")

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [v for v in value if v not in EVENTS]
        if unknown:
            raise ValueError(f"unknown event {unknown[0]!r}; the events are: {', '.join(EVENTS)}")
        return value

    def wants(self, kind: str) -> bool:
        return kind == TEST_EVENT or self.events is None or kind in self.events

    def key(self) -> str:
        """Who this channel reaches, as a stable short key: a queued delivery stays with it
        whatever the channel is named or wherever it sits in the file (names default to
        their position, email-1...). Hashed: a webhook's URL may hold a token."""
        raise NotImplementedError


def _key(kind: str, destination: str) -> str:
    return f"{kind}:{hashlib.sha256(destination.encode('utf-8')).hexdigest()[:16]}"


class EmailChannel(_Channel):
    """`[[notify.email]]`: one SMTP server and its recipients."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ca_file: Path | None = Field(
        default=None, description="CA certificates to verify the server (default: the system's)"
    )
    username: str | None = Field(default=None, min_length=1)
    password_file: Path | None = None
    password_env: str | None = Field(default=None, min_length=1)
    from_: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("from_")
    @classmethod
    def _an_address(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @model_validator(mode="after")
    def _check_login(self) -> Self:
        if self.password_file and self.password_env:
            raise ValueError("set only one of password_file and password_env")
        if (self.password_file or self.password_env) and not self.username:
            raise ValueError("password_file / password_env need a username to log in with")
        if self.username and not (self.password_file or self.password_env):
            raise ValueError("username needs password_file or password_env")
        if self.username and not self.starttls:
            raise ValueError(
                "a login needs starttls = true: the password would cross the network in clear"
            )
        return self

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str | None) -> str | None:
        return _env_name(value, "password_env")

    def describe(self) -> str:
        return f"smtp {self.host}:{self.port}"

    def key(self) -> str:
        """The recipients: fixing the relay, port or login keeps the channel's queue."""
        return _key("email", "\n".join(sorted(a.lower() for a in self.to)))


class WebhookChannel(_Channel):
    """`[[notify.webhook]]`: an HTTPS endpoint that receives signed JSON."""

    url: str = Field(min_length=8)
    secret_file: Path | None = None
    secret_env: str | None = Field(default=None, min_length=1)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an http:// or https:// address")
        if parts.username or parts.password:
            raise ValueError("url must not hold a user or password; the body is signed instead")
        if not _no_control(value) or " " in value:
            raise ValueError("url must not hold spaces or control characters")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("url has a port that is not a number from 1 to 65535") from None
        if port == 0:
            raise ValueError("url has a port that is not a number from 1 to 65535")
        return value

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str | None) -> str | None:
        return _env_name(value, "secret_env")

    @model_validator(mode="after")
    def _check_secret(self) -> Self:
        if bool(self.secret_file) == bool(self.secret_env):
            raise ValueError("set one of secret_file and secret_env (the key that signs the body)")
        return self

    def describe(self) -> str:
        """Scheme, host and port only: many receivers carry a token in the path or query."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}/…"

    def key(self) -> str:
        """The URL: the receiver (and its token) is who this channel reaches."""
        return _key("webhook", self.url)


class NotifyConfig(BaseModel):
    """`[notify]`: who the messages are about and when they go out."""

    model_config = ConfigDict(extra="forbid")

    district: str = Field(min_length=1, description="named in every message")
    daily_summary_at: str | None = Field(
        default=None, description='"HH:MM" local time for the daily summary (unset: none)'
    )
    review_reminder_hours: float = Field(default=24, ge=0, description="0: no reminders")
    unreachable_hours: float = Field(default=24, gt=0)
    timeout_seconds: float = Field(default=10, gt=0, le=120)
    retry_base_seconds: float = Field(default=60, gt=0)
    retry_max_seconds: float = Field(default=3600, gt=0)
    max_attempts: int = Field(default=12, ge=1)
    email: list[EmailChannel] = Field(default_factory=list)
    webhook: list[WebhookChannel] = Field(default_factory=list)

    @field_validator("district")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not _no_control(value):
            raise ValueError("district must be one line without control characters")
        return value

    @field_validator("daily_summary_at")
    @classmethod
    def _hh_mm(cls, value: str | None) -> str | None:
        if value is not None:
            summary_time(value)
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [name for name, _ in self.channels()]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two channels are named {name!r}; give each its own name")
        return self

    def channels(self) -> list[tuple[str, EmailChannel | WebhookChannel]]:
        """(name, channel) in config order; the name is what the outbox records."""
        found: list[tuple[str, EmailChannel | WebhookChannel]] = []
        for i, email in enumerate(self.email, 1):
            found.append((email.name or f"email-{i}", email))
        for i, webhook in enumerate(self.webhook, 1):
            found.append((webhook.name or f"webhook-{i}", webhook))
        return found

    def keyed(self) -> list[tuple[str, str, EmailChannel | WebhookChannel]]:
        """(name, key, channel) in config order. Two channels that reach the same people
        (the same recipients through two relays) get `#2`... after the key, by order."""
        seen: dict[str, int] = {}
        found = []
        for name, channel in self.channels():
            key = channel.key()
            seen[key] = seen.get(key, 0) + 1
            found.append((name, key if seen[key] == 1 else f"{key}#{seen[key]}", channel))
        return found

    def resolve_paths(self, base: Path) -> None:
        """Relative secret and CA paths are relative to the config file. A `ca_file` must
        exist now: a typo there would otherwise read as a problem with the relay."""
        for i, email in enumerate(self.email):
            _resolve(email, ("password_file", "ca_file"), base)
            if email.ca_file is not None and not email.ca_file.is_file():
                raise NotifyError(f"notify.email.{i}.ca_file: {email.ca_file}: no such file")
        for webhook in self.webhook:
            _resolve(webhook, ("secret_file",), base)


def _resolve(channel: _Channel, attrs: tuple[str, ...], base: Path) -> None:
    for attr in attrs:
        value = getattr(channel, attr, None)
        if value is not None:
            value = value.expanduser()
            setattr(channel, attr, value if value.is_absolute() else (base / value))


def summary_time(value: str) -> dtime:
    try:
        hours, minutes = value.strip().split(":")
        return dtime(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day like 07:00") from None


def _address(value: str) -> str:
    value = value.strip()
    if "@" not in value or any(c in value for c in "\r\n,;"):
        raise ValueError(f"{value!r} is not one email address")
    return value


def read_secret(file: Path | None, env: str | None, what: str) -> SecretStr:
    """A password or signing key (`what`: password, secret): from an owner-only file
    (`<what>_file`), or an environment variable (`<what>_env`)."""
    if env:
        value = os.environ.get(env)
        if not value:
            # the name is not repeated: a secret pasted there must not reach a log
            raise NotifyError(
                f"the environment variable named by {what}_env is not set or is empty"
            )
        return SecretStr(value)
    what = f"{what}_file"
    if file is None:
        raise NotifyError(f"no {what} is configured")
    return read_secret_file(file, what, NotifyError)
