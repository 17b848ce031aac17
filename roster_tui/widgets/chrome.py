"""What every screen has: the screen switcher on top and the busy bar above the footer."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, ProgressBar, Static

# mode -> (key, label): the keys 1-6 switch screens from anywhere but a text field.
NAV = {
    "runs": ("1", "Runs"),
    "conflicts": ("2", "Conflicts"),
    "archived": ("3", "Archived"),
    "duplicates": ("4", "Duplicates"),
    "directory": ("5", "Directory"),
    "settings": ("6", "Settings"),
}


SHORT_LABELS = {
    "runs": "Runs",
    "conflicts": "Confl",
    "archived": "Arch",
    "duplicates": "Dupl",
    "directory": "Dir",
    "settings": "Sett",
}


class NavBar(Static):
    """The screens and their keys; the current one is bracketed, not only highlighted.

    Every screen's key stays in view at any width: labels shorten, then only the current
    screen keeps its name."""

    def __init__(self, current: str) -> None:
        super().__init__(id="nav")
        self.current = current

    def render(self) -> Text:
        width = self.size.width or 80
        for labels, help_hint in (("full", True), ("full", False), ("short", False), ("", False)):
            text = self.line(labels, help_hint)
            if text.cell_len <= width:
                return text
        return text

    def line(self, labels: str, help_hint: bool) -> Text:
        """labels: 'full', 'short' (one space apart) or '' (keys only, but the current one)."""
        text = Text(no_wrap=True, overflow="ellipsis")
        for mode, (key, label) in NAV.items():
            if mode == self.current:
                text.append(" " if text and labels != "full" else "")
                text.append(f"[{key} {label}]", style="bold reverse")
            elif labels == "full":
                text.append(f" {key} {label} ")
            elif labels == "short":
                text.append(f" {key} {SHORT_LABELS[mode]}")
            else:
                text.append(f" {key}")
        text.append(" ? help" if help_hint else " ?", style="dim")
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


@dataclass(frozen=True)
class Notice:
    """The latest notice: shown in a line of its own on every screen until it expires."""

    title: str
    message: str
    severity: str
    expires: float  # time.monotonic()

    def remaining(self) -> float:
        return self.expires - time.monotonic()


SIGNS = {"information": "✓", "warning": "!", "error": "✗"}


class NoticeLine(Static):
    """Notices in the layout (above the footer), never over a table or a dialog's buttons;
    the newest replaces the one before, and it goes when its time is up."""

    def __init__(self) -> None:
        super().__init__("", id="notice", markup=False)
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self.show(getattr(self.app, "notice", None))

    def show(self, notice: Notice | None) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if notice is None or notice.remaining() <= 0:
            self.update("")
            self.set_classes("")
            return
        text = Text(no_wrap=False, overflow="fold")
        text.append(f"{SIGNS.get(notice.severity, '•')} ", style="bold")
        if notice.title:
            text.append(f"{notice.title}: ", style="bold")
        text.append(" ".join(notice.message.split()))
        self.update(text)
        self.set_classes(f"-shown -{notice.severity}")
        self._timer = self.set_timer(notice.remaining(), lambda: self.show(None))


def bottom_bars() -> list[Widget]:
    """What every screen has at its foot: the latest notice, the busy bar, the keys."""
    return [NoticeLine(), BusyBar(), Footer(compact=True)]
