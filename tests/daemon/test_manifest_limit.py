"""A manifest.csv over 1 MB is never read into memory whole, neither by the daemon (which reads
it to see which files it promises) nor by the sync: the drop is refused in one line naming the
file and the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.formats.drop import MAX_MANIFEST_BYTES, DropError, open_drop
from daemon.service.inbox import FileSig, NeverReadable, manifest_problem

from .conftest import SAMPLE, archived, copy_drop, runs_in, start_on_arrival, wait_for

TOO_LARGE = "manifest.csv is 2,097,152 bytes, over the limit of 1,048,576 bytes (1 MB)"


def _huge_manifest(folder: Path) -> None:
    """day1's manifest, padded with a property to 2 MB."""
    text = (SAMPLE / "day1" / "manifest.csv").read_text()
    padding = 2 * 1024 * 1024 - len(text.encode()) - len("source.note,\n")
    (folder / "manifest.csv").write_text(f"{text}source.note,{'x' * padding}\n")


def test_the_daemon_does_not_read_a_manifest_over_the_limit() -> None:
    def read(rel: str) -> bytes:
        raise AssertionError(f"{rel} was read")

    files = [FileSig("manifest.csv", MAX_MANIFEST_BYTES * 2, 0), FileSig("users.csv", 10, 0)]
    problem = manifest_problem(files, read)
    assert isinstance(problem, NeverReadable)  # no wait makes it smaller: the sync refuses it
    assert problem.startswith(TOO_LARGE)


def test_the_sync_refuses_a_manifest_over_the_limit(tmp_path: Path) -> None:
    drop = copy_drop(SAMPLE / "day1", tmp_path, "day1")
    _huge_manifest(drop)
    with pytest.raises(DropError, match=r"^manifest\.csv is 2,097,152 bytes, over the limit"):
        open_drop(drop, tmp_path / "work")


def test_a_drop_with_a_manifest_over_the_limit_fails_saying_so(
    make_daemon_config, start_daemon, clock, tmp_path: Path
) -> None:
    config, daemon = start_on_arrival(make_daemon_config, start_daemon, clock)
    client = daemon.client()
    staged = copy_drop(SAMPLE / "day1", tmp_path / "staging", "day1")
    _huge_manifest(staged)
    copy_drop(staged, config.inbox, "day1")
    wait_for(lambda: archived(config.archive), 60, "the drop to be decided")
    assert runs_in(client) == [(1, "failed")]
    assert TOO_LARGE in (client.get_run(1).error or "")
    client.close()
    assert daemon.stop() == 0
