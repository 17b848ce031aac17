"""The outbox: events recorded once, a delivery per channel, attempts retried with backoff.

Why an outbox in the database: a sync must never wait for a mail server or fail because a
webhook is down, and a message must not be lost because the daemon restarted while the relay
was away. So an event is written in the same quick step that notices it, and delivering is a
separate, later step (`deliver_due`) that the daemon runs on a worker thread. Each attempt is
kept (`notify_attempts`) with what the server said; after `max_attempts` a delivery is marked
failed, and `roster-sync status` shows it with the channel's last error.

Times here are naive UTC (`utc()`), whatever the daemon's local zone.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.db import Database
from daemon.models import ChannelState, ChannelTestResult, NotifyStatus
from daemon.notify.channels import DeliveryError, send
from daemon.notify.config import NotifyConfig
from daemon.notify.messages import Message, render

LOG = logging.getLogger("roster_sync.notify")
BATCH = 20  # deliveries claimed per round; the lock is never held while sending


def utc(now: datetime) -> datetime:
    """An aware time as naive UTC, the way the notify tables store it."""
    if now.tzinfo is None:
        now = now.astimezone()
    return now.astimezone(UTC).replace(tzinfo=None)


def backoff_seconds(config: NotifyConfig, attempts: int) -> float:
    """Wait before attempt `attempts + 1`: base, 2 x base, 4 x base ... up to the maximum."""
    return min(config.retry_base_seconds * 2 ** max(attempts - 1, 0), config.retry_max_seconds)


def _next_id(db: Database, table: str, column: str) -> int:
    return int(db.one(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}"))


def event_exists(db: Database, key: str) -> bool:
    return bool(db.one("SELECT count(*) FROM notify_events WHERE dedup_key = ?", [key]))


def record_event(
    db: Database,
    config: NotifyConfig,
    kind: str,
    key: str,
    data: dict[str, Any],
    now: datetime,
    run_id: int | None = None,
) -> int | None:
    """Record an event once (by `key`) with a pending delivery for each channel that wants it.
    Returns the event's id, or None when it was recorded before."""
    if event_exists(db, key):
        return None
    message = render(kind, config.district, data)
    at = utc(now)
    with db.transaction():
        event_id = _next_id(db, "notify_events", "event_id")
        db.execute(
            """INSERT INTO notify_events (event_id, kind, dedup_key, run_id, created_at, district,
                   subject, body, command, screen, data)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                event_id, kind, key, run_id, at, message.district, message.subject,
                message.text, message.command, message.screen, json.dumps(data, sort_keys=True),
            ],
        )  # fmt: skip
        delivery_id = _next_id(db, "notify_deliveries", "delivery_id")
        for name, channel in config.channels():
            if channel.wants(kind):
                db.execute(
                    """INSERT INTO notify_deliveries (delivery_id, event_id, channel, status,
                           attempts, next_attempt_at) VALUES (?, ?, ?, 'pending', 0, ?)""",
                    [delivery_id, event_id, name, at],
                )
                delivery_id += 1
    LOG.info("notification: %s (event %d)", message.subject, event_id)
    return event_id


@dataclass
class Due:
    """A delivery to attempt now, with its message."""

    delivery_id: int
    event_id: int
    channel: str
    attempts: int
    created_at: datetime
    message: Message


def due(db: Database, config: NotifyConfig, now: datetime, limit: int = BATCH) -> list[Due]:
    """Pending deliveries whose time has come, oldest first. A delivery to a channel no longer in
    the config is marked dropped (it could never be sent)."""
    names = [name for name, _ in config.channels()]
    at = utc(now)
    if names:
        db.execute(
            "UPDATE notify_deliveries SET status = 'dropped', next_attempt_at = NULL, "
            "last_error = 'the channel is no longer configured' "
            "WHERE status = 'pending' AND NOT list_contains(?, channel)",
            [names],
        )
    else:
        db.execute(
            "UPDATE notify_deliveries SET status = 'dropped', next_attempt_at = NULL, "
            "last_error = 'the channel is no longer configured' WHERE status = 'pending'"
        )
    rows = db.dicts(
        """SELECT d.delivery_id, d.event_id, d.channel, d.attempts, e.kind, e.created_at,
                  e.district, e.subject, e.body, e.command, e.screen, e.data
           FROM notify_deliveries d JOIN notify_events e USING (event_id)
           WHERE d.status = 'pending' AND d.next_attempt_at <= ?
           ORDER BY d.next_attempt_at, d.delivery_id LIMIT ?""",
        [at, limit],
    )
    return [
        Due(
            delivery_id=r["delivery_id"],
            event_id=r["event_id"],
            channel=r["channel"],
            attempts=r["attempts"],
            created_at=r["created_at"],
            message=Message(
                kind=r["kind"],
                district=r["district"],
                subject=r["subject"],
                text=r["body"],
                command=r["command"],
                screen=r["screen"],
                data=json.loads(r["data"]),
            ),
        )
        for r in rows
    ]


def record_attempt(
    db: Database,
    config: NotifyConfig,
    item: Due,
    ok: bool,
    note: str,
    now: datetime,
    seconds: float,
) -> str:
    """Keep the attempt; the delivery is sent, pending again later (backoff) or failed."""
    at = utc(now)
    attempt = item.attempts + 1
    if ok:
        status, next_at, error = "sent", None, None
    elif attempt >= config.max_attempts:
        status, next_at, error = "failed", None, note
    else:
        status = "pending"
        next_at = at + timedelta(seconds=backoff_seconds(config, attempt))
        error = note
    with db.transaction():
        db.execute(
            "INSERT INTO notify_attempts VALUES (?, ?, ?, ?, ?, ?)",
            [item.delivery_id, attempt, at, ok, note, round(seconds, 3)],
        )
        db.execute(
            """UPDATE notify_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,
                   last_attempt_at = ?, last_error = coalesce(?, last_error),
                   sent_at = CASE WHEN ? THEN ? ELSE sent_at END
               WHERE delivery_id = ?""",
            [status, attempt, next_at, at, error, ok, at, item.delivery_id],
        )
    if not ok:
        then = (
            f"next try at {next_at:%Y-%m-%d %H:%M:%S} UTC"
            if next_at
            else f"gave up after {attempt} attempts"
        )
        LOG.warning(
            "notification %d (%s) to %s failed, attempt %d: %s; %s",
            item.event_id, item.message.kind, item.channel, attempt, note, then,
        )  # fmt: skip
    return status


def next_due(db: Database) -> datetime | None:
    """When the next pending delivery is due (naive UTC), or None."""
    return db.one("SELECT min(next_attempt_at) FROM notify_deliveries WHERE status = 'pending'")


def deliver_due(
    db: Database,
    config: NotifyConfig,
    clock: Any,
    lock: AbstractContextManager[Any] | threading.Lock | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Attempt every delivery due now; returns how many were attempted. The database is used
    under `lock` (the daemon's write lock) for moments only; sending happens outside it."""
    guard = lock if lock is not None else nullcontext()
    channels = dict(config.channels())
    attempted = 0
    while stop is None or not stop.is_set():
        with guard:
            batch = due(db, config, clock())
        if not batch:
            break
        for item in batch:
            if stop is not None and stop.is_set():
                break
            started = time.monotonic()
            try:
                note = send(
                    channels[item.channel], item.message, event_id=item.event_id,
                    delivery_id=f"{item.event_id}-{item.delivery_id}",
                    created_at=item.created_at.isoformat() + "Z",
                    timeout=config.timeout_seconds,
                )  # fmt: skip
                ok = True
            except DeliveryError as exc:
                ok, note = False, str(exc)
            except Exception as exc:  # a bug in sending never reaches the sync
                ok, note = False, f"internal error: {type(exc).__name__}"
                LOG.exception("sending notification %d failed", item.event_id)
            with guard:
                record_attempt(db, config, item, ok, note, clock(), time.monotonic() - started)
            attempted += 1
    return attempted


def outbox_status(db: Database) -> NotifyStatus:
    """Counts per channel and each channel's last error (words safe to show: no secrets)."""
    if not db.table_exists("notify_deliveries"):
        return NotifyStatus()
    rows = db.dicts(
        """SELECT channel,
                  count(*) FILTER (status = 'pending') AS pending,
                  count(*) FILTER (status = 'failed') AS failed,
                  count(*) FILTER (status = 'sent') AS sent,
                  max(sent_at) AS last_sent_at
           FROM notify_deliveries GROUP BY channel ORDER BY channel"""
    )
    errors = {
        r["channel"]: r
        for r in db.dicts(
            """SELECT d.channel, a.note AS last_error, a.attempted_at AS last_error_at
               FROM notify_attempts a JOIN notify_deliveries d USING (delivery_id)
               WHERE NOT a.ok
               QUALIFY row_number() OVER (PARTITION BY d.channel ORDER BY a.attempted_at DESC,
                                          a.delivery_id DESC, a.attempt DESC) = 1"""
        )
    }
    channels = []
    for r in rows:
        err = errors.get(r["channel"], {})
        last_error_at = err.get("last_error_at")
        if last_error_at is not None and r["last_sent_at"] and r["last_sent_at"] > last_error_at:
            err = {}  # it works again: an old error is no longer news
        channels.append(
            ChannelState(
                channel=r["channel"],
                pending=r["pending"],
                failed=r["failed"],
                sent=r["sent"],
                last_sent_at=r["last_sent_at"],
                last_error=err.get("last_error"),
                last_error_at=err.get("last_error_at"),
            )
        )
    return NotifyStatus(
        pending=sum(c.pending for c in channels),
        failed=sum(c.failed for c in channels),
        sent=sum(c.sent for c in channels),
        channels=channels,
    )


def send_test(config: NotifyConfig) -> list[ChannelTestResult]:
    """`roster-sync notify test`: a test message straight to every channel, now (not queued, no
    retries: the person running it wants to know at once). One result per channel."""
    results = []
    for name, channel in config.channels():
        message = render("test", config.district, {"channel": name})
        started = time.monotonic()
        try:
            note = send(
                channel, message, event_id=None, delivery_id=f"test-{int(time.time())}",
                created_at=datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z",
                timeout=config.timeout_seconds,
            )  # fmt: skip
            ok = True
        except DeliveryError as exc:
            ok, note = False, str(exc)
        results.append(
            ChannelTestResult(
                channel=name,
                target=channel.describe(),
                ok=ok,
                detail=note,
                seconds=round(time.monotonic() - started, 2),
            )
        )
        LOG.log(
            logging.INFO if ok else logging.WARNING,
            "test notification to %s: %s", name, note,
        )  # fmt: skip
    return results
