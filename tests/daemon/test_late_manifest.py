"""A manifest.csv that comes alone is never a drop by itself: it joins the drop it belongs to while
that one is still queued, it is the first file of a drop when the SIS writes it first, and only a
manifest that stays alone after its drop was planned is set aside, saying so on that drop's run."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from daemon.service import inbox
from daemon.service.config import load_config
from daemon.service.drop_archive import queued
from daemon.service.main_loop import Daemon

from .conftest import QUIET, SAMPLE, archived, copy_drop, runs_in, wait_for
from .test_manifest_wait import (
    delta_drop,
    line_of,
    quiet_period_passes,
    quiet_until,
    start,
    without_manifest,
)


def test_a_manifest_written_first_waits_for_its_files_and_is_read_with_them(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path
) -> None:
    config, _daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    copy_drop(without_manifest(SAMPLE / "day1", tmp_path), config.inbox, "day1")
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="day1 planned")
    drop = delta_drop(tmp_path)
    (config.inbox / "day2").mkdir()
    shutil.copyfile(drop / "manifest.csv", config.inbox / "day2" / "manifest.csv")
    quiet_period_passes(client, ticks, "day2")  # the SIS pauses after writing the manifest
    line_of(client, "day2: waiting for ")
    for file in sorted(drop.iterdir()):
        shutil.copyfile(file, config.inbox / "day2" / file.name)
    quiet_until(ticks, lambda: len(runs_in(client)) == 2, "day2 planned")
    assert client.get_run(2).changes["students"].get("archive", 0) == 0  # users.csv read as delta


def queue_without_planning(
    config_path: Path, clock, ticks, name: str, source="inbox", newer: tuple[str, ...] = (),
    meanwhile: Callable[[], None] | None = None,
) -> None:  # fmt: skip
    """A daemon that takes the drop `name` (of the inbox, or mirrored from SFTP) without its
    manifest (after the give-up) and is asked to stop as it does: the drop stays queued, to be
    planned at the next start; so do the `newer` drops taken in the same pass, after it.
    `meanwhile` is done half an hour (by the wall clock) after the daemon first saw `name`, and
    looked at: what it brings is first seen then."""
    daemon = Daemon(load_config(config_path), clock, ticks)
    daemon.start()
    try:
        daemon.tick()
        assert (source, name) in daemon.tracker.names()
        if meanwhile is not None:
            clock.set(clock() + timedelta(minutes=30))
            meanwhile()
            daemon.next_scan = daemon.next_poll = 0.0
            daemon.tick()
        ticks.advance(3 * QUIET + inbox.ZIP_GIVE_UP_MIN)
        daemon.next_scan = 0.0
        daemon.stop.set()
        daemon.tick()
    finally:
        daemon.shutdown()
    assert [p.name for p in queued(daemon.config.inbox)] == [
        each if source == "inbox" else f"{source}-{each}" for each in (name, *newer)
    ]


def test_a_manifest_coming_while_its_drop_is_queued_joins_it(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path
) -> None:
    config, daemon, client = start(make_daemon_config, start_daemon, clock, ticks, auto_apply=True)
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: runs_in(client) == [(1, "applied")], what="day1 applied")
    client.close()
    daemon.stop()
    drop = delta_drop(tmp_path)
    copy_drop(without_manifest(drop, tmp_path), config.inbox, "day2")
    queue_without_planning(daemon.config_path, clock, ticks, "day2")

    (config.inbox / "day2").mkdir()  # the SIS uploads the manifest into the same folder
    shutil.copyfile(drop / "manifest.csv", config.inbox / "day2" / "manifest.csv")
    client = start_daemon(daemon.config_path, clock, ticks).client()
    quiet_until(ticks, lambda: len(runs_in(client)) == 2, "day2 planned")  # archives nobody:
    wait_for(lambda: runs_in(client) == [(1, "applied"), (2, "applied")], what="day2 applied")
    assert not any(name.startswith("skipped") for name in archived(config.archive))


def test_a_drop_removed_from_the_queue_before_it_is_planned_fails_saying_so(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path
) -> None:
    """It stayed `queued` in the status for as long as the daemon ran."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    daemon = Daemon(config, clock, ticks)
    daemon.start()
    try:
        daemon.tick()
        ticks.advance(3 * QUIET)
        daemon.next_scan = 0.0
        daemon.due.add(("inbox", "day1"))
        daemon.stop.set()  # queued, not planned
        daemon.tick()
        (path,) = queued(config.inbox)
        shutil.rmtree(path.parent)  # someone cleans the inbox's hidden folders
        daemon.stop.clear()
        daemon.next_queue_check = 0.0  # the next look at the queue
        daemon.tick()
        assert daemon.history is not None
        row = daemon.history.latest_by_name("inbox")["day1"]
        assert row.status == "failed"
        assert row.reason.startswith("its files disappeared from the queue before it was planned")
    finally:
        daemon.shutdown()
