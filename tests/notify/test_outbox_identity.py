"""A queued delivery belongs to the channel it was made for (who it reaches), not to a name
that moves with an edit of the config: channels are named by position by default, and an admin
edits the config exactly when a channel is broken and deliveries wait for a retry."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from daemon.notify.config import NotifyConfig
from daemon.notify.outbox import (
    ORPHAN_KEEP,
    deliver_due,
    next_due,
    outbox_status,
    record_event,
)
from daemon.service.engine import Engine

from .conftest import notify_values
from .test_outbox import T0, Clock, deliveries


def _config(hooks, secrets, smtp, webhooks: list[dict[str, Any]]) -> NotifyConfig:
    values = notify_values(smtp, hooks, secrets)
    values["email"] = []
    values["webhook"] = webhooks
    return NotifyConfig.model_validate(values)


def _hook(hooks, secrets, path: str, **extra: Any) -> dict[str, Any]:
    url = f"http://127.0.0.1:{hooks.port}/{path}"
    return {"url": url, "secret_file": str(secrets["webhook"]), **extra}


def _queue_for_the_pager(day1, hooks, secrets, smtp) -> None:
    """A run_failed for the pager (webhook-1) that waits for a retry (the pager answered 503)."""
    config = _config(hooks, secrets, smtp, [_hook(hooks, secrets, "pager")])
    hooks.script[:] = [503]
    record_event(day1, config, "run_failed", "run_failed:9", {"run_id": 9}, T0)
    deliver_due(day1, config, Clock())
    assert [(c, s) for c, s, *_ in deliveries(day1)] == [("webhook-1", "pending")]


def test_a_queued_delivery_stays_with_its_channel_when_one_is_added_above(
    day1, hooks, secrets, smtp
) -> None:
    _queue_for_the_pager(day1, hooks, secrets, smtp)
    edited = _config(
        hooks, secrets, smtp,
        [_hook(hooks, secrets, "superintendent", events=["daily_summary"]),
         _hook(hooks, secrets, "pager")],
    )  # fmt: skip
    deliver_due(day1, edited, Clock(T0 + timedelta(hours=1)))
    assert [(h.path, h.json["event"]) for h in hooks.accepted()] == [("/pager", "run_failed")]
    assert [(c, s) for c, s, *_ in deliveries(day1)] == [("webhook-2", "sent")]


def test_a_queued_delivery_follows_its_channel_when_it_is_named(day1, hooks, secrets, smtp) -> None:
    _queue_for_the_pager(day1, hooks, secrets, smtp)
    edited = _config(hooks, secrets, smtp, [_hook(hooks, secrets, "pager", name="it-pager")])
    deliver_due(day1, edited, Clock(T0 + timedelta(hours=1)))
    assert [h.path for h in hooks.accepted()] == ["/pager"]
    [channel] = outbox_status(day1).channels
    assert (channel.channel, channel.sent, channel.dropped) == ("it-pager", 1, 0)


def test_a_delivery_its_channel_no_longer_wants_is_dropped_logged_and_counted(
    day1, hooks, secrets, smtp, caplog
) -> None:
    _queue_for_the_pager(day1, hooks, secrets, smtp)
    edited = _config(hooks, secrets, smtp, [_hook(hooks, secrets, "pager", events=["run_held"])])
    caplog.clear()
    with caplog.at_level(logging.WARNING, "roster_sync.notify"):
        deliver_due(day1, edited, Clock(T0 + timedelta(hours=1)))
    assert [h.answered for h in hooks.hooks] == [503]  # nothing more was sent
    assert [r.getMessage() for r in caplog.records if r.name == "roster_sync.notify"] == [
        "notification 1 to webhook-1 dropped: webhook-1 no longer subscribes to run_failed"
    ]
    state = outbox_status(day1)
    assert (state.pending, state.sent, state.dropped) == (0, 0, 1)
    assert state.channels[0].last_error == "webhook-1 no longer subscribes to run_failed"


def test_a_delivery_waits_while_its_channel_is_commented_out_and_goes_when_it_is_back(
    day1, hooks, secrets, smtp
) -> None:
    _queue_for_the_pager(day1, hooks, secrets, smtp)
    without = _config(hooks, secrets, smtp, [])
    deliver_due(day1, without, Clock(T0 + timedelta(hours=1)))
    state = outbox_status(day1, without)
    assert (state.pending, state.dropped) == (1, 0)
    assert state.channels[0].last_error.startswith(
        "not in the config now; 1 notification waits for it, dropped 7 days after the event"
    )
    restored = _config(hooks, secrets, smtp, [_hook(hooks, secrets, "pager")])
    deliver_due(day1, restored, Clock(T0 + timedelta(hours=12)))
    assert [h.answered for h in hooks.hooks] == [503, 200]
    assert [s for _, s, *_ in deliveries(day1)] == ["sent"]


def test_a_delivery_whose_channel_stays_gone_is_dropped_after_a_week_and_logged(
    day1, hooks, secrets, smtp, caplog
) -> None:
    _queue_for_the_pager(day1, hooks, secrets, smtp)
    moved = _config(hooks, secrets, smtp, [_hook(hooks, secrets, "new-pager")])
    deliver_due(day1, moved, Clock(T0 + ORPHAN_KEEP - timedelta(minutes=1)))
    assert [s for _, s, *_ in deliveries(day1)] == ["pending"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, "roster_sync.notify"):
        deliver_due(day1, moved, Clock(T0 + ORPHAN_KEEP))
    assert [s for _, s, *_ in deliveries(day1)] == ["dropped"]
    [line] = [r.getMessage() for r in caplog.records if r.name == "roster_sync.notify"]
    assert line.startswith("notification 1 to webhook-1 dropped: its channel has not been in")
    assert outbox_status(day1).dropped == 1
    assert [h.answered for h in hooks.hooks] == [503]  # never to the other receiver


def test_a_delivery_waiting_for_a_gone_channel_is_not_due(day1, hooks, secrets, smtp) -> None:
    """Else the daemon's worker would start on every tick to find nothing it can send."""
    _queue_for_the_pager(day1, hooks, secrets, smtp)
    without = _config(hooks, secrets, smtp, [])
    deliver_due(day1, without, Clock(T0 + timedelta(hours=1)))
    assert next_due(day1, without) is None


def test_status_says_when_deliveries_wait_for_a_channel_gone_from_the_config(
    day1, hooks, secrets, smtp
) -> None:
    _queue_for_the_pager(day1, hooks, secrets, smtp)
    engine = Engine(day1, "tester")
    engine.notify_config = _config(hooks, secrets, smtp, [])
    [channel] = engine.status().notifications.channels
    assert channel.channel == "webhook-1" and channel.pending == 1
    assert channel.last_error is not None
    assert channel.last_error.startswith("not in the config now; 1 notification waits for it")
