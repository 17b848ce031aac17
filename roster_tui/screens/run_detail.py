"""One run: a summary in plain words, then its changes, conflicts, row results and files."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane, Tabs

from daemon.models import Page, Run
from roster_tui.screens.base import RosterScreen, tab_after
from roster_tui.screens.conflict_decisions import ConflictDecisions
from roster_tui.screens.dialogs import (
    ConfirmScreen,
    WithheldDecisionScreen,
    WithheldOutcomeScreen,
)
from roster_tui.screens.run_decisions import (
    RUN_DECISION_BINDINGS,
    RUN_DECISION_OPERATIONS,
    RunDecisions,
    decision_allowed,
)
from roster_tui.widgets.changes_panel import ChangesPanel
from roster_tui.widgets.chrome import NavBar, Plain, bottom_bars
from roster_tui.widgets.conflicts_panel import ConflictsPanel
from roster_tui.widgets.results_panel import FilesPanel, RowsPanel
from roster_tui.widgets.run_summary import summary, title_line
from roster_tui.words import OPEN

TABS = ["summary", "changes", "conflicts", "rows", "files"]


class RunDetailScreen(RunDecisions, ConflictDecisions, RosterScreen):
    MODE = "runs"
    HELP = (
        "One run. Summary says in plain words what approving would do (or what it did), the "
        "row counts, and each kind's archives against the deletion limit. Changes lists every "
        "change by kind and operation with each field's before -> after; Conflicts are the "
        "questions the sync could not answer alone; Rows are the upload results of every row "
        "of the drop; Files are the files it had. [ and ] switch tabs."
    )
    WRITE_HELP: ClassVar[dict[str, str]] = {
        "revert_run": "On an applied run, u plans the run that undoes it.",
        "decide_withheld": "w decides the archives an applied run withheld.",
    }
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {
        **RUN_DECISION_OPERATIONS,
        "revert": "revert_run",
    }
    LIVE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False),
        *RUN_DECISION_BINDINGS,
        Binding("p", "replan", "Re-plan"),
        Binding("w", "withheld", "Withheld…"),
        Binding("u", "revert", "Revert…"),
        Binding("left_square_bracket", "tab(-1)", "Previous tab", key_display="[", show=False),
        Binding("right_square_bracket", "tab(1)", "Tabs", key_display="[ ]"),
    ]

    def __init__(self, run_id: int, tab: str = "summary") -> None:
        super().__init__()
        self.run_id = run_id
        self.run: Run | None = None
        self.first_tab = tab

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield Plain(f"Run {self.run_id}", id="run-title")
        with TabbedContent(initial=self.first_tab, id="run-tabs"):
            with TabPane("Summary", id="summary"), VerticalScroll(id="summary-scroll"):
                yield Plain("Loading…", id="summary-text")
            with TabPane("Changes", id="changes"):
                yield ChangesPanel(self.run_id)
            with TabPane("Conflicts", id="conflicts"):
                yield ConflictsPanel(self.run_id, id="run-conflicts")
            with TabPane("Rows", id="rows"):
                yield RowsPanel(self.run_id)
            with TabPane("Files", id="files"):
                yield FilesPanel()
        yield from bottom_bars()

    def on_mount(self) -> None:
        # the summary too: focused, its arrows and page keys scroll it to the notes at its end,
        # which an 80x24 terminal does not show at first (the tab bar, focused, takes them not)
        self.call_after_refresh(self._focus_tab, self.first_tab)

    def reload(self) -> None:
        self.reload_run()

    def reload_run(self) -> None:
        run_id = self.run_id
        self.call(lambda engine: engine.get_run(run_id), then=self.show_run, group="run")

    def reload_live(self) -> None:
        """Asked by the timer (the daemon applies a run on its own, another administrator
        approves it): a failure keeps what is shown, said once until an ask succeeds; a run
        that moved on shows its new status, counts and keys, and its conflicts again."""
        run_id = self.run_id
        self.call(
            lambda engine: engine.get_run(run_id),
            then=self.show_run,
            failed=self.live_failed,
            group="run",
        )

    def show_run(self, run: Run) -> None:
        self.failing = False
        first, before = self.run is None, self.run
        if before == run:
            return
        self.run = run
        now = self.now()
        self.query_one("#run-title", Static).update(title_line(run, now))
        self.query_one("#summary-text", Static).update(summary(run, now))
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("conflicts").label = f"Conflicts ({run.conflicts:,})"
        errors = run.rows.error
        tabs.get_tab("rows").label = f"Rows ({errors:,} ✗)" if errors else "Rows"
        tabs.get_tab("changes").label = f"Changes ({run.total_changes():,})"
        self.call_after_refresh(self._underline_active_tab)
        self.query_one(FilesPanel).show_run(run)
        if first:
            self.query_one(ChangesPanel).show_run(run)
            self.query_one(ConflictsPanel).load()
            self.query_one(RowsPanel).start(run)
        elif before is not None and before.status != run.status:
            self.query_one(ConflictsPanel).reload()  # applied: what its decisions did
        self.refresh_bindings()

    def _underline_active_tab(self) -> None:
        """Textual moves the underline on each relabel, sometimes from the labels' old widths;
        once the new widths are laid out, it goes under the active tab again."""
        self.query_one(TabbedContent).query_one(Tabs)._highlight_active(animate=False)

    @property
    def selected_run(self) -> Run | None:
        return self.run

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = decision_allowed(self.run, action)
        if allowed is not None:
            return allowed
        if action == "withheld":  # once the run is applied: to decide, then to read what it did
            return (
                self.run is not None
                and self.run.status == "applied"
                and (
                    self.run.withheld_decision is not None
                    or (self.run.withheld_waiting and self.gw.permits("decide_withheld"))
                )
            )
        if action == "revert":  # only what changed the directory can be undone
            return self.run is not None and self.run.status == "applied"
        if action == "replan":  # an open run is decided here first; an older night is not
            return (
                self.run is not None
                and self.run.status not in OPEN
                and self.run.later_drop_applied is None
            )
        return True

    def action_withheld(self) -> None:
        run = self.run
        if run is not None and run.withheld_decision is not None:
            self.call(
                lambda engine: engine.withheld_page(run.run_id, 0, 500),
                then=lambda page: self.app.push_screen(WithheldOutcomeScreen(run, page)),
                group="withheld",
            )
            return
        if run is None or not run.withheld_waiting:
            return

        def answered(choice: tuple[str, str] | None) -> None:
            if choice is None:
                return
            decision, reason = choice
            self.write(
                lambda engine: engine.decide_withheld(run.run_id, decision, reason),
                busy=f"Deciding the withheld archives of run {run.run_id}…",
                then=self._withheld_decided,
                failed=self._withheld_failed,
            )

        def listed(page: Page) -> None:
            self.app.push_screen(WithheldDecisionScreen(run, page), answered)

        self.call(
            lambda engine: engine.withheld_page(run.run_id, 0, 6), then=listed, group="withheld"
        )

    def _withheld_decided(self, run: Run) -> None:
        out = run.withheld_outcome
        if run.withheld_decision == "approved":
            said = (
                f"{out.get('archived', 0):,} archived, {out.get('kept', 0):,} kept, each with why"
            )
        else:
            said = "dropped: nothing archived"
        self.notify(said, title=f"Run {run.run_id}: withheld archives")
        self.reload_run()

    def action_revert(self) -> None:
        run = self.run
        if run is None or run.status != "applied":
            return
        body = (
            f"This plans a new run that restores what run {run.run_id} changed: records it "
            "created are archived, fields it updated get their old values back, records it "
            "archived are unarchived, and memberships and links likewise.\n\n"
            "Nothing changes yet: the new run is reviewed and approved like any other (the "
            "deletion threshold applies). What a later run or a hand edit changed since becomes "
            "a conflict to decide, never overwritten."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(
                    lambda engine: engine.revert_run(run.run_id),
                    busy=f"Planning the revert of run {run.run_id}…",
                    then=self._revert_planned,
                )

        self.app.push_screen(
            ConfirmScreen(f"Revert run {run.run_id}?", body, "Plan the revert"), answered
        )

    def _revert_planned(self, revert: Run) -> None:
        self.notify(
            f"Run {revert.run_id} undoes run {revert.reverted_run}: review it, then approve it.",
            title=f"Run {revert.run_id} {revert.status}",
        )
        self.app.push_screen(RunDetailScreen(revert.run_id))

    def _withheld_failed(self, exc: Exception) -> None:
        self.roster.show_error(exc)
        self.reload_run()

    def action_tab(self, step: int) -> None:
        self.show_tab(tab_after(self.query_one(TabbedContent), TABS, step))

    def show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab
        self.call_after_refresh(self._focus_tab, tab)

    def _focus_tab(self, tab: str) -> None:
        pane = self.query_one(f"#{tab}", TabPane)
        target = pane.query("DataTable, OptionList, VerticalScroll").first()
        if tab == "changes":
            target = pane.query("#changes").first()
        target.focus()

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def conflicts_decided(self) -> None:
        """A decision changes the run's counts (and, taken at once, its status)."""
        self.reload_run()

    def after_decision(self) -> None:
        """The run changed status: show it again (panels keep their place)."""
        self.reload_run()
        self.query_one(ConflictsPanel).reload()
