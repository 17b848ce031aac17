"""Keys that arrive in one burst (over SSH, a fast typist) are handled in the order typed."""

from __future__ import annotations

import json
from typing import Any

from textual import events
from textual.widgets import Input

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmRunScreen, PlanDropScreen
from roster_tui.screens.run_detail import RunDetailScreen
from tests.tui.conftest import make_app, press, settle, type_text

CHARACTERS = {"enter": "\r", "down": None, "escape": "\x1b"}


async def burst(pilot: Any, *keys: str) -> None:
    """Keys queued all at once, as a terminal delivers them in one read (no pause between)."""
    for key in keys:
        character = CHARACTERS.get(key, key if len(key) == 1 else None)
        pilot.app.post_message(events.Key(key, character))
    await settle(pilot)


def audited(engine: Engine, run_id: int) -> list[tuple[str, Any]]:
    """(action, details) of the audit log's entries about one run."""
    rows = engine.db.rows(
        "select action, details from audit_log where target_kind = 'run' and target_id = ? "
        "order by audit_id",
        [run_id],
    )
    return [(action, json.loads(details) if details else None) for action, details in rows]


async def test_down_then_enter_in_one_burst_opens_the_run_the_cursor_moved_to(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "1")
        first, second = app.screen.runs[0].run_id, app.screen.runs[1].run_id
        await burst(pilot, "down", "enter")
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == second != first


async def test_a_key_typed_right_after_enter_in_the_approve_dialog_is_not_in_the_reason(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "1", "down")
        run_id = app.screen.runs[1].run_id
        await press(pilot, "a")
        assert isinstance(app.screen, ConfirmRunScreen)
        await type_text(pilot, "checked")
        await burst(pilot, "enter", "q")
    assert ("run.apply", {"reason": "checked", "held": False}) in audited(demo_engine, run_id)


async def test_a_key_typed_right_after_enter_in_the_override_dialog_is_not_in_the_reason(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "1")
        run_id = app.screen.runs[0].run_id
        await press(pilot, "o")
        assert isinstance(app.screen, ConfirmRunScreen)
        await type_text(pilot, "OVERRIDE")
        await press(pilot, "tab")
        await type_text(pilot, "xyz")
        await burst(pilot, "enter", "o")
    assert demo_engine.get_run(run_id).override_reason == "xyz"


async def test_keys_typed_after_tab_in_the_override_dialog_go_to_the_reason(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "1")
        run_id = app.screen.runs[0].run_id
        await press(pilot, "o")
        assert isinstance(app.screen, ConfirmRunScreen)
        await burst(pilot, *"OVERRIDE", "tab", *"checked by hand", "enter")
    assert demo_engine.get_run(run_id).override_reason == "checked by hand"


async def test_keys_typed_after_tab_in_the_plan_dialog_go_to_the_schools(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "1", "n")
        assert isinstance(app.screen, PlanDropScreen)
        await burst(pilot, *"/srv/drop", "tab", *"sch-1")
        fields = {field.id: field.value for field in app.screen.query(Input)}
    assert fields == {"path": "/srv/drop", "schools": "sch-1"}
