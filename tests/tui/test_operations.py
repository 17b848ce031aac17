"""Issue 17 in the review UI: withheld archives wait and w decides them; u plans the revert of
an applied run; a school-level upload shows its scope and is planned from the plan dialog; on a
blackout day the plan dialog plans only when told to, and the audit log says so."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import (
    BLACKOUT_FORCE,
    ConfirmScreen,
    PlanDropScreen,
    WithheldDecisionScreen,
    WithheldOutcomeScreen,
    approval_counts,
)
from roster_tui.screens.run_detail import RunDetailScreen
from tests.tui.conftest import (
    SAMPLE,
    make_app,
    notices_of,
    press,
    settle,
    text_of,
    type_text,
)

SIZE = (80, 24)


def _withholding_run(engine: Engine) -> int:
    """Day three again, with threshold_action = withhold_archives: applied, archives waiting."""
    engine.settings_set("threshold_action", "withhold_archives")
    run = engine.plan_source(str(SAMPLE / "day3_broken"))
    return engine.apply_run(run.run_id, scan_duplicates=False).run_id


async def test_withheld_archives_are_approved_from_the_run_detail(demo_engine: Engine) -> None:
    run_id = _withholding_run(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "enter")  # the newest run
        screen = app.screen
        assert isinstance(screen, RunDetailScreen) and screen.run.run_id == run_id
        summary = " ".join(text_of(screen.query_one("#summary-text")).split())
        assert "Withheld archives of" in summary and "Waiting for a decision: w" in summary
        await press(pilot, "w")
        assert isinstance(app.screen, WithheldDecisionScreen)
        assert app.focused is app.screen.query_one("#reason")  # typing goes to the reason
        await press(pilot, "enter")  # no reason: Enter only moves to the buttons
        await press(pilot, "enter")
        assert "Give a reason" in text_of(app.screen.query_one("#problem"))
        assert app.focused is app.screen.query_one("#reason")  # back to the reason
        await type_text(pilot, "end of the school year")
        await press(pilot, "enter", "enter")
        assert app.screen is screen and screen.run.withheld_decision == "approved"
        assert any("archived" in n for n in notices_of(app))
    run = demo_engine.get_run(run_id)
    assert run.withheld_reason == "end of the school year"
    assert run.withheld_outcome.get("archived", 0) > 0


async def test_w_on_a_decided_run_shows_what_the_decision_did(demo_engine: Engine) -> None:
    run_id = _withholding_run(demo_engine)
    [first] = demo_engine.withheld_page(run_id, 0, 1).items
    demo_engine.decide_withheld(run_id, "drop", "a trip")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "enter", "w")
        assert isinstance(app.screen, WithheldOutcomeScreen)
        said = " ".join(text_of(app.screen.query_one("#outcomes")).split())
        assert said == "By admin: a trip Nothing was archived; the records stay as they were."
        await press(pilot, "escape")
        assert isinstance(app.screen, RunDetailScreen)
    assert first.outcome is None


async def test_an_approval_lists_what_it_kept_first(demo_engine: Engine) -> None:
    run_id = _withholding_run(demo_engine)
    kept = next(w for w in demo_engine.withheld_page(run_id, 0, 500).items if w.kind == "students")
    demo_engine.edit_contact(kept.sis_id, {"email": "kept@example.org"})  # edited since
    demo_engine.decide_withheld(run_id, "approve", "end of the school year")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "enter", "w")
        lines = text_of(app.screen.query_one("#outcomes")).splitlines()
        assert lines[2].strip() == "Kept, each with why:"
        assert " ".join(lines[3].split()) == f"• {kept.label} (student): edited by hand since"


def test_an_approval_that_kept_nothing_says_none_kept() -> None:
    assert approval_counts({"archived": 12}) == "12 archives done, none kept."


def test_an_approval_that_archived_nothing_says_so_first() -> None:
    assert approval_counts({"kept": 3}) == "Nothing was archived: 3 records kept."


async def test_an_applied_run_is_reverted_from_its_detail(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "enter")  # the newest run: 3, held
        assert not app.screen.check_action("revert", ())
        await press(pilot, "escape", "down", "down", "enter")  # run 1, applied
        screen = app.screen
        assert isinstance(screen, RunDetailScreen) and screen.run.run_id == 1
        await press(pilot, "u")
        assert isinstance(app.screen, ConfirmScreen)
        assert "restores what run 1 changed" in text_of(app.screen.query_one("#consequences"))
        await press(pilot, "y")
        new = app.screen
        assert isinstance(new, RunDetailScreen) and new.run is not None
        assert new.run.reverted_run == 1 and new.run.status in ("planned", "held")
        assert "reverts run 1" in text_of(new.query_one("#run-title"))


async def test_planning_a_revert_again_plans_the_revert_not_a_drop(demo_engine: Engine) -> None:
    """A revert has no drop to ask about: p plans it again against today's directory (once
    the open one is decided: two open plans of one revert only clutter the queue)."""
    revert = demo_engine.revert_run(1)
    demo_engine.reject_run(revert.run_id)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "p")  # the newest run: the revert
        assert not isinstance(app.screen, PlanDropScreen)
        again = app.screen
        assert isinstance(again, RunDetailScreen) and again.run is not None
        assert again.run.run_id > revert.run_id and again.run.reverted_run == 1


async def test_a_school_level_upload_shows_its_scope(demo_engine: Engine) -> None:
    run = demo_engine.plan_source(str(SAMPLE / "day2"), None, False, ["sch-oak"])
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # the runs are loaded by a worker
        preview = " ".join(text_of(app.screen.query_one("#run-preview")).split())
        assert "Scope: school-level upload for sch-oak" in preview
        await press(pilot, "enter")
        assert app.screen.run.run_id == run.run_id
        assert "schools sch-oak" in text_of(app.screen.query_one("#run-title"))
        summary = " ".join(text_of(app.screen.query_one("#summary-text")).split())
        assert "School-level upload for sch-oak" in summary


# ---------------------------------------------------------------- the plan dialog
async def _plan_dialog(pilot: Pilot[Any], path: str) -> PlanDropScreen:
    """n opens the plan dialog on the Runs screen, typing goes to the path: put `path` there."""
    await press(pilot, "n")
    dialog = pilot.app.screen
    assert isinstance(dialog, PlanDropScreen)
    field = dialog.query_one("#path", Input)
    assert pilot.app.focused is field
    field.value = path
    return dialog


def _blackout_today(engine: Engine) -> str:
    """A blackout from yesterday to tomorrow (so a test running over midnight is still in it)."""
    today = date.today()
    span = f"{today - timedelta(days=1)}..{today + timedelta(days=1)}"
    engine.settings_set("blackout_dates", span)
    return span


def _forced_plans(engine: Engine) -> list[dict[str, Any]]:
    rows = engine.db.rows("SELECT details FROM audit_log WHERE action = 'run.blackout.force'")
    return [json.loads(r[0]) for r in rows]


async def test_a_school_level_upload_is_planned_from_the_plan_dialog(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _plan_dialog(pilot, str(SAMPLE / "day2"))
        assert not dialog.query(Checkbox)  # no blackout today: nothing to force
        await press(pilot, "tab")
        assert app.focused is dialog.query_one("#schools")
        await type_text(pilot, "sch-oak")
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, RunDetailScreen) and screen.run is not None
        assert screen.run.scope == ["sch-oak"]
        assert "schools sch-oak" in text_of(screen.query_one("#run-title"))
    assert demo_engine.get_run(screen.run.run_id).scope == ["sch-oak"]


async def test_planning_a_scoped_run_again_keeps_its_schools(demo_engine: Engine) -> None:
    demo_engine.plan_source(str(SAMPLE / "day2"), None, False, ["sch-oak", "sch-elm"])
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "p")  # the newest run, planned again
        dialog = app.screen
        assert isinstance(dialog, PlanDropScreen)
        assert dialog.query_one("#schools", Input).value == "sch-oak, sch-elm"


async def test_on_a_blackout_day_planning_is_refused_unless_forced(demo_engine: Engine) -> None:
    span = _blackout_today(demo_engine)
    runs_before = len(demo_engine.list_runs())
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _plan_dialog(pilot, str(SAMPLE / "day2"))
        said = " ".join(text_of(dialog.query_one("#consequences")).split())
        assert f"is in the blackout {span}: nothing is synced" in said
        force = dialog.query_one("#force", Checkbox)
        assert str(force.label) == BLACKOUT_FORCE and not force.value
        await press(pilot, "enter")  # planned without ticking the box: the engine refuses
        assert any(f"is in the blackout {span}" in n for n in notices_of(app))
        assert isinstance(app.screen, ConfirmScreen)  # ... and asks, naming the blackout
        assert f"in the blackout {span}" in text_of(app.screen.query_one("#consequences"))
        await press(pilot, "escape")
    assert len(demo_engine.list_runs()) == runs_before
    assert _forced_plans(demo_engine) == []


async def test_on_a_blackout_day_the_box_plans_anyway_and_is_audited(demo_engine: Engine) -> None:
    span = _blackout_today(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _plan_dialog(pilot, str(SAMPLE / "day2"))
        await press(pilot, "tab", "tab")  # path, schools, then the box
        assert app.focused is dialog.query_one("#force")
        await press(pilot, "space", "tab")
        assert app.focused is dialog.query_one("#confirm")
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, RunDetailScreen) and screen.run is not None
        assert screen.run.status in ("planned", "held")
    (forced,) = _forced_plans(demo_engine)
    assert forced["source"] == str(SAMPLE / "day2") and forced["why"].endswith(span)


async def test_after_a_blackout_refusal_yes_plans_anyway(demo_engine: Engine) -> None:
    _blackout_today(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _plan_dialog(pilot, str(SAMPLE / "day2"))
        await press(pilot, "tab")
        await type_text(pilot, "sch-oak")
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        screen = app.screen
        assert isinstance(screen, RunDetailScreen) and screen.run is not None
        assert screen.run.scope == ["sch-oak"]  # the schools asked for are kept
    assert len(_forced_plans(demo_engine)) == 1


async def test_the_summary_counts_warnings_about_the_files(demo_engine: Engine, tmp_path) -> None:
    """A manifest's warning names no row: the summary still says there is one, at 60x15 too."""
    drop = tmp_path / "day2"
    shutil.copytree(SAMPLE / "day2", drop)
    with open(drop / "manifest.csv", "a", encoding="utf-8") as manifest:
        manifest.write("fiel.demographics,bulk\n")
    run = demo_engine.plan_source(str(drop))
    assert run.rows.file_warnings >= 1
    for size in (SIZE, (60, 15)):
        app = make_app(demo_engine)
        async with app.run_test(size=size) as pilot:
            app.open_run(run.run_id, "summary")
            await press(pilot)
            summary = " ".join(text_of(app.screen.query_one("#summary-text")).split())
            count = f"{run.rows.file_warnings} warning{'s' if run.rows.file_warnings != 1 else ''}"
            assert f"· {count} about the files (see Rows)" in summary, size
