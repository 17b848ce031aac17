"""A district's week as notifications see it, built once per test session: every event kind
happens, is noticed from the database and delivered to the real SMTP and HTTP servers.

Day one was applied (the session's template); a parent added by hand who was there already is a
new duplicate candidate, a hand edit then day two brings a conflict, the
truncated day three is held, a drop without users.csv fails, the daily summary goes out, the
planned and held runs wait past the reminder, the SFTP server is unreachable for a day and then
answers again, then one of its folders cannot be listed for a day (drops wait on it) and then
can. Times past "now" are the watcher's clock moved on; the runs are real.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.db import Database
from daemon.notify.config import NotifyConfig
from daemon.notify.events import SFTP_SOURCE, observe, record_reach
from daemon.notify.outbox import deliver_due
from daemon.service.drop_history import DropHistory
from daemon.service.engine import Engine
from tests.conftest import SAMPLE

from .servers import Hook, Mail, SmtpServer, WebhookServer


@dataclass
class Story:
    database: Path
    config: NotifyConfig
    now: datetime
    steps: dict[str, list[int]] = field(default_factory=dict)  # step -> event ids recorded
    mails: list[Mail] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)


def tell(
    db: Database,
    config: NotifyConfig,
    when: datetime,
    previous: datetime | None = None,
) -> list[int]:
    """What the daemon does each tick: notice, then deliver what is due."""
    found = observe(db, config, when, previous)
    deliver_due(db, config, lambda: when)
    return found


def build_story(
    folder: Path, template: Path, config: NotifyConfig, smtp: SmtpServer, hooks: WebhookServer
) -> Story:
    smtp.mails.clear()
    with hooks.lock:
        hooks.hooks.clear()
    now = datetime.now(UTC).replace(microsecond=0)
    story = Story(folder / "story.duckdb", config, now)
    shutil.copyfile(template, story.database)
    db = Database(story.database)
    try:
        engine = Engine(db, "rostering-admin")
        story.steps["start"] = tell(db, config, now)
        engine.settings_set("daily_sync_enabled", "false")
        parent = db.dicts(
            """SELECT given_name, family_name, email, mobile_phone FROM users
               WHERE kind = 'guardian' AND status = 'active' AND email IS NOT NULL
                 AND mobile_phone IS NOT NULL ORDER BY user_id LIMIT 1"""
        )[0]
        engine.create_user("guardian", **parent)
        engine.settings_set("daily_sync_enabled", "true")
        assert engine.duplicates_scan().new == 1
        story.steps["a parent added twice"] = tell(db, config, now)
        engine.set_account_active("gdn-3136", True)
        assert engine.plan_source(str(SAMPLE / "day2")).conflicts > 0
        story.steps["day two planned"] = tell(db, config, now)
        assert engine.plan_source(str(SAMPLE / "day3_broken")).status == "held"
        story.steps["day three held"] = tell(db, config, now)
        broken = folder / "no-users"
        broken.mkdir()
        shutil.copy(SAMPLE / "day2" / "orgs.csv", broken)
        assert engine.plan_source(str(broken)).status == "failed"
        story.steps["a drop failed"] = tell(db, config, now)

        at = datetime.now(UTC)  # the runs above are in the 24 hours up to it
        config.daily_summary_at = f"{at:%H:%M}"
        minute = at.replace(second=0, microsecond=0)
        story.steps["daily summary"] = tell(db, config, at, minute - timedelta(seconds=1))
        story.steps["the same minute again"] = tell(db, config, at, minute)

        later = now + timedelta(hours=25)
        story.steps["a day later"] = tell(db, config, later)
        story.steps["a day later, again"] = tell(db, config, later + timedelta(minutes=1))

        record_reach(db, SFTP_SOURCE, True, later)
        record_reach(db, SFTP_SOURCE, False, later + timedelta(hours=1))
        story.steps["sftp down for an hour"] = tell(db, config, later + timedelta(hours=2))
        record_reach(db, SFTP_SOURCE, False, later + timedelta(hours=25))
        story.steps["sftp down for a day"] = tell(db, config, later + timedelta(hours=25))
        story.steps["sftp down, a minute on"] = tell(
            db, config, later + timedelta(hours=25, minutes=1)
        )
        record_reach(db, SFTP_SOURCE, True, later + timedelta(hours=26))
        story.steps["sftp back"] = tell(db, config, later + timedelta(hours=26))

        folders = DropHistory(db, "roster-sync-daemon")  # as the daemon's loop keeps it
        unlisted = later + timedelta(hours=27)
        waits = {"2026-09-15/": ("sftp-2026-09-15", "sftp-2026-09-16")}
        folders.record_unlisted(waits, {}, unlisted)
        story.steps["a folder unlisted for an hour"] = tell(
            db, config, unlisted + timedelta(hours=1)
        )
        story.steps["a folder unlisted for a day"] = tell(
            db, config, unlisted + timedelta(hours=25)
        )
        folders.record_unlisted({}, {}, unlisted + timedelta(hours=26))
        story.steps["the folder listed again"] = tell(db, config, unlisted + timedelta(hours=26))
    finally:
        db.close()
    story.mails = list(smtp.mails)
    story.hooks = list(hooks.hooks)
    return story
