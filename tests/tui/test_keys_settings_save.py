"""Changing a setting: once asked, the change is reported, whatever is pressed meanwhile."""

from __future__ import annotations

import threading
from typing import Any

from textual.widgets import DataTable

from daemon.service.engine import Engine
from roster_tui.screens.settings import EditSettingScreen, SettingsScreen, save_setting
from tests.tui.conftest import make_app, notices_of, press, settle, text_of, type_text


class SlowSettingsClient:
    """The engine, but a setting is saved only when the test says so (another process holds
    the database's write lock meanwhile)."""

    is_remote = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db = engine.db
        self.go = threading.Event()

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.engine, method)
        if method != "settings_set":
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.go.wait(10)
            return target(*args, **kwargs)

        return call


async def start_saving(pilot: Any, value: str) -> None:
    """Settings, deletion_threshold, a new value, enter: the save has started, not finished."""
    await press(pilot, "6")
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen)
    row = [s.key for s in screen.settings].index("deletion_threshold")
    screen.query_one(DataTable).move_cursor(row=row)
    await press(pilot, "enter")
    assert isinstance(pilot.app.screen, EditSettingScreen)
    await type_text(pilot, value)
    await pilot.press("enter")  # not press(): it would wait for the save
    await pilot.pause()


async def test_escape_while_a_setting_is_saving_does_not_pretend_to_cancel(
    demo_engine: Engine,
) -> None:
    client = SlowSettingsClient(demo_engine)
    app = make_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_saving(pilot, "90")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, EditSettingScreen)
        assert "Saving… (cannot be cancelled)" in text_of(app.screen.query_one("#problem"))
        client.go.set()
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        assert any(
            n.startswith("Setting changed: deletion_threshold = 90") for n in notices_of(app)
        )


async def test_the_notice_after_a_change_names_the_open_runs_it_superseded(
    demo_engine: Engine,
) -> None:
    open_runs = [r.run_id for r in demo_engine.list_runs(200) if r.status in ("planned", "held")]
    assert open_runs
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_saving(pilot, "90")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        [notice] = [n for n in notices_of(app) if n.startswith("Setting changed")]
        assert ", ".join(map(str, sorted(open_runs))) in notice
        assert "plan them again" in notice


async def test_the_settings_screen_says_a_change_supersedes_open_runs(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "6")
        meaning = " ".join(text_of(app.screen.query_one("#setting-meaning")).split())
        assert "open runs (planned or held) are superseded and must be planned again" in meaning
        assert "keep the settings" not in meaning


def test_a_change_no_plan_depends_on_names_no_run_superseded(demo_engine: Engine) -> None:
    """The notice named every open run, which a new start time no longer supersedes."""
    assert any(r.status in ("planned", "held") for r in demo_engine.list_runs(200))
    saved = save_setting(demo_engine, "sync_start_time", "03:30")
    assert saved.superseded == []


async def test_a_setting_no_plan_depends_on_says_open_runs_stay(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "6")
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=[s.key for s in app.screen.settings].index("sync_start_time"))
        await pilot.pause()
        meaning = " ".join(text_of(app.screen.query_one("#setting-meaning")).split())
        assert "open runs stay as they are" in meaning and "superseded" not in meaning
