"""Notifications inside the daemon: notice events on the loop, send them on a worker thread.

The loop calls `observe()` after each plan and every `OBSERVE_EVERY` seconds (a few quick
queries under the write lock), `reached()` after each SFTP mirror, and `flush()` every tick.
`flush()` only starts a worker thread when a delivery is due; the worker holds the write lock
only to read what is due and to record each attempt, never while it talks to a server, so a
slow mail relay never holds up a plan or an API call. Nothing here raises into the loop: a
failure is logged as one line and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from daemon.db import Database
from daemon.notify import events
from daemon.notify.config import EmailChannel, NotifyConfig, NotifyError, read_secret
from daemon.notify.outbox import deliver_due, next_due, orphan_note, orphans, utc

LOG = logging.getLogger("roster_sync.notify")
OBSERVE_EVERY = 15.0  # seconds between looks when nothing was planned


class Notifier:
    def __init__(
        self,
        db: Database,
        lock: threading.Lock,
        config: NotifyConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.lock = lock
        self.config = config
        self.clock = clock
        self.previous: datetime | None = None
        self.next_observe = 0.0
        self.next_send: datetime | None = None  # naive UTC; None: look when the worker ends
        self.worker: threading.Thread | None = None
        self.stop = threading.Event()
        self.failing = False  # observe() failed last time (said once)
        self.kicked = False  # observe() recorded something: send without waiting for next_send
        self._guard = threading.Lock()  # next_send, between the loop and the worker

    def start(self) -> None:
        with self.lock:
            events.start_marks(self.db)
        self.previous = self.clock()
        LOG.info(
            "notifications on for %s: %s",
            self.config.district,
            ", ".join(f"{n} ({c.describe()})" for n, c in self.config.channels()) or "no channel",
        )
        for name, problem in secret_problems(self.config):
            LOG.warning("notifications: %s cannot send until this is fixed: %s", name, problem)
        with self.lock:
            waiting = orphans(self.db, self.config)
        for name, (count, _) in waiting.items():
            LOG.warning("notifications: channel %s is %s", name, orphan_note(count))

    # ------------------------------------------------------------------ on the loop
    def observe(self, force: bool = False) -> None:
        """Record what is due now (quick; the caller must not hold the write lock)."""
        mono = time.monotonic()
        if not force and mono < self.next_observe:
            return
        self.next_observe = mono + OBSERVE_EVERY
        now = self.clock()
        try:
            with self.lock:
                found = events.observe(self.db, self.config, now, self.previous)
        except Exception as exc:  # never into the sync; said once, not every 15 seconds
            level = logging.DEBUG if self.failing else logging.ERROR
            LOG.log(level, "notifications: cannot look for events: %s: %s", type(exc).__name__, exc)
            self.failing = True
            return
        if self.failing:
            LOG.info("notifications: looking for events works again")
            self.failing = False
        self.previous = now
        if found:
            self.kicked = True

    def reached(self, source: str, ok: bool) -> None:
        """A source answered (or not); the caller must not hold the write lock."""
        try:
            with self.lock:
                events.record_reach(self.db, source, ok, self.clock())
        except Exception as exc:
            LOG.error("notifications: cannot record %s reachability: %s", source, exc)

    def flush(self) -> None:
        """Start a worker if a delivery is due and none runs; returns at once."""
        if self.worker is not None and self.worker.is_alive():
            return
        with self._guard:
            when = self.next_send
        if not self.kicked and when is not None and utc(self.clock()) < when:
            return
        self.kicked = False
        self.worker = threading.Thread(target=self._work, name="notify-send", daemon=True)
        self.worker.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop after the message being sent (at most `timeout_seconds`)."""
        self.stop.set()
        if self.worker is not None:
            self.worker.join(timeout if timeout is not None else self.config.timeout_seconds + 5)

    # ------------------------------------------------------------------ the worker
    def _work(self) -> None:
        db = self.db.for_thread()
        upcoming: datetime | None = None
        try:
            deliver_due(db, self.config, self.clock, self.lock, self.stop)
            with self.lock:
                upcoming = next_due(db, self.config)
        except Exception as exc:
            LOG.error("notifications: sending stopped: %s: %s", type(exc).__name__, exc)
            upcoming = utc(self.clock()) + timedelta(seconds=self.config.retry_base_seconds)
        finally:
            db.close()
        with self._guard:
            # nothing pending: look again when observe() records something (or in an hour)
            self.next_send = upcoming or utc(self.clock()) + timedelta(hours=1)


def secret_problems(config: NotifyConfig) -> list[tuple[str, str]]:
    """Channels whose password or key cannot be read now (said at start, not at 2 a.m.)."""
    problems = []
    for name, channel in config.channels():
        try:
            if isinstance(channel, EmailChannel):
                if channel.username:
                    read_secret(channel.password_file, channel.password_env, "password")
            else:
                read_secret(channel.secret_file, channel.secret_env, "secret")
        except NotifyError as exc:
            problems.append((name, str(exc)))
    return problems
