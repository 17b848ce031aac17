"""The Drops view (d on Runs, while the daemon holds drops): the drops waiting, why, queued or
not, and the latest decisions; a waiting drop is set aside there with a reason (required, as
`roster-sync drops set-aside` requires it), in a worker, and the engine's answer or refusal is
shown in one line. Embedded (only queued drops: the database knows them) and through the daemon
(what its loop published)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Static

from daemon.models import WaitingDrop
from daemon.service.config import DaemonConfig
from daemon.service.daemon_engine import DaemonEngine
from daemon.service.drop_history import DropHistory
from daemon.service.engine import Engine
from daemon.service.state import DaemonState
from roster_tui.screens.dialogs import SetAsideScreen
from roster_tui.screens.drops import DropsScreen
from roster_tui.screens.runs import RunsScreen
from tests.tui.conftest import (
    UntoldViewerClient,
    ViewerClient,
    make_app,
    notices_of,
    press,
    text_of,
    type_text,
)
from tests.tui.snap import shoot

SIZE = (80, 24)
SHORT = (60, 15)
DECIDED_AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
REASON = "the SIS resent this night as day5"
UNLISTED = (
    "the last mirror could not list 2026-11-22/ (Permission denied); waiting for the next one, "
    "and every SFTP drop queued after it waits behind it"
)


def queue(engine: Engine, name: str, slot: int, source: str = "inbox") -> int:
    """A drop the daemon queued (inbox/.processing/NNNN/NAME) and stopped before planning."""
    folder = name if source == "inbox" else f"{source}-{name}"
    return DropHistory(engine.db, "daemon").record(
        source=source, name=name, status="queued", reason=None, now=DECIDED_AT,
        queued_as=Path(f"/srv/inbox/.processing/{slot:04d}/{folder}"),
    )  # fmt: skip


def decided(engine: Engine, name: str, status: str, reason: str, run_id: int | None = None) -> int:
    return DropHistory(engine.db, "daemon").record(
        source="inbox", name=name, status=status, reason=reason, now=DECIDED_AT, run_id=run_id
    )


def with_drops(engine: Engine) -> Engine:
    """Two decisions, then two drops queued: day4 first (it is taken first), then day5."""
    decided(engine, "day2", "planned", "complete; planned at the daily sync", run_id=2)
    decided(engine, "notes", "failed", "no OneRoster files in it (readme.txt only)")
    queue(engine, "day4", 1)
    queue(engine, "day5", 2)
    return engine


def daemon_holding(engine: Engine, tmp_path: Path, waiting: list[WaitingDrop]) -> DaemonEngine:
    """The engine as the daemon serves it, its loop holding `waiting` (and no loop running)."""
    config = DaemonConfig(
        database=engine.db.path,
        inbox=tmp_path / "inbox",
        archive=tmp_path / "archive",
        socket=tmp_path / "roster.sock",
    )
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    pending = [f"{w.name}: {w.why}" for w in waiting]
    state = DaemonState(config, lambda: now, threading.Event(), now, pending=pending)
    state.waiting = waiting
    return DaemonEngine(engine.db, "admin", state)


def rows_of(app: Any, table: str) -> list[list[str]]:
    found = app.screen.query_one(f"#{table}", DataTable)
    return [[str(cell) for cell in found.get_row_at(i)] for i in range(found.row_count)]


def problem_of(app: Any) -> str:
    assert isinstance(app.screen, SetAsideScreen)
    return text_of(app.screen.query_one("#problem", Static)).strip()


# ---------------------------------------------------------------- the view
async def test_d_opens_the_drops_waiting_and_the_latest_decisions(demo_engine: Engine) -> None:
    app = make_app(with_drops(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d")
        assert isinstance(app.screen, DropsScreen)
        waiting, recent = rows_of(app, "drops-waiting"), rows_of(app, "drops-recent")
    queued = "queued; the daemon is not running: it plans it when it starts, in export order"
    assert waiting == [["3", "day4", "yes", queued], ["4", "day5", "yes", queued]]
    assert recent == [
        ["4", "day5", "queued", ""],
        ["3", "day4", "queued", ""],
        ["2", "notes", "failed", "no OneRoster files in it (readme.txt only)"],
        ["1", "day2", "planned (run 2)", "complete; planned at the daily sync"],
    ]


async def test_the_runs_screen_offers_d_only_while_drops_wait(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d")
        assert isinstance(app.screen, RunsScreen)
        assert app.screen.check_action("drops", ()) is False
        queue(demo_engine, "day4", 1)
        await press(pilot, "ctrl+r")
        assert app.screen.check_action("drops", ()) is True
        line = text_of(app.screen.query_one("#runs-drops", Static))
    assert line.startswith("Drops: 1 waiting (d lists them) — day4: queued; the daemon is not ")


async def test_a_long_reason_is_in_full_in_the_box_under_the_list(
    demo_engine: Engine, tmp_path: Path
) -> None:
    unlisted = WaitingDrop(name="sftp-2026-11-22", why=UNLISTED, source="sftp", drop_id=7, queued=True)  # fmt: skip
    app = make_app(daemon_holding(demo_engine, tmp_path, [unlisted]))
    async with app.run_test(size=SHORT) as pilot:
        await press(pilot, "d")
        shown = " ".join(text_of(app.screen.query_one("#drops-preview", Static)).split())
    assert shown == f"sftp-2026-11-22 (drop 7) · sftp · queued Why it waits: {UNLISTED}"


# ---------------------------------------------------------------- setting a drop aside
async def test_a_drop_set_aside_with_a_reason_leaves_the_waiting_list(demo_engine: Engine) -> None:
    app = make_app(with_drops(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "s")
        assert isinstance(app.screen, SetAsideScreen)
        await type_text(pilot, REASON)
        await press(pilot, "enter")
        assert isinstance(app.screen, DropsScreen)
        assert [row[1] for row in rows_of(app, "drops-waiting")] == ["day5"]
        assert notices_of(app)[-1].startswith(
            "Drops: day4 (drop 3) is set aside: recorded as skipped, with your reason"
        )
    drops = demo_engine.drops()
    assert [w.name for w in drops.waiting] == ["day5"]
    day4 = next(d for d in drops.recent if d.name == "day4")
    assert (day4.status, day4.reason) == ("skipped", f"set aside by admin: {REASON}")


async def test_an_empty_reason_is_refused_in_the_dialog(demo_engine: Engine) -> None:
    app = make_app(with_drops(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "s")
        await type_text(pilot, "   ")
        await press(pilot, "enter")
        assert problem_of(app) == (
            "A reason is required to set a drop aside (it is kept, audited and shown)."
        )
    assert [w.name for w in demo_engine.drops().waiting] == ["day4", "day5"]


async def test_escape_sets_nothing_aside(demo_engine: Engine) -> None:
    app = make_app(with_drops(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "s")
        await type_text(pilot, REASON)
        await press(pilot, "escape")
        assert isinstance(app.screen, DropsScreen)
    assert [w.name for w in demo_engine.drops().waiting] == ["day4", "day5"]


async def test_a_drop_decided_meanwhile_is_refused_with_the_engines_line(
    demo_engine: Engine,
) -> None:
    app = make_app(with_drops(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d")
        demo_engine.set_aside_drop("day4", "someone else, at the CLI")  # after the list loaded
        await press(pilot, "s")
        await type_text(pilot, REASON)
        await press(pilot, "enter")
        assert notices_of(app)[-1] == (
            "Drop not set aside: drop 3 (day4) was set aside already (set aside by admin: "
            "someone else, at the CLI)"
        )
        assert [row[1] for row in rows_of(app, "drops-waiting")] == ["day5"]  # loaded again


async def test_set_aside_is_offered_on_a_waiting_drop_only(demo_engine: Engine) -> None:
    app = make_app(with_drops(demo_engine))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d")
        assert app.screen.check_action("set_aside", ()) is True
        await press(pilot, "tab")  # to the decisions
        assert app.screen.check_action("set_aside", ()) is False
        await press(pilot, "s")
        assert isinstance(app.screen, DropsScreen)


async def test_a_viewer_sees_the_drops_and_is_not_offered_the_set_aside(
    demo_engine: Engine,
) -> None:
    app = make_app(ViewerClient(with_drops(demo_engine)))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "s")
        assert isinstance(app.screen, DropsScreen)  # no dialog
        assert len(rows_of(app, "drops-waiting")) == 2
        assert app.screen.check_action("set_aside", ()) is False
    assert [w.name for w in demo_engine.drops().waiting] == ["day4", "day5"]


async def test_a_viewer_the_daemon_did_not_tell_about_is_refused_the_set_aside(
    demo_engine: Engine,
) -> None:
    app = make_app(UntoldViewerClient(with_drops(demo_engine)))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "s")
        await type_text(pilot, REASON)
        await press(pilot, "enter")
        assert notices_of(app)[-1].startswith("Permission denied: alice may not")
        assert len(rows_of(app, "drops-waiting")) == 2
        assert app.gw.access is None  # the older daemon's refusal of access: not a notice
        assert not any("not an operation" in n for n in notices_of(app))
    assert [w.name for w in demo_engine.drops().waiting] == ["day4", "day5"]


# ---------------------------------------------------------------- through the daemon
async def test_through_the_daemon_the_view_lists_what_its_loop_holds(
    demo_engine: Engine, tmp_path: Path
) -> None:
    unlisted = WaitingDrop(name="sftp-2026-11-22", why=UNLISTED, source="sftp", drop_id=7, queued=True)  # fmt: skip
    arriving = WaitingDrop(name="day6", why="a file is still arriving", source="inbox")
    app = make_app(daemon_holding(demo_engine, tmp_path, [unlisted, arriving]))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d")
        waiting = rows_of(app, "drops-waiting")
        await press(pilot, "down", "s")
        said = " ".join(text_of(app.screen.query_one("#consequences", Static)).split())
    assert waiting == [["7", "sftp-2026-11-22", "yes", UNLISTED], ["–", "day6", "no", "a file is still arriving"]]  # fmt: skip
    assert said.endswith(
        "Its files go from the inbox to the archive, and the drops after it go on."
    )


def answering_loop(state: DaemonState, refused: str | None = None) -> threading.Thread:
    """The daemon loop's part: it takes the set-aside asked and answers it (done, or refused
    with its line, as when the drop was decided since it published the list)."""

    def answer() -> None:
        state.wake.wait(5)
        for request in state.take_set_asides():
            request.refused = refused
            request.answer = None if refused else f"{request.drop} is set aside (by the loop)"
            request.done.set()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


async def test_through_the_daemon_the_loops_answer_is_shown(
    demo_engine: Engine, tmp_path: Path
) -> None:
    arriving = WaitingDrop(name="day6", why="a file is still arriving", source="inbox")
    daemon = daemon_holding(demo_engine, tmp_path, [arriving])
    app = make_app(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "s")
        await type_text(pilot, REASON)
        answering_loop(daemon.state)
        await press(pilot, "enter")
        assert notices_of(app)[-1] == "Drops: day6 is set aside (by the loop)"


async def test_through_the_daemon_a_refusal_of_the_loop_is_shown_in_one_line(
    demo_engine: Engine, tmp_path: Path
) -> None:
    arriving = WaitingDrop(name="day6", why="a file is still arriving", source="inbox")
    daemon = daemon_holding(demo_engine, tmp_path, [arriving])
    refusal = "drop 9 (day6) was planned as run 4, which waits for review: reject that run instead"
    app = make_app(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "s")
        await type_text(pilot, REASON)
        answering_loop(daemon.state, refused=refusal)
        await press(pilot, "enter")
        assert notices_of(app)[-1] == f"Drop not set aside: {refusal}"


# ---------------------------------------------------------------- pictures
def test_the_view_at_80x24(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, with_drops(demo_engine), "d")


def test_the_view_at_60x15(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, with_drops(demo_engine), "d", size=SHORT)


def test_the_dialog_refusing_an_empty_reason_at_80x24(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, with_drops(demo_engine), "d", "s", "enter")


def test_the_dialog_at_60x15(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, with_drops(demo_engine), "d", "s", ("type", REASON), size=SHORT)
