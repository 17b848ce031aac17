"""End to end against a real OpenSSH sshd: remote files -> mirror -> queued drop -> planned run."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from daemon.service.config import load_config

from .conftest import SAMPLE, ZONE, archived, runs_in, wait_for

pytestmark = pytest.mark.sftp


def _upload(put, folder: str, source: Path) -> None:
    for file in sorted(source.iterdir()):
        put(f"{folder}/{file.name}", file.read_bytes(), mtime=1_780_000_000)


def test_sftp_drop_is_mirrored_and_planned_at_the_start_time(
    make_daemon_config, make_config, put, start_daemon, clock, tmp_path: Path
) -> None:
    sftp = make_config(poll_seconds=0.2, remote_quiet_seconds=0).model_dump(
        mode="json", exclude_none=True
    )  # the remote quiet period has tests of its own (test_daemon_drops.py)
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp)
    config = load_config(config_path)
    _upload(put, "day1", SAMPLE / "day1")
    put("day1/.users.csv.partial", b"half", mtime=1_780_000_000)  # an upload in progress: skipped
    clock.set(datetime(2026, 9, 14, 1, 59, tzinfo=ZONE))
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    info = client.status().daemon
    assert info.sftp == f"{sftp['username']}@127.0.0.1:{sftp['port']}{sftp['path']}"
    assert info.last_mirror is None  # daily sync only: nothing before 02:00

    clock.set(datetime(2026, 9, 14, 2, 0, 1, tzinfo=ZONE))
    wait_for(lambda: runs_in(client) == [(1, "planned")], 30, "the mirrored drop's run")
    run = client.get_run(1)
    assert run.source_kind == "sftp"
    assert run.changes["students"]["create"] == 300
    wait_for(lambda: archived(config.archive) == ["run-1-sftp-day1"])
    # (until the drop due at 02:00 was complete, the server was polled again: no fixed count)
    assert re.fullmatch(
        r"\d+ downloaded, \d+ unchanged(, 10 in drops decided before \(not copied\))?, "
        r"[01] new drop\(s\)",
        client.status().daemon.last_mirror_result,
    )

    # the next night the SIS adds day2; day1 is unchanged on the server and not synced again,
    # and day2's run supersedes day1's open one
    _upload(put, "day2", SAMPLE / "day2")
    assert "sync requested" in client.sync_now()
    wait_for(lambda: runs_in(client) == [(1, "superseded"), (2, "planned")], 30, "day2's run")
    wait_for(lambda: archived(config.archive) == ["run-1-sftp-day1", "run-2-sftp-day2"])

    # nothing new on the server: a mirror, no drop, no run, and no further poll
    client.sync_now()
    wait_for(
        lambda: (
            client.status().daemon.last_mirror_result
            == "0 downloaded, 0 unchanged, 20 in drops decided before (not copied), 0 new drop(s)"
        ),
        30,
    )
    assert len(runs_in(client)) == 2

    # sync on arrival: the folder is polled (every poll_seconds) and a new ZIP synced at once
    client.settings_set("sync_on_arrival", "true")
    put("day4.zip", (SAMPLE / "day4.zip").read_bytes(), mtime=1_780_000_100)
    wait_for(lambda: "run-3-sftp-day4.zip" in archived(config.archive), 30, "the polled ZIP")
    assert client.get_run(3).source_kind == "sftp"
    client.close()
    assert daemon.stop() == 0


def test_a_refused_host_key_is_reported_and_the_daemon_keeps_running(
    make_daemon_config, make_config, put, start_daemon, clock, tmp_path: Path
) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    sftp = make_config(known_hosts=empty).model_dump(mode="json", exclude_none=True)
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp)
    _upload(put, "day1", SAMPLE / "day1")
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    client.sync_now()
    wait_for(lambda: client.status().daemon.last_mirror is not None, 30, "a mirror attempt")
    result = client.status().daemon.last_mirror_result
    assert (
        result.startswith("failed:") and "not in" in result and "roster-sync sftp trust" in result
    )
    assert runs_in(client) == []
    assert client.list_runs() == []  # still answering
    client.close()
    assert daemon.stop() == 0
