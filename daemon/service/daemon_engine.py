"""The engine as the daemon serves it: the same operations, plus the daemon's own state.

Why a subclass: the socket API calls engine operations, so `status()` and `sync_now()` only
need to know about the running daemon here; everything else is the plain Engine on a cursor of
the daemon's database.
"""

from __future__ import annotations

from datetime import date

from daemon.audit import audit
from daemon.db import Database
from daemon.models import DaemonInfo, DropList, Run
from daemon.progress import CallbackProgress, Progress
from daemon.service import set_aside
from daemon.service.drop_history import DropHistory, DropRow
from daemon.service.engine import Engine, recent_drops
from daemon.service.schedule import next_daily
from daemon.service.state import DaemonState, describe_sftp
from daemon.settings import load_settings
from daemon.sync.runs import RunError

DAEMON_ACTOR = "roster-sync-daemon"


class DaemonEngine(Engine):
    """Engine operations done as `actor` while the daemon runs."""

    def __init__(
        self,
        db: Database,
        actor: str,
        state: DaemonState,
        progress: Progress | None = None,
        *,
        unmarked_drop: bool = False,
        without_manifest: bool = False,
    ) -> None:
        """`unmarked_drop`: the drop this engine plans had no ready marker; `without_manifest`:
        it came without the manifest.csv its source's drops carry (see `_after_plan`)."""
        super().__init__(db, actor, progress)
        self.unmarked_drop = unmarked_drop
        self.without_manifest = without_manifest
        self.state = state
        self.notify_config = state.config.notify
        self.configure_sources(state.config.sources, state.config.archive)

    def pull_source(self, name: str) -> Run:
        """A pull asked for over the socket shows its progress in `status` (busy)."""
        if type(self.progress) is Progress:
            self.progress = CallbackProgress(
                lambda label, done, total: self.state.set_busy(
                    f"pulling {name}: {label}" + (f" ({done:,} records)" if done else "")
                )
            )
        try:
            return super().pull_source(name)
        finally:
            self.state.set_busy(None)

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
            notify_channels=[
                f"{name} ({channel.describe()})"
                for name, channel in (state.config.notify.channels() if state.config.notify else [])
            ],
        )

    def today(self) -> date:
        return self.state.clock().date()

    def sync_now(self) -> str:
        """Ask the daemon loop to mirror and sync every complete drop now (audited)."""
        blackout = self.blackout()
        if blackout is not None:
            raise RunError(
                f"{blackout}: the daemon syncs nothing; run a drop by hand with "
                "roster-sync run PATH --force"
            )
        audit(self.db, self.actor, "daemon.sync_now")
        self.state.request_sync()
        what = "mirrors the SFTP folder and syncs" if self.state.config.sftp else "syncs"
        sources = sorted(self.state.config.sources)
        pulls = f", and pulls {', '.join(sources)}" if sources else ""
        return f"sync requested: the daemon {what} every complete drop in the inbox now{pulls}"

    def drops(self) -> DropList:
        """The drops the loop holds, as it published them at its last pass."""
        with self.state.lock:
            waiting = list(self.state.waiting)
        return DropList(waiting=waiting, recent=recent_drops(self.db)[0])

    def set_aside_drop(self, drop: str, reason: str | None = None) -> str:
        """Ask the loop to set the drop aside, between two of its steps (it holds the write lock
        while it plans, and it is the one that moves drops): refused here at once when the
        drop is unknown or decided already; answered once the loop did it, or, when it is
        busy for longer (planning a large drop), saying that it does it at its next pass."""
        text = set_aside.checked_reason(reason)
        with self.state.lock:
            waiting, checking = list(self.state.waiting), self.state.checking
        found = set_aside.find(drop, waiting, DropHistory(self.db, self.actor))
        if isinstance(found, DropRow):
            set_aside.refuse_decided(found, self._run_status(found.run_id))
        elif checking is not None and found.name == checking:  # the list is of the pass before
            raise set_aside.DropNotSetAside(
                f"{checking} is being planned now; once it is, reject its run instead "
                "(roster-sync reject RUN; roster-sync runs shows it)"
            )
        request = set_aside.SetAsideRequest(drop=drop.strip(), reason=text, actor=self.actor)
        self.state.ask_set_aside(request)
        if not request.done.wait(set_aside.ANSWER_SECONDS):
            with self.state.lock:
                busy = self.state.busy
            doing = f" ({busy})" if busy else ""
            return (
                f"the daemon is busy{doing}; it sets {request.drop} aside before it takes the "
                "next drop, as you asked (roster-sync drops shows it then)"
            )
        if request.refused is not None:
            raise set_aside.DropNotSetAside(request.refused)
        return request.answer or f"{request.drop} is set aside"
