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
from daemon.words import counted
from roster_tui.gateway import Operation
from roster_tui.screens.base import RosterScreen, tab_after
from roster_tui.screens.contact import CONTACT_FIELDS, EditContactScreen
from roster_tui.screens.dialogs import ConfirmScreen, open_run_ids
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
    WRITE_HELP: ClassVar[dict[str, str]] = {
        "edit_contact": "e edits their e-mail, phones and language (kept against the SIS as "
        "the settings say).",
        "archive_user": "a archives the person by hand, with their classes and links (u "
        "brings them back).",
    }
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {
        "edit_contact": "edit_contact",
        "archive": "archive_user",
        "unarchive": "unarchive_user",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False),
        Binding("e", "edit_contact", "Edit contact…"),
        Binding("a", "archive", "Archive…"),
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

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit_contact":
            return self.user is not None
        if action == "unarchive":
            return self.user is not None and self.user.status == "archived"
        if action == "archive":
            return self.user is not None and self.user.status == "active"
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

    def action_edit_contact(self) -> None:
        if self.user is None:
            return
        name = name_of(self.user)

        def saved(changes: dict[str, str | None] | None) -> None:
            if changes:
                fields = ", ".join(label for key, label in CONTACT_FIELDS if key in changes)
                self.notify(f"{name}: {fields.lower()} saved.", title="Contact details saved")
                self.reload()

        open_runs = sorted(open_run_ids(self.roster.recent_runs))
        self.keep_on_resume = True  # the answer reloads, when something was saved
        self.app.push_screen(EditContactScreen(self.user, name, open_runs), saved)

    def action_archive(self) -> None:
        if self.user is None:
            return
        user = self.user
        name = name_of(user)
        taken = _what_goes_with(
            ("class", sum(1 for c in user.classrooms if c.status == "active")),
            ("guardian link", sum(1 for link in user.links if link.status == "active")),
        )
        if user.kind == "student":
            feed = (
                "If the SIS still sends them, the next run brings them back, unless the "
                "setting archived_students is keep_archived (then each run asks)."
            )
        else:
            feed = (
                "While the SIS still sends them, they stay archived, and each run asks whether "
                "to bring them back."
            )
        ask_then_write(
            self,
            f"Archive {name}?",
            f"{name} is archived by hand{taken}. {feed}",
            "Archive",
            lambda engine: engine.archive_user(f"#{self.user_id}"),
            busy=f"Archiving {name}…",
            done=(f"{name} is archived.", "Archived"),
        )

    def action_unarchive(self) -> None:
        if self.user is None:
            return
        name = name_of(self.user)
        ask_then_write(
            self,
            f"Unarchive {name}?",
            f"{name} becomes active again, with what archiving them took.",
            "Unarchive",
            lambda engine: engine.unarchive_user(f"#{self.user_id}"),
            busy=f"Unarchiving {name}…",
            done=(f"{name} is active again.", "Unarchived"),
        )


def _what_goes_with(*counts: tuple[str, int]) -> str:
    """'; their 3 classes and 1 guardian link are archived with them and come back when they
    are unarchived' ('' when there is nothing)."""
    named = [f"{n} {what}{'es' if what.endswith('s') else 's'}" if n != 1 else f"1 {what}"
             for what, n in counts if n]  # fmt: skip
    if not named:
        return ""
    one = sum(n for _, n in counts) == 1
    return (
        f"; their {' and '.join(named)} {'is' if one else 'are'} archived with them and "
        f"come{'s' if one else ''} back when they are unarchived"
    )


def ask_then_write(
    screen: RosterScreen,
    title: str,
    body: str,
    confirm: str,
    operation: Operation[int],
    *,
    busy: str,
    done: tuple[str, str],
) -> None:
    """Ask (the open runs this change supersedes named), then write and reload the screen."""
    open_runs = sorted(open_run_ids(screen.roster.recent_runs))
    if open_runs:
        body += (
            f"\n\nThe directory changes, so open runs ({', '.join(map(str, open_runs))}) are "
            "superseded: plan them again afterwards."
        )

    def written(_id: int) -> None:
        screen.notify(done[0], title=done[1])
        screen.reload()

    def answered(ok: bool | None) -> None:
        if ok:
            screen.write(operation, busy=busy, then=written)

    screen.app.push_screen(ConfirmScreen(title, body, confirm), answered)


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
    return "; ".join(f"{k.replace('_', ' ')}: {_counted(v)}" for k, v in data.items()) or "–"


def _counted(value: Any) -> Any:
    """What an archive took ({"enrollments": [12, 13]}) as '2 enrollments', not its ids."""
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        named = (
            counted(len(v), k.replace("_", " ").removesuffix("s")) for k, v in value.items() if v
        )
        return ", ".join(named) or "none"
    return value


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
        grid.add_row("Contacts", "edited by hand: kept from the SIS's changes as the settings say")
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
        "(enter opens one); History lists which runs changed it and who edited it by hand. "
        "The SIS's classrooms come and go with its classes.csv."
    )
    WRITE_HELP: ClassVar[dict[str, str]] = {
        "archive_classroom": "A classroom made by hand is archived (a) and brought back (u) "
        "here, its memberships with it."
    }
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {
        "archive": "archive_classroom",
        "unarchive": "unarchive_classroom",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("a", "archive", "Archive…"),
        Binding("u", "unarchive", "Unarchive…"),
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
                when(h.happened_at, now),
                h.who or "",
                (h.what or "").split(".")[-1].replace("_", " "),
                readable(h.detail)[:200],
            )
        self.query_one("#record-title", Static).update(self._title(room))
        self.query_one("#record-tabs", TabbedContent).get_tab(
            "members"
        ).label = f"Members ({len(members)})"
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#record-members")
    def open_member(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.push_screen(RecordScreen(int(event.row_key.value)))

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only a classroom made by hand is archived and brought back by a person."""
        if action in ("archive", "unarchive"):
            wanted = "active" if action == "archive" else "archived"
            return self.room.origin == "hand" and self.room.status == wanted
        return True

    def action_archive(self) -> None:
        room = self.room
        members = sum(1 for m in room.members if m.status == "active")
        ask_then_write(
            self,
            f"Archive {room.name}?",
            f"{room.name}, made by hand, is archived"
            + (f" with its {members} memberships" if members > 1 else "")
            + (" with its 1 membership" if members == 1 else "")
            + ": they come back when it is unarchived (a membership whose person is archived "
            "then comes back with that person).",
            "Archive",
            lambda engine: engine.archive_classroom(f"#{room.classroom_id}"),
            busy=f"Archiving {room.name}…",
            done=(f"{room.name} is archived.", "Archived"),
        )

    def action_unarchive(self) -> None:
        room = self.room
        ask_then_write(
            self,
            f"Unarchive {room.name}?",
            f"{room.name} becomes active again, with the memberships archiving it took.",
            "Unarchive",
            lambda engine: engine.unarchive_classroom(f"#{room.classroom_id}"),
            busy=f"Unarchiving {room.name}…",
            done=(f"{room.name} is active again.", "Unarchived"),
        )

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#record-tabs", TabbedContent)
        tabs.active = tab_after(tabs, CLASSROOM_TABS, step)
