"""Conflicts: the questions the sync could not answer alone, across every run."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from roster_tui.screens.base import RosterScreen
from roster_tui.screens.conflict_decisions import ConflictDecisions
from roster_tui.widgets.chrome import NavBar, bottom_bars
from roster_tui.widgets.conflicts_panel import ConflictsPanel


class ConflictsScreen(ConflictDecisions, RosterScreen):
    MODE = "conflicts"
    HELP = (
        "A conflict is a difference the sync will not settle by itself: a contact detail edited "
        "by hand or of an active account, an archived student back in the feed, a link made "
        "outside the sync."
    )
    WRITE_HELP: ClassVar[dict[str, str]] = {
        "resolve_conflicts": "Decide one at a time (t, k, i on the highlighted conflict) or "
        "mark several with space (* marks all) and decide them together. On a planned run the "
        "decision shapes its apply; on an applied run taking the feed's value changes the "
        "directory at once."
    }
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open_run", "Run")]

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield ConflictsPanel(None, id="all-conflicts")
        yield from bottom_bars()

    def on_mount(self) -> None:
        self.query_one(ConflictsPanel).table.focus()

    def reload(self) -> None:
        self.query_one(ConflictsPanel).reload()

    def action_open_run(self) -> None:
        conflict = self.query_one(ConflictsPanel).table.highlighted
        if conflict is not None:
            self.roster.open_run(conflict.run_id, "conflicts")
