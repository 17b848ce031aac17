"""The review UI says when notifications wait or could not be sent: one line on the Runs
screen, only then (the line is hidden when everything was sent, so the usual screens are as
before)."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.widgets import Static

from daemon.notify.config import NotifyConfig
from daemon.notify.outbox import deliver_due, record_event
from roster_tui.screens.runs import RunsScreen
from tests.tui.conftest import make_app, settle, text_of

SIZE = (80, 24)


def broken_channel() -> NotifyConfig:
    return NotifyConfig.model_validate(
        {
            "district": "Riverbend Unified",
            "webhook": [{"url": "http://127.0.0.1:9/hooks/t0k3n", "secret_env": "RS_UNSET"}],
        }
    )


async def test_the_runs_screen_shows_notifications_that_wait(demo_engine) -> None:
    now = datetime.now(UTC)
    config = broken_channel()
    record_event(demo_engine.db, config, "run_held", "run_held:3", {"run_id": 3}, now)
    deliver_due(demo_engine.db, config, lambda: now)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen) and app.screen.has_class("-outbox")
        line = text_of(app.screen.query_one("#runs-outbox", Static))
        assert line.strip() == (
            "Notifications: 1 waiting — webhook-1: the environment variable named by "
            "secret_env is not set or is empty (roster-sync status)"
        )


async def test_no_line_when_nothing_waits(demo_engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen) and not app.screen.has_class("-outbox")
        assert not app.screen.query_one("#runs-outbox", Static).display
