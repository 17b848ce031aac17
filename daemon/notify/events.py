"""Noticing what is worth a message, from what the database says. Called by the daemon after
each plan and every few seconds; each event has a key, so noticing it again records nothing.

Why from the database rather than at each place a run is planned or applied: runs are planned
by the loop, applied by a person through the socket, and duplicates found after an apply; the
database sees all of them, and a restart in between loses nothing. The data of every event is
built from counts and run ids only (see `messages.py`).

Where the watcher starts: the first time it looks at a database it notes the newest run, so a
daemon that starts notifying on a database with a year of history does not mail a year of held
and failed runs. Review reminders look at every run still waiting, however old.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from daemon.db import Database
from daemon.notify.config import NotifyConfig, summary_time
from daemon.notify.outbox import event_exists, record_event, utc
from daemon.sync import queries
from daemon.sync.conflicts import open_conflict

SFTP_SOURCE = "sftp"


def _mark(db: Database, name: str, default_sql: str) -> int:
    value = db.one("SELECT value FROM notify_marks WHERE name = ?", [name])
    if value is None:
        value = int(db.one(default_sql) or 0)
        db.execute("INSERT INTO notify_marks VALUES (?, ?)", [name, value])
    return int(value)


def start_marks(db: Database) -> None:
    """Where the watcher starts, noted once per database (see the module's docstring)."""
    if db.one("SELECT count(*) FROM notify_marks WHERE name = 'first_run'"):
        return
    _mark(db, "first_run", "SELECT coalesce(max(run_id), 0) FROM runs")
    _mark(db, "first_drop", _MAX_DROP)
    _remember_pairs(db)


_MAX_DROP = "SELECT coalesce(max(drop_id), 0) FROM drops"


def _remember_pairs(db: Database) -> int:
    """Note the open duplicate pairs not told about yet; returns how many there were."""
    new = int(db.one(f"SELECT count(*) FROM ({_NEW_PAIRS})"))
    if new:
        db.execute(f"INSERT INTO notify_seen_pairs SELECT left_id, right_id FROM ({_NEW_PAIRS})")
    return new


_NEW_PAIRS = """SELECT c.left_id, c.right_id, c.record_kind FROM duplicate_candidates c
    WHERE c.status = 'open' AND NOT EXISTS (SELECT 1 FROM notify_seen_pairs p
                                            WHERE p.left_id = c.left_id AND p.right_id = c.right_id)"""


def observe(
    db: Database, config: NotifyConfig, now: datetime, previous: datetime | None
) -> list[int]:
    """Record every event that is due now; returns the new events' ids. `previous` is when the
    watcher last looked (the daily summary goes out when its time passed in between)."""
    start_marks(db)
    found: list[int | None] = []
    first_run = _mark(db, "first_run", "SELECT 0")
    found += _held_and_failed(db, config, now, first_run)
    found += _conflicts(db, config, now, first_run)
    found += _duplicates(db, config, now)
    found += _reminders(db, config, now)
    found += _sources(db, config, now)
    found += _unlisted_folders(db, config, now)
    if config.daily_summary_at and previous is not None:
        found.append(_daily_summary(db, config, now, previous))
    return [event_id for event_id in found if event_id is not None]


def _run_data(db: Database, run_id: int) -> dict[str, Any]:
    run = queries.get_run(db, run_id)
    return {
        "run_id": run_id,
        "changes": run.total_changes(),
        "rows_error": run.rows.error,
        "reasons": len(run.hold_reasons),
        "thresholds": [
            {
                "kind": t.kind,
                "archives": t.archives,
                "active": t.active,
                "limit": t.limit,
                "held": t.held,
            }
            for t in run.thresholds
        ],
    }


def _held_and_failed(
    db: Database, config: NotifyConfig, now: datetime, first_run: int
) -> list[int | None]:
    rows = db.rows(
        """SELECT run_id, status FROM runs r
           WHERE status IN ('held', 'failed') AND run_id > ?
             AND NOT EXISTS (SELECT 1 FROM notify_events e
                             WHERE e.dedup_key = 'run_' || r.status || ':' || r.run_id)
           ORDER BY run_id""",
        [first_run],
    )
    found = []
    for run_id, status in rows:
        data = _run_data(db, run_id)
        if status == "failed":
            data = {"run_id": run_id, "rows_error": data["rows_error"]}
        kind = f"run_{status}"
        found.append(record_event(db, config, kind, f"{kind}:{run_id}", data, now, run_id))
    # a drop the daemon could not plan at all (no run was made for it)
    for (drop_id,) in db.rows(
        """SELECT drop_id FROM drops d
           WHERE status = 'failed' AND run_id IS NULL AND drop_id > ?
             AND NOT EXISTS (SELECT 1 FROM notify_events e
                             WHERE e.dedup_key = 'drop_failed:' || d.drop_id)
           ORDER BY drop_id""",
        [_mark(db, "first_drop", _MAX_DROP)],
    ):
        key = f"drop_failed:{drop_id}"
        found.append(record_event(db, config, "run_failed", key, {"run_id": None}, now))
    return found


def _conflicts(
    db: Database, config: NotifyConfig, now: datetime, first_run: int
) -> list[int | None]:
    rows = db.rows(
        """SELECT c.run_id, count(*), count(*) FILTER (c.blocking)
           FROM conflicts c JOIN runs r USING (run_id)
           WHERE c.decision IS NULL AND c.run_id > ?
             AND r.status IN ('planned', 'held', 'applied')
             AND NOT EXISTS (SELECT 1 FROM notify_events e
                             WHERE e.dedup_key = 'new_conflicts:' || c.run_id)
           GROUP BY c.run_id ORDER BY c.run_id""",
        [first_run],
    )
    return [
        record_event(
            db,
            config,
            "new_conflicts",
            f"new_conflicts:{run_id}",
            {"run_id": run_id, "conflicts": int(n), "blocking": int(blocking)},
            now,
            run_id,
        )
        for run_id, n, blocking in rows
    ]


def _duplicates(db: Database, config: NotifyConfig, now: datetime) -> list[int | None]:
    rows = db.rows(
        f"SELECT record_kind, count(*) FROM ({_NEW_PAIRS}) GROUP BY ALL ORDER BY record_kind"
    )
    if not rows:
        return []
    new = sum(int(n) for _, n in rows)
    data = {
        "new": new,
        "by_kind": {kind: int(n) for kind, n in rows},
        "open": int(db.one("SELECT count(*) FROM duplicate_candidates WHERE status = 'open'")),
    }
    told = int(db.one("SELECT count(*) FROM notify_seen_pairs"))
    key = f"new_duplicates:{told + new}"  # pairs ever told: grows with each event
    event_id = record_event(db, config, "new_duplicates", key, data, now)
    _remember_pairs(db)
    return [event_id]


def _reminders(db: Database, config: NotifyConfig, now: datetime) -> list[int | None]:
    """One reminder per run per `review_reminder_hours` it has waited (at 24 h, 48 h, ...)."""
    every = config.review_reminder_hours
    if every <= 0:
        return []
    rows = db.rows(
        # planned_at is local wall time (DuckDB's session zone); as TIMESTAMPTZ it is an instant
        """SELECT run_id, status, epoch(CAST(planned_at AS TIMESTAMPTZ)) FROM runs
           WHERE status IN ('planned', 'held') AND planned_at IS NOT NULL ORDER BY run_id"""
    )
    found = []
    for run_id, status, planned in rows:
        hours = (now.timestamp() - float(planned)) / 3600
        period = math.floor(hours / every)
        if period < 1:
            continue
        key = f"review_reminder:{run_id}:{period}"
        if event_exists(db, key):
            continue
        run = queries.get_run(db, run_id)
        data = {
            "run_id": run_id,
            "status": status,
            "hours": int(hours),
            "changes": run.total_changes(),
        }
        found.append(record_event(db, config, "review_reminder", key, data, now, run_id))
    return found


# ---------------------------------------------------------------------- sources
def record_reach(db: Database, source: str, ok: bool, now: datetime) -> None:
    """Whether `source` answered now. The daemon calls this after each SFTP mirror."""
    at = utc(now)
    row = db.rows("SELECT failing_since FROM notify_sources WHERE source = ?", [source])
    if not row:
        db.execute("INSERT INTO notify_sources (source) VALUES (?)", [source])
        failing_since = None
    else:
        failing_since = row[0][0]
    if ok:
        db.execute(
            """UPDATE notify_sources SET last_success_at = ?, failing_since = NULL,
                   recovered_from = coalesce(?, recovered_from) WHERE source = ?""",
            [at, failing_since, source],
        )
    else:
        db.execute(
            """UPDATE notify_sources SET last_failure_at = ?,
                   failing_since = coalesce(failing_since, ?) WHERE source = ?""",
            [at, at, source],
        )


def _sources(db: Database, config: NotifyConfig, now: datetime) -> list[int | None]:
    at = utc(now)
    found = []
    for source, last_success, failing_since, recovered_from in db.rows(
        """SELECT source, last_success_at, failing_since, recovered_from FROM notify_sources
           ORDER BY source"""
    ):
        if recovered_from is not None:
            outage = f"{source}:{recovered_from:%Y-%m-%dT%H:%M:%S}"
            if event_exists(db, f"source_unreachable:{outage}"):
                hours = int((at - recovered_from).total_seconds() // 3600)
                found.append(
                    record_event(
                        db,
                        config,
                        "source_recovered",
                        f"source_recovered:{outage}",
                        {"source": source, "hours": hours},
                        now,
                    )
                )
            db.execute("UPDATE notify_sources SET recovered_from = NULL WHERE source = ?", [source])
        if failing_since is None:
            continue
        since = last_success or failing_since
        hours = (at - since).total_seconds() / 3600
        if hours >= config.unreachable_hours:
            outage = f"{source}:{failing_since:%Y-%m-%dT%H:%M:%S}"
            data = {"source": source, "hours": int(hours), "never": last_success is None}
            found.append(
                record_event(
                    db, config, "source_unreachable", f"source_unreachable:{outage}", data, now
                )
            )
    return found


def _unlisted_folders(db: Database, config: NotifyConfig, now: datetime) -> list[int | None]:
    """Drops waiting on an SFTP folder the mirror cannot list (the daemon keeps the table
    `sftp_unlisted_folders`): told once they have waited `unreachable_hours` (the server
    answers, so `source_unreachable` says nothing, and the nightly syncs stop in silence), and
    once more when none waits any more, if that was told. The data names the folder and the
    drops as the server and the queue name them; nothing read from a file."""
    at = utc(now)
    found = []
    for folder, since, waiting, listed_at in db.rows(
        """SELECT folder, since, waiting, listed_at FROM sftp_unlisted_folders
           ORDER BY folder, since"""
    ):
        wait = f"{folder}:{since:%Y-%m-%dT%H:%M:%S}"
        if listed_at is not None:
            if event_exists(db, f"sftp_folder_unreadable:{wait}"):
                hours = int((listed_at - since).total_seconds() // 3600)
                data = {"folder": folder, "hours": hours}
                key = f"sftp_folder_recovered:{wait}"
                found.append(record_event(db, config, "sftp_folder_recovered", key, data, now))
            db.execute(
                "DELETE FROM sftp_unlisted_folders WHERE folder = ? AND since = ?", [folder, since]
            )
            continue
        hours = (at - since).total_seconds() / 3600
        key = f"sftp_folder_unreadable:{wait}"
        if hours >= config.unreachable_hours and not event_exists(db, key):
            data = {"folder": folder, "hours": int(hours), "drops": waiting.split(", ")}
            found.append(record_event(db, config, "sftp_folder_unreadable", key, data, now))
    return found


# ---------------------------------------------------------------------- daily summary
def summary_due(config: NotifyConfig, now: datetime, previous: datetime) -> bool:
    """Did today's `daily_summary_at` (local time of `now`) pass in (previous, now]?"""
    assert config.daily_summary_at is not None
    at = datetime.combine(now.date(), summary_time(config.daily_summary_at), tzinfo=now.tzinfo)
    if now.tzinfo is None:
        at = at.replace(tzinfo=None)
    return previous < at <= now


def _daily_summary(
    db: Database, config: NotifyConfig, now: datetime, previous: datetime
) -> int | None:
    if not summary_due(config, now, previous):
        return None
    key = f"daily_summary:{now.date().isoformat()}"
    if event_exists(db, key):
        return None
    return record_event(db, config, "daily_summary", key, summary_data(db, now), now)


def summary_data(db: Database, now: datetime) -> dict[str, Any]:
    """The 24 hours up to `now`: runs made (by status), changes applied (by kind and
    operation), rows in error, and what still waits."""
    until = now.timestamp()
    since = until - 24 * 3600
    made = db.rows(
        """SELECT run_id, status FROM runs
           WHERE epoch(CAST(created_at AS TIMESTAMPTZ)) > ?
             AND epoch(CAST(created_at AS TIMESTAMPTZ)) <= ? ORDER BY run_id""",
        [since, until],
    )
    applied = db.rows(
        """SELECT run_id FROM runs WHERE status = 'applied'
             AND epoch(CAST(decided_at AS TIMESTAMPTZ)) > ?
             AND epoch(CAST(decided_at AS TIMESTAMPTZ)) <= ? ORDER BY run_id""",
        [since, until],
    )
    by_status: dict[str, int] = {}
    rows_error = 0
    for run_id, status in made:
        by_status[status] = by_status.get(status, 0) + 1
        rows_error += queries.get_run(db, run_id).rows.error
    changes: dict[str, dict[str, int]] = {}
    for (run_id,) in applied:
        for kind, ops in queries.get_run(db, run_id).changes.items():
            into = changes.setdefault(kind, {})
            for op, n in ops.items():
                into[op] = into.get(op, 0) + n
    open_duplicates = int(db.one("SELECT count(*) FROM duplicate_candidates WHERE status = 'open'"))
    failed = int(
        db.one(
            "SELECT count(*) FROM notify_deliveries WHERE status = 'failed' "
            "AND last_attempt_at > ?",
            [utc(now) - timedelta(hours=24)],
        )
    )
    local = now if now.tzinfo is not None else now.astimezone()
    return {
        "date": local.date().isoformat(),
        "until": f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip(),
        "runs": by_status,
        "changes": {k: v for k, v in changes.items() if any(v.values())},
        "rows_error": rows_error,
        "open_runs": int(db.one("SELECT count(*) FROM runs WHERE status IN ('planned', 'held')")),
        "open_conflicts": int(db.one(f"SELECT count(*) FROM conflicts c WHERE {open_conflict()}")),
        "open_duplicates": open_duplicates,
        "notifications_failed": failed,
    }
