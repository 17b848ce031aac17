"""A review that never surprises: what a person types in a dialog is what gets recorded."""

from __future__ import annotations

import json

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmRunScreen
from roster_tui.screens.runs import RunsScreen
from tests.tui.conftest import make_app, press, type_text

SIZE = (80, 24)


def audited_reason(engine: Engine, action: str, run_id: int) -> str | None:
    details = engine.db.one(
        "SELECT details FROM audit_log WHERE action = ? AND target_id = ?", [action, run_id]
    )
    return json.loads(details)["reason"]


async def test_a_reason_typed_in_the_approve_dialog_is_recorded(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "a")  # run 2, planned
        assert isinstance(app.screen, ConfirmRunScreen)
        await type_text(pilot, "checked with the SIS team")  # typed at once, no tab first
        await press(pilot, "enter")  # Enter in the field applies, with the reason
        assert isinstance(app.screen, RunsScreen)
    assert demo_engine.get_run(2).status == "applied"
    assert audited_reason(demo_engine, "run.apply", 2) == "checked with the SIS team"


async def test_a_reason_typed_in_the_reject_dialog_is_recorded(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "x")
        await type_text(pilot, "wrong term's file")
        await press(pilot, "enter")
        assert isinstance(app.screen, RunsScreen)
    assert demo_engine.get_run(2).status == "rejected"
    assert audited_reason(demo_engine, "run.reject", 2) == "wrong term's file"


async def test_approving_without_a_reason_is_still_one_enter(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "a", "enter")
    assert demo_engine.get_run(2).status == "applied"
    assert audited_reason(demo_engine, "run.apply", 2) is None
