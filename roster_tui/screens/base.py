"""What the screens share: the gateway, the clock, and calls that run in workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual.screen import Screen
from textual.widgets import TabbedContent
from textual.worker import get_current_worker

from roster_tui.gateway import Gateway, Operation, operations_of
from roster_tui.widgets.chrome import BusyBar, NoticeLine

if TYPE_CHECKING:
    from roster_tui.app import RosterApp

T = TypeVar("T")


def run_call(
    node: Any,
    operation: Operation[T],
    *,
    then: Callable[[T], object] | None = None,
    failed: Callable[[Exception], None] | None = None,
    busy: str | None = None,
    progress: bool = False,
    group: str = "load",
    exclusive: bool = True,
) -> None:
    """Do `operation` (`lambda engine: engine.get_run(5)`) in a thread worker, then
    `then(result)` on the UI thread.

    `busy` shows the screen's busy bar while it runs (writes and long reads); errors become
    notices unless `failed` handles them. A newer call in an exclusive group wins.
    """
    app: RosterApp = node.app
    gw: Gateway = app.gw
    bar = _busy_bar(node) if busy else None
    if bar is not None and busy:
        bar.start(busy)

    def report(label: str, done: int, total: int | None) -> None:
        if bar is not None:
            app.call_from_thread(bar.report, label, done, total)

    def finish(callback: Callable[[Any], object] | None, value: Any) -> None:
        if bar is not None:
            bar.stop()
        if callback is not None:
            callback(value)

    def work() -> None:
        worker = get_current_worker()
        try:
            result = gw.run_with_progress(operation, report) if progress else gw.run(operation)
        except Exception as exc:
            if worker.is_cancelled:
                app.call_from_thread(finish, None, None)
            else:
                app.call_from_thread(finish, failed or app.show_error, exc)
            return
        app.call_from_thread(finish, None if worker.is_cancelled else then, result)

    node.run_worker(work, thread=True, group=group, exclusive=exclusive, name=group)


def _busy_bar(node: Any) -> BusyBar | None:
    screen = node if isinstance(node, Screen) else node.screen
    found = screen.query(BusyBar)
    return found.first() if found else None


class RosterScreen(Screen[None]):
    """A screen of the app: reloads its data whenever it comes (back) into view."""

    MODE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    # action -> the engine operation(s) it ends in: a key the caller's roles do not allow
    # leaves the footer, the help and the palette (the engine would refuse it anyway)
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {}
    # What the keys that change something do, in the help's words, by the engine operation
    # they end in: said only to a caller whose roles allow it (the footer's rule).
    WRITE_HELP: ClassVar[dict[str, str]] = {}
    # a screen of what the daemon does on its own (plans a drop, takes one): through the daemon,
    # it asks again every `refresh_seconds` while it is in front and idle
    LIVE: ClassVar[bool] = False
    keep_on_resume = False
    failing = False  # a LIVE screen's last ask failed, and said so

    def live_failed(self, exc: Exception) -> None:
        """A timed ask that failed (the daemon restarting, say): what is shown stays, and the
        error is said once until an ask succeeds (which sets `failing` back)."""
        if not self.failing:
            self.failing = True
            self.roster.show_error(exc)

    def on_mount(self) -> None:
        seconds = getattr(self.roster, "refresh_seconds", None)
        if self.LIVE and seconds and self.gw.remote:
            self.set_interval(seconds, self.refresh_live)

    def refresh_live(self) -> None:
        """Ask again, unless the person is elsewhere (another screen, a dialog on top), a
        change is being written, or the screen's last ask is not answered yet (a slow daemon
        is never asked twice at once): what they look at never moves under a question."""
        if self.app.screen is not self:
            return
        if any(w.is_running and (w.group == "write" or w.node is self) for w in self.workers):
            return
        self.reload_live()

    def reload_live(self) -> None:
        """What the timer asks: the screen's reload, unless the screen says otherwise (a LIVE
        screen keeps what it shows when a timed ask fails)."""
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.gw.permits(*operations_of(self.OPERATIONS, action)):
            return False
        return self.can(action, parameters)

    def about(self) -> str:
        """The help's text: what the screen is for, then what the keys the caller may use do."""
        allowed = (text for op, text in self.WRITE_HELP.items() if self.gw.permits(op))
        return " ".join((self.HELP, *allowed))

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Whether `action` applies to what the screen shows now (None: shown, dimmed)."""
        return True

    @property
    def roster(self) -> RosterApp:
        return self.app  # type: ignore[return-value]

    @property
    def gw(self) -> Gateway:
        return self.roster.gw

    def now(self) -> datetime:
        return self.roster.clock()

    def call(
        self,
        operation: Operation[T],
        *,
        then: Callable[[T], object] | None = None,
        failed: Callable[[Exception], None] | None = None,
        group: str = "load",
    ) -> None:
        """A read in a worker (a newer one in the same group replaces it)."""
        run_call(self, operation, then=then, failed=failed, group=group)

    def write(
        self,
        operation: Operation[T],
        *,
        busy: str,
        then: Callable[[T], object] | None = None,
        failed: Callable[[Exception], None] | None = None,
        progress: bool = False,
    ) -> None:
        """A change: shown as busy, never cancelled by a newer load."""
        run_call(
            self,
            operation,
            busy=busy,
            then=then,
            failed=failed,
            progress=progress,
            group="write",
            exclusive=False,
        )

    def on_screen_resume(self) -> None:
        self.query_one(NoticeLine).show(self.roster.notice)
        if self.keep_on_resume:  # back from this screen's own question: its answer reloads
            self.keep_on_resume = False
            return
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def reload(self) -> None:
        """Fetch what the screen shows (in workers)."""


def tab_after(tabs: TabbedContent, order: list[str], step: int) -> str:
    """The tab `step` places from the active one, wrapping around ([ and ] on tabbed screens)."""
    index = order.index(tabs.active) if tabs.active in order else 0
    return order[(index + step) % len(order)]
