"""A person's contact details edited by hand (`e` on their record; the CLI's `users
edit-contact`): kept against the feed as the settings say."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from daemon.directory.shapes import UserDetail
from daemon.settings import SettingRow
from roster_tui.screens.base import run_call
from roster_tui.screens.dialogs import AnswerField, WriteDialog, dialog_buttons
from roster_tui.widgets.chrome import Plain

# The fields a person may edit by hand (daemon.directory.records.edit_contact), as labelled.
CONTACT_FIELDS = (
    ("email", "E-mail"),
    ("mobile_phone", "Mobile"),
    ("home_phone", "Home phone"),
    ("language", "Language"),
)


def ignore(_exc: Exception) -> None:
    """The settings could not be read: the explanation stays general, the engine still decides."""


def contact_changes(shown: UserDetail, typed: dict[str, str]) -> dict[str, str | None]:
    """The fields whose typed value differs from the one shown (trimmed; empty clears it)."""
    changes: dict[str, str | None] = {}
    for name, _label in CONTACT_FIELDS:
        value = typed.get(name, "").strip()
        if value != (getattr(shown, name) or ""):
            changes[name] = value or None
    return changes


class EditContactScreen(WriteDialog[dict[str, str | None] | None]):
    """Asks the engine to save what changed; its refusal (the field and the rule) stays on
    screen. Once asked, the change cannot be called back: the dialog waits for the answer and
    closes with the changes saved, or None when nothing changed or it was cancelled."""

    AUTO_FOCUS = "#email"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, user: UserDetail, name: str, open_runs: list[int]) -> None:
        super().__init__(classes="dialog-screen")
        self.user = user
        self.name_shown = name
        self.open_runs = open_runs
        self.overwritten: bool | None = None  # update_active_users_contacts, once known
        self.language_follows = False  # update_language, once known

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-small -contact"):
            yield Plain(f"Edit contact details: {self.name_shown}", id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Plain(self.body(), id="consequences")
            for name, label in CONTACT_FIELDS:
                with Horizontal(classes="contact-field"):
                    yield Plain(label, classes="contact-label")
                    yield AnswerField(
                        getattr(self.user, name) or "",
                        id=name,
                        select_on_focus=True,  # typing replaces; an arrow key edits
                        compact=True,
                    )
            yield Plain("", id="problem")
            yield dialog_buttons("Save (enter)")

    def on_mount(self) -> None:
        """The settings say what happens to each field against the feed: asked once, the
        explanation follows them (until they arrive, it names both settings)."""
        run_call(self, lambda engine: engine.settings_show(), then=self.follow, failed=ignore)

    def follow(self, settings: list[SettingRow]) -> None:
        values = {s.key: s.value for s in settings}
        self.overwritten = values.get("update_active_users_contacts") == "true"
        self.language_follows = values.get("update_language") == "true"
        self.query_one("#consequences", Static).update(self.body())
        if self.language_follows:
            language = self.query_one("#language", Input)
            if language.has_focus:
                self.query_one("#email", Input).focus()
            language.disabled = True

    def body(self) -> Text:
        text = Text("Audited under your name; an emptied field is cleared. ")
        if self.overwritten is None:
            text.append(
                "An e-mail or phone edited here is kept: if the SIS sends another, the run asks "
                "(a conflict), unless update_active_users_contacts is on. While update_language "
                "is on, the language follows the SIS and is not edited here."
            )
        elif self.overwritten:
            text.append(
                "update_active_users_contacts is on: an e-mail or phone the SIS sends later "
                "replaces what is saved here."
            )
        else:
            text.append(
                "An e-mail or phone edited here is kept: if the SIS sends another, the run asks "
                "(a conflict)."
            )
        if self.language_follows:
            text.append(" The language follows the SIS (update_language is on).")
        if self.open_runs:
            runs = ", ".join(map(str, self.open_runs))
            text.append(
                f"\nThe directory changes, so open runs ({runs}) are superseded: plan them "
                "again afterwards.",
                style="bold",
            )
        return text

    def typed(self) -> dict[str, str]:
        return {field.id or "": field.value for field in self.query(Input)}

    @on(Button.Pressed, "#confirm")
    def save_pressed(self) -> None:
        self.save(self.typed())

    @on(Input.Submitted)
    def save_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save({**self.typed(), event.input.id or "": event.value})  # as typed before Enter

    def save(self, typed: dict[str, str]) -> None:
        if self.saving:
            self.still_saving()
            return
        changes = contact_changes(self.user, typed)
        if not changes:
            self.dismiss(None)
            return
        user = f"#{self.user.user_id}"
        self.write(
            lambda engine: engine.edit_contact(user, changes),
            then=lambda _id: self.dismiss(changes),
        )

    def stays_disabled(self, widget: Any) -> bool:
        return widget.id == "language" and self.language_follows

    def field_named(self, message: str) -> Input:
        opening = message.lower()[:30]  # the engine names the field first ("mobile phone ...")
        named = [name for name, _label in CONTACT_FIELDS if name.replace("_", " ") in opening]
        return self.query_one(f"#{named[0] if named else 'email'}", Input)
