"""Duplicates: a lasting decision is taken only deliberately, one at a time, and says what it
does to open runs before it is taken."""

from __future__ import annotations

import threading
from typing import Any

from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmScreen
from roster_tui.screens.duplicates import DuplicatesScreen
from tests.tui.conftest import make_app, notices_of, press, settle, text_of


def decided(engine: Engine, status: str) -> list[int]:
    rows = engine.db.rows(
        "SELECT candidate_id FROM duplicate_candidates WHERE status = ? ORDER BY candidate_id",
        [status],
    )
    return [row[0] for row in rows]


def open_runs(engine: Engine) -> list[int]:
    return sorted(r.run_id for r in engine.list_runs(200) if r.status in ("planned", "held"))


def question(app: Any) -> str:
    assert isinstance(app.screen, ConfirmScreen)
    title = text_of(app.screen.query_one("#dialog-title"))
    return " ".join((title + " " + text_of(app.screen.query_one("#consequences"))).split())


class SlowClient:
    """The engine, but the named operation finishes only when the test says so."""

    is_remote = False

    def __init__(self, engine: Engine, slow: str) -> None:
        self.engine, self.db, self.slow = engine, engine.db, slow
        self.go = threading.Event()

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.engine, method)
        if method != self.slow:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.go.wait(10)
            return target(*args, **kwargs)

        return call


async def test_not_same_asks_first_naming_both_people(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4")
        pair = app.screen.candidates[0]
        await press(pilot, "n")
        asked = question(app)
        assert f"#{pair.left.user_id} " in asked and f"#{pair.right.user_id} " in asked
        assert "never proposed again" in asked
        await press(pilot, "escape")
        assert isinstance(app.screen, DuplicatesScreen)
        assert app.screen.candidates[0].candidate_id == pair.candidate_id
    assert decided(demo_engine, "rejected") == []


async def test_not_same_says_the_open_runs_it_supersedes(demo_engine: Engine) -> None:
    runs = open_runs(demo_engine)
    assert runs
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4", "n")
        assert f"open runs ({', '.join(map(str, runs))}) are superseded" in question(app)
        await press(pilot, "y")
        assert any(
            f"Open runs superseded: {', '.join(map(str, runs))}" in n for n in notices_of(app)
        )
    assert open_runs(demo_engine) == []


async def test_a_double_tap_of_not_same_rejects_one_pair_at_most(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4")
        first, second = app.screen.candidates[0], app.screen.candidates[1]
        await press(pilot, "n", "n")
        assert isinstance(app.screen, ConfirmScreen)  # the second n reached the question
        await press(pilot, "y")
        assert app.screen.candidates[0].candidate_id == second.candidate_id
    assert decided(demo_engine, "rejected") == [first.candidate_id]


async def test_decision_keys_wait_while_the_engine_is_answering(demo_engine: Engine) -> None:
    client = SlowClient(demo_engine, "duplicates_skip")
    app = make_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4")
        first, second = app.screen.candidates[0], app.screen.candidates[1]
        await pilot.press("s")  # not press(): it would wait for the engine
        await pilot.pause()
        await pilot.press("s", "n", "l")  # all while the skip is with the engine
        await pilot.pause()
        assert isinstance(app.screen, DuplicatesScreen)  # no question opened
        client.go.set()
        await settle(pilot)
        assert app.screen.candidates[0].candidate_id == second.candidate_id
    assert decided(demo_engine, "skipped") == [first.candidate_id]
    assert decided(demo_engine, "rejected") == []


async def test_the_merge_question_says_the_open_runs_it_supersedes(demo_engine: Engine) -> None:
    runs = open_runs(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4", "r")
        assert f"open runs ({', '.join(map(str, runs))}) are superseded" in question(app)


def merges_undone(engine: Engine) -> int:
    return engine.db.rows("SELECT count(*) FROM merges WHERE undone_at IS NOT NULL")[0][0]


async def test_undo_asks_first(demo_engine: Engine) -> None:
    pair = demo_engine.duplicates_list("open", 0, 1).items[0]
    keep = pair.survivor_id or pair.left.user_id
    demo_engine.duplicates_merge(candidate_id=pair.candidate_id, keep=keep)
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4", "u")
        assert "Undo the last merge?" in question(app)
        await press(pilot, "escape")
        assert merges_undone(demo_engine) == 0
        await press(pilot, "u", "y")
        assert any(n.startswith("Undone: ") for n in notices_of(app))
    assert merges_undone(demo_engine) == 1


async def test_the_undo_question_says_the_open_runs_it_supersedes(demo_engine: Engine) -> None:
    runs = open_runs(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4", "u")
        assert f"open runs ({', '.join(map(str, runs))}) are superseded" in question(app)


async def test_an_undo_that_cannot_put_everything_back_warns_instead_of_saying_all_is_back(
    demo_engine: Engine,
) -> None:
    """The survivor archived by hand since the merge takes the memberships the merge moved to
    it along: the undo gives them back archived, and the notice says so."""
    pair = demo_engine.duplicates_list("open", 0, 1).items[0]
    keep = pair.survivor_id or pair.left.user_id
    demo_engine.duplicates_merge(candidate_id=pair.candidate_id, keep=keep)
    survivor = demo_engine.db.one("SELECT sis_id FROM users WHERE user_id = ?", [keep])
    demo_engine.archive_user(survivor)
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4", "u", "y")
        notices = notices_of(app)
    assert not any("both records are back" in n for n in notices), notices
    assert any("made since the merge stay as they are now" in n for n in notices), notices
