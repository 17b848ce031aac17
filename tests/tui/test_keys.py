"""The help screen, the footer and the command palette tell the same story about keys."""

from __future__ import annotations

from typing import Any

import pytest
from textual.binding import Binding
from textual.widgets._footer import FooterKey

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmScreen
from roster_tui.screens.duplicates import DuplicatesScreen
from roster_tui.screens.help import HelpScreen
from tests.tui.conftest import make_app, notices_of, press, text_of, type_text

SCREENS = {  # keys that reach the screen from the start
    "Runs": ("1",),
    "RunDetail": ("1", "enter"),
    "RunDetail (changes)": ("1", "down", "enter", "right_square_bracket"),
    "Conflicts": ("2",),
    "Archived": ("3",),
    "Duplicates": ("4",),
    "Directory": ("5", "tab"),
    "Settings": ("6",),
}


def footer_keys(app: Any) -> list[tuple[str, str]]:
    return [
        (key.key_display, key.description)
        for key in app.screen.query(FooterKey)
        if "-command-palette" not in key.classes
    ]


def help_rows(app: Any) -> list[tuple[str, str]]:
    rows = []
    for line in text_of(app.screen.query_one("#help-text")).splitlines():
        keys, _, meaning = line.strip().partition("  ")
        if keys and meaning.strip():
            rows.append((keys, meaning.strip()))
    return rows


@pytest.mark.parametrize("where", list(SCREENS))
async def test_the_help_screen_lists_the_footers_keys_first_and_as_the_footer_names_them(
    demo_engine: Engine, where: str
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(160, 40)) as pilot:
        await press(pilot, *SCREENS[where])
        footer = footer_keys(app)
        assert footer, where
        app.action_help()
        await press(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app)
        first = [keys.split(" / ")[0] for keys, _ in rows[: len(footer)]]
        assert first == [key for key, _ in footer], (where, rows)
        named = [keys for keys, _ in rows]
        assert app.get_key_display(Binding("ctrl+p", "")) in named  # "^p", as the footer
        assert len(set(named)) == len(named), "a key listed twice"


async def test_the_palette_finds_another_screens_action_and_does_it(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "ctrl+p")
        await type_text(pilot, "Duplicates: Scan")
        await press(pilot, "enter")
        assert app.current_mode == "duplicates"
        assert any(n.startswith("Scan done: ") for n in notices_of(app))


async def test_the_palette_finds_this_screens_actions_with_arguments(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4", "ctrl+p")
        await type_text(pilot, "Merge→right (this screen)")
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmScreen)  # the same question as the r key
        await press(pilot, "escape")
        assert isinstance(app.screen, DuplicatesScreen)


async def test_an_action_that_cannot_be_done_now_says_so(empty_engine: Engine) -> None:
    app = make_app(empty_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "ctrl+p")
        await type_text(pilot, "Duplicates: Merge→left")
        await press(pilot, "enter")
        assert app.current_mode == "duplicates"
        assert any("Merge→left: not possible" in n for n in notices_of(app))
