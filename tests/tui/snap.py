"""Helpers for the snapshot tests: drive the app to a state, then let snap_compare take the SVG."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from time import monotonic
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Tabs
from textual.widgets._tabs import Underline

from daemon.service.engine import Engine
from tests.district import TinyDistrict, write_changes_only_manifest
from tests.tui.conftest import FIXED_NOW, SAMPLE, make_app, press, type_text

Step = str | tuple[str, str]  # a key, ("type", text) or ("open", "RUN:TAB")


def shoot(
    snap_compare: Any,
    client: Any,
    *steps: Step,
    size: tuple[int, int] = (80, 24),
    **app_options: Any,
) -> bool:
    """The app on `client`, after the steps (each waits for the work it starts)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await press(pilot)
        for step in steps:
            if isinstance(step, tuple) and step[0] == "open":
                run_id, tab = step[1].split(":")
                pilot.app.open_run(int(run_id), tab)  # type: ignore[attr-defined]
                await press(pilot)
            elif isinstance(step, tuple):
                await enter_text(pilot, step[1])
            else:
                await press(pilot, step)
        # a tab's underline moves after its label changes (after a refresh, then animated):
        # let it arrive before the picture
        for _ in range(3):
            await pilot.pause()
            await pilot.wait_for_scheduled_animations()
        await underline_arrived(pilot)

    return snap_compare(make_app(client, **app_options), terminal_size=size, run_before=run_before)


async def underline_arrived(pilot: Pilot[Any], seconds: float = 5.0) -> None:
    """Wait until every tab row's underline lies under its active tab. On a loaded machine the
    move after a relabel can come a refresh later than the waits above; one that never arrives
    stays in the picture, and the snapshot fails on it."""
    deadline = monotonic() + seconds
    while monotonic() < deadline and not all(
        underline_under_active(tabs) for tabs in pilot.app.screen.query(Tabs)
    ):
        await pilot.pause(0.05)


def underline_under_active(tabs: Tabs) -> bool:
    active = tabs.active_tab
    if active is None:
        return True
    underline = tabs.query_one(Underline)
    span = active.virtual_region.shrink(active.styles.gutter).column_span
    return (underline.highlight_start, underline.highlight_end) == span


async def enter_text(pilot: Pilot[Any], text: str) -> None:
    """Put text in the focused field at once (one search instead of one per keystroke)."""
    field = pilot.app.focused
    if isinstance(field, Input):
        start, end = sorted(field.selection)  # typed text replaces a selection, as typing does
        field.value = field.value[:start] + text + field.value[end:]
        field.cursor_position = start + len(text)
        await press(pilot)
    else:
        await type_text(pilot, text)


def pin_run(engine: Engine, run_id: int, at: datetime) -> None:
    """A run made during the test gets a fixed time, so the picture does not depend on today."""
    engine.db.execute(
        """UPDATE runs SET created_at = ?, planned_at = CASE WHEN planned_at IS NULL THEN NULL
                  ELSE ? END, decided_at = CASE WHEN decided_at IS NULL THEN NULL ELSE ? END
           WHERE run_id = ?""",
        [at, at + timedelta(minutes=1), at + timedelta(minutes=30), run_id],
    )


def district_sized(engine: Engine, run_id: int, changes: dict[str, dict[str, int]]) -> None:
    """A run's counts as a large district's night has them (the screens read the counts from
    the run's summary; its change rows stay the small drop's)."""
    summary = json.loads(
        engine.db.one("SELECT summary_json FROM runs WHERE run_id = ?", [run_id]) or "{}"
    )
    summary["changes"] = changes
    engine.db.execute(
        "UPDATE runs SET summary_json = ? WHERE run_id = ?", [json.dumps(summary), run_id]
    )


def add_failed_run(engine: Engine, folder: Path) -> int:
    """A drop with no OneRoster files at all: the run fails and changes nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "readme.txt").write_text("not a roster\n")
    run = engine.plan_source(str(folder))
    pin_run(engine, run.run_id, FIXED_NOW.replace(hour=8, minute=15))
    return run.run_id


def unchanged_run(engine: Engine) -> int:
    """On a fresh database: a small drop applied, then planned again (nothing to change)."""
    first = engine.plan_source(str(SAMPLE / "oneroster12"))
    engine.apply_run(first.run_id)
    second = engine.plan_source(str(SAMPLE / "oneroster12"))
    pin_run(engine, first.run_id, FIXED_NOW - timedelta(days=1, hours=7))
    pin_run(engine, second.run_id, FIXED_NOW.replace(hour=2, minute=0))
    return second.run_id


def roles_only_run(engine: Engine, folder: Path) -> int:
    """On a fresh database: the 1.2 sample applied, then a changes-only drop whose one roles.csv
    row gives a teacher a second role (no record changes; reference data to keep)."""
    first = engine.plan_source(str(SAMPLE / "oneroster12"))
    engine.apply_run(first.run_id)
    folder.mkdir(parents=True)
    users = (SAMPLE / "oneroster12" / "users.csv").read_text().splitlines()
    (folder / "users.csv").write_text(
        "\n".join([users[0], *(u for u in users if u.startswith("tch-5001,"))]) + "\n"
    )
    roles = (SAMPLE / "oneroster12" / "roles.csv").read_text().splitlines()
    aide = (
        "rol-000012,active,2026-11-05T06:00:00.000Z,tch-5001,secondary,aide,2026-08-24,,sch-pine,"
    )
    (folder / "roles.csv").write_text(f"{roles[0]}\n{aide}\n")
    write_changes_only_manifest(SAMPLE / "oneroster12", folder, ("users", "roles"))
    second = engine.plan_source(str(folder))
    pin_run(engine, first.run_id, FIXED_NOW - timedelta(days=1, hours=7))
    pin_run(engine, second.run_id, FIXED_NOW.replace(hour=2, minute=0))
    return second.run_id


Before = Callable[[Pilot[Any]], Awaitable[None]]


def role_change_run(engine: Engine, folder: Path) -> int:
    """On a fresh database: day 1 of the sample applied, then the same drop with the first
    student who has guardians made a teacher: their links and attribute go with the role."""
    return first_student_changed_run(engine, folder, "role", "teacher")


def first_student_changed_run(engine: Engine, folder: Path, column: str, value: str) -> int:
    """Day 1 of the sample applied, then the same drop with one column of the first student who
    has guardians set to `value` (a role, a status)."""
    first = engine.plan_source(str(SAMPLE / "day1"))
    engine.apply_run(first.run_id, scan_duplicates=False)
    shutil.copytree(SAMPLE / "day1", folder)
    lines = (folder / "users.csv").read_text(encoding="utf-8-sig").splitlines()
    header = [c.strip('"') for c in lines[0].split(",")]
    role, agents, changed = (
        header.index("role"),
        header.index("agentSourcedIds"),
        header.index(column),
    )
    for i, line in enumerate(lines[1:], start=1):
        values = next(csv.reader([line]))
        if values[role] == "student" and values[agents]:
            values[changed] = value
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(values)
            lines[i] = out.getvalue()
            break
    (folder / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    second = engine.plan_source(str(folder))
    pin_run(engine, first.run_id, FIXED_NOW - timedelta(days=1, hours=7))
    pin_run(engine, second.run_id, FIXED_NOW.replace(hour=2, minute=0))
    return second.run_id


LONG_SCHOOL = "Birch Hollow Elementary School for the Visual and Performing Arts"
CLOSING_REASON = (
    "Birch Hollow closed at the end of the spring term; its students moved to Alder, and the "
    "board asked us to keep anyone the front office still works with"
)
SCHOOL_B_STUDENTS = {"stu-7", "stu-8", "stu-9", "stu-10"}


def closed_school_decided(
    engine: Engine, root: Path, decision: str = "approve", reason: str = CLOSING_REASON
) -> int:
    """On a fresh database: the tiny district applied, its second school under a long name; then
    a night without that school (its org, class, people, memberships) over the deletion
    threshold, under threshold_action = withhold_archives, so its archives wait. Before the
    decision one of its students and its class are edited by hand: an approval keeps them (and
    what goes with them, and the school they are in) and archives the rest."""
    district = TinyDistrict()
    district.row("orgs.csv", "sch-b")["name"] = LONG_SCHOOL
    first = engine.plan_source(str(district.write(root)))
    engine.apply_run(first.run_id, scan_duplicates=False)
    closed = district.copy()
    closed.remove("orgs.csv", sourcedId="sch-b")
    closed.remove("classes.csv", schoolSourcedId="sch-b")
    closed.remove("enrollments.csv", classSourcedId="cls-b1")
    closed.remove("users.csv", orgSourcedIds="sch-b")
    closed.files["demographics.csv"] = [
        row for row in closed.rows("demographics.csv") if row["sourcedId"] not in SCHOOL_B_STUDENTS
    ]
    engine.settings_set("threshold_action", "withhold_archives")
    second = engine.plan_source(str(closed.write(root)))
    engine.apply_run(second.run_id, scan_duplicates=False)
    engine.edit_contact("stu-7", {"email": "gus.silva@family.example.net"})
    engine.rename_classroom("cls-b1", "Homeroom 5B (moved to the Alder annex)")
    engine.decide_withheld(second.run_id, decision, reason)
    pin_run(engine, first.run_id, FIXED_NOW - timedelta(days=1, hours=7))
    pin_run(engine, second.run_id, FIXED_NOW.replace(hour=2, minute=0))
    engine.db.execute(
        "UPDATE runs SET withheld_decided_at = ? WHERE run_id = ?",
        [FIXED_NOW.replace(hour=9, minute=10), second.run_id],
    )
    return second.run_id
