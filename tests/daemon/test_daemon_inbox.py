"""The running daemon and its inbox: uploads in pieces, the same drop twice, sync on arrival, and
the CLI reaching the daemon through its socket."""

from __future__ import annotations

import json
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from daemon.db import Database
from daemon.service.config import load_config

from .conftest import (
    QUIET,
    SAMPLE,
    archived,
    cli,
    copy_drop,
    encrypted_zip,
    preset,
    runs_in,
    start_on_arrival,
    wait_for,
    zip_drop,
)
from .test_manifest_wait import line_of, quiet_period_passes, quiet_until, start

EXPECTED = json.loads((SAMPLE / "expected.json").read_text())


def _write_slowly(source: Path, target: Path, pieces: int, pause: float) -> None:
    data = source.read_bytes()
    step = max(1, len(data) // pieces)
    with open(target, "wb") as out:
        for start in range(0, len(data), step):
            out.write(data[start : start + step])
            out.flush()
            time.sleep(pause)


def test_drops_uploaded_slowly_in_pieces_are_processed_once_and_complete(
    make_daemon_config, start_daemon, clock, tmp_path: Path
) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    # day1 as a folder, file after file, each in pieces: never quiet for QUIET seconds
    folder = config.inbox / "day1"
    folder.mkdir(parents=True)
    started = time.monotonic()
    for source in sorted((SAMPLE / "day1").iterdir()):
        _write_slowly(source, folder / source.name, pieces=3, pause=QUIET / 5)
    assert runs_in(client) == []  # nothing was read while it was being written
    # day2 as a ZIP written in pieces
    zipped = zip_drop(SAMPLE / "day2", tmp_path / "day2.zip")
    _write_slowly(zipped, config.inbox / "day2.zip", pieces=8, pause=QUIET / 5)
    assert time.monotonic() - started > 3 * QUIET

    # day2 came later: its plan supersedes day1's, which can no longer be approved by mistake
    wait_for(lambda: runs_in(client) == [(1, "superseded"), (2, "planned")], what="two runs")
    time.sleep(3 * QUIET)  # and no third one
    assert runs_in(client) == [(1, "superseded"), (2, "planned")]
    for run_id, day in ((1, "day1"), (2, "day2")):
        run = client.get_run(run_id)
        rows = {f.file_name: f.rows for f in run.files if f.rows is not None}
        expected = dict(EXPECTED["drops"][day]["rows"])
        expected.pop("manifest.csv")
        assert rows == expected, day
    assert client.get_run(1).changes["students"]["create"] == 300
    wait_for(lambda: archived(config.archive) == ["run-1-day1", "run-2-day2.zip"], what="archive")
    assert not any(config.inbox.iterdir()) or [p.name for p in config.inbox.iterdir()] == [
        ".processing"
    ]
    client.close()
    assert daemon.stop() == 0
    assert not config.socket.exists()


def test_the_same_drop_twice_yields_one_run(
    make_daemon_config, start_daemon, clock, tmp_path
) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: archived(config.archive) == ["run-1-day1"], what="day1 archived")
    # the same content again: by the same name, and zipped under another name
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    copy_drop(zip_drop(SAMPLE / "day1", tmp_path / "x.zip"), config.inbox, "resent.zip")
    wait_for(lambda: len(archived(config.archive)) == 3, what="duplicates archived")
    assert archived(config.archive) == [
        "duplicate-of-run-1-day1",
        "duplicate-of-run-1-resent.zip",
        "run-1-day1",
    ]
    assert runs_in(client) == [(1, "planned")]
    client.close()
    daemon.stop()


def test_loose_csvs_in_the_inbox_root_are_one_drop(make_daemon_config, start_daemon, clock) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    for source in sorted((SAMPLE / "day1").iterdir()):
        copy_drop(source, config.inbox, source.name)
    client = daemon.client()
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="a run of the loose files")
    run = client.get_run(1)
    assert run.changes["students"]["create"] == 300
    wait_for(
        lambda: (
            [n.split("-", 2)[2] for n in archived(config.archive)] == ["inbox-root-20260914-120000"]
        )
    )
    assert sorted(p.name for p in config.inbox.iterdir()) == [".processing"]
    client.close()
    daemon.stop()


def test_an_encrypted_zip_fails_at_once_saying_why_and_the_next_drop_is_planned(
    make_daemon_config, start_daemon, clock, tmp_path: Path
) -> None:
    config, daemon = start_on_arrival(make_daemon_config, start_daemon, clock)
    client = daemon.client()
    locked = encrypted_zip(SAMPLE / "day1", tmp_path / "locked.zip")
    copy_drop(locked, config.inbox, "2026-09-13.zip")
    wait_for(lambda: runs_in(client) == [(1, "failed")], what="the encrypted ZIP's failed run")
    assert client.get_run(1).error == (
        "2026-09-13.zip: entry 'academicSessions.csv' is encrypted; send the drop unencrypted"
    )
    copy_drop(SAMPLE / "day1", config.inbox, "2026-09-14")
    wait_for(lambda: runs_in(client) == [(1, "failed"), (2, "planned")], what="the next drop")
    wait_for(lambda: len(archived(config.archive)) == 2, what="both archived")
    assert archived(config.archive) == ["run-1-2026-09-13.zip", "run-2-2026-09-14"]
    client.close()
    assert daemon.stop() == 0


def test_cli_goes_through_the_socket_while_the_daemon_runs(
    make_daemon_config, start_daemon, clock
) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    client = daemon.client()
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="run 1")
    client.close()

    runs = cli(config_path, "runs", "--json")  # the database is locked: only the socket works
    assert runs.returncode == 0, runs.stderr
    assert [r["run_id"] for r in json.loads(runs.stdout)] == [1]
    status = cli(config_path, "status")
    assert status.returncode == 0, status.stderr
    assert "Daemon: running" in status.stdout
    assert "Next scheduled sync: 2026-09-15 02:00" in status.stdout
    assert "Sync on arrival: on" in status.stdout
    approved = cli(config_path, "apply", "1")
    assert approved.returncode == 0, approved.stderr
    assert daemon.stop() == 0
    # the daemon is gone: the same commands open the database themselves
    status = cli(config_path, "status")
    assert status.returncode == 0, status.stderr
    assert "Daemon: not running" in status.stdout


def test_a_run_points_at_its_archived_files_once_the_drop_is_archived(
    make_daemon_config, start_daemon, clock
) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    client = daemon.client()
    wait_for(lambda: archived(config.archive) != [], what="the archived drop")
    wait_for(lambda: ".processing" not in client.get_run(1).source, what="the run's new source")
    source = Path(client.get_run(1).source)
    assert source.is_dir() and source.parent.parent == config.archive
    assert source.name.endswith("-run-1-day1")
    assert (source / "users.csv").is_file()
    client.close()
    daemon.stop()


def test_an_inbox_drop_older_than_one_already_planned_is_superseded_not_planned(
    make_daemon_config, start_daemon, clock
) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day2", config.inbox, "2026-11-30")
    wait_for(lambda: archived(config.archive) == ["run-1-2026-11-30"], what="the newer export")
    copy_drop(SAMPLE / "day1", config.inbox, "2026-11-29")  # an older export, arriving late
    wait_for(lambda: "superseded-2026-11-29" in archived(config.archive), what="the late one")
    assert runs_in(client) == [(1, "planned")]
    late = next(d for d in client.status().daemon.drops if d.name == "2026-11-29")
    assert (late.source, late.status, late.run_id) == ("inbox", "superseded", None)
    assert late.reason.startswith("older than 2026-11-30 (run 1)")
    client.close()
    assert daemon.stop() == 0
    db = Database(config.database)
    try:
        actions = db.rows("SELECT action, target_id FROM audit_log WHERE target_kind = 'drop'")
    finally:
        db.close()
    assert ("drop.superseded", late.drop_id) in actions
    assert [a for a, _ in actions].count("drop.planned") == 1


def test_the_archive_keeps_a_drop_past_its_retention_while_its_run_is_open(
    make_daemon_config, start_daemon, clock
) -> None:
    """Lowering drop_retention_days must not throw away the files of a run under review."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, drop_retention_days=1)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: archived(config.archive) == ["run-1-day1"], what="day1 archived")
    clock.set(clock() + timedelta(days=5))
    clock.wait_reads(5)
    assert archived(config.archive) == ["run-1-day1"]  # run 1 is still to be reviewed
    assert client.apply_run(1).status == "applied"
    clock.set(clock() + timedelta(days=1))  # the next day's prune may go
    wait_for(lambda: archived(config.archive) == [], what="the decided run's drop pruned")
    client.close()
    assert daemon.stop() == 0


def stored_zip(source: Path, target: Path) -> bytes:
    """A ZIP of the drop's files, stored uncompressed (its entries lie elsewhere than in the
    compressed ZIP of another night)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(source.iterdir()):
            archive.write(file, file.name)
    return target.read_bytes()


def test_an_inbox_zip_rewritten_in_place_whose_upload_stalls_waits_and_is_taken_once_whole(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path
) -> None:
    config, _daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    old = stored_zip(SAMPLE / "day1", tmp_path / "old.zip")
    new = zip_drop(SAMPLE / "day2", tmp_path / "new.zip").read_bytes()
    cut = len(new) // 2
    stalled = new[:cut] + old[cut:]  # new bytes over the old file; its old directory still last
    (config.inbox / "export.zip").write_bytes(stalled)
    quiet_period_passes(client, ticks, "export.zip")
    line = line_of(client, "export.zip: entry academicSessions.csv fails its CRC check")
    assert "waits" in line, line
    assert runs_in(client) == []
    (config.inbox / "export.zip").write_bytes(new)  # the upload resumes and ends
    quiet_until(ticks, lambda: runs_in(client) == [(1, "planned")], "the whole ZIP planned")
