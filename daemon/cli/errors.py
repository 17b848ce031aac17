"""Errors the CLI reports as one line on stderr (never a traceback)."""

from __future__ import annotations

from daemon.service.api import user_errors
from daemon.service.client import ApiError, DaemonUnavailable
from daemon.service.config import ConfigError


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# The engine's (the same list the daemon uses to tell a mistake from a fault), and the CLI's own.
USER_ERRORS: tuple[type[BaseException], ...] = (
    *user_errors(),
    ApiError,
    DaemonUnavailable,
    ConfigError,
)
