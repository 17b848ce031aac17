"""A hostile or broken server against a real sshd: lying sizes, huge files, trickles, odd names.

Each test bounds what the unfixed code would do (a progress callback that stops a runaway
download), so a regression fails the test instead of filling the disk or hanging the suite.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import paramiko
import pytest

from daemon.service import sftp_mirror
from daemon.service.sftp import mirror
from daemon.service.sftp_mirror import PREFETCH_WINDOW, MirrorMemory

from .sshd import SshdServer

pytestmark = pytest.mark.sftp

USERS = b"sourcedId,givenName\nu1,Ada\n"


class Runaway(Exception):
    """Raised by a test's progress callback: the download went further than it may."""


def limit(max_bytes: int) -> Callable[[str, int, int], None]:
    """A progress callback that stops a download once it holds more than `max_bytes`."""

    def _progress(rel: str, received: int, size: int) -> None:
        if received > max_bytes:
            raise Runaway(f"{rel}: {received} bytes received, listed {size}")

    return _progress


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


def _free_space(monkeypatch: pytest.MonkeyPatch, free: int) -> None:
    monkeypatch.setattr(sftp_mirror.shutil, "disk_usage", lambda _path: _Usage(free, 0, free))


# -- 1. size: never past the listed size, never more than the limits -------------------------


def test_a_file_that_grows_past_its_listed_size_stops_at_the_listed_size(
    make_config, put, dest: Path
) -> None:
    put("a.csv", USERS)
    grows = put("b.csv", b"0123456789")
    grown: list[bool] = []

    def grow_b(rel: str, received: int, size: int) -> None:  # after b.csv was listed
        if rel == "a.csv" and not grown:
            grown.append(True)
            with grows.open("ab") as f:
                f.write(b"x" * 4 * 1024 * 1024)
        limit(8 * 1024 * 1024)(rel, received, size)

    report = mirror(make_config(), dest, progress=grow_b)

    assert report.failed == ["b.csv"], report
    assert "grew while downloading" in report.errors["b.csv"]
    assert report.bytes_transferred == len(USERS) + 10  # not one byte past the listing
    assert not (dest / "b.csv").exists()


def test_a_file_over_the_size_limit_is_refused(sshd: SshdServer, make_config, put, dest: Path):
    huge = put("users.csv", b"")
    os.truncate(huge, sftp_mirror.MAX_ZIP_TOTAL_BYTES + 1)  # sparse: no disk used
    put("classes.csv", USERS)

    report = mirror(make_config(), dest, progress=limit(1024 * 1024))

    assert report.failed == ["users.csv"]
    assert "more than the 50 GB limit for a file" in report.errors["users.csv"]
    assert report.downloaded == ["classes.csv"]
    assert report.bytes_transferred == len(USERS)


def test_a_file_over_half_the_free_space_is_refused(
    make_config, put, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put("users.csv", b"x" * 3000)
    _free_space(monkeypatch, 5000)

    report = mirror(make_config(), dest, progress=limit(1024 * 1024))

    assert report.failed == ["users.csv"]
    assert "more than half of the" in report.errors["users.csv"]
    assert report.bytes_transferred == 0


# -- 2. memory: prefetch in windows ----------------------------------------------------------


def test_a_huge_listed_size_is_prefetched_in_bounded_windows(
    make_config, put, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = put("users.csv", b"")
    os.truncate(huge, 40 * 1024**3)  # sparse, under the size limit
    _free_space(monkeypatch, 10 * 1024**4)
    asked: list[int] = []
    prefetch = paramiko.SFTPFile.prefetch

    def spy(self: paramiko.SFTPFile, file_size: int | None = None, *args: object) -> None:
        asked.append((file_size or 0) - self._realpos)
        prefetch(self, file_size, *args)

    monkeypatch.setattr(paramiko.SFTPFile, "prefetch", spy)

    with pytest.raises(Runaway):
        mirror(make_config(), dest, progress=limit(3 * PREFETCH_WINDOW))

    assert asked and max(asked) <= PREFETCH_WINDOW


# -- 3. a stalled or trickling server ---------------------------------------------------------


class Freeze:
    """Progress callback: freezes the sshd sessions once part of the file is in; then, from
    `stop_after` seconds on, raises Runaway as a daemon's stop request would."""

    def __init__(self, sshd: SshdServer, stop_after: float | None = None) -> None:
        self.sshd, self.stop_after = sshd, stop_after
        self.frozen: list[int] = []
        self.frozen_at = 0.0

    def __call__(self, rel: str, received: int, size: int) -> None:
        if rel == "users.csv" and not self.frozen and received >= 1024 * 1024:
            self.frozen_at = time.monotonic()
            self.frozen = self.sshd.kill_sessions(signal.SIGSTOP)
        late = self.frozen and time.monotonic() - self.frozen_at > (self.stop_after or 0)
        if self.stop_after is not None and late:
            raise Runaway("stop requested")

    def thaw(self) -> None:
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_stop_request_ends_a_blocked_download_promptly(
    sshd: SshdServer, make_config, put, dest: Path, no_sleep: list[float]
) -> None:
    put("users.csv", os.urandom(24 * 1024 * 1024))
    freeze = Freeze(sshd, stop_after=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(Runaway):
            mirror(make_config(timeout_seconds=30), dest, sleep=no_sleep.append, progress=freeze)
    finally:
        freeze.thaw()

    assert freeze.frozen
    assert time.monotonic() - started < 10  # not the 30 s read timeout
    assert not [p for p in dest.iterdir() if p.name.endswith(".partial")]


def test_a_file_past_its_deadline_fails_and_the_rest_is_mirrored(
    sshd: SshdServer,
    make_config,
    put,
    dest: Path,
    no_sleep: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sftp_mirror, "DEADLINE_GRACE_SECONDS", 2.0)
    monkeypatch.setattr(sftp_mirror, "MIN_BYTES_PER_SECOND", 1024**4)
    put("users.csv", os.urandom(24 * 1024 * 1024))
    put("z.csv", USERS)
    freeze = Freeze(sshd)  # each read would wait for the 30 s timeout: only the deadline helps
    started = time.monotonic()
    try:
        report = mirror(
            make_config(timeout_seconds=30), dest, sleep=no_sleep.append, progress=freeze
        )
    finally:
        freeze.thaw()

    assert time.monotonic() - started < 15
    assert report.failed == ["users.csv"]
    assert report.errors["users.csv"].startswith("too slow: ")
    assert report.downloaded == ["z.csv"]
    assert no_sleep == []  # reconnected at once: the connection itself was fine


# -- 4. endless trees --------------------------------------------------------------------------


def test_folders_nested_too_deep_are_not_walked(make_config, put, dest: Path) -> None:
    deep = "/".join(["a"] * (sftp_mirror.MAX_DEPTH + 3))
    put(f"{deep}/users.csv", USERS)
    put("top.csv", USERS)

    report = mirror(make_config(), dest)

    too_deep = "/".join(["a"] * sftp_mirror.MAX_DEPTH) + "/"
    assert report.failed == [too_deep]
    assert report.downloaded == ["top.csv"]


def test_a_stop_request_ends_the_walk(make_config, put, dest: Path) -> None:
    put("day1/users.csv", USERS)
    seen: list[str] = []

    def stop_in_folder(rel: str, received: int, size: int) -> None:
        seen.append(rel)
        if rel == "day1/":
            raise Runaway("stop requested")

    with pytest.raises(Runaway):
        mirror(make_config(), dest, progress=stop_in_folder)

    assert "day1/users.csv" not in seen
    assert not (dest / "day1" / "users.csv").exists()


# -- 5-7. names the local side cannot take ---------------------------------------------------


def test_a_name_that_is_not_utf8_is_skipped_and_the_rest_mirrored(
    sshd: SshdServer, make_config, put, remote: Path, dest: Path
) -> None:
    put("users.csv", USERS)
    bad = os.fsencode(remote) + b"/notes_caf\xe9.txt"
    with open(bad, "wb") as f:
        f.write(b"x")
    os.chown(bad, *(lambda u: (u.st_uid, u.st_gid))(os.stat(remote)))

    report = mirror(make_config(), dest)

    assert report.downloaded == ["users.csv"]
    assert report.failed == ["notes_caf\\xe9.txt"]
    assert "not UTF-8" in report.errors["notes_caf\\xe9.txt"]


def test_a_legal_long_name_is_mirrored(make_config, put, dest: Path) -> None:
    long_name = "E" * 251 + ".csv"  # 255 bytes: legal, but too long with a suffix added
    put(f"day1/{long_name}", USERS)
    put("day1/users.csv", USERS)

    report = mirror(make_config(), dest)

    assert sorted(report.downloaded) == [f"day1/{long_name}", "day1/users.csv"]
    assert (dest / "day1" / long_name).read_bytes() == USERS


def test_a_path_too_long_locally_fails_that_file_without_reconnecting(
    make_config, put, tmp_path: Path, no_sleep: list[float]
) -> None:
    dest = tmp_path.joinpath(*["m" * 250] * 6)  # a long local mirror path
    deep = "/".join(["d" * 250] * 11)  # fits the server's path, not under the local mirror
    put(f"{deep}/users.csv", USERS)
    put("z.csv", USERS)

    report = mirror(make_config(), dest, sleep=no_sleep.append)

    assert (report.attempts, no_sleep) == (1, [])
    assert report.failed == [f"{deep}/users.csv"]
    assert "cannot be saved in the local mirror" in report.errors[f"{deep}/users.csv"]
    assert report.downloaded == ["z.csv"]


# -- 8-10. non-regular entries and the log ---------------------------------------------------


def test_a_symlink_in_a_drop_fails_it_naming_the_file(
    make_config, put, remote: Path, dest: Path
) -> None:
    put("day1/users.csv", USERS)
    target = put("elsewhere/guardians.csv", USERS)
    (remote / "day1" / "guardians.csv").symlink_to(target)

    report = mirror(make_config(), dest)

    assert report.failed == ["day1/guardians.csv"]
    assert report.errors["day1/guardians.csv"].startswith(
        "a symbolic link on the server, not a regular file; a drop holds regular files only"
    )


def test_a_symlink_on_the_server_is_logged_once(
    make_config, put, remote: Path, dest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    put("2026-12-01/users.csv", USERS)
    (remote / "latest").symlink_to(remote / "2026-12-01")
    memory = MirrorMemory()
    config = make_config()
    caplog.set_level(logging.INFO, logger="roster_sync")

    for _ in range(3):
        mirror(config, dest, memory=memory)

    said = [r for r in caplog.records if r.levelno >= logging.INFO and "latest" in r.getMessage()]
    assert len(said) == 1


def test_remote_names_are_logged_escaped(
    make_config, put, dest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    put("evil\nroster-sync[ERROR] forged\x1b[2J.csv", USERS)
    caplog.set_level(logging.DEBUG, logger="roster_sync")

    report = mirror(make_config(), dest)

    assert len(report.downloaded) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("downloaded evil" in m for m in messages)
    assert not [m for m in messages if "\n" in m or "\x1b" in m]
