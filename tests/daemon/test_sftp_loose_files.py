"""The loose files at the top of the SFTP folder: a manifest.csv that comes after them is never a
drop of its own, and once gone from the server their local copies leave the mirror."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from daemon.service import inbox

from .conftest import QUIET, SAMPLE, runs_in, wait_for
from .test_daemon_drops import (
    EXPORTED,
    pending,
    pending_line,
    polls,
    sftp_settings,
    start_on_arrival,
)
from .test_sftp_mirror_pruning import NIGHT, _daemon

pytestmark = pytest.mark.sftp


def put_loose(put, source: Path, mtime: int, skip: str = "") -> None:
    for file in sorted(source.iterdir()):
        if file.name != skip:
            put(file.name, file.read_bytes(), mtime=mtime)


def test_a_manifest_coming_after_the_loose_files_were_planned_is_put_aside_not_planned(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    put_loose(put, SAMPLE / "day1", EXPORTED, skip="manifest.csv")
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    *_, daemon = start_on_arrival(make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp)
    client = daemon.client()
    wait_for(lambda: runs_in(client) == [(1, "planned")], 60, "the loose files' run")
    put("manifest.csv", (SAMPLE / "day1" / "manifest.csv").read_bytes(), mtime=EXPORTED + 60)
    polls(sshd, 2)
    ticks.advance(3 * QUIET)
    pending_line(client, "sftp/(loose files): manifest.csv alone, after (loose files) was taken",
                 "the manifest waiting")  # fmt: skip
    assert runs_in(client) == [(1, "planned")]  # on main: the same files planned again, run 2
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    wait_for(
        lambda: any(d.name == "(loose files)" and d.status == "skipped"
                    for d in client.status().daemon.drops),
        60, "the manifest put aside",
    )  # fmt: skip
    assert runs_in(client) == [(1, "planned")]
    assert client.get_run(1).notes[0]["message"].startswith("manifest.csv came after")
    polls(sshd, 2)
    assert runs_in(client) == [(1, "planned")]
    assert not pending(client)
    client.close()
    assert daemon.stop() == 0


def test_loose_files_gone_from_the_server_leave_the_mirror(
    make_daemon_config, make_config, put, remote, start_daemon, clock, tmp_path: Path
) -> None:
    config, daemon = _daemon(make_daemon_config, make_config, start_daemon, clock, tmp_path)
    client = daemon.client()
    put_loose(put, SAMPLE / "day1", 1_780_000_000)
    put("export.log", b"exported 300 students\n", mtime=1_780_000_000)  # part of no drop
    clock.set(NIGHT)
    wait_for(lambda: runs_in(client) == [(1, "planned")], 30, "the loose files' run")
    assert (config.mirror_dir / "users.csv").exists()
    assert (config.mirror_dir / "export.log").exists()
    for file in (SAMPLE / "day1").iterdir():
        (remote / file.name).unlink()
    (remote / "export.log").unlink()
    clock.set(NIGHT + timedelta(days=1, hours=7))
    client.sync_now()
    wait_for(lambda: not (config.mirror_dir / "users.csv").exists(), 30, "users.csv pruned")
    wait_for(lambda: not (config.mirror_dir / "export.log").exists(), 30, "export.log pruned")
    client.close()
    assert daemon.stop() == 0
