"""Archived students: find one, see when and by which run it was archived, unarchive it."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from roster_tui.screens.base import RosterScreen
from roster_tui.screens.dialogs import ConfirmScreen, open_run_ids
from roster_tui.widgets.chrome import Field, NavBar, Plain, bottom_bars
from roster_tui.widgets.paged_table import Column, PagedTable
from roster_tui.words import plural, when

COLUMNS: list[Column] = [
    ("Name", 22, 0.3),
    ("SIS id", 10),
    ("Number", 7),
    ("Archived", 15),
    ("By", None),
]


def full_name(user: dict[str, Any]) -> str:
    return f"{user.get('given_name') or ''} {user.get('family_name') or ''}".strip() or "(no name)"


def archived_by(user: dict[str, Any]) -> str:
    run = user.get("archived_run")
    return f"run {run}" if run is not None else "by hand"


class ArchivedScreen(RosterScreen):
    MODE = "archived"
    HELP = (
        "Students that left the directory: archived by a sync run (they were no longer in the "
        "SIS's files) or by hand. Search by name, SIS id or student number; Enter opens the "
        "student's record."
    )
    WRITE_HELP: ClassVar[dict[str, str]] = {
        "unarchive_user": "u unarchives the highlighted student (it becomes active again; open "
        "runs are superseded and must be planned again, because the directory changed)."
    }
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {"unarchive": "unarchive_user"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "unarchive", "Unarchive…"),
        Binding("enter", "open", "Record"),
        Binding("slash", "search", "Search", key_display="/"),
    ]

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield Field(
            placeholder="search archived students: name, SIS id or student number", id="search"
        )
        yield Plain("", classes="caption", id="archived-caption")
        yield PagedTable(id="archived")
        yield from bottom_bars()

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.search(self.query_one(Input).value)

    def reload(self) -> None:
        if self.table.fetch is not None:
            self.table.reload()

    def search(self, query: str) -> None:
        gw, now = self.gw, self.now()

        def fetch(offset: int, limit: int) -> Any:
            return gw.run(
                lambda engine: engine.find_users(query, "student", "archived", offset, limit)
            )

        def row(user: dict[str, Any]) -> list[Any]:
            return [
                full_name(user),
                user.get("sis_id") or "–",
                user.get("identifier") or "–",
                when(user.get("archived_at"), now),
                archived_by(user),
            ]

        self.table.configure(COLUMNS, fetch, row)

    @on(Input.Changed, "#search")
    def query_changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @on(Input.Submitted, "#search")
    def query_submitted(self) -> None:
        self.table.focus()

    @on(PagedTable.Loaded)
    def loaded(self, event: PagedTable.Loaded) -> None:
        query = self.query_one(Input).value.strip()
        scope = f" matching '{query}'" if query else ""
        self.query_one("#archived-caption", Static).update(
            f"{plural(event.total, 'archived student')}{scope}"
            if event.total
            else f"No archived students{scope}."
        )
        self.refresh_bindings()

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.focused is self.table and self.table.highlighted is not None
        if action == "unarchive":
            return self.table.highlighted is not None
        return True

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def action_open(self) -> None:
        user = self.table.highlighted
        if user is not None:
            from roster_tui.screens.record import RecordScreen

            self.app.push_screen(RecordScreen(int(user["user_id"])))

    def action_unarchive(self) -> None:
        user = self.table.highlighted
        if user is None:
            return
        name = f"{full_name(user)} ({user.get('sis_id') or '#' + str(user['user_id'])})"
        body = (
            f"{name} becomes an active student again, with the links and classes the next sync "
            "gives them; while the SIS's files leave them out, a sync keeps them active and asks "
            "(a conflict) instead of archiving them again. Archived "
            f"{when(user.get('archived_at'), self.now())} {archived_by(user)}."
        )
        open_runs = open_run_ids(self.roster.recent_runs)
        if open_runs:
            body += (
                f"\n\nThe directory changes, so open runs ({', '.join(map(str, open_runs))}) "
                "are superseded: plan them again afterwards."
            )

        def answered(ok: bool | None) -> None:
            if ok:
                user_id = f"#{user['user_id']}"
                self.write(
                    lambda engine: engine.unarchive_user(user_id),
                    busy=f"Unarchiving {full_name(user)}…",
                    then=lambda _id: self.unarchived(name),
                )

        self.app.push_screen(
            ConfirmScreen(f"Unarchive {full_name(user)}?", body, "Unarchive"), answered
        )

    def unarchived(self, name: str) -> None:
        self.notify(f"{name} is active again.", title="Unarchived")
        self.table.reload()
