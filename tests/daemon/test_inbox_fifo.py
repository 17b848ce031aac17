"""A drop holding something other than regular files (a FIFO named manifest.csv, a symlink, a
socket): the inbox never opens it, holds the drop with a status that names the file, says so
once in the log, and never blocks the daemon's loop. Each test has a short timeout: without the
rule, reading the FIFO waits for a writer forever."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.service import inbox as inbox_rules
from daemon.service.config import load_config
from daemon.service.inbox import ROOT_DROP, InboxTracker, content_problem, manifest_text, scan_inbox

from .conftest import SAMPLE, archived, copy_drop, preset, runs_in, wait_for

pytestmark = pytest.mark.timeout(60)


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def unblock(fifo: Path) -> None:
    """Let a reader stuck opening `fifo` go on (only needed when the rule is missing)."""
    with contextlib.suppress(OSError):  # ENXIO: no reader waiting on it, nothing to unblock
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture
def fifo_drop(tmp_path: Path) -> Iterator[Path]:
    """inbox/evil: users.csv, and manifest.csv as a FIFO nobody writes to."""
    folder = tmp_path / "inbox" / "evil"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE / "day1" / "users.csv", folder / "users.csv")
    os.mkfifo(folder / "manifest.csv")
    yield folder
    unblock(folder / "manifest.csv")


def test_a_fifo_in_a_drop_is_never_opened_and_holds_the_drop(
    fifo_drop: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = fifo_drop.parent
    copy_drop(SAMPLE / "day1", inbox, "day1")
    ticks = Ticks()
    tracker = InboxTracker(1, clock=ticks)
    with caplog.at_level(logging.WARNING, logger="roster_sync.daemon"):
        for _ in range(3):
            tracker.observe(scan_inbox(inbox))
            ticks.now += 2
    states = {s.candidate.name: s for s in tracker.states()}

    evil = states["evil"]
    assert [f.rel for f in evil.candidate.files] == ["users.csv"]  # only regular files recorded
    assert evil.candidate.irregular == (("manifest.csv", "a named pipe (FIFO)"),)
    assert not evil.ready and not evil.in_progress and evil.wait is None
    assert evil.reason.startswith("manifest.csv is a named pipe (FIFO), not a regular file")
    assert states["day1"].ready  # a good drop is not held behind it
    # reported once, however often the inbox is looked at
    warnings = [r.getMessage() for r in caplog.records if "manifest.csv" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("evil: manifest.csv is a named pipe")
    # nothing reads it, whoever asks
    assert content_problem(evil.candidate) == evil.reason
    assert manifest_text(evil.candidate) is None
    with pytest.raises(OSError, match="not a regular file"):
        inbox_rules.open_regular(fifo_drop / "manifest.csv")

    # replaced by a regular file: the drop is looked at afresh and taken once quiet
    (fifo_drop / "manifest.csv").unlink()
    shutil.copy(SAMPLE / "day1" / "manifest.csv", fifo_drop / "manifest.csv")
    tracker.observe(scan_inbox(inbox))
    ticks.now += 2
    tracker.observe(scan_inbox(inbox))
    evil = next(s for s in tracker.states() if s.candidate.name == "evil")
    assert evil.candidate.irregular == ()
    assert not evil.reason.startswith("manifest.csv is")


def test_symlinks_sockets_and_special_files_at_the_top_are_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    folder = inbox / "day2"
    shutil.copytree(SAMPLE / "day2", folder)
    (folder / "orgs.csv").unlink()
    (folder / "orgs.csv").symlink_to(SAMPLE / "day2" / "orgs.csv")
    (folder / "sub").mkdir()
    (folder / "linked").symlink_to(folder / "sub", target_is_directory=True)
    (folder / "classes.csv").unlink()
    monkeypatch.chdir(folder)  # bound by a relative name: AF_UNIX paths are short
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("classes.csv")
        os.mkfifo(inbox / "export.zip")
        os.mkfifo(inbox / "users.csv")
        found = {c.name: c for c in scan_inbox(inbox)}
    assert dict(found["day2"].irregular) == {
        "classes.csv": "a socket",
        "linked": "a symbolic link",
        "orgs.csv": "a symbolic link",
    }
    assert {f.rel for f in found["day2"].files} == {
        p.name for p in (SAMPLE / "day2").iterdir() if p.name not in ("orgs.csv", "classes.csv")
    }
    assert found["export.zip"].irregular == (("export.zip", "a named pipe (FIFO)"),)
    assert found["export.zip"].files == ()
    assert found[ROOT_DROP].irregular == (("users.csv", "a named pipe (FIFO)"),)
    tracker = InboxTracker(0, clock=Ticks())
    tracker.observe(found.values())
    reasons = {s.candidate.name: s.reason for s in tracker.states() if not s.ready}
    assert reasons["day2"].startswith("classes.csv is a socket, not a regular file (and 2 more)")
    assert reasons["export.zip"].startswith("export.zip is a named pipe (FIFO)")  # not given up on
    assert reasons[ROOT_DROP].startswith("users.csv is a named pipe (FIFO)")


def test_a_fifo_manifest_does_not_block_the_daemon(
    fifo_drop: Path, make_daemon_config, start_daemon, clock
) -> None:
    config_path = make_daemon_config(inbox=str(fifo_drop.parent))
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    try:
        copy_drop(SAMPLE / "day1", config.inbox, "day1")  # a good drop, afterwards
        wait_for(lambda: archived(config.archive) == ["run-1-day1"], 30, "the good drop")
        assert runs_in(client) == [(1, "planned")]
        wait_for(
            lambda: any(p.startswith("evil: manifest.csv is a named pipe") for p in
                        client.status().daemon.pending_drops),
            10, "the held drop's status",
        )  # fmt: skip
        client.close()
        assert daemon.stop() == 0  # a stop request is honoured
    finally:
        unblock(fifo_drop / "manifest.csv")
