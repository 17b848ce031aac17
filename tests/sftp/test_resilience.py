"""Cut connections and retries: no truncated file under a real name, ever."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
from pathlib import Path

import pytest

from daemon.service.sftp import MirrorError, mirror
from daemon.service.sftp_mirror import BACKOFF_CAP_SECONDS, temp_name

from .sshd import SshdServer

pytestmark = pytest.mark.sftp

BIG_SIZE = 24 * 1024 * 1024


@pytest.fixture(scope="module")
def big_data() -> bytes:
    return os.urandom(BIG_SIZE)


class KillOnce:
    """Progress callback that kills the sshd session once the temp file is partly written."""

    def __init__(self, sshd: SshdServer, dest: Path, name: str, sig: int = signal.SIGKILL) -> None:
        self.sshd, self.tmp, self.name, self.sig = sshd, dest / temp_name(name), name, sig
        self.after = 4 * 1024 * 1024
        self.killed: list[int] = []
        self.partial_seen = False

    def __call__(self, rel: str, received: int, size: int) -> None:
        if rel == self.name and not self.killed and received >= self.after:
            self.partial_seen = self.tmp.exists() and received < size
            self.killed = self.sshd.kill_sessions(self.sig)


def test_connection_killed_mid_file_leaves_no_partial_file(
    sshd: SshdServer, make_config, put, dest: Path, big_data: bytes
) -> None:
    put("users.csv", big_data)
    killer = KillOnce(sshd, dest, "users.csv")

    with pytest.raises(MirrorError, match="after 1 failed attempt"):
        mirror(make_config(retries=1), dest, progress=killer)

    assert killer.killed and killer.partial_seen
    assert not (dest / "users.csv").exists()
    assert [p.name for p in dest.iterdir() if not p.name.startswith(".")] == []

    report = mirror(make_config(), dest)  # the next poll completes it

    assert report.downloaded == ["users.csv"]
    assert (dest / "users.csv").read_bytes() == big_data
    assert not (dest / temp_name("users.csv")).exists()


def test_retry_within_the_same_mirror_completes_after_a_kill(
    sshd: SshdServer, make_config, put, dest: Path, big_data: bytes, no_sleep: list[float]
) -> None:
    put("a_small.csv", b"x\n")
    put("users.csv", big_data)
    killer = KillOnce(sshd, dest, "users.csv")

    report = mirror(make_config(retries=3), dest, sleep=no_sleep.append, progress=killer)

    assert killer.killed
    assert report.attempts == 2
    assert no_sleep == [1.0]
    assert sorted(report.downloaded) == ["a_small.csv", "users.csv"]  # small one not redone
    assert report.bytes_transferred > BIG_SIZE  # the cut-off part counts too
    digest = hashlib.sha256((dest / "users.csv").read_bytes()).digest()
    assert digest == hashlib.sha256(big_data).digest()


def test_stalled_transfer_times_out_and_is_retried(
    sshd: SshdServer, make_config, put, dest: Path, big_data: bytes, no_sleep: list[float]
) -> None:
    put("users.csv", big_data)
    freezer = KillOnce(sshd, dest, "users.csv", sig=signal.SIGSTOP)  # server hangs, socket open
    try:
        report = mirror(
            make_config(timeout_seconds=1), dest, sleep=no_sleep.append, progress=freezer
        )
    finally:
        for pid in freezer.killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    assert freezer.killed and freezer.partial_seen
    assert (report.attempts, no_sleep) == (2, [1.0])
    assert (dest / "users.csv").read_bytes() == big_data


def test_retries_use_exponential_backoff(make_config, dest: Path, no_sleep: list[float]) -> None:
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    config = make_config(port=closed_port, retries=9)

    with pytest.raises(MirrorError) as caught:
        mirror(config, dest, sleep=no_sleep.append)

    assert no_sleep == [1, 2, 4, 8, 16, 32, BACKOFF_CAP_SECONDS, BACKOFF_CAP_SECONDS]
    assert "after 9 failed attempt" in str(caught.value)
    assert caught.value.report is not None and caught.value.report.attempts == 9
