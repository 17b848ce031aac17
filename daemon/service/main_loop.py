"""`roster-sync daemon`: the one process that writes the database.

Threads: the main thread runs the loop below (scan the inbox, keep the schedule, mirror SFTP,
plan drops one at a time); a watchfiles thread only wakes the loop when the inbox changes (a
periodic rescan covers missed events); the socket server answers the TUI and CLI on threads of
its own, each call on its own database cursor, writes serialized by `write_lock`, which the loop
also holds while it plans. SIGTERM/SIGINT only set a flag: the current step (a plan, an apply,
a move to the archive) finishes, then the socket is removed and the process exits 0.

What a drop goes through, whatever brought it (the inbox or the SFTP mirror):
seen -> complete (`inbox.py` decides, for both) -> taken in export order (`drop_order.py`; one
older than a drop already taken is superseded, never planned) -> queued -> planned once (a
newer plan supersedes the source's older open runs) -> archived. Every decision is recorded in
`drop_history.py`; a drop that was taken is history, and a later change to it on the server is
reported, not planned again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import watchfiles

from daemon.db import Database, DatabaseLocked
from daemon.errors import RosterSyncError
from daemon.models import WaitingDrop
from daemon.notify.events import SFTP_SOURCE
from daemon.notify.notifier import Notifier
from daemon.progress import CallbackProgress
from daemon.service import drop_archive as files
from daemon.service.client import daemon_running
from daemon.service.config import ConfigError, DaemonConfig, socket_group_id
from daemon.service.daemon_engine import DAEMON_ACTOR, DaemonEngine
from daemon.service.drop_history import (
    INBOX,
    MANIFEST_CARRIED,
    MANIFEST_MISSING,
    SFTP,
    TAKEN,
    UNDECIDED,
    DropHistory,
    DropRow,
    Signature,
    decode_signature,
    describe_change,
    encode_signature,
)
from daemon.service.drop_order import (
    OrderKey,
    from_history,
    late_reason,
    newest_first_mirror,
    order_key,
    utc_naive,
)
from daemon.service.inbox import (
    MANIFEST,
    MANIFEST_WAIT,
    SFTP_ROOT_DROP,
    Candidate,
    DropKey,
    InboxTracker,
    Readiness,
    RemoteView,
    SteadyFiles,
    content_hashes,
    give_up_seconds,
    group_units,
    keep_unlisted,
    lone_manifest,
    manifest_text,
    mirror_candidates,
    raw_hash,
    remote_unit,
    scan_inbox,
    unit_files,
    unlisted_units,
)
from daemon.service.logs import configure_logging
from daemon.service.schedule import Clock, start_passed, system_clock
from daemon.service.server import ApiServer
from daemon.service.set_aside import (
    DropNotSetAside,
    SetAsideRequest,
    find,
    recorded_reason,
    refuse_decided,
)
from daemon.service.sftp import SftpError, mirror
from daemon.service.sftp_mirror import (
    MirrorAbort,
    MirrorMemory,
    MirrorReport,
    local_entries,
    prune_local_copies,
)
from daemon.service.state import DaemonState, describe_sftp
from daemon.settings import DateRange, SyncSettings, blackout_on, load_settings
from daemon.sync.runs import add_run_note, recover_interrupted
from daemon.words import counted

LOG = logging.getLogger("roster_sync.daemon")
MAX_TICK = 1.0  # the loop looks at the clock at least this often (seconds)
ARCHIVE_RETRY = 60.0
INBOX_ROOT_PREFIX = "inbox-root-"  # the queued name of the inbox root's loose files
# what a queued SFTP drop may wait for on the server
LATE_MANIFEST = f"its {MANIFEST}, come after it was queued"
NEW_UPLOAD = "a new upload of it"


class _Stopping(Exception):
    """Raised inside the mirror (backoff sleep, download progress) when the daemon must stop."""


class Daemon:
    def __init__(
        self, config: DaemonConfig, clock: Clock, ticks: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.clock = clock
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.write_lock = threading.Lock()
        self.state = DaemonState(config=config, clock=clock, wake=self.wake, started_at=clock())
        # quiet periods are measured on `ticks` (monotonic; tests move it on by hand)
        self.tracker = InboxTracker(config.quiet_seconds, clock=ticks, wall=clock)
        self.rescan_every = min(max(config.quiet_seconds, 0.2), 30.0)
        self.due: set[DropKey] = set()  # drops to sync as soon as they are complete
        self.holding: dict[DropKey, str] = {}  # complete, but an older drop is still arriving
        self.manifest_waits: set[DropKey] = set()  # drops said (once) to wait for their manifest
        # queued drops waiting on the server (their manifest, come alone, or a new upload of
        # them), each with what it waits for; the SFTP drops queued after one wait behind it
        self.joining: dict[Path, str] = {}
        self.behind: dict[Path, Path] = {}  # a queued SFTP drop -> the waiting one it waits behind
        self.reuploads_noted: set[tuple[str, str]] = set()  # (name, files) said once in the log
        self.waiting: list[WaitingDrop] = []  # the drops held, as the last pass published them
        self.retry_at: dict[Path, float] = {}
        self.memory: MirrorMemory | None = None
        if config.sftp is not None:
            self.memory = MirrorMemory(SteadyFiles(config.sftp.remote_quiet_seconds, ticks))
        self.remote: RemoteView | None = None  # the server as the last mirror saw it
        # SFTP folders the mirror cannot list that drops wait on: since when (kept in the
        # database across a restart), and what waits (a queued drop, or a drop's label)
        self.unlisted_since: dict[str, datetime] = {}
        self.unlisted_holds: dict[str, Path | str] = {}
        self.unlisted_recorded: dict[str, tuple[str, ...]] | None = None
        self.db: Database | None = None
        self.history: DropHistory | None = None
        self.server: ApiServer | None = None
        self.notifier: Notifier | None = None  # [notify]: events noticed here, sent on a worker
        self.planned = False  # a drop was planned this tick: look for events at once
        self.prev_wall = self.state.started_at
        self.last_start: datetime | None = None  # the daily start time that last fired
        self.next_scan = 0.0
        self.next_poll = 0.0
        self.next_queue_check = 0.0
        self.pruned_on: date | None = None
        self.mirror_pruned_on: date | None = None
        self.blackout_logged: date | None = None
        self.pull_due = False  # the API sources are pulled at the daily sync and on sync now
        self.scratch = config.database.parent / f"{config.database.name}.work" / "daemon"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        cfg = self.config
        socket_group_id(cfg.socket_group)  # before anything is made, opened or bound
        for name, folder in (
            ("inbox", cfg.inbox),
            ("archive", cfg.archive),
            ("inbox's queue", files.queue_dir(cfg.inbox)),
        ):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # a file in the way, a folder this user may not write
                raise ConfigError(
                    f"cannot make the {name} folder {folder}: {exc.strerror or exc}"
                ) from exc
        self.db = Database(cfg.database)  # DatabaseLocked if another daemon has it
        if daemon_running(cfg.socket):  # another daemon (of another database) owns the socket
            raise RuntimeError(f"another roster-sync daemon answers on {cfg.socket}")
        recover_interrupted(self.db)
        self.history = DropHistory(self.db, DAEMON_ACTOR)
        self.unlisted_since = self.history.unlisted_since()
        self._resume_schedule()
        for note in files.recover_queue(cfg.inbox):
            LOG.info("queue: %s", note)
        queue_runs = self.db.rows(
            "SELECT source, run_id, status FROM runs WHERE starts_with(source, ?)",
            [str(files.queue_dir(cfg.inbox)) + os.sep],
        )
        for note in self.history.recover(queue_runs, self.clock(), lambda p: Path(p).exists()):
            LOG.warning("queue: %s", note)
        shutil.rmtree(self.scratch, ignore_errors=True)  # ZIPs unpacked for hashing before a crash
        if cfg.notify is not None:
            self.notifier = Notifier(self.db, self.write_lock, cfg.notify, self.clock)
            self.notifier.start()
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

    def _resume_schedule(self) -> None:
        """Go on from the daily start time that fired last, before a stop: a start time passed
        while the daemon was down (a restart, an upgrade, a reboot at 02:00) fires at once, once,
        instead of the night's drops waiting for the next night."""
        assert self.db is not None
        last = self.db.one("SELECT max(fired_for) FROM daily_sync_fired")
        if last is None:
            return
        fired = from_history(last).astimezone(self.state.started_at.tzinfo)
        if fired < self.prev_wall:
            self.prev_wall = self.last_start = fired

    def _record_start(self, fired: datetime) -> None:
        assert self.db is not None
        with self.write_lock:
            self.db.execute("DELETE FROM daily_sync_fired")
            self.db.execute("INSERT INTO daily_sync_fired VALUES (?)", [utc_naive(fired)])

    def shutdown(self) -> None:
        self.stop.set()
        if self.server is not None:
            self.server.stop()
        if self.notifier is not None:  # before the lock: its worker records its last attempt
            self.notifier.close()
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
        self._set_asides()  # promised "before the next drop": kept when a stop comes first
        return 0

    def tick(self) -> float:
        """One pass: scan, decide what is due, mirror, queue, process. Returns seconds to wait."""
        assert self.db is not None
        now, mono = self.clock(), time.monotonic()
        settings = load_settings(self.db)
        if mono >= self.next_scan:
            self._scan(mono)
        self._set_asides()  # a person's decision, also on a blackout day
        blackout = blackout_on(settings, now.date())
        self._note_blackout(blackout, now.date())
        if blackout is not None:  # nothing is synced today; drops wait in the inbox and queue
            self.prev_wall = now
            self.due.clear()
            self.state.take_sync_request()
            if self._prune_due(now):
                self._prune(settings, now)
            self._publish_pending(settings, False, blackout=str(blackout))
            return min(MAX_TICK, max(self.next_scan - time.monotonic(), 0.02))
        daily = settings.daily_sync_enabled
        passed = start_passed(self.prev_wall, now, settings.sync_start_time) if daily else None
        fired = passed is not None and passed != self.last_start  # once, however often it passes
        if fired and passed is not None:
            self.last_start = passed
            self._record_start(passed)
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
            self._scan(time.monotonic())
            self.due |= self.tracker.names()
            self.pull_due = bool(self.config.sources)
        elif (self._polling(on_arrival) or self._queued_unmirrored()) and mono >= self.next_poll:
            self._mirror()
            self._scan(time.monotonic())
        if self._prune_due(now):
            self._prune(settings, now)
        waits = self._queue_ready(on_arrival)
        if waits:  # look again when a pending drop's quiet period is over
            self.next_scan = min(self.next_scan, time.monotonic() + min(waits))
        self._check_queue()
        for path in self._in_queue_order():
            if self.stop.is_set():
                break
            if self.retry_at.get(path, 0.0) <= time.monotonic():
                self._set_asides()  # asked while the drop before it was planned: done first
                self._process(path)
        self._record_unlisted()
        if self.pull_due:  # after the drops of the same sync: a pull is newer than any of them
            self.pull_due = False
            self._pull_sources()
        self._publish_pending(settings, on_arrival)
        if self.notifier is not None:  # quick: sending happens on the notifier's worker thread
            self.notifier.observe(force=self.planned)
            self.planned = False
            self.notifier.flush()
        mono = time.monotonic()
        timeouts = [MAX_TICK, self.next_scan - mono]
        if self._polling(on_arrival):
            timeouts.append(self.next_poll - mono)
        return min(timeouts)

    def _in_queue_order(self) -> list[Path]:
        """The queued drops to process now, in the order they were queued (export order). An SFTP
        drop waiting on the server (`joining`) keeps its place, and the SFTP drops queued after
        it wait behind it (`behind`): planned meanwhile, a newer export would have the older one
        planned after it, putting last week's data back over this week's."""
        now: list[Path] = []
        self.behind = {}
        holder: Path | None = None
        for path in files.queued(self.config.inbox):
            sftp = _queued_from_sftp(path)
            if sftp and holder is not None:
                self.behind[path] = holder
            elif path in self.joining:
                holder = path if sftp else holder
            else:
                now.append(path)
        return now

    def _check_queue(self) -> None:
        """A queued drop whose files were removed from the queue fails, saying so (once the loop
        looks again: every rescan)."""
        assert self.history is not None
        if time.monotonic() < self.next_queue_check:
            return
        self.next_queue_check = time.monotonic() + self.rescan_every
        with self.write_lock:
            notes = self.history.gone_from_queue(self.clock(), lambda p: Path(p).exists())
        for note in notes:
            LOG.warning("queue: %s", note)

    def _note_blackout(self, blackout: DateRange | None, today: date) -> None:
        """Say once a day, in the log, that a blackout keeps the daemon from syncing."""
        if blackout is None or self.blackout_logged == today:
            return
        self.blackout_logged = today
        LOG.info(
            "blackout %s: no scheduled, inbox or SFTP sync today (%s); drops wait, and a manual "
            "run needs --force",
            blackout,
            today,
        )

    def _polling(self, on_arrival: bool) -> bool:
        """Poll the server: on arrival, always; else only while drops that were due at the start
        time are still arriving there, or a queued drop from there waits for its manifest come
        late (`joining`)."""
        if self.config.sftp is None:
            return False
        return (
            on_arrival or any(source == SFTP for source, _ in self.due)
            or any(_queued_from_sftp(path) for path in self.joining)
        )  # fmt: skip

    def _queued_unmirrored(self) -> bool:
        """An SFTP drop left queued by a stop, and the server not looked at since the start: it is
        looked at before that drop is planned (its manifest may have come meanwhile, and joins
        it), even when the daemon polls only at the daily start time."""
        if self.config.sftp is None or self.remote is not None:
            return False
        return any(_queued_from_sftp(p) for p in files.queued(self.config.inbox))

    def _scan(self, mono: float) -> None:
        found = scan_inbox(self.config.inbox, self.config.ready_marker)
        found += self._sftp_candidates()
        self.tracker.observe(found)
        self.due &= self.tracker.names()
        self.next_scan = mono + self.rescan_every

    def _sftp_candidates(self) -> list[Candidate]:
        """The server's drops not decided yet, as the last mirror saw them. A drop that was taken
        is history; only the loose files at the top make a new drop each time one is rewritten
        (a file merely gone from there does not), and a drop that failed makes a new one once
        its files change (a ZIP whose upload stalled past the give-up, then ended: nothing was
        planned from it, and waiting for a new name would lose that night's export)."""
        view, cfg = self.remote, self.config
        if view is None or cfg.sftp is None:
            return []
        assert self.history is not None
        marker = cfg.sftp.ready_marker
        decided = self.history.latest_by_name(SFTP)
        on_server = group_units(view.listing, marker)
        for unit in unlisted_units(view) - decided.keys():  # unreadable since the first mirror:
            on_server.setdefault(unit, {})  # shown as a drop that waits, not as nothing
        units = []
        for unit, rels in sorted(on_server.items()):
            if unit == "":
                row = decided.get(SFTP_ROOT_DROP)
                if row is None or not set(rels.items()) <= set(
                    decode_signature(row.signature).items()
                ):
                    units.append(unit)
            elif (
                unit not in decided or _failed_and_changed(decided[unit], rels)
                or _set_aside_and_changed(decided[unit], rels)
                or _manifest_come_late(decided.get(unit), unit, rels)
                or _changed_while_queued(decided[unit], rels)
            ):  # fmt: skip
                units.append(unit)
        return mirror_candidates(cfg.mirror_dir, view, units, marker)

    def _queue_ready(self, on_arrival: bool) -> list[float]:
        """Take complete, due drops in export order; return when pending ones are worth a look.

        A complete drop waits while an older one of the same source is still arriving, so drops
        that arrive together are planned oldest export first."""
        assert self.history is not None
        waits: list[float] = []
        ready: list[tuple[OrderKey, Readiness]] = []
        arriving: dict[str, OrderKey] = {}
        self.holding = {}
        self.tracker.expect_manifest = {
            source for source in (INBOX, SFTP) if self.history.expects_manifest(source)
        }
        states = self.tracker.states()
        self._note_manifest_waits(states)
        self.joining = {}
        self.unlisted_holds = {}
        decided = self.history.latest_by_name(SFTP)
        for state in states:
            c = state.candidate
            if c.unlisted is not None:  # held until a mirror lists it; told when it lasts
                self.unlisted_since.setdefault(c.unlisted, self.clock())
                self.unlisted_holds[c.unlisted] = c.label
            claim = self._manifest_claim(c, decided)
            stale = None
            if claim is not None and (state.in_progress or c.held):  # its drop waits for it
                queued = _joinable(claim)
                if queued is not None and _still_awaited(state):
                    self._hold_queued(queued, state)
                    self.joining[queued] = _waiting_for(LATE_MANIFEST, state, self._reason(state))
                elif queued is not None:  # unreadable there for the give-up: planned without it
                    self._note_given_up(state, claim, LATE_MANIFEST)
            elif claim is not None:
                self._alone_manifest(state, claim, waits)
                continue
            elif (stale := _queued_upload(decided, c)) is not None and stale.queued_as:
                if _still_awaited(state):  # then planned from it (`_take`)
                    queued = Path(stale.queued_as)
                    self._hold_queued(queued, state)
                    self.joining[queued] = _waiting_for(NEW_UPLOAD, state, self._reason(state))
                else:  # incomplete, unchanged for the give-up: planned from the copy queued
                    self._note_given_up(state, stale, NEW_UPLOAD)
                    stale = None
            if not state.ready:
                if state.wait is not None:
                    waits.append(state.wait)
                if state.in_progress:
                    key = self._order(state, with_manifest=False)
                    arriving[c.source] = min(arriving.get(c.source, key), key)
                continue
            if on_arrival or c.key in self.due or stale is not None:  # an upload of a due drop
                ready.append((self._order(state, with_manifest=True), state))
        for key, state in sorted(ready, key=lambda item: item[0]):
            older = arriving.get(state.candidate.source)
            if older is not None and older < key:
                self.holding[state.candidate.key] = (
                    f"complete; waits for the older drop {older.name} to finish arriving"
                )
                continue
            self._take(state, key)
        return waits

    def _hold_queued(self, queued: Path, state: Readiness) -> None:
        """Note that the queued drop `queued` (and the SFTP drops queued after it) waits on the
        folder `state`'s drop could not be listed in, if it does."""
        if state.candidate.unlisted is not None:
            self.unlisted_holds[state.candidate.unlisted] = queued

    def _reason(self, state: Readiness) -> str:
        """Why a drop waits, as `status` says it: for a folder the mirror cannot list, since when,
        that nothing is planned from it meanwhile, and what a person can do."""
        folder = state.candidate.unlisted
        since = self.unlisted_since.get(folder or "")
        if folder is None or since is None:
            return state.reason
        now = self.clock()
        held = self.unlisted_holds.get(folder)
        name = held.name if isinstance(held, Path) else state.candidate.label
        behind = ", and the drops queued after it go on" if isinstance(held, Path) else ""
        return (
            f"{state.reason}; not listed since {since.astimezone(now.tzinfo):%Y-%m-%d %H:%M} "
            f"({_how_long((now - since).total_seconds())}), and nothing is planned from it until a "
            f"mirror lists it: fix the folder's permissions on the server, or set the drop aside "
            f"(roster-sync drops set-aside {name} --reason TEXT: it is not planned{behind})"
        )

    def _record_unlisted(self) -> None:
        """Keep in the database which unlisted folders drops wait on, since when, and which
        drops (a queued one, and the SFTP drops queued after it, waiting behind it): `status`
        says how long after a restart, and the notifications tell someone once it lasts
        `unreachable_hours` (notify/events.py). Written only when that changes."""
        if self.remote is None or self.history is None:  # the server not looked at yet
            return
        waits: dict[str, tuple[str, ...]] = {}
        for folder, held in sorted(self.unlisted_holds.items()):
            if isinstance(held, Path):
                behind = [path.name for path, holder in self.behind.items() if holder == held]
                waits[folder] = (held.name, *behind)
            else:
                waits[folder] = (held,)
        self.unlisted_since = {f: s for f, s in self.unlisted_since.items() if f in waits}
        if waits == self.unlisted_recorded:
            return
        before = self.unlisted_recorded or {}
        with self.write_lock:
            self.history.record_unlisted(waits, self.unlisted_since, self.clock())
        self.unlisted_recorded = waits
        for folder in waits.keys() - before.keys():
            LOG.warning(
                "the SFTP mirror cannot list %s; %s wait(s) for it, and nothing is planned from "
                "it until a mirror lists it (fix its permissions on the server, or set the drop "
                "aside: roster-sync drops set-aside NAME --reason TEXT)",
                folder, ", ".join(waits[folder]),
            )  # fmt: skip
        for folder in before.keys() - waits.keys():
            LOG.info("no drop waits on the unlisted SFTP folder %s any more", folder)

    def _note_manifest_waits(self, states: list[Readiness]) -> None:
        """Say in the log, once per drop, that it waits for its manifest (status says it too)."""
        waiting = {s.candidate.key: s for s in states if s.reason.startswith(MANIFEST_WAIT)}
        for key, state in waiting.items():
            if key not in self.manifest_waits:
                LOG.info("%s: %s", state.candidate.label, state.reason)
        self.manifest_waits = set(waiting)

    def _manifest_claim(self, c: Candidate, decided: dict[str, DropRow]) -> DropRow | None:
        """The drop taken before, under the same name, that this candidate differs from by its
        manifest.csv alone: in the inbox, a manifest alone in the folder (or at the top) that
        drop came from; from SFTP, that drop's files on the server as it was taken with, and a
        manifest.csv (at the top: new or rewritten; in a folder: new). Such a manifest is never
        a drop by itself (from SFTP it would plan that drop's files again, read as its manifest
        says); it may be the first file of the next drop, written first (at the top), or that
        drop's manifest come late. None: a drop as any other (a manifest alone under a new name
        waits for the files it lists). From SFTP the server's listing decides, so a manifest
        still changing there (held) is claimed too: its queued drop waits for it. `decided`:
        the latest decision of each SFTP drop (read once per pass)."""
        assert self.history is not None
        if c.kind == "zip" or c.irregular:
            return None
        if c.source == INBOX:
            if not lone_manifest(c):
                return None
            taken = [
                row for row in self.history.latest_by_name(INBOX).values()
                if row.status in TAKEN and not row.set_aside_by and (
                    row.name == c.name if c.kind == "folder"
                    else row.name.startswith(INBOX_ROOT_PREFIX)
                )
            ]  # fmt: skip
            return max(taken, key=lambda row: row.drop_id, default=None)
        row = decided.get(c.name)  # (loose files) for the top's
        files = self._server_files(c) if row is not None else None
        if files is None:
            return None
        return row if _manifest_come_late(row, "" if c.kind == "root" else c.name, files) else None

    def _server_files(self, c: Candidate) -> Signature | None:
        """An SFTP drop's files on the server as the last mirror listed them; None for the
        inbox's."""
        if c.source != SFTP or self.remote is None:
            return None
        marker = self.config.sftp.ready_marker if self.config.sftp else None
        return unit_files(self.remote, "" if c.kind == "root" else c.name, marker)

    def _alone_manifest(self, state: Readiness, taken: DropRow, waits: list[float]) -> None:
        """A manifest.csv that came alone under a drop taken before (`_manifest_claim`): while
        that drop is queued, not planned yet, it joins it (its files are read as it says); else
        it waits, as the first file of the next drop would, for the files it lists, and is set
        aside at the give-up, saying so on that drop's run. In an SFTP folder it is set aside at
        once: no next drop comes into a folder taken (a change there is never planned)."""
        c = state.candidate
        queued = _joinable(taken)
        if queued is not None:
            self._join_manifest(state, taken, queued)
            return
        left = state.give_up_in
        if left is None or (c.source == SFTP and c.kind == "folder"):
            self._late_manifest(state, taken)
            return
        waits.append(left)
        self.holding[c.key] = (
            f"{MANIFEST} alone, after {taken.name} was taken: the first file of the next drop, "
            f"or that drop's manifest come late; waits for the files it lists (set aside if "
            f"none come in {left:.0f} s)"
        )

    def _join_manifest(self, state: Readiness, taken: DropRow, queued: Path) -> None:
        """Put the manifest that came while its drop was queued into that drop: moved from the
        inbox, copied from the SFTP mirror (which keeps its files)."""
        assert self.history is not None
        c = state.candidate
        rel = next((f.rel for f in c.files if f.rel.lower() == MANIFEST), None)
        if rel is None:  # listed on the server, not mirrored yet: the next pass
            return
        target = queued / MANIFEST
        try:
            if target.exists() or target.is_symlink():
                raise FileExistsError(f"{target} is there already")
            if c.source == INBOX:
                os.rename(c.path / rel, target)
            else:
                shutil.copyfile(c.path / rel, target)
        except OSError as exc:
            LOG.error("%s: cannot put %s into the queued %s: %s", c.label, MANIFEST, taken.name,
                      exc)  # fmt: skip
            return
        if c.kind == "folder" and c.source == INBOX:
            with contextlib.suppress(OSError):
                c.path.rmdir()
        signature = self._server_files(c)
        reason = (
            f"complete; its {MANIFEST} came after it was taken, while it was queued, and joined "
            "it: its files are read as the manifest says"
        )
        with self.write_lock:
            self.history.join_manifest(taken.drop_id, reason, self.clock(), signature)
        LOG.info("%s: %s came while %s was queued; it joins it", c.label, MANIFEST, taken.name)
        self._forget(c)

    def _late_manifest(self, state: Readiness, taken: DropRow) -> None:
        """A manifest.csv that stayed alone after its drop was taken: never planned as a drop of
        one file, nor with files that went with that drop. It is put aside (archived as skipped,
        or from SFTP recorded so), and when that drop was read without it, its run and the log
        say that the run read every file as bulk."""
        assert self.history is not None and self.db is not None
        c = state.candidate
        run = f" (run {taken.run_id})" if taken.run_id is not None else ""
        read_as_bulk = taken.manifest != MANIFEST_CARRIED
        reason = (
            f"{MANIFEST} came alone after {taken.name}{run} was taken"
            + (" without it" if read_as_bulk else "")
            + "; a manifest alone is not a drop, so it is not planned."
        )
        if read_as_bulk:
            reason += (
                " That drop's files were read as bulk (whoever a file leaves out is archived): "
                f"check its run; to sync the drop with its manifest, put this {MANIFEST} in the "
                "drop's archived folder and run it (roster-sync run FOLDER)"
            )
        signature = self._server_files(c)
        target = None
        if c.source == INBOX:
            rels = [f.rel for f in c.files]
            target = (
                self._queue_files(c) if c.kind == "folder"
                else self._queue_loose(c, rels, f"manifest-{self.clock():%Y%m%d-%H%M%S}")
            )  # fmt: skip
            if target is None:
                return  # cannot be moved: looked at again on the next pass
        with self.write_lock:
            self.history.record(
                source=c.source, name=target.name if target else c.name,
                status="skipped", reason=reason, now=self.clock(), first_seen=state.first_seen,
                complete_at=state.complete_at, queued_as=target, signature=signature,
                manifest=MANIFEST_CARRIED,
            )  # fmt: skip
            if taken.run_id is not None and read_as_bulk:
                add_run_note(
                    self.db, taken.run_id, "drop",
                    f"{MANIFEST} came after this drop was planned, alone ({c.label}); this run "
                    "read every file as bulk: whoever a file the manifest says is delta leaves "
                    "out is archived by it",
                )  # fmt: skip
        LOG.warning("%s: %s", c.label, reason)
        self._forget(c)

    def _order(self, state: Readiness, with_manifest: bool) -> OrderKey:
        c = state.candidate
        text = manifest_text(c) if with_manifest else None
        return order_key(c.name, state.first_seen or self.clock(), text)

    def _take(self, state: Readiness, key: OrderKey) -> None:
        """A complete drop: queue it, or record it as superseded when it is older than a drop of
        its source that was already taken (an older export must not undo a newer one)."""
        assert self.history is not None
        c, cfg = state.candidate, self.config
        signature = None
        if c.source == SFTP and self.remote is not None:
            unit = "" if c.kind == "root" else c.name
            signature = unit_files(self.remote, unit, cfg.sftp.ready_marker if cfg.sftp else None)
        replaced = _queued_upload(self.history.latest_by_name(c.source), c)
        first_seen = state.first_seen
        if replaced is not None and replaced.first_seen_at is not None:
            # the same drop, first seen when its queued copy was: ordered by that time (no export
            # date), a new upload must not turn newer than the drops queued after it
            first_seen = from_history(replaced.first_seen_at)
            key = order_key(c.name, first_seen, manifest_text(c))
        record: dict[str, Any] = {
            "source": c.source, "key": key, "first_seen": first_seen,
            "complete_at": state.complete_at, "signature": signature,
        }  # fmt: skip
        with self.write_lock:  # a new upload of a queued drop keeps the place that drop took:
            # the drops queued after it wait behind it, so only one planned already is newer
            newest = self.history.newest_taken(c.source, beyond_queue=replaced is not None)
            late = late_reason(key, newest)
            if late and c.source == SFTP:  # nothing to move: the mirror keeps the files
                self.history.record(
                    name=c.name, status="superseded", reason=late, now=self.clock(), **record
                )
        if late:
            LOG.warning("%s is superseded, not planned (%s): %s", c.label, key.describe(), late)
        if late and c.source == SFTP:
            self._forget(c)
            return
        if state.reason:
            LOG.warning("%s: %s", c.label, state.reason)
        target = self._queue_files(c, _queued_path(replaced))
        if target is None:
            return
        where = target.relative_to(cfg.inbox)
        manifest = (
            MANIFEST_CARRIED if state.manifest
            else MANIFEST_MISSING if state.without_manifest else None
        )  # fmt: skip
        with self.write_lock:
            self.history.record(
                name=target.name if c.source == INBOX else c.name,
                status="superseded" if late else "queued",
                reason=late or f"complete; {key.describe()}",
                now=self.clock(),
                queued_as=target,
                manifest=manifest,
                **record,
            )
            if replaced is not None:
                self.history.update(
                    replaced.drop_id, "superseded",
                    "changed on the server while it was queued, before it was planned: planned "
                    "from the new upload instead (this copy is archived, not read)",
                    self.clock(),
                )  # fmt: skip
        if replaced is not None:
            LOG.info("%s settled on the server: the new upload replaces the queued copy", c.label)
        if late:
            LOG.info("%s moved to the queue, to be archived as superseded", c.label)
        else:
            LOG.info("%s is complete; queued as %s (%s)", c.label, where, key.describe())
        self._forget(c)

    def _queue_files(self, c: Candidate, replacing: Path | None = None) -> Path | None:
        """Move (or, from the SFTP mirror, copy) a drop's files into the queue; None if not.
        `replacing`: the queued copy of an SFTP drop this new upload of it takes the place of."""
        inbox = self.config.inbox
        try:
            if c.source == SFTP:
                return files.queue_snapshot(
                    c, inbox, "sftp" if c.kind == "root" else f"sftp-{c.name}",
                    after=replacing.parent.name if replacing else None,
                )  # fmt: skip
            if c.kind == "root":
                name = f"{INBOX_ROOT_PREFIX}{self.clock():%Y%m%d-%H%M%S}"
                return files.queue_loose_files(c.path, [f.rel for f in c.files], name)
            return files.queue_drop(c.path, c.name, inbox)
        except OSError as exc:
            LOG.error("cannot queue %s: %s", c.label, exc)
            return None

    def _queue_loose(self, c: Candidate, rels: list[str], name: str) -> Path | None:
        """Move some of the inbox root's loose files into the queue as `name`; None if not."""
        try:
            return files.queue_loose_files(c.path, rels, name)
        except OSError as exc:
            LOG.error("cannot queue %s: %s", c.label, exc)
            return None

    def _forget(self, c: Candidate) -> None:
        self._forget_key(c.key)

    def _forget_key(self, key: DropKey) -> None:
        self.tracker.forget(key)
        self.due.discard(key)

    # ------------------------------------------------------------------ one drop
    def _process(self, path: Path) -> None:
        """Plan one queued drop once (unless its content was planned before), then archive it."""
        assert self.db is not None and self.history is not None
        name = path.name
        if not path.exists():
            return
        row = self.history.by_queue_path(path)
        if row is None:  # queued by an older daemon: decided now, as it stands
            with self.write_lock:
                drop_id = self.history.record(
                    source=SFTP if _queued_from_sftp(path) else INBOX, name=name,
                    status="queued", reason="found in the queue at start", now=self.clock(),
                    first_seen=self.clock(), queued_as=path,
                )  # fmt: skip
            row = self.history.get(drop_id)
        if row.status in ("superseded", "failed", "planned", "skipped"):  # decided already
            label = f"run-{row.run_id}" if row.run_id is not None else row.status
            if row.status == "failed":
                LOG.warning("%s is not planned again: %s", name, row.reason)
            if row.set_aside_by and not row.content_hashes:  # set aside without the daemon
                self._remember_content(row.drop_id, path)
            self._archive(path, name, label)
            return
        if self._planned_after(row):
            self._archive(path, name, "superseded")
            return
        self.state.set_busy(f"checking {name}")
        with self.state.lock:
            self.state.checking = name
        label = "failed"
        try:
            with self.write_lock:  # committed first: a drop that kills the daemon is tried once
                self.history.update(row.drop_id, "planning", None, self.clock(), audited=False)
            known = content_hashes(path, self.scratch)
            digest = known[0] if known else None
            with self.write_lock:
                earlier = self._earlier_run(digest, path)
                aside = self.history.set_aside_with(self._known_as(known, path))
                now = self.clock()
                if earlier is not None and earlier[1] == str(path):
                    run_id = earlier[0]
                    LOG.info(
                        "%s was planned as run %d before a restart; archiving it", name, run_id
                    )
                    label = f"run-{run_id}"
                    self.history.update(row.drop_id, "planned", None, now, run_id)
                elif aside is not None and aside.drop_id != row.drop_id:
                    # a person's decision stands for its content, however the files came back
                    label = f"set-aside-as-drop-{aside.drop_id}"
                    why = (
                        f"the same content as drop {aside.drop_id}, which {aside.set_aside_by} "
                        "set aside; not planned (to plan it anyway: roster-sync run on its copy "
                        f"in the archive, ...-{label}-{files.safe_label(name)})"
                    )
                    LOG.warning("%s has %s", name, why)
                    self.history.update(row.drop_id, "skipped", why, now)
                elif earlier is not None:
                    run_id = earlier[0]
                    LOG.info("%s has the same content as run %d; not planned again", name, run_id)
                    label = f"duplicate-of-run-{run_id}"
                    why = f"the same content as run {run_id}; not planned again"
                    self.history.update(row.drop_id, "skipped", why, now, run_id)
                else:
                    label = self._plan(
                        path, name, row.drop_id, row.source, row.manifest == MANIFEST_MISSING
                    )
                    self.planned = True
        finally:
            self.state.set_busy(None)
            with self.state.lock:
                self.state.checking = None
        self._archive(path, name, label)

    def _remember_content(self, drop_id: int, path: Path) -> None:
        """Keep with a drop set aside the content of its queued copy (`path`), read as its run
        would read it, and where that copy is (an inbox drop's, under the name it was queued as)."""
        assert self.history is not None
        hashes = self._contents(path)
        with self.write_lock:
            self.history.remember_content(drop_id, hashes, path)

    def _remember_mirrored(self, row: DropRow, unit: str) -> None:
        """The content of a drop set aside before any mirror listed it (after a restart), as the
        mirror holds its server's files when one first does: the same files uploaded again hold
        that (a manifest come late, say), not its queued copy's."""
        assert self.history is not None
        mirrored = self.config.mirror_dir / unit
        if mirrored.exists():
            self.history.remember_content(row.drop_id, self._contents(mirrored), mirrored)

    def _contents(self, path: Path, rels: list[str] | None = None) -> list[str]:
        """What a drop set aside is known by: its content as a run would record it and its data
        alone (`content_hashes`), or, when its files cannot be opened as a drop, their bytes
        (`rels`: of the loose files at a top)."""
        known = content_hashes(path, self.scratch)
        raw = raw_hash(path, rels) if not known else None
        return known + ([raw] if raw else [])

    def _known_as(self, known: list[str], path: Path) -> list[str]:
        """What a queued drop is compared with the drops set aside by: its content and its
        data (`known`), and its bytes when it has no content or some drop set aside is known
        by its bytes alone."""
        assert self.history is not None
        raw = None
        if not known or self.history.knows_raw_content():
            raw = raw_hash(path)
        return known + ([raw] if raw else [])

    def _planned_after(self, row: DropRow) -> bool:
        """Whether the queued SFTP drop `row` is older than one planned already, by whatever path
        it came (a new upload, a manifest joined, a restart): then it is superseded, never
        planned, as when it was taken (an older export would undo the newer one's changes)."""
        assert self.history is not None
        key = row.key()
        if row.source != SFTP or key is None:
            return False
        with self.write_lock:
            late = late_reason(key, self.history.newest_taken(SFTP, beyond_queue=True))
            if late:
                self.history.update(row.drop_id, "superseded", late, self.clock())
        if late:
            LOG.warning("%s is superseded, not planned (%s): %s", row.name, key.describe(), late)
        return late is not None

    def _earlier_run(self, digest: str | None, path: Path) -> tuple[int, str] | None:
        """The run this drop needs no plan beyond: its own, planned before a restart (a run of
        this very queued path with this content), or the newest run that did not fail when it
        has this content (the same export twice in a row). A match with an older run is planned:
        after A, B, A the directory must go back to A (and planning unchanged input changes
        nothing)."""
        assert self.db is not None
        if digest is None:
            return None
        rows = self.db.rows(
            "SELECT run_id, source FROM runs WHERE content_hash = ? AND source = ? "
            "AND status <> 'failed' ORDER BY run_id DESC LIMIT 1",
            [digest, str(path)],
        )
        if not rows:
            rows = self.db.rows(
                "SELECT run_id, source, content_hash FROM runs WHERE status <> 'failed' "
                "ORDER BY run_id DESC LIMIT 1"
            )
            rows = [r for r in rows if r[2] == digest]
        return (int(rows[0][0]), rows[0][1]) if rows else None

    def _plan(
        self, path: Path, name: str, drop_id: int, source: str, without_manifest: bool = False
    ) -> str:
        """Plan the drop (the caller holds the write lock); a newer plan supersedes the source's
        older open runs, so nobody approves the older one by mistake. A drop taken without the
        manifest its source's drops carry is never applied by auto_apply when it archives, and
        its run says why."""
        assert self.db is not None and self.history is not None

        def progress(label: str, done: int, total: int | None) -> None:
            self.state.set_busy(f"planning {name}: {label}")

        self.state.set_busy(f"planning {name}")
        LOG.info("planning %s", name)
        engine = DaemonEngine(
            self.db,
            DAEMON_ACTOR,
            self.state,
            CallbackProgress(progress),
            unmarked_drop=not self._has_ready_marker(path, source),
            without_manifest=without_manifest,
        )
        try:
            run = engine.plan_source(str(path), "sftp" if source == SFTP else None)
        except duckdb.FatalException:
            raise
        except Exception as exc:
            LOG.exception("planning %s failed", name)
            run_id = self.db.one("SELECT max(run_id) FROM runs WHERE source = ?", [str(path)])
            why = f"planning failed: {type(exc).__name__}: {exc}; not planned again by itself"
            self.history.update(drop_id, "failed", why, self.clock(), run_id)
            return f"run-{run_id}" if run_id is not None else "failed"
        missing = (
            f"planned without {MANIFEST} (the drops before it had one): "
            if without_manifest
            else ""
        )
        if without_manifest:
            add_run_note(
                self.db, run.run_id, "drop",
                f"{missing}every file was read as bulk, so whoever a file leaves out is "
                "archived; if the SIS meant some files as delta, do not apply this run",
            )  # fmt: skip
        detail = f": {run.error}" if run.error else ""
        if run.hold_reasons:
            detail = f": {'; '.join(run.hold_reasons)}"
        if engine.review_reason:
            detail = f": {engine.review_reason}"
        level = logging.WARNING if without_manifest else logging.INFO
        LOG.log(level, "%s%s: run %d %s%s", name,
                f" (taken without {MANIFEST}: the drops before it had one)" if missing else "",
                run.run_id, run.status, detail)  # fmt: skip
        now = self.clock()
        if run.status == "failed":
            self.history.update(drop_id, "failed", run.error, now, run.run_id)
        else:
            reasons = {
                "held": f"held: {'; '.join(run.hold_reasons)}",
                "applied": "applied by auto_apply",
                "planned": engine.review_reason
                or (f"{missing}waiting for review" if without_manifest else None),
            }
            self.history.update(drop_id, "planned", reasons.get(run.status), now, run.run_id)
            for older in self.history.supersede_older_runs(source, run.run_id, name, now):
                LOG.info("run %d superseded: %s (run %d) is newer", older, name, run.run_id)
        return f"run-{run.run_id}"

    def _has_ready_marker(self, path: Path, source: str) -> bool:
        """Whether the drop had to show it was complete: its source's ready marker is configured
        (`inbox.py` waited for it), or it is a ZIP, which carries its own (its directory is
        written last, and it is read only once it opens and passes its CRC check)."""
        if path.is_file():
            return True
        sftp = self.config.sftp
        if source == SFTP:
            return sftp is not None and sftp.ready_marker is not None
        return self.config.ready_marker is not None

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

    # ------------------------------------------------------------------ API sources
    def _pull_sources(self) -> None:
        """Every `[sources.NAME]`, one after another, each a run like a drop's."""
        for name in sorted(self.config.sources):
            if self.stop.is_set():
                break
            self._pull(name)

    def _pull(self, name: str) -> None:
        assert self.db is not None

        def progress(label: str, done: int, total: int | None) -> None:
            of = f"/{total:,}" if total else ""
            self.state.set_busy(f"pulling {name}: {label}" + (f" ({done:,}{of})" if done else ""))

        LOG.info("pulling %s", name)
        self.state.set_busy(f"pulling {name}")
        answered = False  # for notifications: an API not answered for a day is worth a message
        try:
            with self.write_lock:
                engine = DaemonEngine(self.db, DAEMON_ACTOR, self.state, CallbackProgress(progress))
                run = engine.pull_source(name)
            answered = not (run.fetch or {}).get("error")
        except duckdb.FatalException:
            raise
        except Exception:
            LOG.exception("pulling %s failed", name)
            return
        finally:
            self.state.set_busy(None)
            if self.notifier is not None:
                self.notifier.reached(name, answered)
        detail = f": {run.error}" if run.error else ""
        if run.hold_reasons:
            detail = f": {'; '.join(run.hold_reasons)}"
        level = logging.ERROR if run.status == "failed" else logging.INFO
        LOG.log(level, "pulled %s: run %d %s%s", name, run.run_id, run.status, detail)

    # ------------------------------------------------------------------ SFTP, pruning, status
    def _mirror(self) -> None:
        """Mirror the server, then decide what is news: its drops become candidates (`_scan`),
        the first mirror records all but the newest as seen, and a change to a drop taken
        before is reported once."""
        cfg = self.config
        assert cfg.sftp is not None
        self.state.set_busy(f"mirroring {describe_sftp(cfg)}")
        if self.memory is not None and self.history is not None:
            decided = self.history.latest_by_name(SFTP)
            # a queued drop's files are mirrored too: its manifest may come late, and join it
            self.memory.decided = {
                name for name, row in decided.items()
                if name != SFTP_ROOT_DROP and row.status not in ("failed", *UNDECIDED)
                and not row.set_aside_by  # watched for a new upload, as a failed one
            }  # fmt: skip
        report: MirrorReport | None = None
        listed_on = self.clock()  # the day the listing below is of: what pruning reads
        try:
            report = mirror(
                cfg.sftp, cfg.mirror_dir, sleep=self._sleep, progress=self._check_stop,
                memory=self.memory,
            )  # fmt: skip
            result = self._after_mirror(report)
        except _Stopping:
            result = "stopped by a shutdown"
        except SftpError as exc:
            LOG.error("SFTP mirror failed: %s", exc)
            result = f"failed: {exc}"
        except Exception as exc:  # a mirror never takes the daemon down
            LOG.exception("SFTP mirror failed")
            result = f"failed: {type(exc).__name__}: {exc}"
        if report is None and self.remote is not None:
            self.remote.problem = result.removeprefix("failed: ")
        elif report is not None and not self.stop.is_set():
            try:
                self._prune_mirror(listed_on)
            except OSError as exc:
                LOG.error("cannot prune the SFTP mirror %s: %s", cfg.mirror_dir, exc)
        if self.notifier is not None and result != "stopped by a shutdown":
            self.notifier.reached(SFTP_SOURCE, report is not None)
        with self.state.lock:
            self.state.last_mirror, self.state.last_mirror_result = self.clock(), result
            self.state.busy = None
        every = cfg.sftp.poll_seconds
        if report is not None and report.waiting:  # look again when the first file may settle
            every = min(every, max(min(report.waiting.values()) + 0.05, 0.2))
        self.next_poll = time.monotonic() + every

    def _after_mirror(self, report: MirrorReport) -> str:
        cfg = self.config
        assert cfg.sftp is not None and self.history is not None
        marker = cfg.sftp.ready_marker
        view = RemoteView(
            dict(report.listing), dict(report.waiting), dict(report.errors),
            unlisted=tuple(report.unlisted),
        )  # fmt: skip
        view = self.remote = keep_unlisted(view, self.remote)
        now = self.clock()
        with self.write_lock:
            if not self.history.first_mirror_done(SFTP):
                self._first_mirror(view, now)
                self.history.mark_first_mirror(SFTP, now)
            decided = self.history.latest_by_name(SFTP)
            on_server = group_units(view.listing, marker)
            unlisted = unlisted_units(view)
            for name, row in decided.items():
                if name == SFTP_ROOT_DROP:
                    continue  # rewritten loose files are a new drop, not a change
                if name in unlisted:
                    continue  # not looked at (nothing known of it after a restart): no change
                if row.set_aside_by and row.signature is None:  # set aside never listed
                    if name in on_server:
                        self.history.adopt_signature(row.drop_id, on_server[name])
                        self._remember_mirrored(row, name)
                    continue
                if _manifest_come_late(row, name, on_server.get(name, {})):
                    continue  # not a change: it joins its drop, or is set aside (`_queue_ready`)
                if _changed_while_queued(row, on_server.get(name, {})):
                    self._note_reupload(row, on_server[name])
                    continue  # not planned from the queued copy: taken again once it settles
                note = self.history.report_change(row, on_server.get(name, {}), now)
                files = on_server.get(name, {})
                if note and (_failed_and_changed(row, files) or _set_aside_and_changed(row, files)):
                    LOG.info(
                        "sftp/%s changed on the server after it %s: %s; a new upload, taken again "
                        "once complete",
                        name, "was set aside" if row.set_aside_by else "failed", note,
                    )  # fmt: skip
                elif note:
                    run = f" as run {row.run_id}" if row.run_id is not None else ""
                    level = logging.WARNING if name in on_server else logging.INFO
                    LOG.log(
                        level,
                        "sftp/%s changed on the server after it was %s%s: %s; not planned again "
                        "(a drop taken is history: the SIS should send a new export under a new "
                        "name)",
                        name, row.status, run, note,
                    )  # fmt: skip
        new = len(self._sftp_candidates())
        parts = [f"{len(report.downloaded)} downloaded, {len(report.unchanged)} unchanged"]
        if report.decided:
            parts.append(f"{len(report.decided)} in drops decided before (not copied)")
        if report.waiting:
            parts.append(f"{len(report.waiting)} still changing on the server")
        if report.failed:
            parts.append(f"{len(report.failed)} failed ({', '.join(report.failed[:3])})")
        parts.append(f"{new} new drop(s)")
        return ", ".join(parts)

    def _note_given_up(self, state: Readiness, queued: DropRow, what: str) -> None:
        """Say once that what a queued drop waited for on the server (`what`: a new upload of
        it, its manifest come late) stayed incomplete for the give-up: the drop is planned from
        the copy queued, and the drops queued after it wait no longer."""
        c = state.candidate
        noted = (queued.name, f"given up: {encode_signature(self._server_files(c) or {})}")
        if noted in self.reuploads_noted:
            return
        self.reuploads_noted.add(noted)
        LOG.warning(
            "%s: gave up waiting for %s (%s), unchanged for %.0f s; it is planned from the copy "
            "queued",
            c.label, what, state.reason, give_up_seconds(self.config.quiet_seconds),
        )  # fmt: skip

    def _note_reupload(self, row: DropRow, files: Signature) -> None:
        """Say once per new state of its files that a queued drop changed on the server."""
        noted = (row.name, encode_signature(files))
        if noted in self.reuploads_noted:
            return
        self.reuploads_noted.add(noted)
        LOG.warning(
            "sftp/%s changed on the server while it was queued, before it was planned: %s; it "
            "waits for the change to settle and is planned from the new upload",
            row.name, describe_change(decode_signature(row.signature), files),
        )  # fmt: skip

    def _first_mirror(self, view: RemoteView, now: datetime) -> None:
        """A server that keeps a year of nightly folders must not become a year of runs on the
        day the daemon is installed: only the newest drop there is planned, the others are
        recorded as seen (and shown by `roster-sync status`)."""
        assert self.history is not None and self.config.sftp is not None
        marker = self.config.sftp.ready_marker
        units = group_units(view.listing, marker)
        keys: dict[str, OrderKey] = {}
        for unit, rels in units.items():
            mtimes = [m for _, m in rels.values() if m is not None]
            appeared = datetime.fromtimestamp(max(mtimes), UTC) if mtimes else now
            keys[unit] = order_key(unit or SFTP_ROOT_DROP, appeared)
        newest = newest_first_mirror(keys)
        if newest is None or len(keys) < 2:
            return
        label = newest or SFTP_ROOT_DROP
        for unit, key in keys.items():
            if unit == newest:
                continue
            self.history.record(
                source=SFTP, name=unit or SFTP_ROOT_DROP, status="seen",
                reason=(
                    "on the server at the first mirror; not planned (only the newest drop "
                    f"there, {label}, is)"
                ),
                now=now, key=key, first_seen=now, signature=units[unit],
            )  # fmt: skip
        LOG.info(
            "first mirror: %d older drop(s) on the server recorded as seen, not planned; "
            "syncing the newest, %s",
            len(keys) - 1, label,
        )  # fmt: skip

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopping()

    def _check_stop(self, _rel: str, _done: int, _size: int) -> None:
        """Called per chunk read, per folder listed and by the download watchdog while a read is
        blocked (sftp_mirror.ProgressCallback): a stop request ends the mirror (its temp file
        is removed)."""
        if self.stop.is_set():
            raise _Stopping()

    def _prune_due(self, now: datetime) -> bool:
        return self.pruned_on != now.date()

    def _prune(self, settings: SyncSettings, now: datetime) -> None:
        self.pruned_on = now.date()
        try:
            files.prune_archive(
                self.config.archive,
                settings.drop_retention_days,
                now.date(),
                open_drops=self._open_run_sources(),
            )
        except OSError as exc:
            LOG.error("cannot prune the archive %s: %s", self.config.archive, exc)

    def _prune_mirror(self, now: datetime) -> None:
        """Once a day, right after a mirror listed the server: the local copies of drops that
        are decided and gone from the server, or decided longer ago than `drop_retention_days`
        (`DropHistory.mirror_prunable`); without it the mirror kept every file the server ever
        had. The history, the runs and the audit trail keep what they were. `now` is when the
        mirror began listing: a day's pruning reads a listing of that day (a listing begun
        before midnight, pruned after it, would use up the next day's turn on stale names)."""
        cfg, view = self.config, self.remote
        if self.mirror_pruned_on == now.date() or cfg.sftp is None or view is None:
            return
        assert self.db is not None and self.history is not None
        marker = cfg.sftp.ready_marker
        with self.write_lock:
            retention = load_settings(self.db).drop_retention_days
            prunable = self.history.mirror_prunable(
                local_entries(cfg.mirror_dir), group_units(view.listing, marker), retention, now,
                lambda entry: entry if (cfg.mirror_dir / entry).is_dir()
                else remote_unit(entry, marker),
                {rel for rel in view.listing if "/" not in rel},
            )  # fmt: skip
        self.mirror_pruned_on = now.date()
        try:
            removed = prune_local_copies(cfg.mirror_dir, prunable, LOG)
        except MirrorAbort as exc:  # another mirror holds the folder: next time
            LOG.info("mirror not pruned: %s", exc)
            self.mirror_pruned_on = None
            return
        if removed:
            LOG.info(
                "pruned %d local copies from the SFTP mirror %s (decided, and gone from the "
                "server or older than %d days; files at the top gone from the server): %s",
                len(removed), cfg.mirror_dir, retention, ", ".join(removed[:5])
                + (f" (and {len(removed) - 5} more)" if len(removed) > 5 else ""),
            )  # fmt: skip

    def _open_run_sources(self) -> list[Path]:
        """The drops of runs not yet decided (their files are read again to approve or replan)."""
        assert self.db is not None
        rows = self.db.rows(
            "SELECT source FROM runs WHERE status IN ('loading', 'planned', 'held') "
            "AND source IS NOT NULL"
        )
        return [Path(str(r[0])) for r in rows]

    def _queued_why(self, path: Path) -> str:
        """What a queued drop's status line says: which drop it waits behind, and why."""
        holder = self.behind.get(path)
        if holder is None:
            waits = self.joining.get(path)
            return f"queued; waits for {waits}" if waits else "queued"
        return (
            f"queued; waits behind {holder.name}, queued before it (an older export), which "
            f"waits for {self.joining.get(holder, 'the server')}"
        )

    def _queued_drop(self, path: Path, why: str) -> WaitingDrop:
        assert self.history is not None
        row = self.history.by_queue_path(path)
        source = row.source if row else SFTP if _queued_from_sftp(path) else INBOX
        return WaitingDrop(
            name=path.name, why=why, source=source, drop_id=row.drop_id if row else None,
            queued=True,
        )  # fmt: skip

    def _publish_pending(
        self, settings: SyncSettings, on_arrival: bool, blackout: str | None = None
    ) -> None:
        """What `status` and `roster-sync drops` say the daemon holds, and why."""
        assert self.history is not None
        queued = [  # a copy decided already (set aside on a blackout day) waits for nothing
            path
            for path in files.queued(self.config.inbox)
            if (row := self.history.by_queue_path(path)) is None or row.status in UNDECIDED
        ]
        waiting: list[WaitingDrop] = []
        if blackout is not None:
            waits = f"waits (blackout {blackout})"
            waiting += [self._queued_drop(p, waits) for p in queued]
            waiting += [
                WaitingDrop(name=state.candidate.label, why=waits, source=state.candidate.source)
                for state in self.tracker.states()
            ]
        else:
            waiting += [self._queued_drop(p, self._queued_why(p)) for p in queued]
            for state in self.tracker.states():
                why = self._candidate_why(state, settings, on_arrival)
                if why is not None:
                    c = state.candidate
                    waiting.append(WaitingDrop(name=c.label, why=why, source=c.source))
        self.waiting = waiting
        self._publish_waiting()

    def _candidate_why(
        self, state: Readiness, settings: SyncSettings, on_arrival: bool
    ) -> str | None:
        """Why a drop not queued yet waits, as `status` says it; None when it does not."""
        key = state.candidate.key
        if key in self.holding:
            return self.holding[key]
        if not state.ready:
            return self._reason(state)
        if on_arrival or key in self.due:
            return None
        when = (
            f"waits for the daily sync at {settings.sync_start_time}"
            if settings.daily_sync_enabled
            else "the daily sync is off; waits for sync now"
        )
        # handed over unreadable (a ZIP no upload can fix): say why, not "complete"
        return f"{state.reason or 'complete'}; {when}"

    # ------------------------------------------------------------------ set aside by a person
    def _set_asides(self) -> None:
        """Do the set-asides people asked for over the socket (`roster-sync drops set-aside`),
        between two steps of the loop, and answer each."""
        for request in self.state.take_set_asides():
            try:
                request.answer = self._set_aside(request)
                self._unlist_decided()
            except DropNotSetAside as exc:
                request.refused = str(exc)
            except Exception as exc:  # answered, whatever it is; the loop goes on
                LOG.exception("cannot set %s aside", request.drop)
                request.refused = f"{request.drop} was not set aside: {type(exc).__name__}: {exc}"
            finally:
                request.done.set()

    def _unlist_decided(self) -> None:
        """Take out of what `roster-sync drops` lists a drop decided since it was published (set
        aside): the person who set it aside looks at once, not after the loop's pass."""
        history = self.history
        assert history is not None
        tracked = {state.candidate.label for state in self.tracker.states()}

        def waits(drop: WaitingDrop) -> bool:
            if not drop.queued:
                return drop.name in tracked
            row = history.find(drop.drop_id) if drop.drop_id is not None else None
            return row is None or row.status in UNDECIDED

        self.waiting = [drop for drop in self.waiting if waits(drop)]
        self._publish_waiting()

    def _publish_waiting(self) -> None:
        with self.state.lock:
            self.state.pending = [f"{w.name}: {w.why}" for w in self.waiting]
            self.state.waiting = list(self.waiting)

    def _set_aside(self, request: SetAsideRequest) -> str:
        """Set aside the drop the request names, as it is now: a queued one, or one not queued
        yet (its queued drop, when it is a new upload of one or its manifest come late)."""
        assert self.history is not None and self.db is not None
        found = find(request.drop, self.waiting, self.history)
        if isinstance(found, DropRow):
            row = found
        elif found.drop_id is not None:
            row = self.history.get(found.drop_id)
        else:  # not queued when listed: from SFTP, the queued drop it is a new upload of (or
            # its manifest); from either, the drop itself if it was queued since (a sync taken
            # while the person typed)
            name = found.name.removeprefix(f"{found.source}/")
            queued = self.history.latest_by_name(found.source).get(name)
            tracked = any(s.candidate.key == (found.source, name) for s in self.tracker.states())
            taken_since = found.source == INBOX and not tracked
            if (
                queued is None
                or queued.status != "queued"
                or not (found.source == SFTP or taken_since)
            ):
                return self._set_aside_waiting(found, name, request)
            row = queued
        run_status = (
            self.db.one("SELECT status FROM runs WHERE run_id = ?", [row.run_id])
            if row.run_id is not None
            else None
        )
        refuse_decided(row, run_status)
        return self._set_aside_queued(row, request)

    def _set_aside_queued(self, row: DropRow, request: SetAsideRequest) -> str:
        """A queued drop: skipped, its files as the server holds them now (when listed), so that
        only a change of them is a new upload. Its queued copy goes to the archive as skipped
        this pass (`_process`), and the drops queued after it go on."""
        assert self.db is not None and self.history is not None
        signature = None
        if row.source == SFTP and self.remote is not None:
            unit = "" if row.name == SFTP_ROOT_DROP else row.name
            marker = self.config.sftp.ready_marker if self.config.sftp else None
            signature = unit_files(self.remote, unit, marker) or None
        path = _queued_path(row)
        hashes = self._contents(path) if path is not None and path.exists() else []
        if signature:  # the server's files, as mirrored: what the same files uploaded again
            # hold (with a manifest come late, say)
            unit = "" if row.name == SFTP_ROOT_DROP else row.name
            mirrored = self.config.mirror_dir / unit if unit else self.config.mirror_dir
            hashes += self._contents(mirrored, None if unit else list(signature))
        with self.write_lock:
            DropHistory(self.db, request.actor).set_aside(
                row.drop_id, recorded_reason(request.actor, request.reason), self.clock(),
                signature, hashes,
            )  # fmt: skip
        self._forget_key((row.source, row.name))  # its new upload, or its manifest come late
        queued = path.name if path is not None else row.name
        LOG.warning("%s set aside by %s: %s; archived as skipped, not planned", queued,
                    request.actor, request.reason)  # fmt: skip
        if path is not None and path.exists():  # now: a blackout day plans nothing, archives this
            self._archive(path, queued, "skipped")
        return (
            f"{queued} (drop {row.drop_id}) is set aside: recorded as skipped, with your reason; "
            "its queued copy goes to the archive as skipped, and the drops queued after it go on"
        )

    def _set_aside_waiting(self, found: WaitingDrop, name: str, request: SetAsideRequest) -> str:
        """A drop not queued yet: from the inbox, its files move to the archive as skipped (by
        the queue, as `_late_manifest` does); from SFTP, its files as the server holds them are
        recorded (the mirror keeps them), so only a change of them is a new upload."""
        assert self.db is not None
        key = (found.source, name)
        state = next((s for s in self.tracker.states() if s.candidate.key == key), None)
        if state is None:
            raise DropNotSetAside(
                f"{found.name} does not wait any more (roster-sync drops says what became of it)"
            )
        c = state.candidate
        # the decision, with the content it is of, before any file moves: whatever happens to
        # the files after it (a move that fails, a crash), `_process` plans no drop of that content
        rels = [f.rel for f in c.files] if c.kind == "root" else None
        hashes = self._contents(c.path, rels) if c.path.exists() else []
        with self.write_lock:
            drop_id = DropHistory(self.db, request.actor).record(
                source=c.source, name=c.name, status="skipped",
                reason=recorded_reason(request.actor, request.reason), now=self.clock(),
                first_seen=state.first_seen, complete_at=state.complete_at,
                signature=self._server_files(c) or None, set_aside_by=request.actor,
                content_hashes=hashes,
            )  # fmt: skip
        self._forget(c)
        LOG.warning("%s set aside by %s: %s; not planned", c.label, request.actor, request.reason)
        if c.source == INBOX:
            target = self._queue_files(c)
            if target is None:
                return (
                    f"{c.label} (drop {drop_id}) is set aside: recorded as skipped, with your "
                    "reason; its files could not be moved out of the inbox (the daemon's log says "
                    "why): they are not planned, and go to the archive once they can be moved"
                )
            try:
                self._remember_content(drop_id, target)
            except Exception:  # the decision stands: `_process` skips the copy by its content
                LOG.exception("cannot record where %s was queued", c.label)
            self._archive(target, target.name, "skipped")  # now, also on a blackout day
            return (
                f"{c.label} (drop {drop_id}) is set aside: recorded as skipped, with your "
                "reason; its files go to the archive as skipped, and are not planned"
            )
        return (
            f"{c.label} (drop {drop_id}) is set aside: recorded as skipped, with your reason; "
            "nothing is planned from it unless its files change on the server (a new upload)"
        )


def _manifest_come_late(row: DropRow | None, unit: str, now_files: Signature) -> bool:
    """Whether the SFTP drop taken as `unit` ("" for the loose files at the top; `row`, its
    latest decision) has on the server (`now_files`) the files it was taken with and a
    manifest.csv: at the top, new or rewritten (it may be the first file of the next loose
    drop); in a folder, new (a folder taken is history, so a manifest there is that drop's, come
    late; one rewritten in a drop that carried it is a change, reported as any other)."""
    if row is None or row.status not in TAKEN or row.set_aside_by:
        return False  # a drop set aside whose files change is a new upload
    before = decode_signature(row.signature)
    top = f"{unit}/" if unit else ""

    def is_manifest(rel: str) -> bool:
        return rel.startswith(top) and rel[len(top) :].lower() == MANIFEST

    manifest = [rel for rel in now_files if is_manifest(rel)]
    if not manifest or now_files[manifest[0]] == before.get(manifest[0]):
        return False
    if unit and any(is_manifest(rel) for rel in before):
        return False

    def others(files: Signature) -> Signature:
        return {rel: sig for rel, sig in files.items() if not is_manifest(rel)}

    return others(now_files) == others(before)


def _joinable(taken: DropRow) -> Path | None:
    """The queue folder of a drop taken without a manifest and not planned yet, which a manifest
    come late joins; None when there is none."""
    queued = Path(taken.queued_as) if taken.queued_as else None
    if taken.status != "queued" or taken.manifest == MANIFEST_CARRIED or queued is None:
        return None
    return queued if queued.is_dir() else None


def _changed_while_queued(row: DropRow, files: Signature) -> bool:
    """An SFTP drop queued, not planned yet, whose files on the server are there and no longer
    those it was taken with (uploaded again): it is planned from what the server holds once it
    settles, never from the stale copy (a manifest come late alone joins it instead)."""
    return (
        row.status == "queued" and bool(files) and files != decode_signature(row.signature)
        and not _manifest_come_late(row, row.name, files)
    )  # fmt: skip


def _queued_from_sftp(path: Path) -> bool:
    """Whether a queued drop came from the SFTP server: queued under a name the daemon gives
    (`sftp`, `sftp-NAME`). Told by the name alone, so an inbox drop the district named so is
    taken for one (a wait behind an SFTP drop, at worst)."""
    return path.name.startswith(SFTP)


def _still_awaited(state: Readiness) -> bool:
    """Whether a queued SFTP drop waits for what `state` is of (a new upload of it, its manifest
    come late): while it arrives (that ends by itself), and while it lacks something (a file its
    manifest lists, a file the mirror cannot read) until the give-up; then the drop is planned
    from the copy queued, and the drops queued after it wait no more. While the last mirror did
    not look at it (it failed, or could not list its folder: `Candidate.unseen`), nothing says
    that the wait should end, so it goes on."""
    return (
        state.candidate.unseen or state.ready or state.in_progress
        or state.give_up_in is not None
    )  # fmt: skip


def _waiting_for(what: str, state: Readiness, reason: str) -> str:
    """What a queued SFTP drop waits for (`what`, as `state` says: `reason`), for the status."""
    ends = state.ready or state.in_progress or state.give_up_in is None  # by itself
    if ends or state.candidate.unseen:  # no give-up while the server is not looked at
        return f"{what}: {reason or 'complete'}"
    return (
        f"{what}: {reason}; planned from the copy queued if this does not end in "
        f"{state.give_up_in:.0f} s"
    )


def _how_long(seconds: float) -> str:
    """`26 hours`, `40 minutes`: how long a wait has lasted, as status says it."""
    if seconds >= 3600:
        return counted(int(seconds // 3600), "hour")
    return counted(int(seconds // 60), "minute")


def _queued_path(row: DropRow | None) -> Path | None:
    return Path(row.queued_as) if row is not None and row.queued_as else None


def _queued_upload(decided: dict[str, DropRow], c: Candidate) -> DropRow | None:
    """The queued drop that the SFTP candidate `c` is a new upload of (`_changed_while_queued`:
    a candidate under a queued drop's name is no other); None when it is none."""
    row = decided.get(c.name) if c.source == SFTP and c.kind != "root" else None
    return row if row is not None and row.status == "queued" else None


def _set_aside_and_changed(row: DropRow, files: Signature) -> bool:
    """A drop a person set aside whose files on the server are there and no longer those it was
    set aside with: a new upload, decided afresh. (Set aside while none of its files were known,
    a folder never listed, it takes its files as a mirror first lists them: `_after_mirror`.)"""
    return (
        bool(row.set_aside_by) and row.signature is not None and bool(files)
        and files != decode_signature(row.signature)
    )  # fmt: skip


def _failed_and_changed(row: DropRow, files: dict[str, tuple[int | None, int | None]]) -> bool:
    """A drop that failed, whose files on the server are there and no longer those it failed
    with."""
    return row.status == "failed" and bool(files) and files != decode_signature(row.signature)


def run_daemon(
    config: DaemonConfig,
    *,
    clock: Clock | None = None,
    stop_event: threading.Event | None = None,
    ticks: Callable[[], float] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or `stop_event`); 0 after a clean stop. `clock` (wall time) and
    `ticks` (monotonic, for quiet periods) are injectable for tests."""
    log_handler = configure_logging(config.log_level)
    daemon = Daemon(config, clock or system_clock, ticks or time.monotonic)
    restore = _install_signal_handlers(daemon)  # first: a SIGTERM while starting is clean too
    try:
        try:
            daemon.start()
        except Exception as exc:
            known = isinstance(exc, DatabaseLocked | RosterSyncError)  # one line that says why
            LOG.error("cannot start: %s", exc if known else repr(exc))
            return 1
        if stop_event is not None:
            threading.Thread(target=_bridge, args=(stop_event, daemon), daemon=True).start()
        return daemon.run()
    finally:
        daemon.shutdown()
        restore()
        logging.getLogger("roster_sync").removeHandler(log_handler)


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
