"""The review UI says when the daemon holds drops it has not planned: one line on the Runs
screen, only then, with the first drop's reason (a folder its SFTP mirror cannot list, say)
and the key that lists them all (d: the Drops view, tests/tui/test_drops_view.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from textual.widgets import Static

from daemon.service.config import DaemonConfig
from daemon.service.daemon_engine import DaemonEngine
from daemon.service.engine import Engine
from daemon.service.state import DaemonState
from roster_tui.screens.runs import RunsScreen
from tests.tui.conftest import make_app, settle, text_of
from tests.tui.snap import shoot

SIZE = (80, 24)
UNLISTED = (
    "sftp-2026-09-15: the last mirror could not list 2026-09-15/ (Permission denied); waiting "
    "for the next one"
)


def _daemon(engine: Engine, tmp_path: Path, pending: list[str]) -> DaemonEngine:
    """The engine as the daemon serves it, its loop holding `pending` drops."""
    config = DaemonConfig(
        database=engine.db.path,
        inbox=tmp_path / "inbox",
        archive=tmp_path / "archive",
        socket=tmp_path / "roster.sock",
    )
    now = datetime(2026, 9, 16, 6, 0, tzinfo=UTC)
    state = DaemonState(config, lambda: now, threading.Event(), now, pending=pending)
    return DaemonEngine(engine.db, "admin", state)


async def test_the_runs_screen_shows_drops_the_daemon_holds(demo_engine, tmp_path) -> None:
    daemon = _daemon(demo_engine, tmp_path, [UNLISTED, "sftp-2026-09-16: queued"])
    app = make_app(daemon)
    async with app.run_test(size=(200, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen) and app.screen.has_class("-drops")
        line = text_of(app.screen.query_one("#runs-drops", Static))
    assert line.strip() == f"Drops: 2 waiting (d lists them) — {UNLISTED}"


async def test_no_line_when_the_daemon_holds_no_drop(demo_engine, tmp_path) -> None:
    app = make_app(_daemon(demo_engine, tmp_path, []))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen) and not app.screen.has_class("-drops")
        assert not app.screen.query_one("#runs-drops", Static).display


async def test_no_line_without_a_daemon(demo_engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen) and not app.screen.has_class("-drops")


def test_the_line_at_80x24(snap_compare, demo_engine, tmp_path) -> None:
    assert shoot(snap_compare, _daemon(demo_engine, tmp_path, [UNLISTED]))
