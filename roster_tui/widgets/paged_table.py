"""A table that never holds a whole run: it asks for one page and the next as the cursor nears it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.worker import get_current_worker

from daemon.models import Page

T = TypeVar("T")
Fetch = Callable[[int, int], Page]
# (label, width): a fixed width, or None for the last column to take the rest; or
# (label, least width, share): as wide as its widest cell, from the least width up to that
# share of the table's width (names are cut at 80 columns but whole at 120).
Column = tuple[str, int | None] | tuple[str, int, float]


def cell_width(cell: Any) -> int:
    return cell_len(cell.plain if isinstance(cell, Text) else str(cell))


class FillTable(DataTable[Any]):
    """A DataTable that fits its width: growing columns take what their cells need (up to a
    share), and the last column, when given no width, takes the rest."""

    fill_last = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter is the screen's when the screen names it (Open, Record, Edit…): the table
        steps aside, so the screen's binding runs in turn, after any ↓ typed before it, on the
        row those keys reached, and the footer shows the screen's word for it."""
        if action == "select_cursor" and self.screen_binds_enter():
            return False
        return super().check_action(action, parameters)

    def refill(
        self,
        rows: list[tuple[Any, ...]],
        before: Sequence[T],
        after: Sequence[T],
        same: Callable[[T, T], bool],
    ) -> None:
        """The rows anew (one per item of `after`), the cursor on the item it was on among
        `before` wherever that item is now, or on the same row when it is gone: a reload never
        moves what a person highlighted."""
        keep = self.cursor_row if self.row_count else 0
        if 0 <= keep < len(before):
            found = [i for i, item in enumerate(after) if same(before[keep], item)]
            keep = found[0] if found else keep
        self.clear()
        for row in rows:
            self.add_row(*row)
        if rows:
            self.move_cursor(row=min(keep, len(rows) - 1), animate=False)

    def screen_binds_enter(self) -> bool:
        bindings = getattr(self.screen, "BINDINGS", [])
        return any(isinstance(b, Binding) and "enter" in b.key.split(",") for b in bindings)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.growing: dict[int, tuple[int, float]] = {}  # column index -> (least, share)
        self.widest: dict[int, int] = {}  # column index -> widest cell seen

    def fit_columns(self) -> None:
        """No side scrolling at 80 columns: long last cells are cut, the detail pane has them."""
        if not self.ordered_columns or not self.size.width:
            return
        changed = False
        room = self.size.width - 1  # the vertical scrollbar
        for index, (least, share) in self.growing.items():
            column = self.ordered_columns[index]
            width = max(least, min(self.widest.get(index, 0), int(share * room)))
            if column.auto_width or column.width != width:
                column.auto_width, column.width = False, width
                changed = True
        if self.fill_last:
            last = self.ordered_columns[-1]
            others = sum(c.get_render_width(self) for c in self.ordered_columns[:-1])
            width = max(8, self.size.width - others - 2 * self.cell_padding - 1)
            if last.auto_width or last.width != width:
                last.auto_width, last.width = False, width
                changed = True
        if changed:
            self._require_update_dimensions = True
            self._update_count += 1
            self.refresh()

    def on_resize(self) -> None:
        """Columns fit the new width, and the cursor's row stays in view (a shorter terminal
        left it scrolled out until the next key)."""
        self.fit_columns()
        self.call_after_refresh(self._keep_cursor_in_view)

    def _keep_cursor_in_view(self) -> None:
        """Scroll only when the cursor's row is out of view (rows are one line high here); the
        row is read now, not at the resize: keys pressed in between have moved it."""
        shown = self.scrollable_content_region.height - self.header_height
        first = int(self.scroll_y)
        if not first <= self.cursor_row < first + max(shown, 1):
            self.move_cursor(row=self.cursor_row)

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.clear(columns=True)
        self.growing, self.widest = {}, {}
        for index, (label, width, *share) in enumerate(columns):
            self.add_column(label, width=width, key=label)
            if share and width is not None:
                self.growing[index] = (width, share[0])
        self.fill_last = bool(columns) and columns[-1][1] is None
        self.fit_columns()

    def measure_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Note the widest cell of each growing column, then fit the columns again."""
        if not self.growing:
            return
        for index in self.growing:
            widths = [cell_width(row[index]) for row in rows if index < len(row)]
            self.widest[index] = max([self.widest.get(index, 0), *widths])
        self.fit_columns()


class PagedTable(FillTable):
    """Rows come from `fetch(offset, limit)` (run in a thread worker through the gateway)."""

    PAGE_SIZE = 100
    MARGIN = 25  # rows left below the cursor when the next page is asked for
    MAX_PAGE = 500  # the engine's largest page
    END_STEP = 10_000  # rows `end` loads at most per press (a million-row run stays usable)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("end", "last_row", "Last row (loads up to 10,000 more)", show=False),
    ]

    class Loaded(Message):
        """A page arrived (or the first load of an empty list)."""

        def __init__(self, table: PagedTable, total: int) -> None:
            super().__init__()
            self.table = table
            self.total = total

        @property
        def control(self) -> PagedTable:
            return self.table

    class LoadFailed(Message):
        """A page could not be fetched: the app shows the error as a notice."""

        def __init__(self, table: PagedTable, error: Exception) -> None:
            super().__init__()
            self.table = table
            self.error = error

        @property
        def control(self) -> PagedTable:
            return self.table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self.fetch: Fetch | None = None
        self.to_row: Callable[[Any], Sequence[Any]] = lambda item: [str(item)]
        self.items: list[Any] = []
        self.total: int | None = None
        self.pages_loaded = 0
        self._generation = 0
        self._loading = False
        self._restore_row: int | None = None
        self._end_goal: int | None = None  # `end`: load up to this many rows, then go there

    def configure(
        self, columns: Sequence[Column], fetch: Fetch, to_row: Callable[[Any], Sequence[Any]]
    ) -> None:
        """New columns and a new source: starts over from the first page."""
        self.set_columns(columns)
        self.fetch, self.to_row = fetch, to_row
        self._start(0)

    def reload(self, keep_cursor: bool = True) -> None:
        """The same source again (after a change), keeping the cursor where it was."""
        if self.fetch is None:
            return
        self._start(self.cursor_row if keep_cursor and self.row_count else 0)

    def _start(self, cursor: int) -> None:
        self._generation += 1
        self._end_goal = None
        self.clear()
        self.widest = {}
        self.items, self.total, self.pages_loaded = [], None, 0
        self._restore_row = cursor
        self._load(0, min(self.MAX_PAGE, max(self.PAGE_SIZE, cursor + self.MARGIN)))

    @property
    def highlighted(self) -> Any | None:
        if 0 <= self.cursor_row < len(self.items) and self.row_count:
            return self.items[self.cursor_row]
        return None

    @property
    def loading_more(self) -> bool:
        return self._loading

    def _load(self, offset: int, limit: int) -> None:
        fetch, generation = self.fetch, self._generation
        if fetch is None:
            return
        self._loading = True

        def work() -> None:
            worker = get_current_worker()
            try:
                page = fetch(offset, limit)
            except Exception as exc:
                if not worker.is_cancelled:
                    self.app.call_from_thread(self._failed, generation, exc)
                return
            if not worker.is_cancelled:
                self.app.call_from_thread(self._append, generation, page)

        self.run_worker(work, thread=True, group="page", name="page")

    def _append(self, generation: int, page: Page) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self.total = page.total
        self.pages_loaded += 1
        self.items.extend(page.items)
        if page.items:
            rows = [self.to_row(item) for item in page.items]
            self.add_rows(rows)
            self.measure_rows(rows)
        if self._restore_row is not None:
            row = min(self._restore_row, max(0, self.row_count - 1))
            self._restore_row = None
            if self.row_count:
                self.move_cursor(row=row, animate=False, scroll=True)
        self.post_message(self.Loaded(self, page.total))
        if self._end_goal is not None:
            self._toward_end(bool(page.items))

    def action_last_row(self) -> None:
        """The last row: the rows not loaded yet come first, MAX_PAGE at a time, up to
        END_STEP more per press; a longer list says how far it got (end again goes further)."""
        if self.total is None or len(self.items) >= self.total or self._end_goal is not None:
            if self._end_goal is None:
                self.action_scroll_bottom()
            return
        self._end_goal = min(self.total, len(self.items) + self.END_STEP)
        if not self._loading:
            self._toward_end(True)
        # else: the page being loaded continues toward the goal when it arrives

    def _toward_end(self, progressing: bool) -> None:
        goal = self._end_goal
        if goal is None:
            return
        if progressing and len(self.items) < goal:
            self._load(len(self.items), min(self.MAX_PAGE, goal - len(self.items)))
            return
        self._end_goal = None
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False, scroll=True)
        if self.total is not None and len(self.items) < self.total:
            self.notify(
                f"Row {len(self.items):,} of {self.total:,}: end loads up to "
                f"{self.END_STEP:,} more rows each time it is pressed.",
                title="Not the last row yet",
            )

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._end_goal = None
        self.post_message(self.LoadFailed(self, exc))

    def _more_if_near_end(self) -> None:
        if (
            not self._loading
            and self.total is not None
            and len(self.items) < self.total
            and self.cursor_row >= len(self.items) - self.MARGIN
        ):
            self._load(len(self.items), self.PAGE_SIZE)

    def watch_cursor_coordinate(self, old: Any, new: Any) -> None:
        super().watch_cursor_coordinate(old, new)
        self._more_if_near_end()

    def replace_item(self, index: int, item: Any) -> None:
        """Redraw one row after a change made from the UI."""
        if not 0 <= index < len(self.items):
            return
        self.items[index] = item
        cells = self.to_row(item)
        row_key = self.ordered_rows[index].key
        for column, value in zip(self.ordered_columns, cells, strict=False):
            self.update_cell(row_key, column.key, value)
