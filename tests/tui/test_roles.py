"""What the caller's roles allow is what the app offers: a viewer (as the daemon says through
`access`) is shown no key that would change anything, on any screen, in the footer, the help
or the palette; reading works as for anyone."""

from __future__ import annotations

from typing import Any

import pytest
from textual.command import CommandPalette

from daemon.service.api import METHODS
from daemon.service.engine import Engine
from roster_tui.commands import RosterCommands
from roster_tui.screens.base import RosterScreen
from roster_tui.screens.help import HelpScreen
from roster_tui.screens.record import RecordScreen
from roster_tui.screens.run_detail import RunDetailScreen
from roster_tui.screens.runs import RunsScreen
from roster_tui.widgets.conflicts_panel import ConflictsPanel
from tests.tui.conftest import ViewerClient, make_app, notices_of, press, text_of
from tests.tui.test_archive_by_hand import STUDENT, _open_person
from tests.tui.test_keys import SCREENS, footer_keys, help_rows

SIZE = (160, 40)  # every key the footer has fits
WRITE_KEYS = {
    "Approve",
    "Override…",
    "Reject",
    "New run",
    "Re-plan",
    "Withheld…",
    "Revert…",
    "Unarchive…",
    "Archive…",
    "Merge→left",
    "Merge→right",
    "Not same",
    "Skip",
    "Undo merge",
    "Scan",
    "Edit…",
    "Edit contact…",
    "Take",
    "Keep",
    "Ignore",
    "Mark",
    "Set aside…",
}


@pytest.mark.parametrize("where", list(SCREENS))
async def test_a_viewers_footer_has_no_key_that_changes_anything(
    demo_engine: Engine, where: str
) -> None:
    app = make_app(ViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, *SCREENS[where])
        shown = {description for _, description in footer_keys(app)}
    assert shown or where in ("Duplicates", "Settings"), where  # their keys all change things
    assert not shown & WRITE_KEYS, (where, shown)


@pytest.mark.parametrize("where", ["Runs", "RunDetail", "Duplicates", "Settings"])
async def test_an_administrators_footer_has_the_keys_a_viewers_has_not(
    demo_engine: Engine, where: str
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, *SCREENS[where])
        shown = {description for _, description in footer_keys(app)}
    assert shown & WRITE_KEYS, (where, shown)


async def test_a_viewers_key_for_a_change_does_nothing(demo_engine: Engine) -> None:
    app = make_app(ViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "a", "x", "n")  # run 2 is planned: approve, reject, new run
        assert isinstance(app.screen, RunsScreen)  # no dialog opened
        assert not notices_of(app)  # and nothing refused: nothing was asked
    assert demo_engine.get_run(2).status == "planned"


async def test_a_viewer_still_opens_and_reads_a_run(demo_engine: Engine) -> None:
    app = make_app(ViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "enter")
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run is not None and app.screen.run.run_id == 2


async def test_a_viewer_is_offered_no_conflict_decision_or_mark(demo_engine: Engine) -> None:
    open_before = demo_engine.conflicts(open_only=True).total
    app = make_app(ViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2")
        panel = app.screen.query_one(ConflictsPanel)
        assert panel.table.items, "the demo has open conflicts"
        caption = str(panel.query_one(".caption").render())
        await press(pilot, "space", "t")
        assert panel.marked == set()
    assert "space marks" not in caption
    assert demo_engine.conflicts(open_only=True).total == open_before


async def test_the_help_says_who_the_viewer_is_and_lists_no_change(demo_engine: Engine) -> None:
    app = make_app(ViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1")
        app.action_help()
        await press(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = dict(help_rows(app))
    assert rows["you"] == "alice (viewer); keys your roles do not allow are not shown"
    assert not set(rows.values()) & WRITE_KEYS


def _screens_saying_what_keys_change() -> list[type[RosterScreen]]:
    found, todo = [], list(RosterScreen.__subclasses__())
    while todo:
        screen = todo.pop()
        todo.extend(screen.__subclasses__())
        if screen.WRITE_HELP:
            found.append(screen)
    return found


@pytest.mark.parametrize("screen", _screens_saying_what_keys_change(), ids=lambda s: s.__name__)
def test_the_help_on_each_change_names_an_operation_of_the_api(
    screen: type[RosterScreen],
) -> None:
    assert set(screen.WRITE_HELP) <= set(METHODS), screen.WRITE_HELP.keys() - set(METHODS)
    assert all(METHODS[op] != "viewer" for op in screen.WRITE_HELP)  # each one changes something


@pytest.mark.parametrize("where", ["Archived", "Conflicts", "Duplicates", "RunDetail", "Settings"])
async def test_a_viewers_help_says_nothing_of_the_keys_it_does_not_offer(
    demo_engine: Engine, where: str
) -> None:
    app = make_app(ViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, *SCREENS[where])
        screen = app.screen
        app.action_help()
        await press(pilot)
        said = " ".join(text_of(app.screen.query_one("#help-text")).split())
    assert isinstance(screen, RosterScreen) and screen.WRITE_HELP
    assert " ".join(screen.HELP.split()) in said
    for sentence in screen.WRITE_HELP.values():
        assert " ".join(sentence.split())[:40] not in said, sentence


async def test_an_administrators_help_says_what_each_key_changes(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, *SCREENS["Settings"])
        app.action_help()
        await press(pilot)
        said = " ".join(text_of(app.screen.query_one("#help-text")).split())
    assert "Enter edits the highlighted one" in said


async def test_in_process_the_help_names_no_role(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        app.action_help()
        await press(pilot)
        rows = dict(help_rows(app))
    assert "you" not in rows  # the database file's permissions decide: nothing to say


def palette_names(app: Any) -> list[str]:
    provider = RosterCommands(app.screen)
    return [name for name, _, _ in provider.commands()]


async def test_the_palette_offers_a_viewer_no_change_on_any_screen(demo_engine: Engine) -> None:
    app = make_app(ViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1")
        names = palette_names(app)
        assert not isinstance(app.screen, CommandPalette)
    actions = {name.split(": ", 1)[-1].removesuffix(" (this screen)") for name in names}
    assert "Go to Duplicates" in names
    assert not actions & WRITE_KEYS, sorted(actions & WRITE_KEYS)


async def test_a_viewer_opens_a_record_and_is_offered_no_archive(demo_engine: Engine) -> None:
    app = make_app(ViewerClient(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await _open_person(pilot, STUDENT)
        shown = {description for _, description in footer_keys(app)}
        await press(pilot, "a")
        assert isinstance(app.screen, RecordScreen)  # no question asked
    assert "Tabs" in shown  # reading goes on
    assert not shown & WRITE_KEYS, shown
