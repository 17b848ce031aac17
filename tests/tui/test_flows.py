"""The real flows, end to end: the app driven by Pilot against a real database file."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import DataTable, Input

from daemon.service.client import DaemonUnavailable
from daemon.service.engine import Engine
from roster_tui.screens.archived import ArchivedScreen
from roster_tui.screens.dialogs import ConfirmRunScreen, ConfirmScreen
from roster_tui.screens.duplicates import DuplicatesScreen
from roster_tui.screens.run_detail import RunDetailScreen
from roster_tui.screens.runs import RunsScreen
from roster_tui.screens.settings import EditSettingScreen, SettingsScreen
from roster_tui.widgets.changes_panel import ChangesPanel
from roster_tui.widgets.conflicts_panel import ConflictsPanel
from roster_tui.widgets.paged_table import PagedTable
from roster_tui.words import status_meaning
from tests.tui.conftest import (
    SAMPLE,
    UntoldViewerClient,
    make_app,
    notices_of,
    press,
    settle,
    text_of,
    type_text,
)

SIZE = (80, 24)


def text_of_renderable(renderable: object) -> str:
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_approve_a_planned_run_and_see_the_directory_change(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down")  # run 2, planned
        assert isinstance(app.screen, RunsScreen) and app.screen.current.run_id == 2
        await press(pilot, "a")
        dialog = app.screen
        assert isinstance(dialog, ConfirmRunScreen)
        assert "Create 6 students" in text_of_renderable(dialog.body())
        assert (
            "to undo it later, Revert (u on the applied run) plans the way"
            in text_of_renderable(dialog.body())
        )
        await press(pilot, "enter")  # the Apply button has focus
        assert demo_engine.get_run(2).status == "applied"
        assert demo_engine.get_run(3).status == "superseded"
        assert any("Run 2 applied" in n for n in notices_of(app))
        # the directory shows the renamed student
        await press(pilot, "5")
        await type_text(pilot, "Haile-Adeyemi")
        table = app.screen.query_one(PagedTable)
        assert [row["sis_id"] for row in table.items] == ["stu-1114"]
    assert demo_engine.find_users("stu-1114").items[0]["family_name"] == "Haile-Adeyemi"


async def test_override_a_held_run_needs_the_word_and_a_reason(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "enter")  # run 3, held: the detail
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run.status == "held"
        await press(pilot, "a")  # approving a held run is an override, with its dialog
        assert isinstance(app.screen, ConfirmRunScreen) and app.screen.action_name == "override"
        await press(pilot, "escape", "o")
        assert isinstance(app.screen, ConfirmRunScreen)
        await type_text(pilot, "override")  # lower case is not deliberate enough
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmRunScreen)
        assert demo_engine.get_run(3).status == "held"
        app.screen.query_one("#typed", Input).value = ""
        await type_text(pilot, "OVERRIDE")
        await press(pilot, "enter")  # no reason yet: the reason field is next
        assert isinstance(app.screen, ConfirmRunScreen)
        assert app.screen.focused is app.screen.query_one("#reason", Input)
        await type_text(pilot, "partial upload checked with the SIS team")
        await press(pilot, "enter")
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run.status == "applied"
    run = demo_engine.get_run(3)
    assert run.status == "applied" and run.override_by == "admin"
    staff = demo_engine.find_users("", kind="staff", status="active")
    assert staff.total == 0  # the truncated users.csv archived every teacher: it was overridden


async def test_resolve_conflicts_one_and_in_bulk(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2")
        panel = app.screen.query_one(ConflictsPanel)
        first, second = panel.table.items[:2]
        assert first.field == "email" and second.field == "mobile_phone"
        await press(pilot, "k")  # keep the hand-edited e-mail
        assert panel.table.cursor_row == 0
        await press(pilot, "down", "space")  # mark the phone ...
        assert panel.marked == {second.conflict_id}
        await press(pilot, "t")  # ... and take the feed's value for every marked one
        decided = {c.conflict_id: c.decision for c in demo_engine.conflicts(2).items}
        assert decided == {first.conflict_id: "keep", second.conflict_id: "take"}
        assert any("take the feed's value" in n for n in notices_of(app))
        # approving run 2 applies the decisions
        await press(pilot, "1", "down", "a", "enter")
    guardian = demo_engine.find_users("gdn-3136").items[0]
    student = demo_engine.find_users("stu-1285").items[0]
    assert guardian["mobile_phone"] == "971-555-0141"
    assert student["email"] == "h.lopez@family.example.net"


async def test_a_decision_in_the_run_shows_the_run_again(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "enter")  # run 2, planned, with contact conflicts
        await press(pilot, "right_square_bracket", "right_square_bracket")  # its Conflicts tab
        screen = app.screen
        assert isinstance(screen, RunDetailScreen) and screen.run is not None
        shown = screen.run
        await press(pilot, "k")  # the panel asks, the screen writes, then shows the run again
        assert screen.run is not shown and screen.run.run_id == 2
        assert any("keep the directory's value" in n for n in notices_of(app))
    assert demo_engine.conflicts(2).items[0].decision == "keep"


async def test_taking_a_feed_value_on_an_applied_run_asks_first(demo_engine: Engine) -> None:
    demo_engine.apply_run(2)  # its conflicts stay open: taking one now changes the directory
    first = demo_engine.conflicts(2).items[0]
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "t")
        assert isinstance(app.screen, ConfirmScreen)
        assert demo_engine.conflicts(2).items[0].decision is None  # nothing yet
        await press(pilot, "enter")
        assert not isinstance(app.screen, ConfirmScreen)
    assert demo_engine.conflicts(2).items[0].decision == "take"
    assert first.field == "email"
    student = demo_engine.find_users(first.sis_id).items[0]
    assert student["email"] == first.feed_value


async def test_unarchive_a_student(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "3")
        assert isinstance(app.screen, ArchivedScreen)
        table = app.screen.query_one(PagedTable)
        assert [u["sis_id"] for u in table.items] == ["stu-1102"]
        await press(pilot, "u")
        assert "superseded" in text_of(app.screen.query_one("#consequences"))
        await press(pilot, "y")
        assert table.items == []
        assert "No archived students." in text_of(app.screen.query_one("#archived-caption"))
    assert demo_engine.find_users("stu-1102").items[0]["status"] == "active"
    assert demo_engine.get_run(2).status == "superseded"


async def test_merge_a_duplicate_pair_and_undo_it(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "4")
        screen = app.screen
        assert isinstance(screen, DuplicatesScreen)
        open_before = screen.total
        pair, second = screen.candidates[0], screen.candidates[1]
        await press(pilot, "r")  # merge, keeping the right record: first a question
        assert isinstance(app.screen, ConfirmScreen)
        assert f"Survivor: #{pair.right.user_id} " in text_of(app.screen.query_one("#consequences"))
        assert screen.total == open_before  # nothing merged yet
        await press(pilot, "y")
        assert screen.candidates[0].candidate_id == second.candidate_id  # the next one at once
        assert screen.total == open_before - 1
        assert any(
            f"#{pair.left.user_id} merged into #{pair.right.user_id}" in n for n in notices_of(app)
        )
        assert demo_engine.find_users(pair.left.sis_id).total == 0  # merged away
        await press(pilot, "u", "y")  # undo asks first
        assert any("undone" in n for n in notices_of(app))
        assert screen.total == open_before
        assert screen.candidates[0].candidate_id == pair.candidate_id
    left = demo_engine.find_users(pair.left.sis_id).items
    assert [u["status"] for u in left] == ["active"]


async def test_change_a_setting_and_the_next_plan_follows_it(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "6")
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        row = [s.key for s in screen.settings].index("deletion_threshold")
        screen.query_one(DataTable).move_cursor(row=row)
        await press(pilot, "enter")
        assert isinstance(app.screen, EditSettingScreen)
        await type_text(pilot, "150")  # the value was selected: typing replaces it
        await press(pilot, "enter")
        assert isinstance(app.screen, EditSettingScreen)  # refused, with the allowed values
        assert "0-100" in text_of(app.screen.query_one("#problem"))
        app.screen.query_one(Input).value = ""
        await type_text(pilot, "100")
        await press(pilot, "enter")
        assert isinstance(app.screen, SettingsScreen)
        # re-plan the broken drop: with the limit at 100% it is no longer held
        await press(pilot, "1", "p")
        assert app.screen.query_one(Input).value == str(SAMPLE / "day3_broken")
        await press(pilot, "enter")
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == 4
        summary = text_of(app.screen.query_one("#summary-text"))
        assert "deletion_threshold = 100" in summary
    run = demo_engine.get_run(4)
    assert run.status == "planned" and run.settings["deletion_threshold"] == 100


async def test_errors_from_the_daemon_are_notices_not_tracebacks(demo_engine: Engine) -> None:
    app = make_app(UntoldViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "a", "enter")
        assert isinstance(app.screen, RunsScreen)
        assert any(
            n.startswith("Permission denied: alice may not apply run") for n in notices_of(app)
        )
    assert demo_engine.get_run(2).status == "planned"


async def test_a_superseded_run_is_a_clear_notice(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down")
        demo_engine.unarchive_user("stu-1102")  # someone else changes the directory meanwhile
        await press(pilot, "a", "enter")
        assert any(n.startswith("Run superseded:") for n in notices_of(app))
        assert app.screen.current.status == "superseded"


async def test_an_older_night_superseded_by_a_later_drop_is_not_offered_again(
    demo_engine: Engine,
) -> None:
    demo_engine.apply_run(3, override=True, reason="the school split is real")  # run 2 is older
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down")  # run 2, superseded by run 3's apply
        runs = app.screen
        assert isinstance(runs, RunsScreen) and runs.current.later_drop_applied == 3
        assert runs.check_action("replan", ()) is False
        assert status_meaning(runs.current) == (
            "run 3, from a later drop, was applied since: an older night"
        )
        await press(pilot, "enter")
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.check_action("replan", ()) is False


async def test_large_tables_load_pages_on_demand(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "enter", "right_square_bracket")  # run 3: 909 changes
        table = app.screen.query_one(ChangesPanel).query_one(PagedTable)
        assert table.total == 909 and len(table.items) == PagedTable.PAGE_SIZE
        for _ in range(8):
            await press(pilot, "pagedown")
        assert PagedTable.PAGE_SIZE < len(table.items) < 909
        assert table.pages_loaded >= 2


async def test_command_palette_reaches_screens_and_runs(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "ctrl+p")
        await type_text(pilot, "open run 2")
        await press(pilot, "enter")
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run_id == 2
        await press(pilot, "ctrl+p")
        await type_text(pilot, "go to settings")
        await press(pilot, "enter")
        assert app.current_mode == "settings"


async def test_help_lists_the_keys_of_the_screen(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "question_mark")
        text = text_of(app.screen.query_one("#help-text"))
        assert "take the feed's value" in text and "command palette" in text
        await press(pilot, "escape")
        assert app.current_mode == "conflicts"


async def test_plan_a_new_drop_with_progress(empty_engine: Engine) -> None:
    app = make_app(empty_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "n")
        await type_text(pilot, str(SAMPLE / "oneroster12"))
        await press(pilot, "enter")
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run.status == "planned"
        await settle(pilot)


class ConflictsUnreadable:
    """The engine, but a page of conflicts cannot be read (the daemon went away mid-call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __getattr__(self, method: str) -> object:
        if method == "conflicts":

            def refuse(*_args: object) -> None:
                raise DaemonUnavailable("the daemon stopped answering")

            return refuse
        return getattr(self.engine, method)


async def test_a_page_that_cannot_be_read_is_a_notice(demo_engine: Engine) -> None:
    app = make_app(ConflictsUnreadable(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2")  # the conflicts table asks for its first page, which fails
        assert any("the daemon stopped answering" in n for n in notices_of(app))
        assert not app.screen.query_one(ConflictsPanel).table.loading_more
