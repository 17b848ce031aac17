"""Directory: find a student, staff member, guardian or classroom, and open its record."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Select, Static

from roster_tui.screens.base import RosterScreen
from roster_tui.screens.record import STATUS_WORD, ClassroomScreen, RecordScreen, name_of
from roster_tui.widgets.chrome import Field, NavBar, Plain, bottom_bars
from roster_tui.widgets.paged_table import Column, PagedTable
from roster_tui.words import plural

KINDS = [
    ("People", "people"),
    ("Students", "student"),
    ("Staff", "staff"),
    ("Guardians", "guardian"),
    ("Classrooms", "classroom"),
]
# One of each kind, as a caption counts it ("1 person matching 'Okafor'").
ONE_OF = {
    "people": "person",
    "student": "student",
    "staff": "staff member",
    "guardian": "guardian",
    "classroom": "classroom",
}
PEOPLE_COLUMNS: list[Column] = [
    ("Name", 22, 0.3),
    ("Kind", 8),
    ("SIS id", 10),
    ("Status", 10),
    ("Schools", None),
]
CLASS_COLUMNS: list[Column] = [
    ("Classroom", 24, 0.3),
    ("SIS id", 20),
    ("Students", 8),
    ("School", None),
]


def person_row(user: dict[str, Any]) -> list[Any]:
    return [
        name_of(user),
        user.get("kind") or "",
        user.get("sis_id") or "–",
        STATUS_WORD.get(user.get("status", ""), user.get("status")),
        user.get("schools") or "–",
    ]


def classroom_row(c: dict[str, Any]) -> list[Any]:
    name = c.get("name") or ""
    if c.get("status") != "active":
        name = f"{name} ({STATUS_WORD.get(c.get('status', ''), c.get('status'))})"
    return [name, c.get("sis_id") or "–", str(c.get("students") or 0), c.get("school") or "–"]


class DirectoryScreen(RosterScreen):
    MODE = "directory"
    HELP = (
        "Find anyone in the directory by name (any order, any part), SIS id, student number or "
        "e-mail; choose what to look for in the list next to the search field. Enter opens the "
        "record: its links (guardians and students), classes and history (which runs changed "
        "it, and who edited it)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("k", "next_kind", "Kind"),
    ]

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        with Horizontal(id="directory-search"):
            yield Field(placeholder="name, SIS id, number or e-mail", id="query")
            yield Select(KINDS, value="people", allow_blank=False, id="kind")
        yield Plain("", classes="caption", id="directory-caption")
        yield PagedTable(id="directory")
        yield from bottom_bars()

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    @property
    def kind(self) -> str:
        return str(self.query_one(Select).value)

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self.search()

    def reload(self) -> None:
        if self.table.fetch is not None:
            self.table.reload()

    def search(self) -> None:
        gw, query, kind = self.gw, self.query_one(Input).value, self.kind
        if kind == "classroom":

            def classes(offset: int, limit: int) -> Any:
                return gw.run(lambda engine: engine.find_classrooms(query, offset, limit))

            self.table.configure(CLASS_COLUMNS, classes, classroom_row)
            return
        who = None if kind == "people" else kind

        def people(offset: int, limit: int) -> Any:
            return gw.run(lambda engine: engine.find_users(query, who, None, offset, limit))

        self.table.configure(PEOPLE_COLUMNS, people, person_row)

    @on(Input.Changed, "#query")
    @on(Select.Changed, "#kind")
    def criteria_changed(self) -> None:
        self.search()

    @on(Input.Submitted, "#query")
    def query_submitted(self) -> None:
        self.table.focus()

    @on(PagedTable.Loaded)
    def loaded(self, event: PagedTable.Loaded) -> None:
        label = dict((v, k) for k, v in KINDS)[self.kind].lower()
        query = self.query_one(Input).value.strip()
        scope = f" matching '{query}'" if query else ""
        counted = plural(event.total, ONE_OF[self.kind], label)
        self.query_one("#directory-caption", Static).update(
            f"{counted}{scope} · enter opens · k changes what to find"
            if event.total
            else f"No {label}{scope}."
        )
        self.refresh_bindings()

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.focused is self.table and self.table.highlighted is not None
        if action == "next_kind":
            return not isinstance(self.focused, Input)
        return True

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def action_next_kind(self) -> None:
        select = self.query_one(Select)
        values = [v for _, v in KINDS]
        select.value = values[(values.index(self.kind) + 1) % len(values)]

    def action_open(self) -> None:
        row = self.table.highlighted
        if row is None:
            return
        if self.kind == "classroom":
            self.app.push_screen(ClassroomScreen(row))
        else:
            self.app.push_screen(RecordScreen(int(row["user_id"])))
