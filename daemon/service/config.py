"""The daemon's config file (TOML): paths, SFTP, socket, roles. Unknown keys are an error."""

from __future__ import annotations

import grp
import os
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from daemon.errors import RosterSyncError
from daemon.notify.config import NotifyConfig
from daemon.service.sftp_config import SftpConfig, check_marker_name
from daemon.sources.config import SourceConfig, check_name

CONFIG_ENV = "ROSTER_SYNC_CONFIG"


class ConfigError(RosterSyncError, ValueError):
    """The config file cannot be used; the message names the file and the key."""

    title = "Config file"


class RolesConfig(BaseModel):
    """Unix users, or groups with a leading @, per role."""

    model_config = ConfigDict(extra="forbid")
    rostering_admin: list[str] = Field(default_factory=list)
    users_manager: list[str] = Field(default_factory=list)
    viewer: list[str] = Field(default_factory=list)


class DaemonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    database: Path
    inbox: Path
    archive: Path
    socket: Path
    quiet_seconds: float = Field(30, ge=0, allow_inf_nan=False)  # inf: no drop is ever quiet
    ready_marker: str | None = None  # inbox drops wait for this file, written last ([sftp] too)
    socket_group: str | None = None
    mirror: Path | None = None  # local copy of the SFTP folder (default: next to the database)
    log_level: str = "INFO"
    sftp: SftpConfig | None = None
    notify: NotifyConfig | None = None  # [notify]: email and webhooks (docs/notifications.md)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)  # [sources.NAME]: API sources

    @field_validator("database", "inbox", "archive", "socket", "mirror", mode="before")
    @classmethod
    def _a_path(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():  # "" would mean the config's folder
            raise ValueError("is empty: give a path")
        return value

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        for name in value:
            check_name(name)
        return value

    @field_validator("ready_marker")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        return check_marker_name(value, "ready_marker")

    @property
    def mirror_dir(self) -> Path:
        return self.mirror or self.database.parent / "sftp-mirror"


def load_config(path: str | os.PathLike[str]) -> DaemonConfig:
    file = Path(path)
    try:
        raw = file.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: no such config file") from exc
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{file} line {line}, column {column}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
            "save the config file as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})") from exc
    try:
        config = DaemonConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if first["type"] == "missing":
            raise ConfigError(f"{file}: missing key '{where}'") from exc
        found = key_line(raw.decode("utf-8"), [str(p) for p in first["loc"]])
        at = f"{file} line {found}" if found is not None else str(file)
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"{at}: unknown key '{where}'") from exc
        message = str(first["msg"]).removeprefix("Value error, ")
        # "a valid dictionary or instance of SourceConfig": a TOML table, in a config's words
        message = re.sub(r"a valid dictionary or instance of \w+", f"a table ([{where}])", message)
        raise ConfigError(f"{at}: '{where}': {message}") from exc
    base = file.parent
    _resolve(config, ("database", "inbox", "archive", "socket", "mirror"), base)
    if config.sftp is not None:
        _resolve(config.sftp, ("key_file", "password_file", "passphrase_file", "known_hosts"), base)
    if config.notify is not None:
        config.notify.resolve_paths(base)
    for source in config.sources.values():
        _resolve(source, ("client_secret_file", "files_folder"), base)
    _check_socket_path(file, config)
    _check_folders_apart(file, config)
    return config


_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")


def key_line(text: str, loc: list[str]) -> int | None:
    """The line of the TOML key a validation error names (`loc`: ["sftp", "port"], or
    ["notify", "email", "1", "to"] in the second `[[notify.email]]`), for the message: tomllib
    keeps no positions. None when the key is not written plainly so (an inline table, a value
    of a list)."""
    table: list[str] = []
    arrays: dict[tuple[str, ...], int] = {}  # [[table]] -> how many so far
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            table = [p.strip().strip("\"'") for p in header.group(2).split(".")]
            if header.group(1) == "[[":
                arrays[tuple(table)] = arrays.get(tuple(table), -1) + 1
                table = [*table, str(arrays[tuple(table)])]
            continue
        key = _KEY.match(line)
        if key is None:
            continue
        name = [p.strip().strip("\"'") for p in key.group(1).split(".")]
        if table + name == loc:
            return number
    return None


def _check_folders_apart(file: Path, config: DaemonConfig) -> None:
    """The inbox, the archive and the SFTP mirror are folders of their own: an archive inside
    the inbox was taken for a new drop every second and moved into itself."""
    folders = [("inbox", config.inbox), ("archive", config.archive)]
    if config.sftp is not None:
        folders.append(("mirror", config.mirror_dir))
    for i, (name, folder) in enumerate(folders):
        for other_name, other in folders[i + 1 :]:
            a, b = _absolute(folder), _absolute(other)
            if a == b:
                raise ConfigError(
                    f"{file}: '{name}' and '{other_name}' are the same folder {folder}; give each "
                    "a folder of its own"
                )
            if a in b.parents or b in a.parents:
                inner, outer = (other_name, name) if a in b.parents else (name, other_name)
                raise ConfigError(
                    f"{file}: the {inner} folder is inside the {outer} folder ({folder}, {other}); "
                    "give each a folder of its own, side by side"
                )


# sun_path holds 108 bytes on Linux, the last one the terminating NUL
SOCKET_PATH_BYTES = 107


def _check_socket_path(file: Path, config: DaemonConfig) -> None:
    """The socket is a file of its own: never the database, nor in a folder the daemon reads
    drops from or keeps them in (a stale socket is removed at start)."""
    socket = _absolute(config.socket)
    if len(os.fsencode(socket)) > SOCKET_PATH_BYTES:
        raise ConfigError(
            f"{file}: 'socket' {config.socket} is {len(os.fsencode(socket))} bytes long; a Unix "
            f"socket's path may have {SOCKET_PATH_BYTES} at most: give a shorter one (such as "
            "/run/roster-sync/roster-sync.sock)"
        )
    if socket == _absolute(config.database):
        raise ConfigError(
            f"{file}: 'socket' names the database {config.database}; give the socket a path of "
            "its own (such as /run/roster-sync/roster-sync.sock)"
        )
    for name, folder in (
        ("inbox", config.inbox),
        ("archive", config.archive),
        ("mirror", config.mirror_dir),
    ):
        if socket == _absolute(folder) or _absolute(folder) in socket.parents:
            raise ConfigError(
                f"{file}: 'socket' {config.socket} is inside the {name} folder {folder}; give the "
                "socket a path of its own (such as /run/roster-sync/roster-sync.sock)"
            )


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def socket_group_id(group: str | None) -> int | None:
    """The id of the config's `socket_group` (None without one), checked before the daemon
    binds its socket: a group that does not exist is one line at start, not a daemon that hangs."""
    if group is None:
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ConfigError(
            f"socket_group '{group}' is not a group on this system: create it (groupadd "
            f"{group}) or name an existing group in the daemon's config"
        ) from None


def _resolve(section: object, names: tuple[str, ...], base: Path) -> None:
    """Relative paths in the config file are relative to its folder, not to where the daemon
    was started."""
    for name in names:
        value = getattr(section, name)
        if value is not None and not value.is_absolute():
            setattr(section, name, (base / value).resolve())


def config_path(explicit: str | None) -> str | None:
    return explicit or os.environ.get(CONFIG_ENV)
