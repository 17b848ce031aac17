"""Mirroring behaviour against a real sshd: logins, incremental sync, folder layout."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from daemon.service.inbox import SteadyFiles
from daemon.service.sftp import mirror
from daemon.service.sftp_mirror import MirrorMemory, temp_name

from .sshd import SshdServer

pytestmark = pytest.mark.sftp

USERS = b"sourcedId,givenName\nu1,Ada\n"
CLASSES = b"sourcedId,title\nc1,Math\n"


def test_password_login_mirrors_files(make_config, put, dest: Path) -> None:
    put("users.csv", USERS, mtime=1_700_000_000)
    put("classes.csv", CLASSES)
    put("empty.csv", b"")

    report = mirror(make_config(), dest)

    assert sorted(report.downloaded) == ["classes.csv", "empty.csv", "users.csv"]
    assert (dest / "empty.csv").read_bytes() == b""
    assert (dest / "users.csv").read_bytes() == USERS
    assert (dest / "users.csv").stat().st_mtime == 1_700_000_000  # stamped from the server
    assert report.bytes_transferred == len(USERS) + len(CLASSES)
    assert report.attempts == 1 and report.failed == []


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_key_login_mirrors_files(sshd: SshdServer, make_config, put, dest: Path, kind) -> None:
    put("users.csv", USERS)
    config = make_config(password_file=None, key_file=sshd.client_key(kind))

    report = mirror(config, dest)

    assert report.downloaded == ["users.csv"]
    assert (dest / "users.csv").read_bytes() == USERS


def test_unchanged_files_are_not_downloaded_again(make_config, put, dest: Path) -> None:
    put("users.csv", USERS)
    put("classes.csv", CLASSES)
    config = make_config()
    mirror(config, dest)

    second = mirror(config, dest)

    assert second.downloaded == []
    assert sorted(second.unchanged) == ["classes.csv", "users.csv"]
    assert second.bytes_transferred == 0


def test_changed_remote_file_is_downloaded_again(make_config, put, dest: Path) -> None:
    put("users.csv", USERS, mtime=1_700_000_000)
    put("classes.csv", CLASSES, mtime=1_700_000_000)
    config = make_config()
    mirror(config, dest)
    same_size = USERS.replace(b"Ada", b"Bob")
    put("users.csv", same_size, mtime=1_700_000_100)  # same size: only the mtime tells

    report = mirror(config, dest)

    assert report.downloaded == ["users.csv"]
    assert report.unchanged == ["classes.csv"]
    assert (dest / "users.csv").read_bytes() == same_size
    assert (dest / "users.csv").stat().st_mtime == 1_700_000_100


def test_nested_remote_folders_are_mirrored(make_config, put, dest: Path) -> None:
    put("2024-05-01/users.csv", USERS)
    put("2024-05-01/extra/orgs.csv", b"sourcedId\no1\n")
    put("2024-05-02/users.csv", USERS + b"u2,Bo\n")
    put("top.csv", CLASSES)

    report = mirror(make_config(), dest)

    assert sorted(report.downloaded) == [
        "2024-05-01/extra/orgs.csv",
        "2024-05-01/users.csv",
        "2024-05-02/users.csv",
        "top.csv",
    ]
    assert (dest / "2024-05-01" / "extra" / "orgs.csv").read_bytes() == b"sourcedId\no1\n"
    assert (dest / "2024-05-02" / "users.csv").read_bytes().endswith(b"u2,Bo\n")


def test_hidden_and_temporary_remote_files_are_skipped(make_config, put, dest: Path) -> None:
    put("users.csv", USERS)
    put(".users.csv.swp", b"x")
    put("classes.csv.part", b"half")
    put("enrollments.csv.filepart", b"half")
    put(".hidden/secret.csv", b"x")

    report = mirror(make_config(), dest)

    assert report.downloaded == ["users.csv"]
    assert sorted(p.name for p in dest.iterdir() if not p.name.startswith(".")) == ["users.csv"]
    assert not (dest / ".hidden").exists()


def test_vanished_remote_files_are_kept_and_reported(make_config, put, dest: Path) -> None:
    gone = put("old/users.csv", USERS)
    put("classes.csv", CLASSES)
    config = make_config()
    mirror(config, dest)
    gone.unlink()

    report = mirror(config, dest)

    assert report.vanished == ["old/users.csv"]
    assert (dest / "old" / "users.csv").read_bytes() == USERS


def test_unreadable_remote_file_fails_alone(make_config, put, dest: Path) -> None:
    put("users.csv", USERS)
    locked = put("classes.csv", CLASSES)
    os.chown(locked, 0, 0)
    locked.chmod(0o600)  # the sftp user cannot read it

    report = mirror(make_config(), dest)

    assert report.failed == ["classes.csv"]
    assert "denied" in report.errors["classes.csv"].lower()
    assert report.downloaded == ["users.csv"]
    assert not (dest / "classes.csv").exists()
    assert not (dest / temp_name("classes.csv")).exists()


def test_stale_partial_files_are_removed(make_config, put, dest: Path) -> None:
    put("users.csv", USERS)
    (dest / "sub").mkdir(parents=True)
    stale = dest / "sub" / ".users.csv.partial"
    stale.write_bytes(b"half a file from a crashed run")

    mirror(make_config(), dest)

    assert not stale.exists()


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_changed_file_is_mirrored_only_once_it_lists_the_same_for_the_quiet_period(
    make_config, put, dest: Path
) -> None:
    ticks = Ticks()
    memory = MirrorMemory(SteadyFiles(60, ticks))
    config = make_config()
    put("users.csv", USERS[:10], mtime=1_700_000_000)  # an upload that has stalled

    first = mirror(config, dest, memory=memory)
    assert (first.downloaded, first.waiting) == ([], {"users.csv": 60})
    assert first.listing == {"users.csv": (10, 1_700_000_000)}
    assert not (dest / "users.csv").exists()

    ticks.now += 30
    put("users.csv", USERS, mtime=1_700_000_005)  # it went on: the quiet period starts again
    assert mirror(config, dest, memory=memory).waiting == {"users.csv": 60}
    ticks.now += 60
    settled = mirror(config, dest, memory=memory)
    assert (settled.downloaded, settled.waiting) == (["users.csv"], {})
    assert (dest / "users.csv").read_bytes() == USERS
    assert mirror(config, dest, memory=memory).unchanged == ["users.csv"]


def test_a_file_gone_from_the_server_is_logged_once(
    make_config, put, dest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    memory = MirrorMemory()
    config = make_config()
    gone = put("old/users.csv", USERS)
    put("classes.csv", CLASSES)
    mirror(config, dest, memory=memory)
    gone.unlink()
    caplog.set_level(logging.INFO, logger="roster_sync")
    for _ in range(3):
        assert mirror(config, dest, memory=memory).vanished == ["old/users.csv"]
    said = [r for r in caplog.records if "is gone from the server" in r.getMessage()]
    assert len(said) == 1
