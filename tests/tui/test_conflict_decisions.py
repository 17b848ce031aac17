"""Deciding conflicts decides only what the person saw, and asks before it changes the directory.

The demo's run 2 is planned with two conflicts: #1, a hand-edited e-mail (stu-1285), and #2, the
mobile phone of an active account (gdn-3136). Another terminal is the same database reached by
another `Engine` while the app is open.
"""

from __future__ import annotations

from typing import Any

from daemon.models import Run
from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmRunScreen, ConfirmScreen
from roster_tui.screens.run_detail import RunDetailScreen
from roster_tui.widgets.conflicts_panel import ConflictsPanel
from tests.tui.conftest import make_app, notices_of, press, text_of
from tests.tui.test_flows import text_of_renderable

SIZE = (80, 24)
HAND_EDITED = "stu-1285"  # conflict #1: the directory's e-mail was edited by hand
HAND_EMAIL, FEED_EMAIL = "h.lopez@family.example.net", "hlopez1285@example.org"


def decisions(engine: Engine) -> dict[int, tuple[str | None, str | None]]:
    return {c.conflict_id: (c.decision, c.decided_by) for c in engine.conflicts(2).items}


def email_of(engine: Engine, sis_id: str) -> str:
    return str(engine.find_users(sis_id).items[0]["email"])


def another_terminal(engine: Engine, actor: str = "other-admin") -> Engine:
    """The same database, as someone else (a command run while the app is open)."""
    return Engine(engine.db, actor)


class StatusReadEarly:
    """A client whose run statuses were read just before someone applied the run: the
    moment between the screen's question and its write."""

    is_remote = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db = engine.db

    def get_run(self, run_id: int) -> Run:
        return self.engine.get_run(run_id).model_copy(update={"status": "planned"})

    def __getattr__(self, method: str) -> Any:
        return getattr(self.engine, method)


# ---------------------------------------------------------------- taking at once asks first
async def test_take_in_the_conflicts_tab_of_an_applied_run_asks_first(demo_engine: Engine) -> None:
    demo_engine.apply_run(2)  # its conflicts stay open: taking one now changes the directory
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "enter")  # run 2, applied
        await press(pilot, "right_square_bracket", "right_square_bracket")  # its Conflicts tab
        await press(pilot, "t")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Run 2 is already applied" in text_of(app.screen.query_one("#consequences"))
        await press(pilot, "escape")
        assert isinstance(app.screen, RunDetailScreen)
    assert decisions(demo_engine)[1] == (None, None)
    assert email_of(demo_engine, HAND_EDITED) == HAND_EMAIL


async def test_take_asks_first_when_the_run_was_applied_after_the_list_was_shown(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2")  # every open conflict; run 2 is planned now
        another_terminal(demo_engine).apply_run(2)
        await press(pilot, "t")
        assert isinstance(app.screen, ConfirmScreen)
        assert decisions(demo_engine)[1] == (None, None)  # nothing before the answer
        await press(pilot, "enter")
    assert decisions(demo_engine)[1] == ("take", "admin")
    assert email_of(demo_engine, HAND_EDITED) == FEED_EMAIL


async def test_a_take_applied_between_the_question_and_the_write_is_refused_in_one_line(
    demo_engine: Engine,
) -> None:
    demo_engine.apply_run(2)
    app = make_app(StatusReadEarly(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "t")  # the screen saw run 2 as planned, so it did not ask
        assert not isinstance(app.screen, ConfirmScreen)
        [notice] = notices_of(app)
        assert notice.startswith("Not taken: confirm it first: conflict #1: run 2 is applied")
        assert "\n" not in notice
    assert decisions(demo_engine)[1] == (None, None)
    assert email_of(demo_engine, HAND_EDITED) == HAND_EMAIL


async def test_take_on_a_planned_run_decides_without_asking(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "t")  # run 2 is planned: the decision waits for its apply
        assert not isinstance(app.screen, ConfirmScreen)
    assert decisions(demo_engine)[1] == ("take", "admin")
    assert email_of(demo_engine, HAND_EDITED) == HAND_EMAIL  # until run 2 is applied


# ---------------------------------------------------------------- marks stand for what is shown
async def test_a_mark_on_a_conflict_decided_elsewhere_is_dropped_on_reload(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "space")  # marks #1
        panel = app.screen.query_one(ConflictsPanel)
        assert panel.marked == {1}
        another_terminal(demo_engine).resolve_conflicts([1], "keep")
        await press(pilot, "ctrl+r")  # #1 is no longer open: no longer listed
        assert [c.conflict_id for c in panel.table.items] == [2]
        assert panel.marked == set()
        assert "0 marked" in text_of(panel.query_one(".caption"))


async def test_deciding_after_a_reload_decides_the_highlighted_conflict_not_a_hidden_mark(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "space")  # marks #1; the cursor moves on to #2
        another_terminal(demo_engine).resolve_conflicts([1], "keep")
        await press(pilot, "ctrl+r", "t")
        assert notices_of(app) == ["Decided: 1 conflict (#2): take the feed's value."]
    assert decisions(demo_engine) == {1: ("keep", "other-admin"), 2: ("take", "admin")}


async def test_a_mark_on_a_conflict_decided_elsewhere_is_dropped_where_decided_ones_show(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "space")  # marks #1
        another_terminal(demo_engine).resolve_conflicts([1], "keep")
        await press(pilot, "v")  # open and decided: #1 is shown, decided
        panel = app.screen.query_one(ConflictsPanel)
        assert 1 in [c.conflict_id for c in panel.table.items]
        assert panel.marked == set()


async def test_a_decided_conflict_is_not_marked(demo_engine: Engine) -> None:
    demo_engine.resolve_conflicts([1], "keep")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "v", "space")  # #1, decided: keep
        panel = app.screen.query_one(ConflictsPanel)
        assert panel.marked == set()
        assert notices_of(app) == [
            "Warning: #1 is decided already; only open conflicts are marked."
        ] or (any("#1 is decided already" in n for n in notices_of(app)))


async def test_the_notice_names_the_conflicts_decided(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2", "asterisk", "k")  # every open conflict marked, then kept
        assert notices_of(app) == ["Decided: 2 conflicts (#1, #2): keep the directory's value."]


# ---------------------------------------------------------------- the approve dialog
async def test_the_approve_dialog_says_taken_feed_values_overwrite_the_directory(
    demo_engine: Engine,
) -> None:
    another_terminal(demo_engine).resolve_conflicts([1, 2], "take")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "a")  # approve run 2
        assert isinstance(app.screen, ConfirmRunScreen)
        body = " ".join(text_of_renderable(app.screen.body()).split())
    assert (
        "2 feed values taken: applying overwrites the directory's values there "
        "(hand edits, active accounts)." in body
    )


async def test_the_approve_dialog_says_nothing_of_taken_values_when_none_was_taken(
    demo_engine: Engine,
) -> None:
    demo_engine.resolve_conflicts([1, 2], "keep")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "a")
        assert isinstance(app.screen, ConfirmRunScreen)
        body = text_of_renderable(app.screen.body())
    assert "taken" not in body


async def test_the_run_summary_says_taken_feed_values_overwrite_the_directory(
    demo_engine: Engine,
) -> None:
    another_terminal(demo_engine).resolve_conflicts([1], "take")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "enter")  # run 2
        summary = " ".join(text_of(app.screen.query_one("#summary-text")).split())
    assert "1 feed value taken, applying overwrites the directory's there" in summary
