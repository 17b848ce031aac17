"""A run's changes by kind and operation, with each field's before -> after."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from daemon.models import Change, Run
from daemon.sync.kinds import CHANGE_KINDS
from roster_tui.widgets.chrome import Plain
from roster_tui.widgets.paged_table import Column, PagedTable
from roster_tui.words import KIND_NAMES, OP_SIGN, OPS, fit_count, plural

COLUMNS: list[Column] = [("Op", 11), ("Record", 18, 0.3), ("Fields: before → after", None)]
GROUP_COLUMNS: list[Column] = [("Record", 20, 0.35), ("Fields: before → after", None)]
SHORT_KIND = {"guardian_links": "links", "student_attributes": "attributes"}


def group_option(label: str, n: int, width: int = 19) -> str:
    """A group's label and count on one line of the narrow list: a count too long to fit
    beside the label is shortened (70k, 7.3M; the caption gives it in full), never run into
    the label ("+ enrollments70,000")."""
    room = width - len(label) - 1
    count = fit_count(n, room)
    return f"{label} {count:>{max(room, len(count))}}"


def fields_line(change: Change) -> str:
    if not change.fields:
        return change.note or ""
    return "; ".join(f"{f.field}: {f.old or '∅'} → {f.new or '∅'}" for f in change.fields)


def change_row(change: Change) -> list[Any]:
    record = change.label or change.sis_id or f"#{change.record_id}"
    return [f"{OP_SIGN.get(change.op, '')} {change.op}", record, fields_line(change)]


def change_detail(change: Change | None) -> Text:
    if change is None:
        return Text("")
    text = Text(no_wrap=False)
    text.append(f"{OP_SIGN.get(change.op, '')} {change.op} ", style="bold")
    text.append(f"{KIND_NAMES.get(change.kind, (change.kind,))[0]} ")
    text.append(f"{change.label or ''} ", style="bold")
    text.append(f"({change.sis_id or 'no SIS id'}, #{change.record_id})")
    if change.source_file and change.source_line:
        text.append(f" · {change.source_file}:{change.source_line}", style="dim")
    for f in change.fields:
        text.append(f"\n  {f.field}: ")
        text.append(f"{f.old if f.old is not None else '∅'}", style="strike")
        text.append(" → ")
        text.append(f"{f.new if f.new is not None else '∅'}", style="bold")
    if change.note:
        text.append(f"\n  note: {change.note}")
    return text


class ChangesPanel(Horizontal):
    """Groups on the left (all, then each kind and operation), a page-loading table on the right."""

    def __init__(self, run_id: int) -> None:
        super().__init__(id="changes-panel")
        self.run_id = run_id
        self.groups: list[tuple[str | None, str | None]] = []

    def compose(self) -> ComposeResult:
        yield OptionList(id="change-groups")
        with Vertical(id="changes-right"):
            yield Plain("", id="changes-caption", classes="caption")
            yield PagedTable(id="changes")
            yield Plain("", id="change-detail")

    def show_run(self, run: Run) -> None:
        """Fill the groups from the run's counts (no query) and show the first."""
        groups: list[tuple[str | None, str | None]] = [(None, None)]
        options = [Option(group_option("All", run.total_changes()))]
        for kind in CHANGE_KINDS:
            for op in OPS:
                n = run.changes.get(kind, {}).get(op, 0)
                if n:
                    groups.append((kind, op))
                    label = f"{OP_SIGN[op]} {SHORT_KIND.get(kind, KIND_NAMES[kind][1])}"
                    options.append(Option(group_option(label, n)))
        self.groups = groups
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        option_list.add_options(options)
        option_list.highlighted = 0
        self.show_group(0)

    @on(OptionList.OptionHighlighted)
    def group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_group(event.option_index)

    @on(OptionList.OptionSelected)
    def group_selected(self) -> None:
        self.query_one(PagedTable).focus()

    def show_group(self, index: int) -> None:
        if not 0 <= index < len(self.groups):
            return
        kind, op = self.groups[index]
        gw, run_id = self.app.gw, self.run_id  # type: ignore[attr-defined]
        self.query_one("#changes-caption", Static).update("Loading…")

        def fetch(offset: int, limit: int) -> Any:
            return gw.run(lambda engine: engine.change_page(run_id, kind, op, offset, limit))

        if kind is None:
            self.query_one(PagedTable).configure(COLUMNS, fetch, change_row)
        else:
            self.query_one(PagedTable).configure(GROUP_COLUMNS, fetch, lambda c: change_row(c)[1:])

    @on(PagedTable.Loaded)
    def loaded(self, event: PagedTable.Loaded) -> None:
        table = event.table
        kind, op = (
            self.groups[self.query_one(OptionList).highlighted or 0]
            if self.groups
            else (None, None)
        )
        one, many = (
            ("change", "changes")
            if kind is None
            else (f"{op} {KIND_NAMES[kind][0]}", f"{op} {KIND_NAMES[kind][1]}")
        )
        more = len(table.items) < event.total
        caption = (
            plural(event.total, one, many)
            + (f" · first {len(table.items):,} shown, ↓ loads more" if more else "")
            if event.total
            else f"No {many}."
        )
        self.query_one("#changes-caption", Static).update(caption)
        self.show_detail()

    @on(PagedTable.RowHighlighted)
    def row_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        self.query_one("#change-detail", Static).update(
            change_detail(self.query_one(PagedTable).highlighted)
        )
