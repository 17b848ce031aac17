"""The outbox: an event is recorded once, each channel gets a delivery, a failed attempt is kept
and tried again with backoff, and nothing about a failure ever raises or holds a secret."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.db import Database
from daemon.notify.config import NotifyConfig
from daemon.notify.outbox import deliver_due, outbox_status, record_event
from daemon.service.engine import Engine

from .servers import SMTP_PASSWORD, WEBHOOK_SECRET, secret_file

T0 = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def deliveries(db: Database) -> list[tuple]:
    return db.rows(
        "SELECT channel, status, attempts, next_attempt_at, last_error FROM notify_deliveries "
        "ORDER BY delivery_id"
    )


def attempts(db: Database, channel: str) -> list[tuple]:
    return db.rows(
        """SELECT a.attempt, a.attempted_at, a.ok, a.note FROM notify_attempts a
           JOIN notify_deliveries d USING (delivery_id) WHERE d.channel = ? ORDER BY a.attempt""",
        [channel],
    )


def test_the_same_event_is_recorded_and_sent_once(day1, notify_config, smtp, hooks) -> None:
    data = {"source": "sftp", "hours": 25, "never": False}
    first = record_event(day1, notify_config, "source_unreachable", "k:1", data, T0)
    again = record_event(day1, notify_config, "source_unreachable", "k:1", data, T0)
    assert first == 1 and again is None
    assert [(c, s) for c, s, *_ in deliveries(day1)] == [
        ("email-1", "pending"),
        ("webhook-1", "pending"),
    ]
    assert deliver_due(day1, notify_config, Clock()) == 2
    assert deliver_due(day1, notify_config, Clock(T0 + timedelta(days=2))) == 0
    assert len(smtp.wait(1)) == 1 and len(hooks.wait(1)) == 1
    assert [(c, s, n) for c, s, n, *_ in deliveries(day1)] == [
        ("email-1", "sent", 1),
        ("webhook-1", "sent", 1),
    ]


def test_a_receiver_error_is_retried_after_the_backoff(day1, notify_config, hooks) -> None:
    notify_config.email = []
    hooks.script[:] = [500]
    record_event(day1, notify_config, "run_failed", "run_failed:9", {"run_id": 9}, T0)
    clock = Clock()
    deliver_due(day1, notify_config, clock)
    [(_, status, n, next_at, error)] = deliveries(day1)
    assert (status, n, next_at) == ("pending", 1, (T0 + timedelta(seconds=60)).replace(tzinfo=None))
    assert error.endswith("answered HTTP 500 Internal Server Error")

    clock.now = T0 + timedelta(seconds=59)
    assert deliver_due(day1, notify_config, clock) == 0  # not before its time
    clock.now = T0 + timedelta(seconds=60)
    assert deliver_due(day1, notify_config, clock) == 1
    assert [status for _, status, *_ in deliveries(day1)] == ["sent"]
    assert [(a, ok) for a, _, ok, _ in attempts(day1, "webhook-1")] == [(1, False), (2, True)]
    assert [h.answered for h in hooks.hooks] == [500, 200]
    assert hooks.hooks[0].json["delivery_id"] == hooks.hooks[1].json["delivery_id"]


def test_a_wrong_password_backs_off_then_gives_up_and_status_says_why(
    day1, notify_config: NotifyConfig, smtp, tmp_path: Path
) -> None:
    notify_config.webhook = []
    notify_config.max_attempts = 4
    notify_config.email[0].password_file = secret_file(tmp_path / "stale", "last-years-password")
    record_event(day1, notify_config, "run_failed", "run_failed:9", {"run_id": 9}, T0)
    clock, waits = Clock(), []
    for _ in range(4):
        assert deliver_due(day1, notify_config, clock) == 1  # never raises
        [(_, status, n, next_at, _)] = deliveries(day1)
        if next_at is not None:
            waits.append((next_at - clock.now.replace(tzinfo=None)).total_seconds())
            clock.now = next_at.replace(tzinfo=UTC)
    assert waits == [60, 120, 240]  # doubling, from retry_base_seconds
    assert (status, n) == ("failed", 4)
    assert smtp.logins_refused == 4 and smtp.mails == []

    state = outbox_status(day1)
    assert (state.pending, state.failed, state.sent) == (0, 1, 0)
    [channel] = state.channels
    assert channel.channel == "email-1"
    assert channel.last_error.startswith("127.0.0.1:")
    assert "refused the login of roster-robot: 535" in channel.last_error
    assert "last-years-password" not in channel.last_error


def test_no_secret_or_webhook_path_is_ever_stored(day1, notify_config, smtp, hooks) -> None:
    hooks.script[:] = [500]
    smtp.password = "the-server-changed-it"
    record_event(day1, notify_config, "run_failed", "run_failed:9", {"run_id": 9}, T0)
    deliver_due(day1, notify_config, Clock())
    stored = "\n".join(
        str(row)
        for table in ("notify_events", "notify_deliveries", "notify_attempts")
        for row in day1.rows(f"SELECT * FROM {table}")
    )
    assert "refused the login" in stored and "HTTP 500" in stored
    for secret in (SMTP_PASSWORD, WEBHOOK_SECRET, "t0k3n-in-the-path", "/hooks/roster"):
        assert secret not in stored
    status = Engine(day1, "tester").status().model_dump_json()
    assert "refused the login" in status
    for secret in (SMTP_PASSWORD, WEBHOOK_SECRET, "t0k3n-in-the-path"):
        assert secret not in status


def test_a_delivery_to_a_channel_removed_from_the_config_waits_for_it(
    day1, notify_config, hooks
) -> None:
    record_event(day1, notify_config, "run_failed", "run_failed:9", {"run_id": 9}, T0)
    notify_config.email = []
    assert deliver_due(day1, notify_config, Clock()) == 1
    assert [(c, s) for c, s, *_ in deliveries(day1)] == [
        ("email-1", "pending"),
        ("webhook-1", "sent"),
    ]


def test_a_recipient_the_relay_refuses_is_logged_and_shown_in_status(
    day1, notify_config, smtp, caplog
) -> None:
    notify_config.webhook = []
    smtp.refuse = {"it-oncall@riverbend.example.org"}
    record_event(day1, notify_config, "run_failed", "run_failed:9", {"run_id": 9}, T0)
    caplog.clear()
    with caplog.at_level(logging.WARNING, "roster_sync.notify"):
        deliver_due(day1, notify_config, Clock())
    note = "sent to 1 of 2 recipients; 1 refused (550)"
    assert [r.getMessage() for r in caplog.records if r.name == "roster_sync.notify"] == [
        f"notification 1 (run_failed) to email-1 reached only some recipients: {note}"
    ]
    [(_, status, *_)] = deliveries(day1)
    assert status == "sent"  # not retried: the other recipient has it
    [channel] = outbox_status(day1).channels
    assert (channel.sent, channel.last_error) == (1, note)


def test_a_relay_that_took_the_mail_but_answers_quit_oddly_gets_it_once(
    day1, notify_config, smtp
) -> None:
    notify_config.webhook = []
    notify_config.max_attempts = 4
    smtp.quit_reply = "421 4.4.2 closing: too busy"
    record_event(day1, notify_config, "run_failed", "run_failed:9", {"run_id": 9}, T0)
    for hours in range(4):
        deliver_due(day1, notify_config, Clock(T0 + timedelta(hours=hours)))
    assert len(smtp.wait(1)) == 1
    state = outbox_status(day1)
    assert (state.sent, state.failed, state.channels[0].last_error) == (1, 0, None)
