"""A run's row results (the seed product's upload results) and the files of its drop."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from daemon.models import RowResult, Run
from roster_tui.widgets.chrome import Plain
from roster_tui.widgets.paged_table import Column, PagedTable
from roster_tui.words import plural

FILTERS = {  # status -> (one, many): what a filtered list of row results counts
    None: ("row", "rows"),
    "ERROR": ("error", "errors"),
    "WARNING": ("warning", "warnings"),
    "SUCCESS": ("ok row", "ok rows"),
}
STATUS_CELL = {"ERROR": "✗ err", "WARNING": "! warn", "SUCCESS": "✓ ok"}
COLUMNS: list[Column] = [
    ("Result", 6),
    ("File", 16),
    ("Line", 5),
    ("sourcedId", 13, 0.16),
    ("Message", None),
]


def result_row(r: RowResult) -> list[Any]:
    message = r.message or ""
    where = f"{r.file_name} line {r.line}: "
    if message.startswith(where):  # the row already says file and line
        message = message[len(where) :]
    return [
        STATUS_CELL.get(r.status, r.status),
        r.file_name,
        Text(str(r.line) if r.line is not None else "–", justify="right"),
        r.sourced_id or "",
        message,
    ]


def result_detail(r: RowResult | None) -> Text:
    if r is None:
        return Text("")
    # The message first: a short terminal gives the pane two lines, and the message (which
    # names its file and line) is what the row is about.
    text = Text(no_wrap=False)
    text.append(f"{STATUS_CELL.get(r.status, r.status)} ", style="bold")
    text.append(r.message or "loaded without problems")
    text.append(f"\n{r.file_name} line {r.line if r.line is not None else '–'}", style="dim")
    text.append(f" · {r.sourced_id or 'no sourcedId'}", style="dim")
    if r.column_name:
        text.append(f" · column {r.column_name}", style="dim")
    return text


class RowsPanel(Vertical):
    """Every row's result, filtered by status; errors first by default when there are any."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "only('ERROR')", "Errors", tooltip="only rows with errors"),
        Binding("w", "only('WARNING')", "Warn", tooltip="only rows with warnings"),
        Binding("s", "only('SUCCESS')", "OK", tooltip="only rows that loaded cleanly"),
        Binding("l", "only(None)", "All", tooltip="every row"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__(id="rows-panel")
        self.run_id = run_id
        self.status: str | None = None
        self.started = False

    def compose(self) -> ComposeResult:
        yield Plain("", classes="caption")
        yield PagedTable(id="results")
        yield Plain("", id="result-detail")

    def start(self, run: Run) -> None:
        """First look: errors when the run has some, else all rows."""
        if not self.started:
            self.started = True
            self.action_only("ERROR" if run.rows.error else None)

    def action_only(self, status: str | None) -> None:
        self.status = status
        gw, run_id = self.app.gw, self.run_id  # type: ignore[attr-defined]
        self.query_one(".caption", Static).update("Loading…")

        def fetch(offset: int, limit: int) -> Any:
            return gw.run(lambda engine: engine.results_page(run_id, status, offset, limit))

        self.query_one(PagedTable).configure(COLUMNS, fetch, result_row)

    @on(PagedTable.Loaded)
    def loaded(self, event: PagedTable.Loaded) -> None:
        one, many = FILTERS[self.status]
        keys = "e errors · w warnings · s ok · l all"
        self.query_one(".caption", Static).update(
            f"{plural(event.total, one, many)} · {keys}" if event.total else f"No {many}. {keys}"
        )
        self.show_detail()

    @on(PagedTable.RowHighlighted)
    def show_detail(self) -> None:
        table = self.query_one(PagedTable)
        self.query_one("#result-detail", Static).update(result_detail(table.highlighted))


class FilesPanel(Vertical):
    """The files of the drop: what each was, how many rows, and how they fared."""

    def compose(self) -> ComposeResult:
        yield Plain("", classes="caption")
        yield DataTable(id="files", cursor_type="row")

    def show_run(self, run: Run) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for label in ("File", "Mode", "Rows", "OK", "Warn", "Err", "Note"):
            table.add_column(label)
        for f in run.files:
            table.add_row(
                f.file_name if f.present else f"{f.file_name} (absent)",
                f.mode or "–",
                _n(f.rows),
                _n(f.success),
                _n(f.warning),
                _n(f.error),
                f.note or (f.encoding or ""),
            )
        present = sum(1 for f in run.files if f.present)
        self.query_one(".caption", Static).update(
            f"{plural(present, 'file')} in the drop"
            if run.files
            else "No files were read from this drop."
        )


def _n(value: int | None) -> Text:
    return Text("–" if value is None else f"{value:,}", justify="right")
