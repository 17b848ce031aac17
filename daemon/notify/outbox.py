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
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.db import Database
from daemon.models import ChannelState, ChannelTestResult, NotifyStatus
from daemon.notify.channels import DeliveryError, Sent, send
from daemon.notify.config import EmailChannel, NotifyConfig, WebhookChannel
from daemon.notify.messages import Message, render

LOG = logging.getLogger("roster_sync.notify")
BATCH = 20  # deliveries claimed per round; the lock is never held while sending
# How long a delivery waits for its channel to come back to the config (commented out for the
# night, say) before it is dropped; until then status and the log say it waits.
ORPHAN_KEEP = timedelta(days=7)
Channel = EmailChannel | WebhookChannel


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
        for name, key, channel in config.keyed():
            if channel.wants(kind):
                db.execute(
                    """INSERT INTO notify_deliveries (delivery_id, event_id, channel, channel_key,
                           status, attempts, next_attempt_at)
                       VALUES (?, ?, ?, ?, 'pending', 0, ?)""",
                    [delivery_id, event_id, name, key, at],
                )
                delivery_id += 1
    LOG.info("notification: %s (event %d)", message.subject, event_id)
    return event_id


@dataclass
class Due:
    """A delivery to attempt now, with its message and the channel it goes to."""

    delivery_id: int
    event_id: int
    channel: str
    attempts: int
    created_at: datetime
    message: Message
    target: Channel | None = None
    key: str | None = None


def _by_key(config: NotifyConfig) -> dict[str, tuple[str, Channel]]:
    """The configured channels by key (`NotifyConfig.keyed`)."""
    return {key: (name, channel) for name, key, channel in config.keyed()}


def _resolve(config: NotifyConfig, key: str | None, name: str) -> tuple[str, Channel] | None:
    """The channel a delivery was made for: by its key; a delivery from before keys, by name."""
    if key is not None:
        return _by_key(config).get(key)
    return next(((n, c) for n, c in config.channels() if n == name), None)


def _key_of(config: NotifyConfig, name: str) -> str:
    return next(key for n, key, _ in config.keyed() if n == name)


def _drop(db: Database, delivery_id: int, event_id: int, name: str, why: str, at: datetime) -> None:
    db.execute(
        "UPDATE notify_deliveries SET status = 'dropped', next_attempt_at = NULL, "
        "last_attempt_at = ?, last_error = ? WHERE delivery_id = ?",
        [at, why, delivery_id],
    )
    LOG.warning("notification %d to %s dropped: %s", event_id, name, why)


def settle(db: Database, config: NotifyConfig, now: datetime) -> None:
    """Match every pending delivery to its channel again (the config may have changed):
    follow a rename or a move, drop one whose channel no longer wants its event, and drop one
    whose channel has been gone from the config longer than ORPHAN_KEEP. Each drop is logged."""
    at = utc(now)
    rows = db.rows(
        """SELECT d.delivery_id, d.event_id, d.channel, d.channel_key, e.kind, e.created_at
           FROM notify_deliveries d JOIN notify_events e USING (event_id)
           WHERE d.status = 'pending'"""
    )
    for delivery_id, event_id, name, key, kind, created in rows:
        found = _resolve(config, key, name)
        if found is None:
            if created + ORPHAN_KEEP <= at:
                why = (
                    f"its channel has not been in the config for {ORPHAN_KEEP.days} days "
                    "(removed, or its recipients or url changed)"
                )
                _drop(db, delivery_id, event_id, name, why, at)
            continue
        current, channel = found
        if not channel.wants(kind):
            _drop(
                db, delivery_id, event_id, current, f"{current} no longer subscribes to {kind}", at
            )
        elif current != name or key is None:
            db.execute(
                "UPDATE notify_deliveries SET channel = ?, channel_key = ? WHERE delivery_id = ?",
                [current, _key_of(config, current), delivery_id],
            )


def orphans(db: Database, config: NotifyConfig) -> dict[str, tuple[int, datetime]]:
    """By name: how many pending deliveries wait for a channel not in the config now, and
    the oldest one's event time (naive UTC)."""
    waiting: dict[str, tuple[int, datetime]] = {}
    for name, key, created in db.rows(
        """SELECT d.channel, d.channel_key, e.created_at
           FROM notify_deliveries d JOIN notify_events e USING (event_id)
           WHERE d.status = 'pending' ORDER BY e.created_at"""
    ):
        if _resolve(config, key, name) is None:
            n, oldest = waiting.get(name, (0, created))
            waiting[name] = (n + 1, oldest)
    return waiting


def orphan_note(waiting: int) -> str:
    return (
        f"not in the config now; {waiting} notification{'s wait' if waiting != 1 else ' waits'} "
        f"for it, dropped {ORPHAN_KEEP.days} days after the event unless the channel comes back"
    )


def due(
    db: Database,
    config: NotifyConfig,
    now: datetime,
    limit: int = BATCH,
    skip: frozenset[str] = frozenset(),
) -> list[Due]:
    """Pending deliveries whose time has come and whose channel is configured, oldest first
    (after `settle`). `skip`: channel keys not to attempt again in this round."""
    settle(db, config, now)
    channels = _by_key(config)
    keys = [k for k in channels if k not in skip]
    if not keys:
        return []
    rows = db.dicts(
        """SELECT d.delivery_id, d.event_id, d.channel, d.channel_key, d.attempts, e.kind,
                  e.created_at, e.district, e.subject, e.body, e.command, e.screen, e.data
           FROM notify_deliveries d JOIN notify_events e USING (event_id)
           WHERE d.status = 'pending' AND d.next_attempt_at <= ?
             AND list_contains(?, d.channel_key)
           ORDER BY d.next_attempt_at, d.delivery_id LIMIT ?""",
        [utc(now), keys, limit],
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
            target=channels[r["channel_key"]][1],
            key=r["channel_key"],
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
    partial: bool = False,
) -> str:
    """Keep the attempt; the delivery is sent, pending again later (backoff) or failed. A
    partial send (some recipients refused) is sent, not retried (the others have it), but it
    keeps its note as the delivery's error, so status and the log show it."""
    at = utc(now)
    attempt = item.attempts + 1
    if ok:
        status, next_at, error = "sent", None, note if partial else None
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
                   last_attempt_at = ?, last_error = CASE WHEN ? THEN ? ELSE coalesce(?, last_error) END,
                   sent_at = CASE WHEN ? THEN ? ELSE sent_at END
               WHERE delivery_id = ?""",
            [status, attempt, next_at, at, ok, error, error, ok, at, item.delivery_id],
        )
    if partial:
        LOG.warning(
            "notification %d (%s) to %s reached only some recipients: %s",
            item.event_id, item.message.kind, item.channel, note,
        )  # fmt: skip
    elif not ok:
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


def next_due(db: Database, config: NotifyConfig) -> datetime | None:
    """When the next pending delivery to a configured channel is due (naive UTC), or None.
    One that waits for a channel gone from the config is not due: the worker would otherwise
    start again on every tick to find nothing to send."""
    return db.one(
        "SELECT min(next_attempt_at) FROM notify_deliveries "
        "WHERE status = 'pending' AND list_contains(?, channel_key)",
        [list(_by_key(config))],
    )


def deliver_due(
    db: Database,
    config: NotifyConfig,
    clock: Any,
    lock: AbstractContextManager[Any] | threading.Lock | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Attempt every delivery due now; returns how many were attempted. The database is used
    under `lock` (the daemon's write lock) for moments only; sending happens outside it.
    A channel that fails is not tried again in this round, so a stuck one delays the others
    by at most one delivery's deadline (`timeout_seconds`)."""
    guard = lock if lock is not None else nullcontext()
    attempted = 0
    failing: set[str] = set()
    while stop is None or not stop.is_set():
        with guard:
            batch = due(db, config, clock(), skip=frozenset(failing))
        if not batch:
            break
        for item in batch:
            if stop is not None and stop.is_set():
                break
            if item.key in failing or item.target is None:
                continue
            started = time.monotonic()
            partial = False
            note: str
            try:
                note = send(
                    item.target, item.message, event_id=item.event_id,
                    delivery_id=f"{item.event_id}-{item.delivery_id}",
                    created_at=item.created_at.isoformat() + "Z",
                    timeout=config.timeout_seconds,
                )  # fmt: skip
                ok, partial = True, isinstance(note, Sent) and note.partial
            except DeliveryError as exc:
                ok, note = False, str(exc)
            except Exception as exc:  # a bug in sending never reaches the sync
                ok, note = False, f"internal error: {type(exc).__name__}"
                LOG.exception("sending notification %d failed", item.event_id)
            if not ok and item.key is not None:
                failing.add(item.key)
            with guard:
                record_attempt(
                    db, config, item, ok, note, clock(), time.monotonic() - started, partial
                )
            attempted += 1
    return attempted


def outbox_status(db: Database, config: NotifyConfig | None = None) -> NotifyStatus:
    """Counts per channel and each channel's last problem (words safe to show: no secrets):
    a failed attempt, a send some recipients refused, or a dropped delivery. With `config`,
    a channel no longer in it says so (its deliveries wait for it)."""
    if not db.table_exists("notify_deliveries"):
        return NotifyStatus()
    rows = db.dicts(
        """SELECT channel,
                  count(*) FILTER (status = 'pending') AS pending,
                  count(*) FILTER (status = 'failed') AS failed,
                  count(*) FILTER (status = 'sent') AS sent,
                  count(*) FILTER (status = 'dropped') AS dropped,
                  max(sent_at) FILTER (status = 'sent' AND last_error IS NULL) AS clean_at,
                  max(sent_at) AS last_sent_at
           FROM notify_deliveries GROUP BY channel ORDER BY channel"""
    )
    errors = {
        r["channel"]: r
        for r in db.dicts(
            """SELECT channel, note AS last_error, happened AS last_error_at FROM (
                   SELECT d.channel, a.note, a.attempted_at AS happened, a.delivery_id AS id,
                          a.attempt AS n
                   FROM notify_attempts a JOIN notify_deliveries d USING (delivery_id)
                   WHERE NOT a.ok
                   UNION ALL
                   SELECT channel, last_error, coalesce(sent_at, last_attempt_at), delivery_id,
                          attempts
                   FROM notify_deliveries
                   WHERE (status = 'sent' AND last_error IS NOT NULL)
                      OR (status = 'dropped' AND last_attempt_at IS NOT NULL))
               QUALIFY row_number() OVER (PARTITION BY channel ORDER BY happened DESC, id DESC,
                                          n DESC) = 1"""
        )
    }
    missing = orphans(db, config) if config is not None else {}
    channels = []
    for r in rows:
        err = errors.get(r["channel"], {})
        last_error_at = err.get("last_error_at")
        if last_error_at is not None and r["clean_at"] and r["clean_at"] > last_error_at:
            err = {}  # it works again: an old error is no longer news
        last_error, last_error_at = err.get("last_error"), err.get("last_error_at")
        if r["channel"] in missing:
            waiting, oldest = missing[r["channel"]]
            last_error, last_error_at = orphan_note(waiting), oldest
        channels.append(
            ChannelState(
                channel=r["channel"],
                pending=r["pending"],
                failed=r["failed"],
                sent=r["sent"],
                dropped=r["dropped"],
                last_sent_at=r["last_sent_at"],
                last_error=last_error,
                last_error_at=last_error_at,
            )
        )
    return NotifyStatus(
        pending=sum(c.pending for c in channels),
        failed=sum(c.failed for c in channels),
        sent=sum(c.sent for c in channels),
        dropped=sum(c.dropped for c in channels),
        channels=channels,
    )


def send_test(config: NotifyConfig) -> list[ChannelTestResult]:
    """`roster-sync notify test`: a test message straight to every channel, now (not queued, no
    retries: the person running it wants to know at once). One result per channel, in config
    order; the channels are tried side by side, so the answer comes within one deadline
    (`timeout_seconds`) however many channels there are."""
    channels = config.channels()
    if not channels:
        return []
    with ThreadPoolExecutor(max_workers=len(channels), thread_name_prefix="notify-test") as pool:
        return list(pool.map(lambda pair: _test_one(config, *pair), channels))


def _test_one(config: NotifyConfig, name: str, channel: Channel) -> ChannelTestResult:
    message = render("test", config.district, {"channel": name})
    started = time.monotonic()
    note: str
    try:
        note = send(
            channel, message, event_id=None, delivery_id=f"test-{int(time.time())}",
            created_at=datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z",
            timeout=config.timeout_seconds,
        )  # fmt: skip
        ok = True
    except DeliveryError as exc:
        ok, note = False, str(exc)
    except Exception as exc:  # one line for the person running it, the traceback in the log
        ok, note = False, f"internal error: {type(exc).__name__}"
        LOG.exception("test notification to %s failed", name)
    LOG.log(
        logging.INFO if ok else logging.WARNING,
        "test notification to %s: %s", name, note,
    )  # fmt: skip
    return ChannelTestResult(
        channel=name,
        target=channel.describe(),
        ok=ok,
        detail=note,
        seconds=round(time.monotonic() - started, 2),
    )
