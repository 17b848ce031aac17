"""The layout at every size: nothing covers a table or a dialog's buttons, and down to 60x15 every
field, button and screen key can be reached and seen."""

from __future__ import annotations

from typing import Any

from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input
from textual.widgets._data_table import ColumnKey

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmRunScreen, PlanDropScreen
from roster_tui.screens.runs import RunsScreen
from roster_tui.widgets.changes_panel import ChangesPanel
from roster_tui.widgets.chrome import NavBar, NoticeLine
from roster_tui.widgets.paged_table import PagedTable
from tests.tui.conftest import make_app, press, text_of, type_text


def seen(widget: Widget) -> bool:
    """Wholly on the screen, not clipped by its container, and not covered by a toast."""
    screen = widget.screen
    visible = screen.find_widget(widget).region if widget.region else Region()
    return (
        bool(widget.region)
        and visible == widget.region
        and screen.region.contains_region(widget.region)
    )


def toasts(app: Any) -> list[Widget]:
    return [w for w in app.screen.query("Toast") if w.display and w.visible and w.region]


async def test_notices_take_their_own_line_and_cover_nothing(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await press(pilot, "down", "a", "enter")
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        notice = screen.query_one(NoticeLine)
        assert "Run 2 applied" in text_of(notice) and notice.region
        for part in (screen.query_one("#runs"), screen.query_one("#run-preview")):
            assert not part.region.overlaps(notice.region)
        assert toasts(app) == []


async def test_a_notice_never_covers_a_dialogs_buttons(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await press(pilot, "down", "a")
        app.notify("the daemon is back", title="Daemon")  # while the question is open
        app.notify("run 4 planned", title="Run 4")
        await press(pilot)
        assert isinstance(app.screen, ConfirmRunScreen)
        assert toasts(app) == []
        assert all(seen(button) for button in app.screen.query(Button))


async def test_at_60x15_every_field_and_button_of_the_override_dialog_is_in_view(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(60, 15)) as pilot:
        await press(pilot, "o")  # run 3, held
        dialog = app.screen
        assert isinstance(dialog, ConfirmRunScreen)
        for part in [
            *dialog.query(Input),
            *dialog.query(Button),
            dialog.query_one("#dialog-title"),
        ]:
            assert seen(part), part
        await type_text(pilot, "OVERRIDE")
        await press(pilot, "tab")
        await type_text(pilot, "checked with the SIS team")
        assert dialog.query_one("#reason", Input).value == "checked with the SIS team"
        await press(pilot, "enter")
    assert demo_engine.get_run(3).status == "applied"


async def test_at_60x15_the_plan_dialog_on_a_blackout_day_shows_every_field(
    demo_engine: Engine,
) -> None:
    demo_engine.settings_set("blackout_dates", "2000-01-01..2099-12-31")
    app = make_app(demo_engine)
    async with app.run_test(size=(60, 15)) as pilot:
        await press(pilot, "n")
        dialog = app.screen
        assert isinstance(dialog, PlanDropScreen)
        parts = [*dialog.query(Input), *dialog.query(Checkbox), *dialog.query(Button)]
        assert len(parts) == 5  # path, schools, the blackout box, Plan, Cancel
        for part in [*parts, dialog.query_one("#dialog-title")]:
            assert seen(part), part


async def test_at_60_columns_the_nav_bar_keeps_every_screen(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(60, 15)) as pilot:
        for key in "123456":
            await press(pilot, key)
            line = app.screen.query_one(NavBar).render().plain
            assert len(line) <= 60
            assert all(f"{k} " in line or f" {k}" in line for k in "123456"), line


async def test_at_120_columns_the_record_column_shows_whole_names(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(3, "changes")
        await press(pilot)
        table = app.screen.query_one(ChangesPanel).query_one(PagedTable)
        record = table.columns[ColumnKey("Record")]
        assert record.width >= len("World History & Geography")
        fields = table.ordered_columns[-1]
        assert fields.width >= 40  # the before → after column keeps the most room
    async with make_app(demo_engine).run_test(size=(80, 24)) as pilot:
        pilot.app.open_run(3, "changes")
        await press(pilot)
        table = pilot.app.screen.query_one(ChangesPanel).query_one(PagedTable)
        assert table.columns[ColumnKey("Record")].width == 18  # 80 columns: as before


async def test_the_held_run_preview_lists_every_limit_when_there_is_room(
    demo_engine: Engine,
) -> None:
    for size in ((80, 24), (120, 40)):
        app = make_app(demo_engine)
        async with app.run_test(size=size) as pilot:
            await press(pilot)
            text = text_of(app.screen.query_one("#run-preview"))
            assert "more (open the run)" not in text, size
            for kind in ("students", "staff", "guardians", "enrollments", "guardian links"):
                assert f"‖ {kind}: archives" in text
            assert "‖ student attributes: archives 38 of 192" in text


async def test_a_short_terminal_still_says_how_many_limits_are_left_out(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(60, 15)) as pilot:
        await press(pilot)
        text = text_of(app.screen.query_one("#run-preview"))
        assert "Why held (6 limits exceeded)" in text and "more (open the run)" in text


def shown_lines(widget: Widget) -> list[str]:
    """The lines a widget shows, border included."""
    region = Region(0, 0, widget.region.width, widget.region.height)
    return ["".join(segment.text for segment in strip) for strip in widget.render_lines(region)]


async def test_at_60x15_the_rows_detail_pane_shows_the_rows_message(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(60, 15)) as pilot:
        app.open_run(3, "rows")
        await press(pilot)
        lines = shown_lines(app.screen.query_one("#result-detail"))
        assert lines[1].strip().startswith("✗ err classes.csv line 33: duplicate"), lines


async def test_a_shorter_terminal_keeps_the_cursor_row_in_view(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(60, 15)) as pilot:
        app.open_run(3, "rows")
        await press(pilot, *["down"] * 12)
        table = app.screen.query_one("#rows-panel").query_one(PagedTable)
        assert table.cursor_row == 12
        await pilot.resize_terminal(60, 12)
        await press(pilot)
        first = int(table.scroll_y)
        shown = table.scrollable_content_region.height - table.header_height
        assert first <= table.cursor_row < first + shown, (first, shown)
