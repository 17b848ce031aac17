"""The daily schedule with an injected clock: the start time syncs, daily off syncs nothing on its
own, sync now always works, and `roster-sync status` shows the next scheduled sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.service.config import load_config

from .conftest import (
    QUIET,
    SAMPLE,
    ZONE,
    archived,
    cli,
    copy_drop,
    encrypted_zip,
    preset,
    runs_in,
    wait_for,
)


def _pending(client) -> list[str]:
    return client.status().daemon.pending_drops


def test_the_daily_sync_runs_at_the_start_time(make_daemon_config, start_daemon, clock) -> None:
    clock.set(datetime(2026, 9, 14, 1, 58, tzinfo=ZONE))
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_start_time="02:00")  # daily on, sync on arrival off: the seed's defaults
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(
        lambda: _pending(client) == ["day1: complete; waits for the daily sync at 02:00"],
        what="day1 complete and waiting",
    )
    info = client.status().daemon
    assert info.next_sync == datetime(2026, 9, 14, 2, 0, tzinfo=ZONE)
    status = cli(config_path, "status")
    assert "Next scheduled sync: 2026-09-14 02:00" in status.stdout, status.stdout + status.stderr
    assert "day1: complete; waits for the daily sync at 02:00" in status.stdout

    clock.set(datetime(2026, 9, 14, 1, 59, 59, tzinfo=ZONE))
    clock.wait_reads(3)
    assert runs_in(client) == []
    clock.set(datetime(2026, 9, 14, 2, 0, 1, tzinfo=ZONE))
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="the 02:00 sync")
    wait_for(lambda: archived(config.archive) == ["run-1-day1"], what="day1 archived")
    assert client.status().daemon.next_sync == datetime(2026, 9, 15, 2, 0, tzinfo=ZONE)

    # a drop arriving after the start time waits for tomorrow's
    copy_drop(SAMPLE / "day2", config.inbox, "day2")
    wait_for(lambda: _pending(client) == ["day2: complete; waits for the daily sync at 02:00"])
    clock.set(datetime(2026, 9, 14, 23, 0, tzinfo=ZONE))
    clock.wait_reads(3)
    assert runs_in(client) == [(1, "planned")]
    clock.set(datetime(2026, 9, 15, 2, 0, tzinfo=ZONE))
    wait_for(lambda: len(runs_in(client)) == 2, what="the next day's sync")
    client.close()
    assert daemon.stop() == 0


def test_a_zip_no_upload_can_fix_says_why_while_it_waits_for_the_daily_sync(
    make_daemon_config, start_daemon, clock, tmp_path
) -> None:
    clock.set(datetime(2026, 9, 14, 1, 0, tzinfo=ZONE))
    config_path = make_daemon_config()
    config = load_config(config_path)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(encrypted_zip(SAMPLE / "day1", tmp_path / "x.zip"), config.inbox, "export.zip")
    wait_for(
        lambda: (
            _pending(client)
            == [
                "export.zip: entry 'academicSessions.csv' is encrypted; send the drop unencrypted (no "
                "upload can fix it: its run will fail saying so); waits for the daily sync at 02:00"
            ]
        ),
        what="the reason, not 'complete'",
    )
    client.close()
    assert daemon.stop() == 0


def test_a_drop_still_uploading_at_the_start_time_is_synced_once_complete(
    make_daemon_config, start_daemon, clock
) -> None:
    clock.set(datetime(2026, 9, 14, 1, 59, tzinfo=ZONE))
    config_path = make_daemon_config(quiet_seconds=2.0)
    config = load_config(config_path)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: any("still being written" in p for p in _pending(client)))
    clock.set(datetime(2026, 9, 14, 2, 0, tzinfo=ZONE))  # due, but not complete yet
    clock.wait_reads(2)
    assert runs_in(client) == []
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="the run once complete")
    client.close()
    daemon.stop()


def test_daily_sync_off_syncs_nothing_on_its_own(make_daemon_config, start_daemon, clock) -> None:
    clock.set(datetime(2026, 9, 14, 1, 59, tzinfo=ZONE))
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, daily_sync_enabled=False, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(
        lambda: _pending(client) == ["day1: complete; the daily sync is off; waits for sync now"]
    )
    assert client.status().daemon.next_sync is None
    clock.set(datetime(2026, 9, 14, 2, 0, 30, tzinfo=ZONE))
    clock.wait_reads(3)
    assert runs_in(client) == []
    status = cli(config_path, "status")
    assert "Daily sync: off (nothing is synced on its own)" in status.stdout

    # an administrator asks: the daemon syncs now, and the request is audited
    assert "sync requested" in client.sync_now()
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="the requested sync")
    client.close()
    assert daemon.stop() == 0
    from daemon.db import Database

    db = Database(config.database)
    try:
        assert db.rows("SELECT actor FROM audit_log WHERE action = 'daemon.sync_now'") == [
            ("root",)
        ]
    finally:
        db.close()


def test_settings_changed_through_the_api_apply_at_once(
    make_daemon_config, start_daemon, clock
) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: _pending(client) == ["day1: complete; waits for the daily sync at 02:00"])
    client.settings_set("sync_start_time", "12:30")
    assert client.status().daemon.next_sync == datetime(2026, 9, 14, 12, 30, tzinfo=ZONE)
    client.settings_set("sync_on_arrival", "true")  # on: the waiting drop goes now
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="sync on arrival")
    client.close()
    daemon.stop()


NEW_YORK = ZoneInfo("America/New_York")
PASSES_TWICE = {
    # NTP steps the clock back 30 s just after the 02:00 sync fired
    "clock stepped back": ("02:00", [datetime(2026, 9, 14, 2, 0, 10, tzinfo=ZONE),
                                     datetime(2026, 9, 14, 1, 59, 40, tzinfo=ZONE),
                                     datetime(2026, 9, 14, 2, 0, 5, tzinfo=ZONE)]),
    # 01:30 comes twice on the night the clocks fall back (EDT, then EST an hour later)
    "clocks fell back": ("01:30", [datetime(2026, 11, 1, h, m, 5, tzinfo=UTC).astimezone(NEW_YORK)
                                   for h, m in ((5, 30), (6, 0), (6, 30))]),
}  # fmt: skip


@pytest.mark.parametrize("how", PASSES_TWICE)
def test_the_daily_sync_runs_once_when_the_start_time_passes_twice(
    make_daemon_config, start_daemon, clock, caplog, how: str
) -> None:
    start, (fires, back, again) = PASSES_TWICE[how]
    fired = f"daily sync ({start}): syncing every complete drop in the inbox"
    clock.set(fires - timedelta(minutes=2))
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_start_time=start)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    waits = f"day2: complete; waits for the daily sync at {start}"
    wait_for(lambda: _pending(client) == [waits.replace("day2", "day1")], what="day1 complete")
    clock.set(fires)
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="the night's sync")
    copy_drop(SAMPLE / "day2", config.inbox, "day2")  # tomorrow's: arrives after the sync
    wait_for(lambda: _pending(client) == [waits], what="day2 complete")
    clock.set(back)
    clock.wait_reads(3)
    clock.set(again)  # the start time shows on the clock a second time
    clock.wait_reads(3)  # idle, the loop reads the clock once per pass
    assert [r.getMessage() for r in caplog.records].count(fired) == 1
    assert runs_in(client) == [(1, "planned")]
    clock.set(fires + timedelta(days=1))  # and the next night is not skipped
    wait_for(lambda: len(runs_in(client)) == 2, what="the next night's sync")
    client.close()
    assert daemon.stop() == 0


def test_a_start_time_passed_while_the_daemon_was_stopped_fires_once_at_its_start(
    make_daemon_config, start_daemon, clock, ticks
) -> None:
    """A restart, an upgrade or a reboot across 02:00 left that night's drops waiting for the
    next night."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    clock.set(datetime(2026, 9, 14, 1, 59, tzinfo=ZONE))
    daemon = start_daemon(config_path, clock, ticks)
    clock.set(datetime(2026, 9, 14, 2, 0, 1, tzinfo=ZONE))
    clock.wait_reads(3)  # the 02:00 sync fired (nothing to sync)
    assert daemon.stop() == 0
    copy_drop(SAMPLE / "day1", config.inbox, "day1")  # tonight's drop, while the daemon is down
    clock.set(datetime(2026, 9, 15, 7, 30, tzinfo=ZONE))
    client = start_daemon(config_path, clock, ticks).client()
    wait_for(lambda: any(line.startswith("day1: ") for line in
                         client.status().daemon.pending_drops) or runs_in(client))  # fmt: skip
    ticks.advance(3 * QUIET)
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="the missed night's sync")
    client.close()
