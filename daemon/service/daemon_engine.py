"""The engine as the daemon serves it: the same operations, plus the daemon's own state and log.

Why a subclass: the socket API calls engine methods by name, so `status()` and `sync_now()` only
need to know about the running daemon here; everything else is the plain Engine on a cursor of
the daemon's database.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime

from daemon.audit import audit
from daemon.db import Database
from daemon.models import DaemonInfo
from daemon.progress import Progress
from daemon.service.config import DaemonConfig
from daemon.service.engine import Engine, recent_drops
from daemon.service.schedule import Clock, next_daily
from daemon.settings import load_settings

DAEMON_ACTOR = "roster-sync-daemon"
LOG = logging.getLogger("roster_sync.daemon")
_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}


class _JournalFormatter(logging.Formatter):
    """One line per event; under systemd a `<N>` prefix gives journald the priority."""

    def __init__(self) -> None:
        self.journal = bool(os.environ.get("JOURNAL_STREAM"))
        prefix = "" if self.journal else "roster-sync"
        super().__init__(f"{prefix}[%(levelname)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.journal:
            return text
        # journald reads stderr line by line: keep a traceback in the event's one line
        return f"<{_PRIORITY.get(record.levelname, 6)}>" + text.replace("\n", " | ")


def configure_logging(level: str) -> None:
    """Log to stderr (journald keeps it; it adds the time itself)."""
    logger = logging.getLogger("roster_sync")
    for handler in list(logger.handlers):
        if getattr(handler, "roster_sync_daemon", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.roster_sync_daemon = True  # type: ignore[attr-defined]
    handler.setFormatter(_JournalFormatter())
    logger.addHandler(handler)
    try:
        logger.setLevel(level.upper())
    except ValueError:
        logger.setLevel(logging.INFO)
        LOG.warning("log_level %r is not a level (DEBUG, INFO, WARNING, ERROR); using INFO", level)


def describe_sftp(config: DaemonConfig) -> str | None:
    sftp = config.sftp
    if sftp is None:
        return None
    path = sftp.path if sftp.path.startswith("/") else f"/{sftp.path}"
    return f"{sftp.username}@{sftp.host}:{sftp.port}{path}"


@dataclass
class DaemonState:
    """What the daemon loop is doing, shared with the API threads (guarded by `lock`)."""

    config: DaemonConfig
    clock: Clock
    wake: threading.Event
    started_at: datetime
    pid: int = field(default_factory=os.getpid)
    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: str | None = None
    pending: list[str] = field(default_factory=list)
    last_mirror: datetime | None = None
    last_mirror_result: str | None = None
    sync_requested: bool = False

    def set_busy(self, text: str | None) -> None:
        with self.lock:
            self.busy = text

    def request_sync(self) -> None:
        with self.lock:
            self.sync_requested = True
        self.wake.set()

    def take_sync_request(self) -> bool:
        with self.lock:
            requested, self.sync_requested = self.sync_requested, False
        return requested


class DaemonEngine(Engine):
    """Engine operations done as `actor` while the daemon runs."""

    def __init__(
        self, db: Database, actor: str, state: DaemonState, progress: Progress | None = None
    ) -> None:
        super().__init__(db, actor, progress)
        self.state = state

    def daemon_info(self) -> DaemonInfo:
        settings = load_settings(self.db)  # read each time: the settings change through the API
        state = self.state
        with state.lock:
            busy, pending = state.busy, list(state.pending)
            last_mirror, last_result = state.last_mirror, state.last_mirror_result
            requested = state.sync_requested
        if requested and not busy:
            busy = "a sync was requested; starting"
        drops, seen = recent_drops(self.db)
        return DaemonInfo(
            running=True,
            pid=state.pid,
            started_at=state.started_at,
            inbox=str(state.config.inbox),
            socket=str(state.config.socket),
            daily_sync_enabled=settings.daily_sync_enabled,
            next_sync=(
                next_daily(state.clock(), settings.sync_start_time)
                if settings.daily_sync_enabled
                else None
            ),
            sync_on_arrival=settings.sync_on_arrival,
            sftp=describe_sftp(state.config),
            last_mirror=last_mirror,
            last_mirror_result=last_result,
            busy=busy,
            pending_drops=pending,
            drops=drops,
            drops_seen_at_first_mirror=seen,
        )

    def sync_now(self) -> str:
        """Ask the daemon loop to mirror and sync every complete drop now (audited)."""
        audit(self.db, self.actor, "daemon.sync_now")
        self.state.request_sync()
        what = "mirrors the SFTP folder and syncs" if self.state.config.sftp else "syncs"
        return f"sync requested: the daemon {what} every complete drop in the inbox now"
