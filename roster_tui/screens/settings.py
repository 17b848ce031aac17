"""Settings: the sync settings, each with its meaning, edited with validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Input, Static

from daemon.settings import NO_PLAN_DEPENDS_ON, SettingRow
from roster_tui.screens.base import RosterScreen
from roster_tui.screens.dialogs import AnswerField, WriteDialog, dialog_buttons
from roster_tui.widgets.chrome import NavBar, Plain, bottom_bars
from roster_tui.widgets.paged_table import FillTable
from roster_tui.words import OPEN

NOTE = (
    "A change shapes the next plan; open runs (planned or held) are superseded and must be "
    "planned again."
)
# What changing a setting no plan depends on does (daemon.settings.NO_PLAN_DEPENDS_ON).
NO_PLAN_NOTE = "A change shapes no plan already made: open runs stay as they are."


@dataclass(frozen=True)
class Saved:
    """What a change did: the settings as they are now and the open runs it superseded."""

    settings: list[SettingRow]
    superseded: list[int] = field(default_factory=list)


def save_setting(engine: Any, key: str, value: str) -> Saved:
    """Set the value and name the open runs the change superseded: those open before it and
    not after (a value that shapes plans supersedes them all, one that says when the sync runs
    none; the engine refuses to apply a superseded run, and a re-plan uses the new value)."""
    before = {r.run_id for r in engine.list_runs(200) if r.status in OPEN}
    settings = engine.settings_set(key, value)
    still_open = {r.run_id for r in engine.list_runs(200) if r.status in OPEN}
    return Saved(settings, sorted(before - still_open))


def changed_notice(key: str, value: str, superseded: list[int]) -> str:
    if superseded:
        runs = ", ".join(str(r) for r in sorted(superseded))
        return (
            f"{key} = {value}. Open runs superseded by the change: {runs}; plan them again "
            "(p on the Runs screen)."
        )
    return f"{key} = {value}. No open run was superseded; the next plan uses it."


class SettingsScreen(RosterScreen):
    MODE = "settings"
    HELP = (
        "The district's sync settings. Each one's meaning and allowed values are shown below "
        "the list."
    )
    WRITE_HELP: ClassVar[dict[str, str]] = {
        "settings_set": "Enter edits the highlighted one (the engine checks the value and says "
        "what is allowed). " + NOTE + " Every change is recorded in the audit log."
    }
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {"edit": "settings_set"}
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "edit", "Edit…")]

    def __init__(self) -> None:
        super().__init__()
        self.settings: list[SettingRow] = []

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield FillTable(id="settings", cursor_type="row")
        yield Plain("", id="setting-meaning")
        yield from bottom_bars()

    def on_mount(self) -> None:
        self.query_one(FillTable).set_columns([("Setting", 32), ("Value", 16), ("Allowed", None)])

    def reload(self) -> None:
        self.call(lambda engine: engine.settings_show(), then=self.show_settings)

    def show_settings(self, settings: list[SettingRow]) -> None:
        self.settings = settings
        table = self.query_one(DataTable)
        keep = table.cursor_row if table.row_count else 0
        table.clear()
        for s in settings:
            table.add_row(s.key, Text(s.value, style="bold"), s.allowed, key=s.key)
        if settings:
            table.move_cursor(row=min(keep, len(settings) - 1), animate=False)
        self.show_meaning()
        self.refresh_bindings()

    @property
    def current(self) -> SettingRow | None:
        row = self.query_one(DataTable).cursor_row
        return self.settings[row] if 0 <= row < len(self.settings) else None

    @on(DataTable.RowHighlighted)
    def show_meaning(self) -> None:
        s = self.current
        text = Text()
        if s is not None:
            text.append(f"{s.key} = {s.value}\n", style="bold")
            text.append(f"{s.meaning}\n")
            text.append(f"Allowed: {s.allowed}. ", style="italic")
            text.append(NO_PLAN_NOTE if s.key in NO_PLAN_DEPENDS_ON else NOTE, style="dim")
        self.query_one("#setting-meaning", Static).update(text)

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit":
            return self.current is not None
        return True

    def action_edit(self) -> None:
        s = self.current
        if s is None:
            return

        def edited(saved: Saved | None) -> None:
            if saved is not None:
                self.show_settings(saved.settings)
                new = next((x.value for x in saved.settings if x.key == s.key), "?")
                self.notify(changed_notice(s.key, new, saved.superseded), title="Setting changed")

        self.app.push_screen(EditSettingScreen(s), edited)


class EditSettingScreen(WriteDialog[Saved | None]):
    """Asks the engine to set the value; its refusal (with the allowed values) stays on screen
    (WriteDialog)."""

    AUTO_FOCUS = "#value"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, setting: SettingRow) -> None:
        super().__init__(classes="dialog-screen")
        self.setting = setting

    def compose(self) -> ComposeResult:
        s = self.setting
        with Vertical(id="dialog", classes="-small"):
            yield Plain(f"Change {s.key}", id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Plain(f"{s.meaning}\nAllowed: {s.allowed}.\n{NOTE}", id="consequences")
            yield AnswerField(s.value, id="value", select_on_focus=True, compact=True)
            yield Plain("", id="problem")
            yield dialog_buttons("Save (enter)")

    @on(Button.Pressed, "#confirm")
    def save_pressed(self) -> None:
        self.save(self.query_one(Input).value)

    @on(Input.Submitted)
    def save_submitted(self, event: Input.Submitted) -> None:
        self.save(event.value)

    def save(self, typed: str) -> None:
        if self.saving:
            self.still_saving()
            return
        value = typed.strip()
        if value == self.setting.value:
            self.dismiss(None)
            return
        key = self.setting.key
        self.write(lambda engine: save_setting(engine, key, value), then=self.dismiss)
