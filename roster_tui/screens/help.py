"""`?`: what the screen is for and every key that works on it."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen

from daemon.service.api import METHODS
from roster_tui.keys import global_keys, key_lines
from roster_tui.screens.base import RosterScreen
from roster_tui.widgets.chrome import Plain


class HelpScreen(ModalScreen[None]):
    """Built from the screen's own help text and the keys its footer shows (roster_tui/keys.py),
    so it never goes stale and never disagrees with the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close"),
        Binding("q", "close", "Close"),
    ]

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__(classes="dialog-screen")
        self.of = screen

    def compose(self) -> ComposeResult:
        name = type(self.of).__name__.removesuffix("Screen")
        with Vertical(id="dialog", classes="-help"):
            yield Plain(f"Help — {name}", id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Plain(self.body(), id="help-text")
            yield Plain("esc closes", id="help-close")

    def body(self) -> Group:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        about = self.of.about() if isinstance(self.of, RosterScreen) else ""
        for line in key_lines(self.of):
            table.add_row(line.keys, line.description)
        table.add_row("", "")
        for key, meaning in global_keys(self.app):
            table.add_row(key, meaning)
        gw = getattr(self.app, "gw", None)
        where = getattr(gw, "where", "")
        if where:
            table.add_row("", "")
            table.add_row("data", where)
        access = getattr(gw, "access", None)
        if access is not None and not access.in_process:  # the daemon's [roles] decide
            roles = ", ".join(access.roles) or "no role"
            left_out = len(access.operations) < len(METHODS)
            table.add_row(
                "you",
                f"{access.user} ({roles})"
                + ("; keys your roles do not allow are not shown" if left_out else ""),
            )
        return Group(Text(about + "\n"), table)

    def action_close(self) -> None:
        self.dismiss(None)
