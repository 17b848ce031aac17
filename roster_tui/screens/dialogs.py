"""Confirmations: each restates what will happen before anything changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from daemon.models import Page, Run, WaitingDrop, WithheldArchive
from daemon.sync.scope import parse_scope
from roster_tui.gateway import Operation, describe_error
from roster_tui.screens.base import run_call
from roster_tui.widgets.chrome import Field, Plain
from roster_tui.words import (
    KIND_NAMES,
    OPEN,
    consequences,
    count_of,
    held_reasons,
    plural,
    run_source,
)

T = TypeVar("T")
SAVING = "Saving… (cannot be cancelled)"
OVERRIDE_WORD = "OVERRIDE"
BLACKOUT_FORCE = "Run despite the blackout (audited)"


def dialog_buttons(confirm: str, variant: str = "primary") -> Horizontal:
    """The confirm button (focused by enter or its key) and Cancel, as every dialog has them."""
    return Horizontal(
        Button(confirm, id="confirm", variant=variant, compact=True),  # type: ignore[arg-type]
        Button("Cancel (esc)", id="cancel", compact=True),
        id="dialog-buttons",
    )


class AnswerField(Field):
    """A field whose Enter submits, and whose Tab moves on, as the key arrives. A binding runs
    only once the key has travelled up to the app, and by then the keys typed right after it
    (one burst over SSH, a fast typist) are already in the field: the value submitted is what
    was typed before Enter, and what was typed after Tab goes to the next field."""

    async def on_key(self, event: events.Key) -> None:
        # Textual runs a subclass's handler before Input's own (which would type the key);
        # preventing the default stops Input's, through the public handler
        focused = self.screen.focused
        if focused is not None and focused is not self:  # typed after a Tab in the same burst
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
        elif event.key == "enter":
            event.stop()
            event.prevent_default()
            await self.action_submit()
        elif event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                self.screen.focus_next()
            else:
                self.screen.focus_previous()


class WriteDialog(ModalScreen[T]):
    """A dialog that writes through the engine. Once asked, the change cannot be called back:
    the dialog waits for the answer (esc and enter only say so meanwhile) and closes with it,
    so the outcome is always reported; a refusal stays on screen with the engine's reason.
    Subclasses compose `#problem`, fields and `dialog_buttons`, and call `write`."""

    saving = False

    def write(self, operation: Operation[Any], then: Callable[[Any], object]) -> None:
        self.set_saving(True)
        self.still_saving()
        run_call(self, operation, then=then, failed=self.refused, group="write", exclusive=False)

    def set_saving(self, saving: bool) -> None:
        self.saving = saving
        for widget in self.query("Input, Button"):
            widget.disabled = saving or self.stays_disabled(widget)

    def stays_disabled(self, widget: Any) -> bool:
        """A field the dialog keeps disabled whatever the write does."""
        return False

    def still_saving(self) -> None:
        self.query_one("#problem", Static).update(Text(SAVING, style="bold"))

    def refused(self, exc: Exception) -> None:
        self.set_saving(False)
        title, message = describe_error(exc)
        self.query_one("#problem", Static).update(Text(f"✗ {title}: {message}", style="bold"))
        self.field_named(message).focus()

    def field_named(self, message: str) -> Input:
        """The field a refusal is about (the first one, unless a subclass knows better)."""
        return self.query_one(Input)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.saving:
            self.still_saving()
            return
        self.dismiss(None)


def bullets(lines: list[str]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1)
    grid.add_column()
    for line in lines:
        grid.add_row("•", line)
    return grid


class ConfirmRunScreen(ModalScreen[str | None]):
    """Approve, override or reject one run. Dismisses with the reason ('' if none), or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, run: Run, action: str, other_open: list[int] | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.run = run
        self.action_name = action  # approve | override | reject
        self.other_open = other_open or []
        self.decided = False  # answered (confirmed or cancelled): later keys do nothing

    def compose(self) -> ComposeResult:
        run, action = self.run, self.action_name
        title = {
            "approve": f"Approve run {run.run_id}?",
            "override": f"Override the hold on run {run.run_id}?",
            "reject": f"Reject run {run.run_id}?",
        }[action]
        with Vertical(id="dialog", classes=f"-{action}"):
            yield Plain(title, id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Plain(self.body(), id="consequences")
            if action == "override":
                yield Plain(
                    f"This is deliberate: type {OVERRIDE_WORD} and give a reason.",
                    id="override-hint",
                )
                yield AnswerField(placeholder=f"type {OVERRIDE_WORD}", id="typed", compact=True)
            yield AnswerField(
                placeholder="reason (required, recorded in the audit log)"
                if action == "override"
                else "reason (optional, recorded in the audit log)",
                id="reason",
                compact=True,
            )
            yield Plain("", id="problem")
            label = {
                "approve": f"Apply run {run.run_id}",
                "override": f"Override and apply run {run.run_id}",
                "reject": f"Reject run {run.run_id}",
            }[action]
            yield dialog_buttons(label, "success" if action == "approve" else "error")

    def on_mount(self) -> None:
        """Typing goes where a person expects it: the word (override) or the reason, and Enter
        there applies with what was typed, as the Apply button does."""
        self.query_one("#typed" if self.action_name == "override" else "#reason").focus()

    def body(self) -> Group:
        """The consequences, one bullet each (wrapped lines stay indented)."""
        run = self.run
        parts: list[RenderableType] = [Text(run_source(run), style="dim")]
        if self.action_name == "reject":
            parts.append(
                Text(
                    "Rejecting discards this plan: nothing in the directory changes. The drop "
                    "can be planned again later, and the next drop is planned as usual."
                )
            )
            return Group(*parts)
        if run.status == "held":
            parts.append(Text("‖ HELD: a safety rule tripped:", style="bold"))
            parts.append(bullets(held_reasons(run)))
        parts.append(Text(f"Applying run {run.run_id} will:", style="bold"))
        lines = consequences(run)
        later = [r for r in self.other_open if r > run.run_id]
        older = [r for r in self.other_open if r < run.run_id]
        if later:
            again = "plan it again" if len(later) == 1 else "plan them again"
            lines.append(f"{_open_runs(later)} will be superseded: {again} afterwards.")
        if older:  # their drops are older nights than this one (replan refuses them)
            theirs = "its drop is" if len(older) == 1 else "their drops are"
            lines.append(
                f"{_open_runs(older)} will be superseded: {theirs} older, and not planned again."
            )
        parts.append(bullets(lines))
        return Group(*parts)

    def problem(self, values: dict[str, str]) -> tuple[str, str | None]:
        """What keeps the dialog from closing, and the field to fix it in."""
        if self.action_name == "override":
            if values.get("typed", "").strip() != OVERRIDE_WORD:
                return f"Type {OVERRIDE_WORD} (in capitals) to override the hold.", "#typed"
            if not values.get("reason", "").strip():
                return "Give a reason for the override: it goes in the audit log.", "#reason"
        return "", None

    def field_values(self, submitted: Input.Submitted | None = None) -> dict[str, str]:
        """What the fields held when Enter (or the button) was pressed: the submitted field's
        value comes from the event, so keys typed after Enter never reach the audit log."""
        values = {field.id or "": field.value for field in self.query(Input)}
        if submitted is not None and submitted.input.id:
            values[submitted.input.id] = submitted.value
        return values

    @on(Button.Pressed, "#confirm")
    def confirm_pressed(self) -> None:
        self.confirm(self.field_values())

    @on(Input.Submitted)
    def confirm_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.confirm(self.field_values(event))

    def confirm(self, values: dict[str, str]) -> None:
        """Decided once: the first accepted submit closes the dialog and nothing after it
        counts (keys arriving in the same burst are ignored)."""
        if self.decided:
            return
        problem, field = self.problem(values)
        self.query_one("#problem", Static).update(problem)
        if field is not None:  # Enter after OVERRIDE moves on to the reason
            self.query_one(field).focus()
        if not problem:
            self.decided = True
            for widget in self.query("Input, Button"):
                widget.disabled = True
            self.dismiss(values.get("reason", "").strip())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self.decided:
            self.decided = True
            self.dismiss(None)


WITHHELD_WHY = {
    "threshold": "the run was over the deletion threshold (threshold_action = withhold_archives)",
    "additions_only": "archive_mode = additions_only",
}


class WithheldDecisionScreen(ModalScreen[tuple[str, str] | None]):
    """Approve or drop the archives a run withheld; both need a reason (the audit log keeps it).
    Dismisses with (decision, reason), or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, run: Run, first: Page | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.run = run
        self.first = first  # the first few withheld archives, to show what is decided

    def compose(self) -> ComposeResult:
        run = self.run
        with Vertical(id="dialog", classes="-override"):
            yield Plain(f"Withheld archives of run {run.run_id}", id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Plain(self.body(), id="consequences")
            yield Field(
                placeholder="reason (required, recorded in the audit log)",
                id="reason",
                compact=True,
            )
            yield Plain("", id="problem")
            yield Horizontal(
                Button("Archive them", id="approve", variant="error", compact=True),
                Button("Drop them", id="drop", variant="warning", compact=True),
                Button("Cancel (esc)", id="cancel", compact=True),
                id="dialog-buttons",
            )

    def on_mount(self) -> None:
        self.query_one("#reason").focus()

    def body(self) -> Group:
        run = self.run
        counts = ", ".join(count_of(kind, n) for kind, n in run.withheld.items())
        why = WITHHELD_WHY.get(run.withheld_why or "", run.withheld_why or "")
        listed: list[RenderableType] = []
        if self.first is not None and self.first.items:
            names = [
                f"{w.label or w.sis_id or w.record_id} ({KIND_NAMES.get(w.kind, (w.kind, w.kind))[0]}"
                f", {w.note or 'archive'})"
                for w in self.first.items
            ]
            more = self.first.total - len(self.first.items)
            if more > 0:
                names.append(f"… and {more:,} more (roster-sync withheld {run.run_id})")
            listed = [Text("Among them:", style="bold"), bullets(names)]
        return Group(
            Text(f"Run {run.run_id} applied everything but {counts}: {why}."),
            bullets(
                [
                    "Archive them: each is checked against the directory as it is now; a record "
                    "re-created, changed, edited or back in a full feed since is kept, and so is "
                    "a school a class or person kept is in.",
                    "Drop them: nothing is archived; the records stay as they are.",
                ]
            ),
            *listed,
        )

    def _decide(self, decision: str) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#problem", Static).update("Give a reason: it goes in the audit log.")
            self.query_one("#reason").focus()  # what is typed next is the reason
            return
        self.dismiss((decision, reason))

    @on(Button.Pressed, "#approve")
    def approve(self) -> None:
        self._decide("approve")

    @on(Button.Pressed, "#drop")
    def drop(self) -> None:
        self._decide("drop")

    @on(Input.Submitted)
    def submitted(self) -> None:
        """Enter in the reason moves to the choice; it never decides by itself."""
        self.query_one("#approve").focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class WithheldOutcomeScreen(ModalScreen[None]):
    """What a decision on withheld archives did, read only: who decided and why; for an
    approval, first each archive it kept with the reason it no longer held (re-created or edited
    since, a class still in its school...), then the ones it did with why each was withheld."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close"),
    ]

    def __init__(self, run: Run, page: Page) -> None:
        super().__init__(classes="dialog-screen")
        self.run = run
        self.page = page

    def compose(self) -> ComposeResult:
        run = self.run
        with Vertical(id="dialog", classes="-help"):
            yield Plain(
                f"Withheld archives of run {run.run_id}: {run.withheld_decision}", id="dialog-title"
            )
            with VerticalScroll(id="dialog-body"):
                yield Plain(self.body(), id="outcomes")
            listed = run.withheld_decision == "approved"  # a drop lists nothing to scroll
            yield Plain("↑↓ scroll · esc closes" if listed else "esc closes", id="help-close")

    def body(self) -> Group:
        run, items = self.run, self.page.items
        said = [
            Text(f"By {run.withheld_decided_by}: ", style="bold") + Text(run.withheld_reason or "")
        ]
        if run.withheld_decision != "approved":
            return Group(*said, Text("Nothing was archived; the records stay as they were."))
        said.append(Text(approval_counts(run.withheld_outcome)))

        def name(w: WithheldArchive) -> str:
            kind = KIND_NAMES.get(w.kind, (w.kind, w.kind))[0]
            return f"{w.label or w.sis_id or w.record_id} ({kind})"

        # under "Kept" the engine's "kept: its person was kept" needs no second "kept"
        kept = [
            f"{name(w)}: {(w.outcome_note or '').removeprefix('kept: ')}"
            for w in items
            if w.outcome == "kept"
        ]
        # what it was archived for, where that is not what the night withheld it for
        done = [
            f"{name(w)}: {w.outcome_note or w.note or 'archived'}"
            for w in items
            if w.outcome == "archived"
        ]
        listed: list[RenderableType] = []
        if kept:
            listed += [Text("Kept, each with why:", style="bold"), bullets(kept)]
        if done:
            listed += [
                Text("Archived, each with why:", style="bold"),
                bullets(done),
            ]
        if self.page.total > len(items):
            listed.append(
                Text(
                    f"… and {self.page.total - len(items):,} more "
                    f"(roster-sync withheld {run.run_id})"
                )
            )
        return Group(*said, *listed)

    def action_close(self) -> None:
        self.dismiss(None)


def approval_counts(outcome: dict[str, int]) -> str:
    """What an approval did, in one sentence that reads right when it kept or archived nothing."""
    archived, kept = outcome.get("archived", 0), outcome.get("kept", 0)
    if not archived:
        return f"Nothing was archived: {plural(kept, 'record')} kept."
    return f"{plural(archived, 'archive')} done, " + (
        f"{plural(kept, 'record')} kept." if kept else "none kept."
    )


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question with its consequences; Enter confirms, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "confirm", "Yes"),
    ]

    def __init__(self, title: str, body: str, confirm: str = "Yes") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text, self.body_text, self.confirm_label = title, body, confirm
        self.answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-small"):
            yield Plain(self.title_text, id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Plain(self.body_text, id="consequences")
            yield dialog_buttons(f"{self.confirm_label} (y)", "warning")

    def on_mount(self) -> None:
        self.query_one("#confirm").focus()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.answer(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.answer(False)

    def answer(self, yes: bool) -> None:
        """The first answer counts (a double tap of y asks nothing twice)."""
        if not self.answered:
            self.answered = True
            self.dismiss(yes)


class SetAsideScreen(ModalScreen[str | None]):
    """Set a waiting drop aside: says what that does, asks the reason (required, as the CLI
    requires it). Dismisses with the reason, or None."""

    AUTO_FOCUS = "#reason"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, drop: WaitingDrop, daemon_running: bool = True) -> None:
        super().__init__(classes="dialog-screen")
        self.drop = drop
        self.daemon_running = daemon_running
        self.decided = False  # answered: later keys do nothing

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-small -set-aside"):
            yield Plain(f"Set aside {self.drop.name}?", id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Plain(self.body(), id="consequences")
            yield AnswerField(
                placeholder="reason (required, recorded in the audit log)",
                id="reason",
                compact=True,
            )
            yield Plain("", id="problem")
            yield dialog_buttons("Set aside (enter)", "error")

    def body(self) -> Group:
        drop = self.drop
        said = (
            f"{drop.name} is not planned: it is recorded as skipped, with your reason, and "
            "audited under your name."
        )
        if not self.daemon_running:
            after = (
                " The daemon is not running: when it starts, it moves the queued copy to the "
                "archive and plans the drops queued after it."
            )
        elif drop.queued:
            after = " Its queued copy goes to the archive, and the drops queued after it go on."
        elif drop.source == "inbox":
            after = " Its files go from the inbox to the archive, and the drops after it go on."
        else:
            after = " Nothing is planned from it unless its files change on the server."
        if not self.daemon_running:  # what it waits for is said next
            return Group(Text(said + after))
        return Group(Text(f"Waits: {drop.why}", style="dim"), Text(said + after))

    @on(Button.Pressed, "#confirm")
    def confirm_pressed(self) -> None:
        self.confirm(self.query_one("#reason", Input).value)

    @on(Input.Submitted)
    def confirm_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.confirm(event.value)  # what was typed before Enter

    def confirm(self, typed: str) -> None:
        if self.decided:
            return
        reason = " ".join(typed.split())
        if not reason:
            self.query_one("#problem", Static).update(
                "A reason is required to set a drop aside (it is kept, audited and shown)."
            )
            self.query_one("#reason").focus()
            return
        self.decided = True
        for widget in self.query("Input, Button"):
            widget.disabled = True
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self.decided:
            self.decided = True
            self.dismiss(None)


@dataclass(frozen=True)
class PlanRequest:
    """What the plan dialog asks for: the drop, the schools it speaks for (none: the whole
    district, or the schools its manifest names) and whether to plan despite a blackout."""

    path: str
    schools: list[str] = field(default_factory=list)
    force: bool = False


class PlanDropScreen(ModalScreen[PlanRequest | None]):
    """Asks which drop to plan (a folder or ZIP), for which schools, and on a blackout day
    whether to plan it all the same. Planning changes nothing in the directory."""

    AUTO_FOCUS = "#path"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        source: str = "",
        replan_of: Run | None = None,
        blackout: str | None = None,
        schools: list[str] | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.source = source
        self.replan_of = replan_of
        self.blackout = blackout  # why nothing is synced today (Status.blackout), if it is not
        self.schools = schools or []
        self.asked = False  # the plan was asked for: later keys do nothing

    def compose(self) -> ComposeResult:
        title = (
            f"Plan run {self.replan_of.run_id}'s drop again" if self.replan_of else "Plan a drop"
        )
        with Vertical(id="dialog", classes="-small -blackout" if self.blackout else "-small"):
            yield Plain(title, id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Plain(self.body(), id="consequences")
            yield AnswerField(
                self.source, placeholder="path to a folder or .zip", id="path", compact=True
            )
            yield AnswerField(
                ", ".join(self.schools),
                placeholder="schools: SIS ids (empty: the whole district)",
                id="schools",
                compact=True,
            )
            if self.blackout:
                yield Checkbox(BLACKOUT_FORCE, id="force", compact=True)
            yield Plain("", id="problem")
            yield dialog_buttons("Plan (enter)")

    def body(self) -> Group:
        parts: list[RenderableType] = []
        if self.blackout:
            parts.append(
                Text(
                    f"{self.blackout[:1].upper()}{self.blackout[1:]}: nothing is synced. To plan "
                    "a drop all the same, tick the box below (the audit log records it).",
                    style="bold",
                )
            )
        parts.append(
            Text(
                "A folder or ZIP of OneRoster or Clever CSV files. Planning loads and checks every row and "
                "works out the changes with the current settings; nothing in the directory "
                "changes until you approve the run."
            )
        )
        parts.append(
            Text(
                "Schools: the SIS ids a school-level upload speaks for (other schools are left "
                "alone); empty: the whole district, or the schools in the drop's manifest.",
                style="dim",
            )
        )
        return Group(*parts)

    @on(Button.Pressed, "#confirm")
    def confirm_pressed(self) -> None:
        self.confirm()

    @on(Input.Submitted)
    def confirm_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.confirm({event.input.id or "": event.value})

    def confirm(self, submitted: dict[str, str] | None = None) -> None:
        """With what the fields held at Enter (keys typed after it do not count), once."""
        if self.asked:
            return
        values = {field.id or "": field.value for field in self.query(Input)}
        values.update(submitted or {})
        path = values.get("path", "").strip()
        if not path:
            self.query_one("#problem", Static).update("Give the path of a drop.")
            self.query_one("#path").focus()
            return
        schools = parse_scope(values.get("schools", ""))
        force = bool(self.blackout) and self.query_one("#force", Checkbox).value
        self.asked = True
        self.dismiss(PlanRequest(path, schools, force))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self.asked:
            self.asked = True
            self.dismiss(None)


def open_run_ids(runs: list[Run]) -> list[int]:
    return [r.run_id for r in runs if r.status in OPEN]


def _open_runs(runs: list[int]) -> str:
    """'Open run 3' or 'Other open runs (2, 3)'."""
    if len(runs) == 1:
        return f"Open run {runs[0]}"
    return f"Other open runs ({', '.join(str(r) for r in runs)})"
