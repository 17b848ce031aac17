"""The review app: one client (embedded engine or daemon socket), a clock, and six screens."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual.actions import parse
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import WorkerCancelled

from daemon.models import Access, Run, Status
from roster_tui.commands import RosterCommands
from roster_tui.gateway import Gateway, describe_error, is_blackout_refusal
from roster_tui.screens.archived import ArchivedScreen
from roster_tui.screens.base import RosterScreen, run_call
from roster_tui.screens.conflicts import ConflictsScreen
from roster_tui.screens.dialogs import (
    ConfirmRunScreen,
    ConfirmScreen,
    PlanDropScreen,
    PlanRequest,
    open_run_ids,
)
from roster_tui.screens.directory import DirectoryScreen
from roster_tui.screens.duplicates import DuplicatesScreen
from roster_tui.screens.help import HelpScreen
from roster_tui.screens.run_detail import RunDetailScreen
from roster_tui.screens.runs import RunsScreen
from roster_tui.screens.settings import SettingsScreen
from roster_tui.widgets.chrome import NAV, Notice, NoticeLine
from roster_tui.widgets.paged_table import PagedTable
from roster_tui.words import op_lines, short_source

Clock = Callable[[], datetime]


class RosterApp(App[None]):
    """Review and approve sync runs; every engine call goes through `self.gw` in a worker."""

    CSS_PATH = "roster.tcss"
    TITLE = "Roster Sync"
    MODES: ClassVar[dict[str, Any]] = {
        "runs": RunsScreen,
        "conflicts": ConflictsScreen,
        "archived": ArchivedScreen,
        "duplicates": DuplicatesScreen,
        "directory": DirectoryScreen,
        "settings": SettingsScreen,
    }
    DEFAULT_MODE = "runs"
    COMMANDS = App.COMMANDS | {RosterCommands}
    NOTIFICATION_TIMEOUT = 8
    # Screen classes by terminal size (roster.tcss): dialogs scroll their body when short.
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (22, "-tall")]  # type: ignore[misc]  # Textual declares it without ClassVar
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('runs')", "Runs", show=False),
        Binding("2", "switch_mode('conflicts')", "Conflicts", show=False),
        Binding("3", "switch_mode('archived')", "Archived", show=False),
        Binding("4", "switch_mode('duplicates')", "Duplicates", show=False),
        Binding("5", "switch_mode('directory')", "Directory", show=False),
        Binding("6", "switch_mode('settings')", "Settings", show=False),
        Binding("question_mark", "help", "Help", key_display="?", show=False),
        Binding("q", "quit", "Quit", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]

    def __init__(
        self,
        client: Any,
        *,
        clock: Clock | None = None,
        ansi: bool = False,
        demo_path: Path | None = None,
        blink: bool = True,
        refresh_seconds: float | None = 15.0,
    ) -> None:
        super().__init__(ansi_color=ansi)
        self.blink = blink
        # how often a screen of what the daemon does by itself (runs, drops) asks again
        self.refresh_seconds = refresh_seconds
        self.gw = Gateway(client)
        self.clock: Clock = clock or datetime.now
        self.ansi = ansi
        self.demo_path = demo_path
        self.recent_runs: list[Run] = []
        self.notice: Notice | None = None
        self.sub_title = "demo" if demo_path else ""

    def on_mount(self) -> None:
        if self.ansi:
            self.theme = "ansi-dark"
        # an engine that does not say (an older daemon) refuses a call instead: no notice here
        run_call(
            self,
            lambda engine: engine.access(),
            then=self._learned,
            failed=lambda _: None,
            group="access",
        )

    def _learned(self, access: Access) -> None:
        """Keys the caller's roles do not allow leave every screen's footer from now on."""
        self.gw.access = access
        for screen in self.screen_stack:
            screen.refresh_bindings()

    # ---------------------------------------------------------------- notices
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notices are plain text (engine messages name things like '[roles]'), shown in a line of
        their own on the screen (never as toasts over a table or a dialog's buttons)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)
        seconds = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
        self.notice = Notice(title, message, severity, time.monotonic() + seconds)
        if threading.get_ident() == self._thread_id:
            self._show_notice()
        else:
            self.call_from_thread(self._show_notice)

    def _show_notice(self) -> None:
        for screen in reversed(self.screen_stack):  # under a dialog: on the screen behind it
            lines = screen.query(NoticeLine)
            if lines:
                lines.first().show(self.notice)
                return

    def show_error(self, exc: BaseException) -> None:
        """An engine or daemon error as a notice: a title and one plain line."""
        title, message = describe_error(exc)
        self.notify(message, title=title, severity="error", timeout=12)

    def on_paged_table_load_failed(self, event: PagedTable.LoadFailed) -> None:
        """A table anywhere could not load a page: the error as a notice, like any other."""
        self.show_error(event.error)

    # ---------------------------------------------------------------- navigation
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_reload(self) -> None:
        reload = getattr(self.screen, "reload", None)
        if reload is not None:
            reload()

    def run_screen_action(self, screen: Screen[Any], action: str) -> None:
        """What the key does, chosen from the palette."""
        self.run_worker(screen.run_action(action), group="palette")

    def go_and_run(self, mode: str, action: str, description: str) -> None:
        """From the palette: another screen's action. Go to that screen (its list, not a
        record opened from it), let it load, then do what the key does, if it can now."""

        async def go() -> None:
            await self.switch_mode(mode)
            target = self.MODES[mode]
            while len(self.screen_stack) > 1 and not isinstance(self.screen, target):
                await self.pop_screen()
            with contextlib.suppress(WorkerCancelled):
                await self.workers.wait_for_complete(
                    [w for w in self.workers if w.group != "palette"]
                )
            screen = self.screen
            _, name, params = parse(action)
            if screen.check_action(name, params) is False:
                self.notify(
                    f"{description}: not possible on this screen now (nothing to do it on?)",
                    title=NAV[mode][1],
                    severity="warning",
                )
                return
            await screen.run_action(action)

        self.run_worker(go(), group="palette")

    def open_run(self, run_id: int, tab: str = "summary") -> None:
        if self.current_mode != "runs":
            self.switch_mode("runs")
        self.push_screen(RunDetailScreen(run_id, tab))

    # ---------------------------------------------------------------- decisions on runs
    def decide_run(self, screen: RosterScreen, run: Run, action: str) -> None:
        """Confirm (restating the consequences), then apply, override or reject in a worker."""
        if action == "approve" and run.status == "held":
            action = "override"

        def answered(reason: str | None) -> None:
            if reason is None:
                return
            if action == "reject":
                screen.write(
                    lambda engine: engine.reject_run(run.run_id, reason or None),
                    busy=f"Rejecting run {run.run_id}…",
                    then=lambda done: self._decided(screen, done),
                    failed=lambda exc: self._decision_failed(screen, exc),
                )
            else:
                override = action == "override"
                screen.write(
                    lambda engine: engine.apply_run(run.run_id, override, reason or None),
                    busy=f"Applying run {run.run_id}…",
                    then=lambda done: self._decided(screen, done),
                    failed=lambda exc: self._decision_failed(screen, exc),
                )

        others = open_run_ids(self.recent_runs)
        self.push_screen(ConfirmRunScreen(run, action, others), answered)

    def _decided(self, screen: RosterScreen, run: Run) -> None:
        if run.status == "applied":
            done = "; ".join(f"{verb.lower()} {what}" for verb, what in op_lines(run, past=True))
            self.notify(done or "no changes", title=f"Run {run.run_id} applied")
        else:
            self.notify(f"Run {run.run_id} is {run.status}.", title=f"Run {run.run_id}")
        self._refresh(screen)

    def _decision_failed(self, screen: RosterScreen, exc: Exception) -> None:
        self.show_error(exc)
        self._refresh(screen)

    def _refresh(self, screen: RosterScreen) -> None:
        after = getattr(screen, "after_decision", None)
        (after or screen.reload)()

    # ---------------------------------------------------------------- planning
    def plan_drop(self, screen: RosterScreen, of: Run | None) -> None:
        """Plan a drop (a new path, or a run's drop again, for the same schools) with a progress
        bar. Today's blackout, if any, is read first: the dialog then offers to plan anyway.
        A revert has no drop to ask about: it is planned again against today's directory."""
        if of is not None and of.reverted_run is not None:
            run_id = of.run_id
            screen.write(
                lambda engine: engine.replan_run(run_id),
                busy=f"Planning the revert of run {of.reverted_run} again…",
                then=self._planned,
                failed=self.show_error,
            )
            return
        source = of.source if of else (self.recent_runs[0].source if self.recent_runs else "")
        source_kind = of.source_kind if of and of.source_kind != "folder" else None
        schools = list(of.scope) if of else []

        def ask(status: Status | None) -> None:
            blackout = status.blackout if status is not None else None
            dialog = PlanDropScreen(source, of, blackout=blackout, schools=schools)
            self.push_screen(dialog, answered)

        def answered(request: PlanRequest | None) -> None:
            if request is None:
                return
            kind = source_kind if of and request.path == of.source else None
            self._plan(screen, request, kind)

        # status failing (the daemon gone, say) still opens the dialog, and planning says why;
        # its own group: a reload of the screen neither cancels it nor is cancelled by it
        run_call(
            screen,
            lambda engine: engine.status(),
            then=ask,
            failed=lambda _: ask(None),
            group="plan-dialog",
        )

    def _plan(self, screen: RosterScreen, request: PlanRequest, kind: str | None) -> None:
        path = request.path

        def refused(exc: Exception) -> None:
            """Refused for a blackout (the box left unticked, or a blackout the dialog did not
            know of: set since, or the daemon's day differs): say so, and ask before planning
            anyway with the same path and schools."""
            self.show_error(exc)
            if request.force or not is_blackout_refusal(exc):
                return
            forced = replace(request, force=True)
            why = describe_error(exc)[1].split("; pass --force")[0]  # the CLI's hint aside
            self.push_screen(
                ConfirmScreen(
                    "Plan during the blackout?",
                    f"{why[:1].upper()}{why[1:]}.\n\nPlanning {path} anyway is recorded in "
                    "the audit log; nothing changes in the directory until the run is approved.",
                    "Plan anyway",
                ),
                lambda yes: self._plan(screen, forced, kind) if yes else None,
            )

        screen.write(
            lambda engine: engine.plan_source(path, kind, request.force, request.schools),
            busy=f"Planning {short_source(path)}…",
            progress=True,
            then=self._planned,
            failed=refused,
        )

    def _planned(self, run: Run) -> None:
        counts = "; ".join(f"{v.lower()} {w}" for v, w in op_lines(run)) or "no changes"
        if run.status == "failed":
            self.notify(run.error or "", title=f"Run {run.run_id} failed", severity="error")
        else:
            self.notify(counts, title=f"Run {run.run_id} {run.status}")
        self.open_run(run.run_id)
