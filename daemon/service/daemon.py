"""`roster-sync daemon`: the one process that writes the database.

Threads: the main thread runs the loop below (scan the inbox, keep the schedule, mirror SFTP,
plan drops one at a time); a watchfiles thread only wakes the loop when the inbox changes (a
periodic rescan covers missed events); the socket server answers the TUI and CLI on threads of
its own, each call on its own database cursor, writes serialized by `write_lock`, which the loop
also holds while it plans. SIGTERM/SIGINT only set a flag: the current step (a plan, an apply,
a move to the archive) finishes, then the socket is removed and the process exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import watchfiles

from daemon.db import Database, DatabaseLocked
from daemon.progress import CallbackProgress
from daemon.service import drop_archive as files
from daemon.service.client import daemon_running
from daemon.service.config import DaemonConfig
from daemon.service.daemon_engine import (
    DAEMON_ACTOR,
    DaemonEngine,
    DaemonState,
    configure_logging,
    describe_sftp,
)
from daemon.service.inbox import InboxTracker, content_hash, scan_inbox
from daemon.service.schedule import Clock, crossed, system_clock
from daemon.service.server import ApiServer
from daemon.settings import SyncSettings, load_settings
from daemon.sync.runs import recover_interrupted

LOG = logging.getLogger("roster_sync.daemon")
MAX_TICK = 1.0  # the loop looks at the clock at least this often (seconds)
ARCHIVE_RETRY = 60.0


class _Stopping(Exception):
    """Raised inside the mirror (backoff sleep, download progress) when the daemon must stop."""


class Daemon:
    def __init__(self, config: DaemonConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.write_lock = threading.Lock()
        self.state = DaemonState(config=config, clock=clock, wake=self.wake, started_at=clock())
        self.tracker = InboxTracker(config.quiet_seconds)
        self.rescan_every = min(max(config.quiet_seconds, 0.2), 30.0)
        self.due: set[str] = set()  # drops to sync as soon as they are complete
        self.retry_at: dict[Path, float] = {}
        self.db: Database | None = None
        self.server: ApiServer | None = None
        self.prev_wall = self.state.started_at
        self.next_scan = 0.0
        self.next_poll = 0.0
        self.pruned_on: date | None = None
        self.scratch = config.database.parent / f"{config.database.name}.work" / "daemon"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        cfg = self.config
        for folder in (cfg.inbox, cfg.archive, files.queue_dir(cfg.inbox)):
            folder.mkdir(parents=True, exist_ok=True)
        self.db = Database(cfg.database)  # DatabaseLocked if another daemon has it
        if daemon_running(cfg.socket):  # another daemon (of another database) owns the socket
            raise RuntimeError(f"another roster-sync daemon answers on {cfg.socket}")
        recover_interrupted(self.db)
        for note in files.recover_queue(cfg.inbox):
            LOG.info("queue: %s", note)
        shutil.rmtree(self.scratch, ignore_errors=True)  # ZIPs unpacked for hashing before a crash
        self.server = ApiServer(
            cfg.socket, cfg.roles, self._engine_for, self.write_lock, cfg.socket_group
        )
        self.server.start()
        threading.Thread(target=self._watch, name="inbox-watch", daemon=True).start()
        queued = [p.name for p in files.queued(cfg.inbox)]
        LOG.info(
            "started (pid %d): inbox %s, archive %s, sftp %s%s",
            os.getpid(), cfg.inbox, cfg.archive, describe_sftp(cfg) or "off",
            f"; resuming {', '.join(queued)}" if queued else "",
        )  # fmt: skip

    def shutdown(self) -> None:
        self.stop.set()
        if self.server is not None:
            self.server.stop()
        # a write the API already started finishes before the database closes
        acquired = self.write_lock.acquire(timeout=120)
        try:
            if self.db is not None:
                self.db.close()
        finally:
            if acquired:
                self.write_lock.release()
        LOG.info("stopped")

    @contextlib.contextmanager
    def _engine_for(self, user: str) -> Iterator[DaemonEngine]:
        assert self.db is not None
        db = self.db.for_thread()
        try:
            yield DaemonEngine(db, user, self.state)
        finally:
            db.close()

    def _watch(self) -> None:
        """Wake the loop on inbox changes; our own hidden queue is not news."""
        inbox = self.config.inbox

        def relevant(_change: Any, path: str) -> bool:
            rel = os.path.relpath(path, inbox)
            return not any(part.startswith(".") for part in Path(rel).parts)

        try:
            for _ in watchfiles.watch(
                inbox, watch_filter=relevant, debounce=200, step=50, stop_event=self.stop,
                raise_interrupt=False, ignore_permission_denied=True,
            ):  # fmt: skip
                self.wake.set()
        except Exception as exc:
            LOG.warning(
                "cannot watch %s (%s); rescanning every %.1f s", inbox, exc, self.rescan_every
            )

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        while not self.stop.is_set():
            try:
                timeout = self.tick()
            except duckdb.FatalException:
                LOG.critical("the database failed; exiting so the service restarts", exc_info=True)
                return 1
            except Exception:
                LOG.exception("unexpected error in the daemon loop; continuing")
                timeout = MAX_TICK
            if self.stop.is_set():
                break
            if self.wake.wait(max(timeout, 0.02)):
                self.wake.clear()
                self.next_scan = 0.0
        return 0

    def tick(self) -> float:
        """One pass: scan, decide what is due, mirror, queue, process. Returns seconds to wait."""
        assert self.db is not None
        now, mono = self.clock(), time.monotonic()
        settings = load_settings(self.db)
        if mono >= self.next_scan:
            self._scan(mono)
        daily = settings.daily_sync_enabled
        fired = daily and crossed(self.prev_wall, now, settings.sync_start_time)
        self.prev_wall = now
        requested = self.state.take_sync_request()
        on_arrival = daily and settings.sync_on_arrival
        if fired or requested:
            why = (
                "a sync was requested" if requested else f"daily sync ({settings.sync_start_time})"
            )
            LOG.info("%s: syncing every complete drop in the inbox", why)
            if self.config.sftp is not None:
                self._mirror()
                self.next_poll = time.monotonic() + self.config.sftp.poll_seconds
            self._scan(time.monotonic())
            self.due |= self.tracker.names()
        elif on_arrival and self.config.sftp is not None and mono >= self.next_poll:
            self._mirror()
            self.next_poll = time.monotonic() + self.config.sftp.poll_seconds
        if self._prune_due(now):
            self._prune(settings, now)
        waits = self._queue_ready(on_arrival)
        if waits:  # look again when a pending drop's quiet period is over
            self.next_scan = min(self.next_scan, time.monotonic() + min(waits))
        for path in files.queued(self.config.inbox):
            if self.stop.is_set():
                break
            if self.retry_at.get(path, 0.0) <= time.monotonic():
                self._process(path)
        self._publish_pending(settings, on_arrival)
        mono = time.monotonic()
        timeouts = [MAX_TICK, self.next_scan - mono]
        if on_arrival and self.config.sftp is not None:
            timeouts.append(self.next_poll - mono)
        return min(timeouts)

    def _scan(self, mono: float) -> None:
        self.tracker.observe(scan_inbox(self.config.inbox))
        self.due &= self.tracker.names()
        self.next_scan = mono + self.rescan_every

    def _queue_ready(self, on_arrival: bool) -> list[float]:
        """Move complete, due drops into the queue; return when pending ones are worth a look."""
        waits = []
        for state in self.tracker.states():
            c = state.candidate
            if not state.ready:
                if state.wait is not None:
                    waits.append(state.wait)
                continue
            if not (on_arrival or c.name in self.due):
                continue
            if state.reason:
                LOG.warning("%s: %s", c.name, state.reason)
            try:
                if c.kind == "root":
                    stamp = f"inbox-root-{self.clock():%Y%m%d-%H%M%S}"
                    target = files.queue_loose_files(c.path, [f.rel for f in c.files], stamp)
                else:
                    target = files.queue_drop(c.path, c.name, self.config.inbox)
            except OSError as exc:
                LOG.error("cannot move %s out of the inbox: %s", c.name, exc)
                continue
            LOG.info("%s is complete; queued as %s", c.name, target.relative_to(self.config.inbox))
            self.tracker.forget(c.name)
            self.due.discard(c.name)
        return waits

    # ------------------------------------------------------------------ one drop
    def _process(self, path: Path) -> None:
        """Plan one queued drop (unless its content was planned before), then archive it."""
        assert self.db is not None
        name = path.name
        if not path.exists():
            return
        self.state.set_busy(f"checking {name}")
        digest = content_hash(path, self.scratch)
        label = "failed"
        try:
            with self.write_lock:
                earlier = self._earlier_run(digest)
                if earlier is not None:
                    run_id, source = earlier
                    if source == str(path):
                        LOG.info(
                            "%s was planned as run %d before a restart; archiving it", name, run_id
                        )
                        label = f"run-{run_id}"
                    else:
                        LOG.info(
                            "%s has the same content as run %d; not planned again", name, run_id
                        )
                        label = f"duplicate-of-run-{run_id}"
                else:
                    label = self._plan(path, name)
        finally:
            self.state.set_busy(None)
        self._archive(path, name, label)

    def _earlier_run(self, digest: str | None) -> tuple[int, str] | None:
        assert self.db is not None
        if digest is None:
            return None
        rows = self.db.rows(
            "SELECT run_id, source FROM runs WHERE content_hash = ? AND status <> 'failed' "
            "ORDER BY run_id LIMIT 1",
            [digest],
        )
        return (int(rows[0][0]), rows[0][1]) if rows else None

    def _plan(self, path: Path, name: str) -> str:
        assert self.db is not None

        def progress(label: str, done: int, total: int | None) -> None:
            self.state.set_busy(f"planning {name}: {label}")

        self.state.set_busy(f"planning {name}")
        LOG.info("planning %s", name)
        engine = DaemonEngine(self.db, DAEMON_ACTOR, self.state, CallbackProgress(progress))
        kind = "sftp" if name.startswith("sftp") else None
        try:
            run = engine.plan_source(str(path), kind)
        except duckdb.FatalException:
            raise
        except Exception:
            LOG.exception("planning %s failed", name)
            run_id = self.db.one("SELECT max(run_id) FROM runs WHERE source = ?", [str(path)])
            return f"run-{run_id}" if run_id is not None else "failed"
        detail = f": {run.error}" if run.error else ""
        if run.hold_reasons:
            detail = f": {'; '.join(run.hold_reasons)}"
        LOG.info("%s: run %d %s%s", name, run.run_id, run.status, detail)
        return f"run-{run.run_id}"

    def _archive(self, path: Path, name: str, label: str) -> None:
        try:
            target = files.archive_drop(path, self.config.archive, label, name, self.clock())
        except OSError as exc:
            LOG.error("cannot archive %s: %s; retrying in %.0f s", path, exc, ARCHIVE_RETRY)
            self.retry_at[path] = time.monotonic() + ARCHIVE_RETRY
            return
        self.retry_at.pop(path, None)
        files.release_slot(path)
        LOG.info("archived %s as %s", name, target)
        if label.startswith("run-"):
            self._point_run_at_archive(int(label.removeprefix("run-")), path, target)

    def _point_run_at_archive(self, run_id: int, path: Path, target: Path) -> None:
        """The run's source follows its files, so people see (and re-plan from) where they are."""
        assert self.db is not None
        with self.write_lock:
            self.db.execute(
                "UPDATE runs SET source = ? WHERE run_id = ? AND source = ?",
                [str(target), run_id, str(path)],
            )

    # ------------------------------------------------------------------ SFTP, pruning, status
    def _mirror(self) -> None:
        assert self.config.sftp is not None
        self.state.set_busy(f"mirroring {describe_sftp(self.config)}")
        try:
            result = files.mirror_to_queue(self.config, self._sleep, self._check_stop)
        except _Stopping:
            result = "stopped by a shutdown"
        except Exception as exc:  # a mirror never takes the daemon down
            LOG.exception("SFTP mirror failed")
            result = f"failed: {type(exc).__name__}: {exc}"
        with self.state.lock:
            self.state.last_mirror, self.state.last_mirror_result = self.clock(), result
            self.state.busy = None

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopping()

    def _check_stop(self, _rel: str, _done: int, _size: int) -> None:
        """Called per chunk downloaded: a stop request ends the mirror (its temp file is removed)."""
        if self.stop.is_set():
            raise _Stopping()

    def _prune_due(self, now: datetime) -> bool:
        return self.pruned_on != now.date()

    def _prune(self, settings: SyncSettings, now: datetime) -> None:
        self.pruned_on = now.date()
        try:
            files.prune_archive(self.config.archive, settings.drop_retention_days, now.date())
        except OSError as exc:
            LOG.error("cannot prune the archive %s: %s", self.config.archive, exc)

    def _publish_pending(self, settings: SyncSettings, on_arrival: bool) -> None:
        lines = [f"{p.name}: queued" for p in files.queued(self.config.inbox)]
        for state in self.tracker.states():
            name = state.candidate.name
            if not state.ready:
                lines.append(f"{name}: {state.reason}")
            elif not (on_arrival or name in self.due):
                when = (
                    f"waits for the daily sync at {settings.sync_start_time}"
                    if settings.daily_sync_enabled
                    else "the daily sync is off; waits for sync now"
                )
                lines.append(f"{name}: complete; {when}")
        with self.state.lock:
            self.state.pending = lines


def run_daemon(
    config: DaemonConfig, *, clock: Clock | None = None, stop_event: threading.Event | None = None
) -> int:
    """Run until SIGTERM/SIGINT (or `stop_event`); 0 after a clean stop."""
    configure_logging(config.log_level)
    daemon = Daemon(config, clock or system_clock)
    restore = _install_signal_handlers(daemon)  # first: a SIGTERM while starting is clean too
    try:
        try:
            daemon.start()
        except Exception as exc:
            LOG.error("cannot start: %s", exc if isinstance(exc, DatabaseLocked) else repr(exc))
            return 1
        if stop_event is not None:
            threading.Thread(target=_bridge, args=(stop_event, daemon), daemon=True).start()
        return daemon.run()
    finally:
        daemon.shutdown()
        restore()


def _bridge(stop_event: threading.Event, daemon: Daemon) -> None:
    """Forward an outside stop request (tests, an embedding process) to the loop."""
    while not daemon.stop.is_set():
        if stop_event.wait(0.1):
            LOG.info("stop requested; finishing the current step")
            daemon.stop.set()
            daemon.wake.set()
            return


def _install_signal_handlers(daemon: Daemon) -> Any:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handle(signum: int, _frame: Any) -> None:
        LOG.info("%s received; stopping after the current step", signal.Signals(signum).name)
        daemon.stop.set()
        daemon.wake.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
