"""Errors the CLI reports as one line on stderr (never a traceback)."""

from __future__ import annotations

from daemon.db import DatabaseLocked, SchemaTooNew
from daemon.directory.records import EditRefused
from daemon.formats.drop import DropError
from daemon.ingest.header import FileRefused
from daemon.service.api import PermissionDenied
from daemon.service.client import ApiError, DaemonUnavailable
from daemon.service.config import ConfigError
from daemon.service.sftp import SftpError
from daemon.settings import SettingError
from daemon.sync.conflicts import ConflictError
from daemon.sync.export import ExportError
from daemon.sync.runs import RunError


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


USER_ERRORS: tuple[type[BaseException], ...] = (
    RunError,
    EditRefused,
    ApiError,
    DaemonUnavailable,
    ConfigError,
    PermissionDenied,
    SftpError,
    SettingError,
    ConflictError,
    ExportError,
    DatabaseLocked,
    SchemaTooNew,
    DropError,
    FileRefused,
    FileNotFoundError,
    PermissionError,
)
