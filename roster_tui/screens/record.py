"""One person or classroom of the directory: details, links, classes and history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from daemon.directory.shapes import ClassroomDetail, ClassroomRow, HistoryEntry, UserDetail
from roster_tui.screens.base import RosterScreen, tab_after
from roster_tui.widgets.chrome import NavBar, Plain, bottom_bars
from roster_tui.words import when

STATUS_WORD = {"active": "✓ active", "archived": "▣ archived", "merged": "⇢ merged"}
DETAIL_FIELDS = [
    ("SIS id", "sis_id"),
    ("Number", "identifier"),
    ("Role", "role"),
    ("Grades", "grades"),
    ("Birth date", "birth_date"),
    ("E-mail", "email"),
    ("Mobile", "mobile_phone"),
    ("Home phone", "home_phone"),
    ("Language", "language"),
    ("Origin", "origin"),
]
TABS = ["details", "links", "classes", "history"]
CLASSROOM_TABS = ["details", "members", "history"]


class Named(Protocol):
    """A person as a record, a link, a member or a merged record names them."""

    @property
    def given_name(self) -> str | None: ...

    @property
    def family_name(self) -> str | None: ...


def name_of(row: Named | Mapping[str, Any]) -> str:
    """'Given Family' of a record, or of a row of a page of people (a dict)."""
    if isinstance(row, Mapping):
        given, family = row.get("given_name"), row.get("family_name")
    else:
        given, family = row.given_name, row.family_name
    return f"{given or ''} {family or ''}".strip() or "(no name)"


class RecordScreen(RosterScreen):
    MODE = "directory"
    HELP = (
        "One person. Details are the record's fields; Links are the guardians of a student or "
        "the students of a guardian (enter opens one); Classes are their enrollments; History "
        "lists which runs changed the record and who edited it by hand, newest first."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False),
        Binding("u", "unarchive", "Unarchive…"),
        Binding("left_square_bracket", "tab(-1)", "Previous tab", key_display="[", show=False),
        Binding("right_square_bracket", "tab(1)", "Tabs", key_display="[ ]"),
    ]

    def __init__(self, user_id: int) -> None:
        super().__init__()
        self.user_id = user_id
        self.user: UserDetail | None = None

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield Plain(f"#{self.user_id}", id="record-title")
        with TabbedContent(id="record-tabs"):
            with TabPane("Details", id="details"), VerticalScroll():
                yield Plain("Loading…", id="record-details")
            with TabPane("Links", id="links"):
                yield DataTable(id="record-links", cursor_type="row")
            with TabPane("Classes", id="classes"):
                yield DataTable(id="record-classes", cursor_type="row")
            with TabPane("History", id="history"):
                yield DataTable(id="record-history", cursor_type="row")
        yield from bottom_bars()

    def reload(self) -> None:
        user = f"#{self.user_id}"
        self.call(lambda engine: engine.user_detail(user), then=self.show_user)

    def show_user(self, user: UserDetail) -> None:
        self.user = user
        now = self.now()
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(name_of(user), style="bold")
        title.append(f"  {user.kind} · {STATUS_WORD.get(user.status, user.status)}")
        title.append(f" · #{user.user_id}")
        self.query_one("#record-title", Static).update(title)
        self.query_one("#record-details", Static).update(details(user, now))
        links = self.query_one("#record-links", DataTable)
        links.clear(columns=True)
        links.add_columns("Name", "SIS id", "Relationship", "Status", "Origin")
        for link in user.links:
            links.add_row(
                name_of(link),
                link.sis_id or "–",
                link.relationship or "",
                link.status,
                link.origin,
                key=str(link.user_id),
            )
        classes = self.query_one("#record-classes", DataTable)
        classes.clear(columns=True)
        classes.add_columns("Classroom", "SIS id", "Role", "Status")
        for c in user.classrooms:
            classes.add_row(c.name or "", c.sis_id or "–", c.role, c.status)
        history = self.query_one("#record-history", DataTable)
        history.clear(columns=True)
        history.add_columns("When", "Who", "What", "Detail")
        events = list(user.history)
        if user.created_run is not None and not any(h.what == "create" for h in events):
            events.append(
                HistoryEntry(
                    happened_at=user.created_at,
                    who=f"run {user.created_run}",
                    what="create",
                    detail="created by the sync",
                )
            )
        for h in events:
            history.add_row(
                when(h.happened_at, now),
                h.who or "",
                (h.what or "").split(".")[-1].replace("_", " "),
                readable(h.detail)[:200],
            )
        for table in (links, classes, history):
            if not table.row_count:
                table.add_row("(none)", *[""] * (len(table.columns) - 1))
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("links").label = f"Links ({len(user.links)})"
        tabs.get_tab("classes").label = f"Classes ({len(user.classrooms)})"
        tabs.get_tab("history").label = f"History ({len(events)})"
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unarchive":
            return self.user is not None and self.user.status == "archived"
        return True

    def action_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab_after(tabs, TABS, step)
        found = self.query_one(f"#{tabs.active}", TabPane).query(DataTable)
        if found:
            found.first().focus()

    @on(DataTable.RowSelected, "#record-links")
    def open_link(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value and event.row_key.value.isdigit():
            self.app.push_screen(RecordScreen(int(event.row_key.value)))

    def action_unarchive(self) -> None:
        if self.user is None:
            return
        from roster_tui.screens.dialogs import ConfirmScreen

        name = name_of(self.user)

        def unarchived(_user_id: int) -> None:
            self.notify(f"{name} is active again.", title="Unarchived")
            self.reload()

        def answered(ok: bool | None) -> None:
            if ok:
                user = f"#{self.user_id}"
                self.write(
                    lambda engine: engine.unarchive_user(user),
                    busy=f"Unarchiving {name}…",
                    then=unarchived,
                )

        self.app.push_screen(
            ConfirmScreen(
                f"Unarchive {name}?",
                f"{name} becomes active again. The directory changes, so open runs are "
                "superseded: plan them again afterwards.",
                "Unarchive",
            ),
            answered,
        )


def readable(detail: str | None) -> str:
    """An audit entry's JSON details as 'email: old → new'; a run's field list as it is."""
    if not detail or not detail.startswith("{"):
        return detail or ""
    try:
        data = json.loads(detail)
    except ValueError:
        return detail
    old, new = data.get("old"), data.get("new")
    if isinstance(old, dict) and isinstance(new, dict):
        return "; ".join(f"{k}: {old.get(k) or '∅'} → {v or '∅'}" for k, v in new.items())
    return "; ".join(f"{k}: {v}" for k, v in data.items()) or "–"


def details(user: UserDetail, now: Any) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, key in DETAIL_FIELDS:
        value = getattr(user, key)
        if value not in (None, ""):
            grid.add_row(label, str(value))
    grid.add_row("Schools", ", ".join(user.schools) if user.schools else "–")
    grid.add_row("Account", "active (signs in)" if user.account_active else "not activated")
    if user.contacts_edited:
        grid.add_row("Contacts", "edited by hand: the sync asks before changing them")
    grid.add_row("Created", f"{when(user.created_at, now)} by run {user.created_run or '–'}")
    if user.status == "archived":
        run = user.archived_run
        grid.add_row(
            "Archived",
            f"{when(user.archived_at, now)} " + (f"by run {run}" if run else "by hand"),
        )
    for merged in user.merged_records:
        grid.add_row(
            "Merged in", f"{name_of(merged)} ({merged.sis_id or '#' + str(merged.user_id)})"
        )
    for a in user.attributes:
        grid.add_row(f"· {a.name}", f"{a.value} ({a.status})")
    return grid


class ClassroomScreen(RosterScreen):
    """One classroom: its details, members and history."""

    MODE = "directory"
    HELP = (
        "One classroom: its school, type and status; Members are its students and teachers "
        "(enter opens one); History lists which runs changed it and who edited it by hand."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("left_square_bracket", "tab(-1)", "Previous tab", key_display="[", show=False),
        Binding("right_square_bracket", "tab(1)", "Tabs", key_display="[ ]"),
    ]

    def __init__(self, row: ClassroomRow) -> None:
        super().__init__()
        self.room = ClassroomDetail.model_validate(row)  # what the list knew, until it loads
        self.students: int | None = row.get("students")

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield Plain(self._title(self.room), id="record-title")
        with TabbedContent(id="record-tabs"):
            with TabPane("Details", id="details"), VerticalScroll():
                yield Plain(self._grid(self.room, self.students), id="record-details")
            with TabPane("Members", id="members"):
                yield DataTable(id="record-members", cursor_type="row")
            with TabPane("History", id="history"):
                yield DataTable(id="record-history", cursor_type="row")
        yield from bottom_bars()

    @staticmethod
    def _title(room: ClassroomDetail) -> Text:
        return Text(f"{room.name}  classroom · {room.status}", style="bold")

    @staticmethod
    def _grid(room: ClassroomDetail, students: int | None) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        for label, value in (
            ("SIS id", room.sis_id),
            ("School", room.school),
            ("Type", room.class_type),
            ("Students", students),
            ("Origin", room.origin),
            ("Status", room.status),
        ):
            grid.add_row(label, str(value if value is not None else "–"))
        if room.name_locked:
            grid.add_row("Name", "renamed by hand: the sync keeps this name")
        return grid

    def reload(self) -> None:
        classroom = f"#{self.room.classroom_id}"
        self.call(lambda engine: engine.classroom_detail(classroom), then=self.show_classroom)

    def show_classroom(self, room: ClassroomDetail) -> None:
        self.room = room
        members = room.members
        self.students = sum(1 for m in members if m.role == "student" and m.status == "active")
        self.query_one("#record-details", Static).update(self._grid(room, self.students))
        table = self.query_one("#record-members", DataTable)
        table.clear(columns=True)
        table.add_columns("Name", "SIS id", "Role", "Status", "Origin")
        for m in members:
            table.add_row(
                name_of(m), m.sis_id or "–", m.role, m.status, m.origin, key=str(m.user_id)
            )
        history = self.query_one("#record-history", DataTable)
        history.clear(columns=True)
        history.add_columns("When", "Who", "What", "Detail")
        now = self.now()
        for h in room.history:
            history.add_row(
                when(h.happened_at, now), h.who or "", h.what or "", (h.detail or "")[:60]
            )
        self.query_one("#record-tabs", TabbedContent).get_tab(
            "members"
        ).label = f"Members ({len(members)})"

    @on(DataTable.RowSelected, "#record-members")
    def open_member(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.push_screen(RecordScreen(int(event.row_key.value)))

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#record-tabs", TabbedContent)
        tabs.active = tab_after(tabs, CLASSROOM_TABS, step)
