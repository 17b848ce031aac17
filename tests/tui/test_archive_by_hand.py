"""Archiving by hand from a record's screen: a person (any), a classroom (one made by hand).

Each asks first, saying what goes with the record and which open runs the change supersedes,
then writes through the engine (the CLI's `users archive` and `classrooms archive`)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmScreen
from roster_tui.screens.record import ClassroomScreen, RecordScreen, readable
from tests.tui.conftest import make_app, notices_of, press, text_of, type_text
from tests.tui.snap import shoot

SIZE = (80, 24)
STUDENT = "stu-1285"  # active in the demo, in classes and with guardians


def _status(engine: Engine, sis_id: str) -> str:
    return engine.db.one("SELECT status FROM users WHERE sis_id = ?", [sis_id])


def _name(engine: Engine, sis_id: str) -> str:
    return engine.db.one("SELECT given_name || ' ' || family_name FROM users WHERE sis_id = ?",
                         [sis_id])  # fmt: skip


def _chess_club(engine: Engine) -> int:
    """A classroom made by hand, with two students of the demo in it."""
    school = engine.db.one(
        "SELECT min(c.school_id) FROM enrollments e JOIN classrooms c USING (classroom_id) "
        "JOIN users u USING (user_id) WHERE u.sis_id = ?",
        [STUDENT],
    )
    club = engine.create_classroom("Chess Club", f"#{school}")
    engine.add_classroom_member(f"#{club}", STUDENT, "student")
    return club


async def _open_person(pilot: Pilot[Any], sis_id: str) -> None:
    await press(pilot, "5")
    await type_text(pilot, sis_id)
    await press(pilot, "enter", "enter")
    assert isinstance(pilot.app.screen, RecordScreen)


async def _open_classroom(pilot: Pilot[Any], name: str) -> None:
    await press(pilot, "5")
    await type_text(pilot, name)
    await press(pilot, "tab", "k", "k", "k", "k", "tab", "enter")
    assert isinstance(pilot.app.screen, ClassroomScreen)


def _consequences(app: Any) -> str:
    assert isinstance(app.screen, ConfirmScreen)
    return " ".join(text_of(app.screen.query_one("#consequences")).split())


async def test_a_person_is_archived_from_their_record(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_person(pilot, STUDENT)
        await press(pilot, "a", "y")
        assert f"Archived: {_name(demo_engine, STUDENT)} is archived." in notices_of(app)
        assert app.screen.check_action("archive", ()) is False
        assert app.screen.check_action("unarchive", ()) is True
    assert _status(demo_engine, STUDENT) == "archived"
    assert (
        demo_engine.db.one(
            "SELECT count(*) FROM enrollments e JOIN users u USING (user_id) "
            "WHERE u.sis_id = ? AND e.status = 'active'",
            [STUDENT],
        )
        == 0
    )


async def test_the_question_says_what_goes_with_the_person_and_what_a_run_then_does(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_person(pilot, STUDENT)
        await press(pilot, "a")
        said = _consequences(app)
    assert "is archived by hand; their " in said
    assert "are archived with them and come back when they are unarchived" in said
    assert "the next run brings them back, unless the setting archived_students" in said
    assert _status(demo_engine, STUDENT) == "active"  # nothing happens before the answer


async def test_the_question_names_the_open_runs_the_change_supersedes(demo_engine: Engine) -> None:
    open_runs = sorted(r.run_id for r in demo_engine.list_runs() if r.status in ("planned", "held"))
    assert open_runs
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_person(pilot, STUDENT)
        await press(pilot, "a")
        said = _consequences(app)
    assert f"open runs ({', '.join(map(str, open_runs))}) are superseded" in said


async def test_escape_archives_no_one(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_person(pilot, STUDENT)
        await press(pilot, "a", "escape")
        assert isinstance(app.screen, RecordScreen)
    assert _status(demo_engine, STUDENT) == "active"


async def test_a_person_archived_from_their_record_comes_back_with_unarchive(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_person(pilot, STUDENT)
        await press(pilot, "a", "y", "u", "y")
        assert app.screen.check_action("archive", ()) is True
    assert _status(demo_engine, STUDENT) == "active"
    assert (
        demo_engine.db.one(
            "SELECT count(*) FROM enrollments e JOIN users u USING (user_id) "
            "WHERE u.sis_id = ? AND e.status = 'archived'",
            [STUDENT],
        )
        == 0
    )


async def test_a_classroom_made_by_hand_is_archived_with_its_memberships(
    demo_engine: Engine,
) -> None:
    club = _chess_club(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_classroom(pilot, "Chess")
        await press(pilot, "a")
        assert "is archived with its 1 membership" in _consequences(app)
        await press(pilot, "y")
        assert app.screen.room.status == "archived"
        assert "Archived: Chess Club is archived." in notices_of(app)
    assert demo_engine.db.rows(
        "SELECT c.status, e.status FROM classrooms c JOIN enrollments e USING (classroom_id) "
        "WHERE classroom_id = ?",
        [club],
    ) == [("archived", "archived")]


async def test_a_classroom_made_by_hand_comes_back_with_its_memberships(
    demo_engine: Engine,
) -> None:
    club = _chess_club(demo_engine)
    demo_engine.archive_classroom(f"#{club}")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_classroom(pilot, "Chess")
        assert app.screen.check_action("archive", ()) is False
        await press(pilot, "u", "y")
        assert app.screen.room.status == "active"
    assert demo_engine.db.rows(
        "SELECT c.status, e.status FROM classrooms c JOIN enrollments e USING (classroom_id) "
        "WHERE classroom_id = ?",
        [club],
    ) == [("active", "active")]


async def test_a_classroom_of_the_sis_offers_neither(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_classroom(pilot, "algebra")
        screen = app.screen
        assert screen.room.origin == "sync"
        assert screen.check_action("archive", ()) is False
        assert screen.check_action("unarchive", ()) is False
        await press(pilot, "a")
        assert app.screen is screen  # no question: its classes.csv archives it


def test_what_an_archive_took_reads_as_counts() -> None:
    detail = '{"archived": {"enrollments": [12, 13], "guardian_links": [4], "attributes": []}}'
    assert readable(detail) == "archived: 2 enrollments, 1 guardian link"


def test_the_archive_question_at_60x15(snap_compare, demo_engine: Engine) -> None:
    steps = ("5", ("type", STUDENT), "enter", "enter", "a")
    assert shoot(snap_compare, demo_engine, *steps, size=(60, 15))
