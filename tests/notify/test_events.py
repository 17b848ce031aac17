"""Every event kind, from what happened in the database to a mail and a signed webhook on real
servers (the story in tests/notify/story.py), each sent once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from daemon.db import Database
from daemon.notify.config import EVENTS
from daemon.notify.events import observe, start_marks
from daemon.notify.outbox import deliver_due
from daemon.service.drop_history import INBOX, DropHistory

from .conftest import DISTRICT


def kinds(story, step: str) -> list[str]:
    db = Database(story.database)
    try:
        ids = story.steps[step]
        if not ids:
            return []
        return [
            k
            for (k,) in db.rows(
                "SELECT kind FROM notify_events WHERE list_contains(?, event_id) ORDER BY event_id",
                [ids],
            )
        ]
    finally:
        db.close()


@pytest.mark.parametrize("kind", list(EVENTS))
def test_every_event_kind_reaches_the_mail_server_and_the_webhook(story, kind) -> None:
    mails = [m for m in story.mails if m.message["X-Roster-Sync-Event"] == kind]
    hooks = [h for h in story.hooks if h.json["event"] == kind]
    assert mails and len(mails) == len(hooks)
    assert all(m.tls and m.login for m in mails)
    assert all(h.answered == 200 for h in hooks)  # the receiver verified each signature
    assert all(m.subject.startswith(f"[Roster Sync] {DISTRICT}: ") for m in mails)
    assert [m.subject for m in mails] == [h.json["subject"] for h in hooks]


def test_each_step_records_what_it_should_and_nothing_twice(story) -> None:
    assert {step: kinds(story, step) for step in story.steps} == {
        "start": [],
        "a parent added twice": ["new_duplicates"],
        "day two planned": ["new_conflicts"],
        "day three held": ["run_held"],
        "a drop failed": ["run_failed"],
        "daily summary": ["daily_summary"],
        "the same minute again": [],
        "a day later": ["review_reminder", "review_reminder"],
        "a day later, again": [],
        "sftp down for an hour": [],
        # 50 hours on: runs 2 and 3 have waited two periods, a reminder each for the second
        "sftp down for a day": ["review_reminder", "review_reminder", "source_unreachable"],
        "sftp down, a minute on": [],
        "sftp back": ["source_recovered"],
        "a folder unlisted for an hour": [],
        # 77 hours on: a third reminder each
        "a folder unlisted for a day": [
            "review_reminder",
            "review_reminder",
            "sftp_folder_unreadable",
        ],
        "the folder listed again": ["sftp_folder_recovered"],
    }
    sent = Counter(m.message["X-Roster-Sync-Delivery"] for m in story.mails)
    assert set(sent.values()) == {1}  # no delivery was mailed twice


def test_what_the_messages_say(story) -> None:
    by_kind = {m.message["X-Roster-Sync-Event"]: m for m in story.mails}
    held = by_kind["run_held"].text
    assert "Run 3 is held: it waits for a decision and has changed nothing." in held
    assert "roster-sync show 3" in held and "roster-tui: Runs (key 1), run 3" in held
    assert "active records would be archived (limit" in held
    assert by_kind["run_failed"].subject.endswith("run 4 failed")
    assert "roster-sync conflicts 2 --open" in by_kind["new_conflicts"].text
    assert (
        "1 new duplicate candidate found (1 guardian); 10 open in all."
        in by_kind["new_duplicates"].text
    )
    reminders = sorted(m.subject for m in story.mails if "waits for review" in m.subject)
    assert [s.split(": ", 1)[1] for s in reminders] == [  # planned seconds after "now"
        "run 2 waits for review (24 h)",
        "run 2 waits for review (49 h)",
        "run 2 waits for review (76 h)",
        "run 3 waits for review (24 h)",
        "run 3 waits for review (49 h)",
        "run 3 waits for review (76 h)",
    ]
    summary = by_kind["daily_summary"].text
    assert "4 runs: 1 applied, 1 failed, 1 held, 1 planned" in summary
    assert "  students: " in summary and "Rows in error:" in summary
    assert "Waiting: 2 runs to review" in summary
    unreachable = by_kind["source_unreachable"].text
    assert "has not reached the SFTP source for 25 hours (since the last success)" in unreachable
    assert by_kind["source_recovered"].subject.endswith("SFTP reachable again")
    unlisted = by_kind["sftp_folder_unreadable"]
    assert unlisted.subject.endswith("SFTP folder 2026-09-15/ unreadable")
    assert (
        "The daemon has not been able to list the SFTP folder 2026-09-15/ for 25 hours"
        in unlisted.text
    )
    assert "2 drops wait on it, and none is planned until it can be read" in unlisted.text
    assert "Fix the folder's permissions on the server" in unlisted.text
    assert by_kind["sftp_folder_recovered"].subject.endswith("SFTP folder 2026-09-15/ resolved")


def test_observing_again_records_nothing(story) -> None:
    db = Database(story.database)
    try:
        assert observe(db, story.config, story.now, None) == []
    finally:
        db.close()


def test_a_drop_the_daemon_could_not_plan_is_a_failure_too(day1, notify_config, smtp) -> None:
    start_marks(day1)
    history = DropHistory(day1, "roster-sync-daemon")
    now = datetime.now(UTC)
    drop = history.record(source=INBOX, name="2026-09-14", status="queued", reason=None, now=now)
    history.update(drop, "failed", "planning failed: OSError: disk full", now)
    notify_config.webhook = []
    assert len(observe(day1, notify_config, now, None)) == 1
    assert observe(day1, notify_config, now, None) == []
    deliver_due(day1, notify_config, lambda: now)
    [mail] = smtp.wait(1)
    assert mail.subject.endswith(": a drop failed")
    assert "disk full" not in mail.text and "2026-09-14" not in mail.subject
