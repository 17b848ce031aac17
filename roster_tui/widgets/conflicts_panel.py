"""Conflicts one at a time or in bulk: take the feed's value, keep the directory's, or ignore."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from daemon.models import Conflict
from roster_tui.gateway import Gateway
from roster_tui.widgets.chrome import Plain
from roster_tui.widgets.paged_table import Column, PagedTable
from roster_tui.words import STATUS, plural

DECISION_WORDS = {
    "take": "take the feed's value",
    "keep": "keep the directory's value",
    "ignore": "ignore",
}
DECISION_CELL = {None: "· open", "take": "⇐ take", "keep": "⇒ keep", "ignore": "– ignore"}


class ConflictsPanel(Vertical):
    """Open conflicts of one run (or of every run): mark some, then decide."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "decide('take')", "Take", tooltip="take the feed's value"),
        Binding("k", "decide('keep')", "Keep", tooltip="keep the directory's value"),
        Binding("i", "decide('ignore')", "Ignore"),
        Binding("space", "mark", "Mark"),
        Binding("asterisk", "mark_all", "Mark all", key_display="*", show=False),
        Binding("v", "toggle_decided", "Show decided too", show=False),
    ]

    def __init__(self, run_id: int | None, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="conflicts-panel")
        self.run_id = run_id
        self.open_only = run_id is None
        self.marked: set[int] = set()
        self.statuses: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        yield Plain("", classes="caption")
        yield PagedTable(classes="conflicts-table")
        yield Plain("", classes="conflict-detail")

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    def columns(self) -> list[Column]:
        first = [("✓", 1), ("#", 4)]
        run = [] if self.run_id is not None else [("Run", 6)]
        return [
            *first,
            *run,
            ("Record", 18, 0.25),
            ("Field", 12),
            ("Decision", 8),
            ("Feed says", None),
        ]

    def row(self, c: Conflict) -> list[Any]:
        marked = c.conflict_id in self.marked and c.decision is None
        cells: list[Any] = ["✓" if marked else " ", str(c.conflict_id)]
        if self.run_id is None:
            status = self.statuses.get(c.run_id, "")
            symbol = STATUS.get(status, ("?",))[0].split()[0]
            cells.append(f"{c.run_id} {symbol}")
        cells += [
            c.label or c.sis_id or "",
            c.field or c.kind,
            DECISION_CELL.get(c.decision, c.decision or ""),
            c.feed_value if c.feed_value is not None else "∅",
        ]
        return cells

    def load(self) -> None:
        gw, run_id, open_only = self.app.gw, self.run_id, self.open_only  # type: ignore[attr-defined]

        def fetch(offset: int, limit: int) -> Any:
            if run_id is None and offset == 0:
                runs = gw.run(lambda engine: engine.list_runs(200))
                self.statuses = {r.run_id: r.status for r in runs}
            return gw.run(lambda engine: engine.conflicts(run_id, open_only, offset, limit))

        self.table.configure(self.columns(), fetch, self.row)

    def reload(self) -> None:
        if self.table.fetch is None:
            self.load()
        else:
            self.table.reload()

    @on(PagedTable.Loaded)
    def loaded(self, event: PagedTable.Loaded) -> None:
        self.keep_shown_marks()
        scope = "" if self.run_id is None else f" in run {self.run_id}"
        one = "open conflict" if self.open_only else "conflict"
        also = "" if self.open_only else " (open and decided)"
        keys = "v decided too" if self.open_only else "v open only"
        if self.open_only and self.may_decide:
            keys = f"space marks · * all · {keys}"
        caption = (
            f"{plural(event.total, one)}{also}{scope} · {len(self.marked)} marked · {keys}"
            if event.total
            else f"No {one}s{also}{scope}. {keys}"
        )
        self.query_one(".caption", Static).update(caption)
        self.show_detail()

    @on(PagedTable.RowHighlighted)
    def show_detail(self) -> None:
        self.query_one(".conflict-detail", Static).update(detail(self.table.highlighted, self))

    @property
    def may_decide(self) -> bool:
        gw: Gateway = self.app.gw  # type: ignore[attr-defined]
        return gw.permits("resolve_conflicts")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Marks are for deciding: neither is offered to a caller who may not decide."""
        if action in ("decide", "mark", "mark_all"):
            return self.may_decide
        return True

    def open_shown(self) -> set[int]:
        """The conflicts shown now that are still open: the only ones a mark can stand for."""
        return {c.conflict_id for c in self.table.items if c.decision is None}

    def keep_shown_marks(self) -> None:
        """After a load: a mark on a conflict no longer shown, or decided meanwhile (by someone
        else, from another terminal), is dropped, so a decision never reaches a hidden one."""
        self.marked &= self.open_shown()

    def action_mark(self) -> None:
        conflict = self.table.highlighted
        if conflict is None:
            return
        if conflict.decision is not None:
            self.app.notify(
                f"#{conflict.conflict_id} is decided already; only open conflicts are marked.",
                severity="warning",
            )
            return
        self.marked.symmetric_difference_update({conflict.conflict_id})
        self.table.replace_item(self.table.cursor_row, conflict)
        if self.table.cursor_row < self.table.row_count - 1:
            self.table.move_cursor(row=self.table.cursor_row + 1)
        self._caption_marks()

    def action_mark_all(self) -> None:
        loaded = {c.conflict_id for c in self.table.items if c.decision is None}
        self.marked = set() if loaded <= self.marked else loaded
        for index, conflict in enumerate(self.table.items):
            self.table.replace_item(index, conflict)
        self._caption_marks()

    def _caption_marks(self) -> None:
        total = self.table.total or 0
        one = "open conflict" if self.open_only else "conflict"
        self.query_one(".caption", Static).update(
            f"{plural(total, one)} · {len(self.marked)} marked (space marks, t/k/i decide all marked)"
        )

    def action_toggle_decided(self) -> None:
        self.open_only = not self.open_only
        self.load()

    class DecisionRequested(Message):
        """The user decided these conflicts; the screen confirms when needed and writes it."""

        def __init__(
            self, panel: ConflictsPanel, conflict_ids: list[int], decision: str, run_ids: list[int]
        ) -> None:
            super().__init__()
            self.panel = panel
            self.conflict_ids = conflict_ids
            self.decision = decision
            # their runs: whether one is applied (a 'take' then acts at once) is asked anew
            self.run_ids = run_ids

    def action_decide(self, decision: str) -> None:
        """Decide the marked conflicts shown, or else the highlighted one: only what is on
        screen (a mark that no longer is never counts)."""
        marked = sorted(self.marked & self.open_shown())
        highlighted = self.table.highlighted
        ids = marked or ([highlighted.conflict_id] if highlighted is not None else [])
        if not ids:
            self.app.notify("No conflict here to decide.", severity="warning")
            return
        run_ids = sorted({c.run_id for c in self.table.items if c.conflict_id in ids})
        self.post_message(self.DecisionRequested(self, ids, decision, run_ids))

    def decided(self, ids: list[int], decision: str) -> None:
        """The screen wrote the decision: clear the marks and show the conflicts again."""
        self.marked.clear()
        self.app.notify(
            f"{plural(len(ids), 'conflict')} ({id_list(ids)}): {DECISION_WORDS[decision]}.",
            title="Decided",
        )
        self.table.reload()


def id_list(ids: list[int], most: int = 8) -> str:
    """'#1', '#1, #2', '#3–#9, #12': the conflicts named, three or more in a row as a range
    (past `most` pieces, how many more conflicts)."""
    runs: list[list[int]] = []
    for n in sorted(set(ids)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    pieces: list[tuple[str, int]] = []  # (what is shown, how many conflicts it names)
    for run in runs:
        if len(run) < 3:
            pieces += [(f"#{n}", 1) for n in run]
        else:
            pieces.append((f"#{run[0]}–#{run[-1]}", len(run)))
    shown = ", ".join(text for text, _ in pieces[:most])
    more = sum(count for _, count in pieces[most:])
    return f"{shown} and {more:,} more" if more else shown


def detail(c: Conflict | None, panel: ConflictsPanel) -> Text:
    if c is None:
        return Text("")
    text = Text(no_wrap=False)
    text.append(f"#{c.conflict_id} {c.kind.replace('_', ' ')}", style="bold")
    text.append(f" · {c.label or ''} ({c.sis_id or 'no SIS id'}) · run {c.run_id}")
    if c.blocking:
        text.append(" · ! blocking", style="bold")
    text.append(f"\n{c.message}\n")
    text.append("feed: ", style="bold")
    text.append(f"{c.feed_value if c.feed_value is not None else '∅'}   ")
    text.append("directory: ", style="bold")
    text.append(f"{c.directory_value if c.directory_value is not None else '∅'}\n")
    if c.decision:
        text.append(f"Decided: {DECISION_WORDS.get(c.decision, c.decision)} by {c.decided_by}")
    else:
        text.append(f"Suggested: {DECISION_WORDS.get(c.suggestion, c.suggestion)}")
    return text
