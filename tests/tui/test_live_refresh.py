"""Through the daemon, the screens of what it does on its own (Runs, Drops, a run) ask again while they
are in front: a run planned at 02:00 appears without ctrl+r, and what the person highlighted
stays highlighted; nothing moves under a dialog, and embedded nothing is asked on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from daemon.models import WaitingDrop
from daemon.service.client import DaemonUnavailable
from daemon.service.engine import Engine
from roster_tui.screens.dialogs import ConfirmRunScreen
from roster_tui.screens.drops import DropsScreen
from roster_tui.screens.run_detail import RunDetailScreen
from roster_tui.screens.runs import RunsScreen
from tests.conftest import SAMPLE
from tests.tui.conftest import make_app, notices_of, press
from tests.tui.test_drops_view import daemon_holding, decided

SIZE = (80, 24)
EVERY = 0.4  # seconds between asks in these tests (15 in the app)


class ThroughTheDaemon:
    """The engine as the app sees a daemon's socket: remote (the app asks again on its own)."""

    is_remote = True
    path = "/run/roster-sync/roster-sync.sock"

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __getattr__(self, method: str) -> Any:
        return getattr(self.engine, method)


async def until(pilot: Any, condition: Any, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
        await pilot.pause()
    raise AssertionError("the screen did not change in time")


def runs_screen(app: Any) -> RunsScreen:
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    return screen


async def test_a_run_the_daemon_plans_appears_and_the_highlighted_run_stays(
    demo_engine: Engine,
) -> None:
    app = make_app(ThroughTheDaemon(demo_engine), refresh_seconds=EVERY)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down")
        assert runs_screen(app).current.run_id == 2
        # the daemon plans a drop at 02:00 (one call at a time on the one engine: the gateway's)
        planned = app.gw.run(lambda engine: engine.plan_source(str(SAMPLE / "day2"))).run_id
        await until(pilot, lambda: len(runs_screen(app).runs) == 4)
        screen = runs_screen(app)
        assert screen.runs[0].run_id == planned
        assert screen.current.run_id == 2


async def test_embedded_nothing_is_asked_on_its_own(demo_engine: Engine) -> None:
    app = make_app(demo_engine, refresh_seconds=EVERY)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot)
        app.gw.run(lambda engine: engine.reject_run(2))
        await asyncio.sleep(3 * EVERY)
        await press(pilot)
        assert runs_screen(app).runs[1].status == "planned"  # as loaded
        await press(pilot, "ctrl+r")
        assert runs_screen(app).runs[1].status == "rejected"


async def test_nothing_moves_under_a_dialog(demo_engine: Engine) -> None:
    app = make_app(ThroughTheDaemon(demo_engine), refresh_seconds=EVERY)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "a")
        assert isinstance(app.screen, ConfirmRunScreen)
        runs = app.screen_stack[-2]
        assert isinstance(runs, RunsScreen)
        app.gw.run(lambda engine: engine.reject_run(3))
        await asyncio.sleep(3 * EVERY)
        await press(pilot)
        assert isinstance(app.screen, ConfirmRunScreen)
        assert runs.runs[0].status == "held"  # as it was when the question was asked
        await press(pilot, "escape")
        await until(pilot, lambda: runs_screen(app).runs[0].status == "rejected")
        assert runs_screen(app).current.run_id == 2


def waiting(name: str, why: str = "waits for the daily sync at 02:00") -> WaitingDrop:
    return WaitingDrop(name=name, why=why, source="inbox")


async def test_the_highlighted_drop_stays_highlighted_when_one_arrives_before_it(
    demo_engine: Engine, tmp_path: Path
) -> None:
    daemon = daemon_holding(demo_engine, tmp_path, [waiting("day4"), waiting("day5")])
    app = make_app(ThroughTheDaemon(daemon), refresh_seconds=EVERY)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "down")
        screen = app.screen
        assert isinstance(screen, DropsScreen)
        assert screen.current_waiting is not None and screen.current_waiting.name == "day5"
        daemon.state.waiting = [waiting("day3"), waiting("day4"), waiting("day5")]
        await until(pilot, lambda: len(screen.drops.waiting) == 3)
        assert screen.current_waiting is not None and screen.current_waiting.name == "day5"


async def test_a_decision_highlighted_stays_so_while_a_waiting_drops_reason_changes(
    demo_engine: Engine, tmp_path: Path
) -> None:
    unlisted = "its folder cannot be listed on the SFTP server ({} minutes)"
    daemon = daemon_holding(demo_engine, tmp_path, [waiting("day4", unlisted.format(1))])
    decided(demo_engine, "day2", "planned", "complete; planned at the daily sync", run_id=2)
    decided(demo_engine, "notes", "failed", "no OneRoster files in it (readme.txt only)")
    app = make_app(ThroughTheDaemon(daemon), refresh_seconds=EVERY)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "tab", "down")
        screen = app.screen
        assert isinstance(screen, DropsScreen)
        assert screen.current_recent is not None and screen.current_recent.name == "day2"
        daemon.state.waiting = [waiting("day4", unlisted.format(2))]  # a minute later
        await until(pilot, lambda: "2 minutes" in screen.drops.waiting[0].why)
        assert screen.current_recent is not None and screen.current_recent.name == "day2"


class Restarting(ThroughTheDaemon):
    """A daemon that stops answering for a while (restarted by systemd, say)."""

    down = False

    def __getattr__(self, method: str) -> Any:
        if self.down:
            raise DaemonUnavailable(f"cannot reach the daemon at {self.path}: Connection refused")
        return super().__getattr__(method)


async def test_a_daemon_away_for_a_while_neither_empties_the_list_nor_moves_the_cursor(
    demo_engine: Engine,
) -> None:
    client = Restarting(demo_engine)
    app = make_app(client, refresh_seconds=EVERY)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down")
        client.down = True
        await asyncio.sleep(4 * EVERY)
        await press(pilot)
        screen = runs_screen(app)
        assert len(screen.runs) == 3 and screen.current.run_id == 2
        assert len([n for n in notices_of(app) if "cannot reach the daemon" in n]) == 1
        client.down = False
        app.gw.run(lambda engine: engine.reject_run(2))  # done while it was away
        await until(pilot, lambda: runs_screen(app).runs[1].status == "rejected")
        assert runs_screen(app).current.run_id == 2


async def test_a_run_applied_elsewhere_shows_as_applied_where_it_is_open(
    demo_engine: Engine,
) -> None:
    app = make_app(ThroughTheDaemon(demo_engine), refresh_seconds=EVERY)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "down", "enter")
        screen = app.screen
        assert isinstance(screen, RunDetailScreen) and screen.run is not None
        assert screen.run.status == "planned" and screen.check_action("approve", ())
        # another administrator approves it (or the daemon, under auto-apply)
        app.gw.run(lambda engine: engine.apply_run(2, scan_duplicates=False))
        await until(pilot, lambda: screen.run is not None and screen.run.status == "applied")
        assert "applied" in str(screen.query_one("#run-title").render())
        assert not screen.check_action("approve", ())
        assert screen.check_action("revert", ())
