"""Fixtures for the daemon tests: real config files, real DuckDB files, real sockets, a fake clock.

The daemon runs either in this process (`run_daemon` on a thread, stopped by an event, with an
injected clock) or as a real `roster-sync daemon` process for the signal tests. The SFTP fixtures
come from tests/sftp (a real OpenSSH sshd on loopback).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.db import Database
from daemon.service.client import SocketClient, daemon_running
from daemon.service.config import DaemonConfig, load_config
from daemon.service.main_loop import run_daemon
from daemon.settings import set_setting
from tests.host_accounts import claim
from tests.sftp.conftest import (  # noqa: F401  (fixtures, reused as they are)
    known_hosts,
    make_config,
    password_file,
    put,
    remote,
    sshd,
)

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data"
QUIET = 0.5
ZONE = UTC


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """Poll until `predicate()` is truthy; fail with `what` after `timeout` seconds (long enough
    for a daemon to plan a few drops on a loaded 2-core machine: a passing test never waits it
    out, a failing one only reports later)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(0.05)


class FakeClock:
    """An injectable wall clock the test moves by hand; counts reads so a test can wait a tick."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._cond = threading.Condition()
        self.reads = 0

    def __call__(self) -> datetime:
        with self._cond:
            self.reads += 1
            self._cond.notify_all()
            return self._now

    def set(self, when: datetime) -> None:
        with self._cond:
            self._now = when

    def wait_reads(self, n: int = 3, timeout: float = 10.0) -> None:
        """Block until the clock was read `n` more times (the loop reads it once per tick)."""
        with self._cond:
            target = self.reads + n
            assert self._cond.wait_for(lambda: self.reads >= target, timeout), "the loop stalled"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 9, 14, 12, 0, tzinfo=ZONE))


class Ticks:
    """The daemon's monotonic clock for quiet periods, which a test moves on by hand: a quiet
    period then passes when the test says so, never by waiting for it in real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, values: dict[str, Any]) -> Path:
    """A TOML config file from plain values; dict values become tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in values.items() if not isinstance(v, dict)]
    for table, content in values.items():
        if isinstance(content, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in content.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short, traversable (0755) folder for sockets: AF_UNIX paths are limited to 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="rsd-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_daemon_config(tmp_path: Path, short_dir: Path) -> Callable[..., Path]:
    """Write a daemon config (database, inbox, archive under tmp_path; socket in short_dir)."""

    def _make(**overrides: Any) -> Path:
        values: dict[str, Any] = {
            "database": str(tmp_path / "state" / "roster.duckdb"),
            "inbox": str(tmp_path / "inbox"),
            "archive": str(tmp_path / "archive"),
            "socket": str(short_dir / "rs.sock"),
            "quiet_seconds": QUIET,
            "log_level": "DEBUG",
        }
        values.update(overrides)
        return write_config(short_dir / "roster-sync.toml", values)

    return _make


def preset(config: DaemonConfig, **settings: Any) -> None:
    """Change sync settings before the daemon starts (as an admin would with the CLI)."""
    db = Database(config.database)
    try:
        for key, value in settings.items():
            set_setting(
                db, key, str(value).lower() if isinstance(value, bool) else str(value), "test"
            )
    finally:
        db.close()


def copy_drop(source: Path, inbox: Path, name: str) -> Path:
    """Put a drop into the inbox at once (copied under a hidden name, then renamed)."""
    inbox.mkdir(parents=True, exist_ok=True)
    hidden = inbox / f".{name}.copying"
    if source.is_dir():
        shutil.copytree(source, hidden)
    else:
        shutil.copyfile(source, hidden)
    target = inbox / name
    os.rename(hidden, target)
    return target


def zip_drop(source: Path, target: Path) -> Path:
    """A ZIP of a drop folder's files (flat, as SIS exports make them)."""
    import zipfile

    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(source.iterdir()):
            archive.write(file, file.name)
    return target


def encrypted_zip(source: Path, target: Path) -> Path:
    """A ZIP of a drop folder with every entry marked encrypted (bit 0 of its flags, in both
    headers), as `zip -e` leaves it: whole, and never readable without its password."""
    data = bytearray(zip_drop(source, target).read_bytes())
    for signature, at in ((b"PK\x01\x02", 8), (b"PK\x03\x04", 6)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + at] |= 0x1
            start += 4
    target.write_bytes(bytes(data))
    return target


def make_big_drop(dest: Path, extra_students: int) -> Path:
    """day1 plus many generated students, so planning takes a few seconds (signal tests)."""
    shutil.copytree(SAMPLE / "day1", dest)
    users = dest / "users.csv"
    with open(users, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    idx = {name: i for i, name in enumerate(rows[0])}
    with open(users, "a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        for i in range(extra_students):
            row = list(rows[1])
            row[idx["sourcedId"]] = f"big-{i}"
            row[idx["username"]] = f"big{i}"
            row[idx["userIds"]] = f"{{SIS:B{i}}}"
            row[idx["identifier"]] = f"B{i}"
            row[idx["agentSourcedIds"]] = ""
            writer.writerow(row)
    return dest


class DaemonThread:
    """`run_daemon` on a thread of this process, with a stop event and an injected clock."""

    def __init__(
        self,
        config_path: Path,
        clock: Callable[[], datetime] | None,
        ticks: Callable[[], float] | None = None,
    ) -> None:
        self.config = load_config(config_path)
        self.config_path = config_path
        self.clock = clock
        self.ticks = ticks
        self.stop_event = threading.Event()
        self.result: list[int] = []
        self.thread = threading.Thread(target=self._run, name="daemon-under-test", daemon=True)

    def _run(self) -> None:
        extra = {"ticks": self.ticks} if self.ticks is not None else {}
        self.result.append(
            run_daemon(self.config, clock=self.clock, stop_event=self.stop_event, **extra)
        )

    def start(self) -> DaemonThread:
        self.thread.start()
        wait_for(lambda: daemon_running(self.config.socket) or self.result, 20, "the socket")
        assert not self.result, f"the daemon exited with {self.result}"
        return self

    def client(self) -> SocketClient:
        return SocketClient(self.config.socket, timeout=60).connect()

    def stop(self) -> int:
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the daemon did not stop"
        return self.result[0]


@pytest.fixture
def start_daemon() -> Iterator[Callable[..., DaemonThread]]:
    started: list[DaemonThread] = []

    def _start(
        config_path: Path,
        clock: Callable[[], datetime] | None = None,
        ticks: Callable[[], float] | None = None,
    ) -> DaemonThread:
        daemon = DaemonThread(config_path, clock, ticks).start()
        started.append(daemon)
        return daemon

    yield _start
    for daemon in started:
        if daemon.thread.is_alive():
            daemon.stop()


def start_on_arrival(
    make_daemon_config: Callable[..., Path],
    start_daemon: Callable[..., DaemonThread],
    clock: Callable[[], datetime],
) -> tuple[DaemonConfig, DaemonThread]:
    """A daemon that syncs each drop as soon as it is complete (`sync_on_arrival`)."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    return config, start_daemon(config_path, clock)


def cli(
    config_path: Path, *args: str, user: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """`roster-sync --config FILE ...` in a real process, optionally as another Unix user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_SYNC")}
    env.update(PYTHONDONTWRITEBYTECODE="1", HOME="/tmp")
    entry = ["daemon.cli.main"] if user is None else ["tests.daemon.as_user", user]
    cmd = [sys.executable, "-m", *entry, "--config", str(config_path), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def archived(archive: Path) -> list[str]:
    """Names in the archive's dated folders, without their HHMMSS- prefix."""
    if not archive.is_dir():
        return []
    return sorted(p.name.split("-", 1)[1] for day in archive.iterdir() for p in day.iterdir())


def runs_in(client: SocketClient) -> list[tuple[int, str]]:
    return [(r.run_id, r.status) for r in sorted(client.list_runs(), key=lambda r: r.run_id)]


# ------------------------------------------------------------------ Unix users for the role tests
@dataclass(frozen=True)
class RoleAccounts:
    """Throwaway Unix users and groups, named from a claimed tag (tests/host_accounts.py): the
    same fixed names in two runs on one host let one run's cleanup delete the other's users."""

    tag: str

    def user(self, short: str) -> str:
        """viewer, contacts, admin, norole (in the socket's group only), outsider (in none)."""
        return f"{self.tag}_{short}"

    @property
    def socket_group(self) -> str:
        return f"{self.tag}_sock"

    @property
    def admin_group(self) -> str:
        return f"{self.tag}_admins"


_ROLE_USERS = {  # short name -> the groups it is in (socket, admins)
    "viewer": (True, False),
    "contacts": (True, False),
    "admin": (True, True),
    "norole": (True, False),
    "outsider": (False, False),
}


@pytest.fixture(scope="session")
def unix_users() -> Iterator[RoleAccounts]:
    """The role tests' users and groups (root only), removed afterwards."""
    if os.geteuid() != 0:
        reason = "the role tests create Unix users and groups, which needs root"
        if in_ci():
            pytest.fail(f"role tests must run in CI, but: {reason}")
        pytest.skip(reason)
    taken = claim("rs_t", "rs-role-test-accounts")
    accounts = RoleAccounts(taken.tag)
    try:
        for group in (accounts.socket_group, accounts.admin_group):
            subprocess.run(["groupadd", group], check=True)
        for short, (in_socket, in_admins) in _ROLE_USERS.items():
            groups = [accounts.socket_group] * in_socket + [accounts.admin_group] * in_admins
            cmd = ["useradd", "-M", "-N", "-s", "/usr/sbin/nologin"]
            subprocess.run(
                [*cmd, *(["-G", ",".join(groups)] if groups else []), accounts.user(short)],
                check=True,
            )
        yield accounts
    finally:
        taken.release()
