"""What every screen has: the screen switcher on top and the busy bar above the footer."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, ProgressBar, Static

# mode -> (key, label): the keys 1-6 switch screens from anywhere but a text field.
NAV = {
    "runs": ("1", "Runs"),
    "conflicts": ("2", "Conflicts"),
    "archived": ("3", "Archived"),
    "duplicates": ("4", "Duplicates"),
    "directory": ("5", "Directory"),
    "settings": ("6", "Settings"),
}


class NavBar(Static):
    """The screens and their keys; the current one is bracketed, not only highlighted."""

    def __init__(self, current: str) -> None:
        super().__init__(id="nav")
        self.current = current

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for mode, (key, label) in NAV.items():
            if mode == self.current:
                text.append(f"[{key} {label}]", style="bold reverse")
            else:
                text.append(f" {key} {label} ")
        text.append(" ? help", style="dim")
        return text


class BusyBar(Horizontal):
    """Shown while a long call runs in a worker: what is happening, and how far along."""

    def __init__(self) -> None:
        super().__init__(id="busy")
        self.running = 0

    def compose(self) -> ComposeResult:
        yield Label("", id="busy-label", markup=False)
        yield ProgressBar(total=None, show_eta=False, show_percentage=True, id="busy-progress")

    def start(self, label: str) -> None:
        self.running += 1
        self.query_one("#busy-label", Label).update(label)
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.add_class("-busy")

    def report(self, label: str, done: int, total: int | None) -> None:
        self.query_one("#busy-label", Label).update(label)
        self.query_one(ProgressBar).update(total=total or None, progress=done)

    def stop(self) -> None:
        self.running = max(0, self.running - 1)
        if not self.running:
            self.remove_class("-busy")


class Field(Input):
    """A text field whose cursor blinks only when the app allows it (snapshots need it still)."""

    def on_mount(self) -> None:
        self.cursor_blink = bool(getattr(self.app, "blink", True))


class Plain(Static):
    """Static text that is never read as markup: names and messages may contain brackets."""

    def __init__(self, content: object = "", *, id: str | None = None, classes: str | None = None):
        super().__init__(content, id=id, classes=classes, markup=False)  # type: ignore[arg-type]
