"""Issue 17 in the review UI: withheld archives wait and w decides them; u plans the revert of
an applied run; a school-level upload shows its scope."""

from __future__ import annotations

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmScreen, WithheldDecisionScreen
from roster_tui.screens.run_detail import RunDetailScreen
from tests.tui.conftest import SAMPLE, make_app, notices_of, press, text_of, type_text

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
        await press(pilot, "shift+tab")
        await type_text(pilot, "end of the school year")
        await press(pilot, "enter", "enter")
        assert app.screen is screen and screen.run.withheld_decision == "approved"
        assert any("archived" in n for n in notices_of(app))
        assert not screen.check_action("withheld", ())
    run = demo_engine.get_run(run_id)
    assert run.withheld_reason == "end of the school year"
    assert run.withheld_outcome.get("archived", 0) > 0


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


async def test_a_school_level_upload_shows_its_scope(demo_engine: Engine) -> None:
    run = demo_engine.plan_source(str(SAMPLE / "day2"), None, False, ["sch-oak"])
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        preview = " ".join(text_of(app.screen.query_one("#run-preview")).split())
        assert "Scope: school-level upload for sch-oak" in preview
        await press(pilot, "enter")
        assert app.screen.run.run_id == run.run_id
        assert "schools sch-oak" in text_of(app.screen.query_one("#run-title"))
        summary = " ".join(text_of(app.screen.query_one("#summary-text")).split())
        assert "School-level upload for sch-oak" in summary
