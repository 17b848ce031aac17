"""Drops (d on Runs): the drops the daemon holds, why each waits, and its latest decisions; a
person sets a waiting one aside here (`roster-sync drops` and `drops set-aside`)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from daemon.models import DropInfo, DropList, WaitingDrop
from roster_tui.gateway import describe_error
from roster_tui.screens.base import RosterScreen
from roster_tui.screens.dialogs import SetAsideScreen
from roster_tui.widgets.chrome import NavBar, Plain, bottom_bars
from roster_tui.widgets.paged_table import FillTable

WAITING_COLUMNS = [("Id", 4), ("Drop", 16), ("Queued", 6), ("Why it waits", None)]
RECENT_COLUMNS = [("Id", 4), ("Drop", 16), ("Decision", 15), ("Why", None)]


class DropsScreen(RosterScreen):
    MODE = "runs"
    HELP = (
        "The drops the daemon holds and has not planned, oldest first (the order it takes them), "
        "each with why it waits, and its latest decisions about drops, newest first. The box "
        "below the lists has the highlighted drop in full. Without the daemon (--db), only "
        "queued drops are known."
    )
    WRITE_HELP: ClassVar[dict[str, str]] = {
        "set_aside_drop": "s sets a waiting drop aside: it is not planned (recorded as skipped "
        "with your reason, audited), a queued copy goes to the archive (without the daemon, "
        "when it starts) and the drops queued after it go on."
    }
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {"set_aside": "set_aside_drop"}
    LIVE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("s", "set_aside", "Set aside…"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.drops = DropList()
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        with Vertical(id="drops-body"):
            yield Plain("Loading…", id="drops-waiting-caption", classes="caption")
            yield FillTable(id="drops-waiting", cursor_type="row")
            yield Plain("", id="drops-recent-caption", classes="caption")
            yield FillTable(id="drops-recent", cursor_type="row")
            yield Plain(id="drops-preview")
        yield from bottom_bars()

    def on_mount(self) -> None:
        self.query_one("#drops-waiting", FillTable).set_columns(WAITING_COLUMNS)
        self.query_one("#drops-recent", FillTable).set_columns(RECENT_COLUMNS)

    def reload(self) -> None:
        self.call(lambda engine: engine.drops(), then=self.show_drops, failed=self.load_failed)

    def reload_live(self) -> None:
        """Asked by the timer: a failure keeps the lists (said once until an ask succeeds)."""
        self.call(lambda engine: engine.drops(), then=self.show_drops, failed=self.live_failed)

    def load_failed(self, exc: Exception) -> None:
        """The notice, and the reason in place of the lists (the daemon may be down)."""
        self.roster.show_error(exc)
        title, message = describe_error(exc)
        self.show_drops(DropList(daemon_running=False))
        self.loaded, self.failing = False, True  # rebuilt when an ask succeeds, even if empty
        self.query_one("#drops-waiting-caption", Static).update(
            f"Could not load the drops. {title}: {message} (ctrl+r tries again)"
        )

    def show_drops(self, drops: DropList) -> None:
        self.failing = False
        if self.loaded and drops == self.drops:
            return  # nothing new: both lists stay as they are
        before, loaded = self.drops, self.loaded
        self.drops, self.loaded = drops, True
        waiting = self.query_one("#drops-waiting", FillTable)
        if not loaded or drops.waiting != before.waiting:
            waiting.refill(
                [
                    (
                        Text(str(w.drop_id) if w.drop_id is not None else "–", justify="right"),
                        w.name,
                        "yes" if w.queued else "no",
                        w.why,
                    )
                    for w in drops.waiting
                ],
                before.waiting,
                drops.waiting,
                same_waiting,
            )
        self.set_class(not drops.waiting, "-none-waiting")
        self.query_one("#drops-waiting-caption", Static).update(waiting_caption(drops))
        recent = self.query_one("#drops-recent", FillTable)
        if not loaded or drops.recent != before.recent:
            recent.refill(
                [
                    (
                        Text(str(d.drop_id), justify="right"),
                        drop_name(d),
                        decision(d),
                        d.reason or "",
                    )
                    for d in drops.recent
                ],
                before.recent,
                drops.recent,
                lambda a, b: a.drop_id == b.drop_id,
            )
        self.set_class(not drops.recent, "-none-recent")
        self.query_one("#drops-recent-caption", Static).update(
            "Decided recently, newest first:" if drops.recent else "Decided recently: none"
        )
        if not drops.waiting and drops.recent and self.focused is waiting:
            recent.focus()
        self.show_preview()
        self.refresh_bindings()

    @property
    def current_waiting(self) -> WaitingDrop | None:
        """The waiting drop highlighted, while its list has the focus."""
        table = self.query_one("#drops-waiting", DataTable)
        if self.focused is not table or not 0 <= table.cursor_row < len(self.drops.waiting):
            return None
        return self.drops.waiting[table.cursor_row]

    @property
    def current_recent(self) -> DropInfo | None:
        table = self.query_one("#drops-recent", DataTable)
        if self.focused is not table or not 0 <= table.cursor_row < len(self.drops.recent):
            return None
        return self.drops.recent[table.cursor_row]

    def show_preview(self) -> None:
        """The highlighted drop in full: what the columns cut."""
        shown: Text | str = ""
        if (w := self.current_waiting) is not None:
            shown = waiting_preview(w)
        elif (d := self.current_recent) is not None:
            shown = Text(d.describe())
        self.query_one("#drops-preview", Static).update(shown)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_preview()
        self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self.show_preview()
        self.refresh_bindings()

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "set_aside":
            return self.current_waiting is not None
        return True

    def action_set_aside(self) -> None:
        drop = self.current_waiting
        if drop is None:
            return
        named = drop.name  # a waiting drop's name names it first (and the answer reads well)

        def done(answer: str) -> None:
            self.notify(answer, title="Drops")
            self.reload()

        def refused(exc: Exception) -> None:
            self.roster.show_error(exc)
            self.reload()

        def answered(reason: str | None) -> None:
            if reason is not None:
                self.write(
                    lambda engine: engine.set_aside_drop(named, reason),
                    busy=f"Setting {drop.name} aside…",
                    then=done,
                    failed=refused,
                )

        self.app.push_screen(SetAsideScreen(drop, self.drops.daemon_running), answered)


def waiting_caption(drops: DropList) -> str:
    if drops.waiting:
        return f"Waiting: {len(drops.waiting):,}, in the order the daemon takes them:"
    if drops.daemon_running:
        return "Waiting: none"
    return (
        "Waiting: none queued (the daemon is not running: what its inbox or SFTP server holds "
        "is known once it runs)"
    )


def drop_name(drop: DropInfo) -> str:
    """As `roster-sync drops` names it: an SFTP drop with its source."""
    return drop.name if drop.source == "inbox" else f"{drop.source}/{drop.name}"


def decision(drop: DropInfo) -> str:
    """'planned (run 3)', 'skipped'."""
    return drop.status + (f" (run {drop.run_id})" if drop.run_id is not None else "")


def waiting_preview(drop: WaitingDrop) -> Text:
    text = Text()
    text.append(drop.name, style="bold")
    if drop.drop_id is not None:
        text.append(f" (drop {drop.drop_id})")
    text.append(f" · {drop.source} · {'queued' if drop.queued else 'not queued'}\n")
    text.append("Why it waits: ", style="bold")
    text.append(drop.why)
    return text


def same_waiting(a: WaitingDrop, b: WaitingDrop) -> bool:
    """One waiting drop across reloads: by its id when both have one, else by where it is and
    its name (a drop gets its id when it is queued; an SFTP drop's name may change then)."""
    if a.drop_id is not None and b.drop_id is not None:
        return a.drop_id == b.drop_id
    return (a.source, a.name) == (b.source, b.name)
