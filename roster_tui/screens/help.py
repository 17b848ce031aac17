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

from roster_tui.widgets.chrome import NAV, Plain

GLOBAL_KEYS = [
    ("1 … 6", "switch screen: " + ", ".join(label for _, label in NAV.values())),
    ("?", "this help"),
    ("ctrl+r", "load the screen's data again"),
    ("ctrl+p", "command palette: every screen and action by name"),
    ("tab / shift+tab", "move between the parts of a screen"),
    ("q / ctrl+q", "quit"),
]


def ours(node: object, binding: Binding) -> bool:
    """A binding this app declares (not a Textual widget's cursor keys)."""
    for cls in type(node).__mro__:
        if binding in cls.__dict__.get("BINDINGS", ()):
            return cls.__module__.startswith("roster_tui") and bool(binding.description)
    return False


class HelpScreen(ModalScreen[None]):
    """Built from the screen's own help text and its active bindings, so it never goes stale."""

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
        about = getattr(self.of, "HELP", "")
        seen: set[str] = set()
        for key, active in self.of.active_bindings.items():
            binding = active.binding
            if not ours(active.node, binding) or binding.description in seen:
                continue
            if key in "123456" or binding.action in ("help", "quit"):
                continue
            seen.add(binding.description)
            shown = binding.key_display or self.app.get_key_display(binding)
            table.add_row(shown, (binding.tooltip or binding.description).rstrip("…"))
        table.add_row("", "")
        for key, meaning in GLOBAL_KEYS:
            table.add_row(key, meaning)
        where = getattr(getattr(self.app, "gw", None), "where", "")
        if where:
            table.add_row("", "")
            table.add_row("data", where)
        return Group(Text(about + "\n"), table)

    def action_close(self) -> None:
        self.dismiss(None)
