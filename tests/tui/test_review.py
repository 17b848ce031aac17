"""A review that never surprises: what a person types in a dialog is what gets recorded."""

from __future__ import annotations

import json

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmRunScreen, ConfirmScreen
from roster_tui.screens.duplicates import DuplicatesScreen
from roster_tui.screens.run_detail import RunDetailScreen
from roster_tui.screens.runs import RunsScreen
from roster_tui.widgets.paged_table import FillTable
from roster_tui.words import when
from tests.tui.conftest import FIXED_NOW, make_app, press, text_of, type_text

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


def pair_rows(screen: DuplicatesScreen) -> dict[str, list[str]]:
    table = screen.query_one(FillTable)
    rows = {}
    for row in range(table.row_count):
        cells = [str(cell).strip() for cell in table.get_row_at(row)]
        rows[cells[0]] = cells[1:]
    return rows


async def test_the_duplicates_screen_shows_the_phones_it_scored(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "4")
        screen = app.screen
        assert isinstance(screen, DuplicatesScreen)
        while screen.candidates[0].evidence["phone"] != "agree":  # the first pair with phones
            await press(pilot, "s")
        pair = screen.candidates[0]
        assert pair.evidence["phone"] == "agree" and pair.field_points["phone"] > 0
        mark, left, right = pair_rows(screen)["Phone"]
        assert mark == "= same"
        assert left == pair.left.phone and right == pair.right.phone  # whole, wrapped if long
        assert "(home)" in left and "(mobile)" in right


async def test_the_duplicates_screen_shows_the_ids_and_when_each_record_was_in_the_feed(
    demo_engine: Engine,
) -> None:
    """Jonathan and Jon Smith: both in the feed since run 1 (as twins would be), userIds apart."""
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "4")
        screen = app.screen
        assert isinstance(screen, DuplicatesScreen)
        pair = screen.candidates[0]
        assert pair.evidence_detail["lifecycle"] == "coexist"
        rows = pair_rows(screen)
        mark, left, right = rows["In feed"]
        assert mark == "∥ together"
        assert (left, right) == (f"arrived run {pair.left.arrived_run}",) * 2
        mark, left, right = rows["User ids"]
        assert (left, right) == (pair.left.user_ids, pair.right.user_ids)


async def test_a_merge_asks_first_and_names_the_survivor(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "4")
        screen = app.screen
        pair = screen.candidates[0]
        await press(pilot, "l")  # one key no longer merges
        assert isinstance(app.screen, ConfirmScreen)
        question = text_of(app.screen.query_one("#consequences"))
        assert f"Survivor: #{pair.left.user_id} {pair.left.given_name}" in question
        assert f"Merged into it: #{pair.right.user_id}" in question
        await press(pilot, "escape")
        assert app.screen is screen and screen.candidates[0].candidate_id == pair.candidate_id
        await press(pilot, "l", "enter")  # Enter on the focused Merge button
        assert screen.candidates[0].candidate_id != pair.candidate_id
    status = "SELECT status FROM users WHERE user_id = ?"
    assert demo_engine.db.one(status, [pair.right.user_id]) == "merged"
    assert demo_engine.db.one(status, [pair.left.user_id]) == "active"  # the survivor


async def test_the_run_detail_says_who_overrode_when_and_why(demo_engine: Engine) -> None:
    reason = "partial upload checked with the SIS team"
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "enter", "o")  # run 3, held
        await type_text(pilot, "OVERRIDE")
        await press(pilot, "tab")
        await type_text(pilot, reason)
        await press(pilot, "enter")
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run.status == "applied"
        run = demo_engine.get_run(3)
        said = f"‖ Hold overridden by admin {when(run.decided_at, FIXED_NOW)}: {reason}"
        assert said in one_line(text_of(app.screen.query_one("#summary-text")))
        await press(pilot, "escape")  # the runs list says it too, under the highlighted run
        assert said in one_line(text_of(app.screen.query_one("#run-preview")))
    assert run.override_reason == reason


def one_line(text: str) -> str:
    return " ".join(text.split())
