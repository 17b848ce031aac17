"""What the daemon applies by itself (auto_apply) from drops nobody watched arrive.

A users.csv cut at a line ending cannot be told from a complete one without a ready marker, so
a run of an unmarked drop is auto-applied only if it archives nothing; one that archives waits
for a person and says why. And an export identical to an older run (A, B, A) is planned again:
only the same export twice in a row is skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from daemon.service.config import load_config

from .conftest import SAMPLE, archived, cli, copy_drop, preset, runs_in, wait_for, zip_drop

MARKER = "export.done"


def _marked(source: Path, tmp_path: Path, name: str) -> Path:
    """A copy of `source` with the ready marker written last (newer than every file)."""
    folder = tmp_path / name
    shutil.copytree(source, folder)
    (folder / MARKER).write_text("done\n")
    return folder


def _drop(client, name: str):
    return next(d for d in client.status().daemon.drops if d.name == name)


def test_an_unmarked_drop_that_archives_waits_for_review_one_that_archives_nothing_applies(
    make_daemon_config, start_daemon, clock, tmp_path: Path
) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, auto_apply=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    # day1 into an empty directory archives nothing: applied by itself, marker or not
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: archived(config.archive) == ["run-1-day1"], 60, "day1")
    assert runs_in(client) == [(1, "applied")]
    # day2 archives (leavers): it could be a cut file, so it waits for a person
    copy_drop(SAMPLE / "day2", config.inbox, "day2")
    wait_for(lambda: len(archived(config.archive)) == 2, 60, "day2")
    assert runs_in(client) == [(1, "applied"), (2, "planned")]
    run = client.get_run(2)
    archives = sum(ops.get("archive", 0) for ops in run.changes.values())
    assert archives > 0
    assert client.user_detail("stu-1166").status == "active"  # a day2 leaver, not archived
    drop = _drop(client, "day2")
    assert (drop.status, drop.run_id) == ("planned", 2)
    assert drop.reason == (
        f"waiting for review: it archives {archives:,} records, and the drop had no ready marker "
        "to show it was complete; set ready_marker to let such runs apply by themselves"
    )
    status = cli(config_path, "status")
    assert f"day2: planned (run 2); {drop.reason}" in status.stdout, status.stdout + status.stderr
    # a person decides: applied as planned
    assert client.apply_run(2).status == "applied"
    assert client.user_detail("stu-1166").status == "archived"
    client.close()
    assert daemon.stop() == 0


def test_an_unmarked_zip_that_archives_is_auto_applied(
    make_daemon_config, start_daemon, clock, tmp_path: Path
) -> None:
    """A ZIP carries its own marker: it is read only once it opens and passes its CRC check."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, auto_apply=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: len(archived(config.archive)) == 1, 60, "day1")
    copy_drop(zip_drop(SAMPLE / "day2", tmp_path / "day2.zip"), config.inbox, "day2.zip")
    wait_for(lambda: len(archived(config.archive)) == 2, 60, "day2.zip")
    assert runs_in(client) == [(1, "applied"), (2, "applied")]
    assert client.user_detail("stu-1166").status == "archived"
    client.close()
    assert daemon.stop() == 0


def test_with_a_ready_marker_a_drop_that_archives_is_auto_applied(
    make_daemon_config, start_daemon, clock, tmp_path: Path
) -> None:
    config_path = make_daemon_config(ready_marker=MARKER)
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, auto_apply=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(_marked(SAMPLE / "day1", tmp_path, "day1"), config.inbox, "day1")
    wait_for(lambda: len(archived(config.archive)) == 1, 60, "day1")
    copy_drop(_marked(SAMPLE / "day2", tmp_path, "day2"), config.inbox, "day2")
    wait_for(lambda: len(archived(config.archive)) == 2, 60, "day2")
    assert runs_in(client) == [(1, "applied"), (2, "applied")]
    assert client.user_detail("stu-1166").status == "archived"
    assert _drop(client, "day2").reason == "applied by auto_apply"
    client.close()
    assert daemon.stop() == 0


def test_an_export_identical_to_an_older_run_is_planned_again(
    make_daemon_config, start_daemon, clock, tmp_path: Path
) -> None:
    """fri (A) applied, sat (B: 25 users short) applied, sat-fixed (A again) must apply too; the
    same export twice in a row is still skipped."""
    config_path = make_daemon_config(ready_marker=MARKER)
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, auto_apply=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    good = _marked(SAMPLE / "day1", tmp_path, "good")
    short = tmp_path / "short"
    shutil.copytree(SAMPLE / "day1", short)
    lines = (short / "users.csv").read_bytes().splitlines(keepends=True)
    (short / "users.csv").write_bytes(b"".join(lines[:-25]))
    cut = [line.split(b",", 1)[0].decode() for line in lines[-25:]]
    (short / MARKER).write_text("done\n")

    copy_drop(good, config.inbox, "fri")
    wait_for(lambda: len(archived(config.archive)) == 1, 60, "fri")
    copy_drop(short, config.inbox, "sat")
    wait_for(lambda: len(archived(config.archive)) == 2, 60, "sat")
    assert runs_in(client) == [(1, "applied"), (2, "applied")]
    gone = [sis for sis in cut if sis.startswith("gdn-")]
    archived_now = [sis for sis in gone if client.user_detail(sis).status == "archived"]
    assert archived_now  # guardians cut from users.csv

    copy_drop(good, config.inbox, "sat-fixed")  # the SIS's correction: fri's export again
    wait_for(lambda: len(archived(config.archive)) == 3, 60, "sat-fixed")
    assert runs_in(client) == [(1, "applied"), (2, "applied"), (3, "applied")]
    assert all(client.user_detail(sis).status == "active" for sis in archived_now)
    assert "run-3-sat-fixed" in archived(config.archive)

    copy_drop(good, config.inbox, "sun")  # the same export twice in a row: nothing to plan
    wait_for(lambda: len(archived(config.archive)) == 4, 60, "sun")
    assert "duplicate-of-run-3-sun" in archived(config.archive)
    assert len(runs_in(client)) == 3
    drop = _drop(client, "sun")
    assert (drop.status, drop.reason) == ("skipped", "the same content as run 3; not planned again")
    client.close()
    assert daemon.stop() == 0
