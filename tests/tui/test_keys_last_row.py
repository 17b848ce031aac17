"""`end` on a long list: the last row, though most rows were not loaded yet."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.service.engine import Engine
from roster_tui.screens.run_detail import RunDetailScreen
from roster_tui.widgets.changes_panel import ChangesPanel
from roster_tui.widgets.paged_table import PagedTable
from tests.tui.conftest import make_app, notices_of, press


async def open_changes_of_run_1(pilot: Any) -> PagedTable:
    """Run 1 of the demo (2,641 changes), its Changes tab: the first page loaded."""
    await press(pilot, "1")
    row = [r.run_id for r in pilot.app.screen.runs].index(1)
    await press(pilot, *["down"] * row, "enter", "right_square_bracket")
    assert isinstance(pilot.app.screen, RunDetailScreen)
    table = pilot.app.screen.query_one(ChangesPanel).query_one(PagedTable)
    assert table.total is not None and len(table.items) < table.total
    return table


async def test_end_goes_to_the_last_row_of_the_whole_list(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_changes_of_run_1(pilot)
        await press(pilot, "end")
        assert len(table.items) == table.total
        assert table.cursor_row == table.total - 1
        assert table.highlighted is table.items[-1]


async def test_end_on_a_very_long_list_says_how_far_it_got(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PagedTable, "END_STEP", 1_000)  # as 10,000 rows of a run of a million
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_changes_of_run_1(pilot)
        await press(pilot, "end")
        assert table.cursor_row == 1_099
        assert any(f"Row 1,100 of {table.total:,}" in n for n in notices_of(app))
        await press(pilot, "end", "end")
        assert table.cursor_row == table.total - 1
