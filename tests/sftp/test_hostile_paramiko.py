"""What OpenSSH cannot serve, from a small paramiko server: an empty folder name, a trickle."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from daemon.service import sftp_mirror
from daemon.service.sftp import SftpConfig, mirror

from .paramiko_server import HostileServer, hostile_server

pytestmark = pytest.mark.sftp


class Stop(Exception):
    """Raised by a test's progress callback, as the daemon's stop request does."""


def _config(server: HostileServer, tmp_path: Path, **overrides: object) -> SftpConfig:
    password = tmp_path / "password"
    password.write_text("anything\n")
    password.chmod(0o600)
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": "district",
        "path": "/drops",
        "password_file": password,
        "known_hosts": server.write_known_hosts(tmp_path / "known_hosts"),
        "timeout_seconds": 5,
        "retries": 2,
    }
    values.update(overrides)
    return SftpConfig.model_validate(values)


def test_a_folder_with_an_empty_name_is_not_walked(tmp_path: Path) -> None:
    with hostile_server("emptyname") as server:
        report = mirror(_config(server, tmp_path), tmp_path / "mirror")

    assert server.listings == 1  # "" is the root again: listing it would never end
    assert report.downloaded == ["users.csv"]


def test_a_trickling_server_fails_the_file_at_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sftp_mirror, "DEADLINE_GRACE_SECONDS", 1.0)
    monkeypatch.setattr(sftp_mirror, "MIN_BYTES_PER_SECOND", 1024**4)  # the grace is all it gets
    started = time.monotonic()
    with hostile_server("trickle") as server:
        report = mirror(_config(server, tmp_path), tmp_path / "mirror", sleep=lambda _s: None)

    assert time.monotonic() - started < 8  # each byte came inside the 5 s timeout
    assert report.failed == ["users.csv"]
    assert report.errors["users.csv"].startswith("too slow: ")


def test_a_stop_request_ends_a_trickling_download(tmp_path: Path) -> None:
    stop_at = time.monotonic() + 1

    def stop_soon(_rel: str, _received: int, _size: int) -> None:
        if time.monotonic() > stop_at:
            raise Stop

    with hostile_server("trickle") as server, pytest.raises(Stop):
        mirror(_config(server, tmp_path), tmp_path / "mirror", progress=stop_soon)

    assert time.monotonic() - stop_at < 4
