"""auto_apply and drops from SFTP: without [sftp] ready_marker, a run that archives waits for a
person (a file cut at a line ending looks complete); one that archives nothing applies."""

from __future__ import annotations

import pytest

from daemon.service.config import load_config

from .conftest import SAMPLE, archived, cli, preset, runs_in, wait_for
from .test_daemon_drops import EXPORTED, sftp_settings, upload

pytestmark = pytest.mark.sftp


def test_an_unmarked_sftp_drop_that_archives_waits_for_review(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    upload(put, "2026-11-28", SAMPLE / "day1", EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp)
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, auto_apply=True)
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    wait_for(lambda: archived(config.archive) == ["run-1-sftp-2026-11-28"], 60, "the first drop")
    assert runs_in(client) == [(1, "applied")]  # archives nothing: applied by itself
    upload(put, "2026-11-29", SAMPLE / "day2", EXPORTED + 100)
    wait_for(lambda: len(archived(config.archive)) == 2, 60, "the second drop")
    assert runs_in(client) == [(1, "applied"), (2, "planned")]
    assert client.user_detail("stu-1166").status == "active"  # a day2 leaver, not archived
    drop = next(d for d in client.status().daemon.drops if d.name == "2026-11-29")
    assert drop.status == "planned"
    assert drop.reason is not None and drop.reason.startswith("waiting for review: it archives ")
    assert "the drop had no ready marker to show it was complete" in drop.reason
    status = cli(config_path, "status")
    assert f"sftp 2026-11-29: planned (run 2); {drop.reason}" in status.stdout, status.stdout
    client.close()
    assert daemon.stop() == 0
