"""The SFTP mirror is pruned: the local copy of a drop the daemon decided goes once the drop is
gone from the server or older than `drop_retention_days`; the drop's history and run stay.
Without it, every file the server ever had was kept, and the database's disk slowly filled."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.service.config import load_config
from daemon.service.drop_history import SFTP, DropHistory
from daemon.service.drop_order import order_key

from .conftest import SAMPLE, ZONE, preset, runs_in, wait_for

pytestmark = pytest.mark.sftp
NIGHT = datetime(2026, 9, 14, 2, 0, 1, tzinfo=ZONE)


def _upload(put, folder: str, source: Path, skip: str = "") -> None:
    for file in sorted(source.iterdir()):
        if file.name != skip:
            put(f"{folder}/{file.name}", file.read_bytes(), mtime=1_780_000_000)


def _status_of(client, name: str) -> tuple[str, int | None] | None:
    drop = next((d for d in client.status().daemon.drops if d.name == name), None)
    return None if drop is None else (drop.status, drop.run_id)


def _daemon(make_daemon_config, make_config, start_daemon, clock, tmp_path: Path, **settings):
    sftp = make_config(poll_seconds=0.2, remote_quiet_seconds=0).model_dump(
        mode="json", exclude_none=True
    )
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp)
    config = load_config(config_path)
    if settings:
        preset(config, **settings)
    clock.set(NIGHT - timedelta(minutes=1))
    return config, start_daemon(config_path, clock)


def test_a_decided_drop_gone_from_the_server_leaves_the_mirror(
    make_daemon_config, make_config, put, remote, start_daemon, clock, tmp_path: Path
) -> None:
    config, daemon = _daemon(make_daemon_config, make_config, start_daemon, clock, tmp_path)
    client = daemon.client()
    _upload(put, "day1", SAMPLE / "day1")
    clock.set(NIGHT)
    wait_for(lambda: runs_in(client) == [(1, "planned")], 30, "day1's run")
    digest = client.get_run(1).content_hash
    _upload(put, "partial", SAMPLE / "day2", skip="users.csv")  # waits for users.csv: undecided
    client.sync_now()
    wait_for(lambda: (config.mirror_dir / "partial" / "manifest.csv").exists(), 30, "partial")
    shutil.rmtree(remote / "day1")
    shutil.rmtree(remote / "partial")
    clock.set(NIGHT + timedelta(days=1, hours=7))
    client.sync_now()
    wait_for(lambda: not (config.mirror_dir / "day1").exists(), 30, "day1 pruned from the mirror")
    assert (config.mirror_dir / "partial" / "manifest.csv").exists()  # never decided: kept
    drops = {d.name: d for d in client.status().daemon.drops}
    assert (drops["day1"].status, drops["day1"].run_id) == ("planned", 1)
    assert client.get_run(1).content_hash == digest
    client.close()
    assert daemon.stop() == 0


def test_a_decided_drop_still_on_the_server_leaves_the_mirror_after_the_retention(
    make_daemon_config, make_config, put, start_daemon, clock, tmp_path: Path
) -> None:
    config, daemon = _daemon(
        make_daemon_config, make_config, start_daemon, clock, tmp_path, drop_retention_days=2
    )
    client = daemon.client()
    _upload(put, "day1", SAMPLE / "day1")
    clock.set(NIGHT)
    # the drop's decision, not only its run: it is recorded (at the clock's time) just after
    wait_for(lambda: _status_of(client, "day1") == ("planned", 1), 30, "day1 decided")
    clock.set(NIGHT + timedelta(days=1))
    client.sync_now()
    wait_for(
        lambda: client.status().daemon.last_mirror == NIGHT + timedelta(days=1), 30, "a mirror"
    )
    assert (config.mirror_dir / "day1" / "users.csv").exists()  # within the retention: kept
    clock.set(NIGHT + timedelta(days=3))
    client.sync_now()
    wait_for(lambda: not (config.mirror_dir / "day1").exists(), 30, "day1 pruned from the mirror")
    client.sync_now()  # decided: listed, never copied again
    wait_for(
        lambda: "10 in drops decided before (not copied)"
        in (client.status().daemon.last_mirror_result or ""),
        30, "the next mirror",
    )  # fmt: skip
    assert not (config.mirror_dir / "day1").exists()
    client.close()
    assert daemon.stop() == 0


def _decide(history: DropHistory, name: str, status: str, at: datetime, queued: bool) -> None:
    history.record(
        source=SFTP, name=name, status=status, reason=None, now=at, key=order_key(name, at),
        queued_as=Path("/queue") / name if queued else None,
    )  # fmt: skip


def test_what_the_mirror_keeps(tmp_path: Path) -> None:
    """Undecided, failed and still on the server (watched for a change), or held only by the
    mirror (superseded when complete: it can still be run by hand) within the retention: kept."""
    now = NIGHT + timedelta(days=40)
    with Database(tmp_path / "roster.duckdb") as db:
        history = DropHistory(db, "test")
        _decide(history, "queued", "queued", NIGHT, queued=True)
        _decide(history, "failed-there", "failed", NIGHT, queued=True)
        _decide(history, "failed-gone", "failed", now, queued=True)
        _decide(history, "late-gone", "superseded", now, queued=False)
        _decide(history, "late-old", "superseded", NIGHT, queued=False)
        _decide(history, "seen-old", "seen", NIGHT, queued=False)
        local = ["queued", "failed-there", "failed-gone", "late-gone", "late-old", "seen-old",
                 "never-decided"]  # fmt: skip
        on_server = {"queued": {}, "failed-there": {}}
        prunable = history.mirror_prunable(local, on_server, 30, now, lambda entry: entry)
    assert prunable == ["failed-gone", "late-old", "seen-old"]
