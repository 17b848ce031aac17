"""The `[sources.NAME]` tables of the daemon's TOML config, and the secrets they point at.

A source config holds where the secret is (an owner-only file or an environment variable), never
the secret itself: the config file is readable by more people than the secret may be. Secrets are
read at pull time, held as `SecretStr` (kept out of repr() and logs) and never stored.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from daemon import secrets as secrets_file
from daemon.sources.errors import SourceConfigError

SourceKind = Literal["oneroster-rest", "clever"]
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# How runs name their source kind (runs.source_kind) and how people read it.
RUN_KINDS = {"oneroster-rest": "rest", "clever": "clever"}
KIND_WORDS = {
    "folder": "folder",
    "zip": "ZIP",
    "sftp": "SFTP",
    "rest": "OneRoster REST",
    "clever": "Clever",
}


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(value: str, what: str) -> str:
    """HTTPS, except on loopback (tests, a local proxy): credentials never cross a network bare."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} must be a full https:// URL, not {value!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{what} must use https:// (http is allowed only on loopback): {value}")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not carry credentials; use client_secret_file")
    return value.rstrip("/")


class SourceConfig(BaseModel):
    """One API source. For Clever the secret is the district-app bearer token."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    base_url: str
    auth: Literal["oauth1", "oauth2", "bearer"] | None = None
    token_url: str | None = None
    scope: str | None = None
    client_id: str | None = None
    client_secret_file: Path | None = None
    client_secret_env: str | None = Field(default=None, min_length=1)
    version: Literal["1.1", "1.2"] | None = None  # OneRoster REST; default: from base_url
    page_size: int = Field(default=1000, ge=1, le=10000)
    timeout_seconds: float = Field(default=60, gt=0, description="for each read")
    # a whole response, headers and body (a server dripping bytes never times a read out)
    response_deadline_seconds: float = Field(default=300, gt=0, allow_inf_nan=False)
    max_page_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)  # a page held in memory
    retries: int = Field(default=5, ge=0, le=20, description="tries again after a 5xx or drop")
    files_folder: Path | None = None  # guardians.csv / student_attributes.csv pulled alongside
    district_sis_id: str | None = None  # Clever: the SIS's id of the district (Clever has none)
    label: str | None = None  # how people read it (default: ClassLink, Clever, OneRoster REST)

    @field_validator("base_url")
    @classmethod
    def _base_https(cls, value: str) -> str:
        return check_url(value, "base_url")

    @field_validator("token_url")
    @classmethod
    def _token_https(cls, value: str | None) -> str | None:
        return check_url(value, "token_url") if value is not None else None

    @field_validator("client_secret_file", "files_folder")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        if self.auth is None:
            self.auth = "bearer" if self.kind == "clever" else "oauth1"
        if self.kind == "clever" and self.auth != "bearer":
            raise ValueError('a clever source uses auth = "bearer" (the district-app token)')
        if self.kind == "oneroster-rest" and self.auth == "bearer":
            raise ValueError('a oneroster-rest source uses auth = "oauth1" or "oauth2"')
        if self.auth in ("oauth1", "oauth2") and not self.client_id:
            raise ValueError(f"auth = {self.auth!r} needs client_id")
        if self.auth == "oauth2" and not self.token_url:
            raise ValueError('auth = "oauth2" needs token_url (the token endpoint)')
        if self.auth != "oauth2" and (self.token_url or self.scope):
            raise ValueError('token_url and scope are for auth = "oauth2"')
        if bool(self.client_secret_file) == bool(self.client_secret_env):
            raise ValueError("set exactly one of client_secret_file and client_secret_env")
        if self.kind == "clever" and self.version is not None:
            raise ValueError("version is for oneroster-rest sources")
        if self.kind != "clever" and self.district_sis_id is not None:
            raise ValueError("district_sis_id is for clever sources")
        return self

    @property
    def oneroster_version(self) -> str:
        if self.version:
            return self.version
        return "1.2" if "v1p2" in self.base_url.lower() else "1.1"

    @property
    def run_kind(self) -> str:
        return RUN_KINDS[self.kind]

    def display(self) -> str:
        if self.label:
            return self.label
        if self.kind == "clever":
            return "Clever"
        host = (urlsplit(self.base_url).hostname or "").lower()
        classlink = "classlink" in host or host.endswith(".oneroster.com")  # its Roster Server
        return "ClassLink" if classlink else "OneRoster REST"


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(
            f"source name {name!r}: use lower-case letters, digits, - and _ (like classlink)"
        )
    return name


def read_secret(config: SourceConfig) -> SecretStr:
    if config.client_secret_file is not None:
        secret = read_secret_file(config.client_secret_file, "client_secret_file")
        where = f"client_secret_file {config.client_secret_file}"
    else:
        assert config.client_secret_env is not None
        value = os.environ.get(config.client_secret_env)
        if not value:
            raise SourceConfigError(
                f"the client_secret_env environment variable {config.client_secret_env} is not "
                "set or is empty"
            )
        secret, where = SecretStr(value.strip()), f"client_secret_env {config.client_secret_env}"
    if any(ord(c) < 32 or ord(c) == 127 for c in secret.get_secret_value()):
        # a token pasted wrapped over two lines: a header cannot carry it, and httpx's error
        # would quote it; refused before anything is sent (the value is never shown)
        raise SourceConfigError(
            f"the secret in {where} holds a line break or another control character (a token "
            "wrapped over two lines?); put it on one line; nothing was pulled"
        )
    return secret


def read_secret_file(path: Path, what: str) -> SecretStr:
    """Refuse a file others can read: that secret is already out (daemon/secrets.py)."""
    return secrets_file.read_secret_file(path, what, SourceConfigError)
