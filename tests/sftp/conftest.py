"""Fixtures for the SFTP tests: one real sshd per session, a fresh remote folder per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.service.sftp import SftpConfig

from .sshd import SshdServer, SshdUnavailable, ensure_sshd


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshdServer]:
    """A real OpenSSH sshd on 127.0.0.1; installs it if needed, skips only where it cannot."""
    try:
        ensure_sshd()
    except SshdUnavailable as exc:
        if _in_ci():
            pytest.fail(f"SFTP tests must run in CI, but: {exc}")
        pytest.skip(
            f"no OpenSSH server for the SFTP tests: {exc} (run scripts/install-test-deps.sh)"
        )
    server = SshdServer.launch()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def remote(sshd: SshdServer, request: pytest.FixtureRequest) -> Path:
    """An empty remote folder, owned by the test user, for this test only."""
    return sshd.make_remote_dir(request.node.name.replace("[", "_").replace("]", ""))


@pytest.fixture
def put(sshd: SshdServer, remote: Path) -> Callable[..., Path]:
    """Write a file into the remote folder (as the district's exporter would), optional mtime."""

    def _put(rel: str, data: bytes, mtime: int | None = None) -> Path:
        path = remote / rel
        for parent in reversed(path.relative_to(remote).parents[:-1]):
            (remote / parent).mkdir(exist_ok=True)
            sshd.chown(remote / parent)
        path.write_bytes(data)
        sshd.chown(path)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    return _put


@pytest.fixture
def known_hosts(sshd: SshdServer, tmp_path: Path) -> Path:
    return sshd.write_known_hosts(tmp_path / "known_hosts")


@pytest.fixture
def password_file(sshd: SshdServer, tmp_path: Path) -> Path:
    path = tmp_path / "sftp_password"
    path.write_text(sshd.password + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def make_config(
    sshd: SshdServer, remote: Path, known_hosts: Path, password_file: Path
) -> Callable[..., SftpConfig]:
    """SftpConfig for this server and folder; password login unless overridden."""

    def _make(**overrides: object) -> SftpConfig:
        values: dict[str, object] = {
            "host": sshd.host,
            "port": sshd.port,
            "username": sshd.username,
            "path": str(remote),
            "password_file": password_file,
            "known_hosts": known_hosts,
            "timeout_seconds": 10,
            "retries": 3,
        }
        values.update(overrides)
        return SftpConfig.model_validate(values)

    return _make


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "mirror"


@pytest.fixture
def no_sleep() -> list[float]:
    """Pass `no_sleep.append` as mirror(sleep=...) to record backoff delays without waiting."""
    return []
