"""What the daemon loop is doing, shared with the threads that answer the socket."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime

from daemon.models import WaitingDrop
from daemon.service.config import DaemonConfig
from daemon.service.schedule import Clock
from daemon.service.set_aside import SetAsideRequest


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
    checking: str | None = None  # the queued drop the loop checks or plans now (its folder name)
    pending: list[str] = field(default_factory=list)
    waiting: list[WaitingDrop] = field(default_factory=list)  # the drops of `pending`
    last_mirror: datetime | None = None
    last_mirror_result: str | None = None
    sync_requested: bool = False
    set_asides: list[SetAsideRequest] = field(default_factory=list)  # asked, not done yet

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

    def ask_set_aside(self, request: SetAsideRequest) -> None:
        """Hand a person's set-aside to the loop, which does it at its next pass."""
        with self.lock:
            self.set_asides.append(request)
        self.wake.set()

    def take_set_asides(self) -> list[SetAsideRequest]:
        with self.lock:
            requests, self.set_asides = self.set_asides, []
        return requests
