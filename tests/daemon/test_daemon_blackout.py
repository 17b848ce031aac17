"""Blackout dates (issue 17, section 4): on those days the daemon syncs nothing on its own, says
so in its status, and a manual run needs --force."""

from __future__ import annotations

from datetime import datetime

from daemon.service.config import load_config

from .conftest import SAMPLE, ZONE, cli, copy_drop, preset, runs_in, wait_for

SUMMER = "2027-06-15..2027-08-20"


def test_a_blackout_day_syncs_nothing_until_it_ends(
    make_daemon_config, start_daemon, clock, caplog
):
    clock.set(datetime(2027, 6, 16, 1, 58, tzinfo=ZONE))
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_start_time="02:00", sync_on_arrival=True, blackout_dates=SUMMER)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(
        lambda: client.status().daemon.pending_drops == [f"day1: waits (blackout {SUMMER})"],
        what="day1 waiting for the blackout to end",
    )
    status = cli(config_path, "status")
    assert f"Blackout: today (2027-06-16) is in the blackout {SUMMER}" in status.stdout

    clock.set(datetime(2027, 6, 16, 2, 0, 1, tzinfo=ZONE))  # the daily start time passes
    clock.wait_reads(3)
    assert runs_in(client) == []
    refused = cli(config_path, "sync-now")
    assert refused.returncode != 0 and "blackout" in refused.stderr and refused.stdout == ""
    manual = cli(config_path, "run", str(SAMPLE / "day2"))
    assert manual.returncode != 0 and manual.stdout == ""
    assert manual.stderr == (
        f"roster-sync: today (2027-06-16) is in the blackout {SUMMER}: nothing is synced; "
        "pass --force to run this drop all the same\n"
    )
    forced = cli(config_path, "run", str(SAMPLE / "day2"), "--force")
    assert forced.returncode == 0, forced.stderr
    assert runs_in(client) == [(1, "planned")]

    clock.set(datetime(2027, 8, 21, 2, 0, 1, tzinfo=ZONE))  # the first day after it
    wait_for(lambda: len(runs_in(client)) == 2, what="the drop synced once the blackout ended")
    assert "Blackout" not in cli(config_path, "status").stdout
    said = [r for r in caplog.records if r.getMessage().startswith(f"blackout {SUMMER}: no ")]
    assert len(said) == 1  # the log says it once a day, not once a tick
    client.close()
    assert daemon.stop() == 0
