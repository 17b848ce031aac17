"""Host key pinning: unknown and changed keys are refused, trust_host_key pins one."""

from __future__ import annotations

import stat
from pathlib import Path

import paramiko
import pytest

from daemon.service.sftp import (
    HostKeyChanged,
    HostKeyUnknown,
    fetch_host_key,
    mirror,
    trust_host_key,
)

from .sshd import SshdServer

pytestmark = pytest.mark.sftp


def test_unknown_host_key_is_refused_with_fingerprint(
    sshd: SshdServer, make_config, put, dest: Path, tmp_path: Path
) -> None:
    put("users.csv", b"a\n")
    delays: list[float] = []
    config = make_config(known_hosts=tmp_path / "missing_known_hosts")

    with pytest.raises(HostKeyUnknown) as caught:
        mirror(config, dest, sleep=delays.append)

    message = str(caught.value)
    assert sshd.host_key_fingerprint in message
    assert "ssh-ed25519" in message
    assert "roster-sync sftp trust" in message
    assert caught.value.fingerprint == sshd.host_key_fingerprint
    assert delays == []  # not retried
    assert not (dest / "users.csv").exists()


@pytest.mark.parametrize("pinned_type", ["same type", "other type"])
def test_changed_host_key_is_refused(
    sshd: SshdServer, make_config, dest: Path, tmp_path: Path, pinned_type: str
) -> None:
    if pinned_type == "same type":
        other = tmp_path / "other_key"
        paramiko_key = _ed25519_via_keygen(other)
    else:
        paramiko_key = paramiko.ECDSAKey.generate()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        f"[{sshd.host}]:{sshd.port} {paramiko_key.get_name()} {paramiko_key.get_base64()}\n"
    )
    delays: list[float] = []

    with pytest.raises(HostKeyChanged) as caught:
        mirror(make_config(known_hosts=known_hosts), dest, sleep=delays.append)

    message = str(caught.value)
    assert "CHANGED" in message
    assert sshd.host_key_fingerprint in message
    assert "roster-sync sftp trust" in message
    assert delays == []


def _ed25519_via_keygen(path: Path) -> paramiko.PKey:
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return paramiko.PKey.from_path(path)


def test_trust_host_key_pins_the_key_then_login_works(
    sshd: SshdServer, make_config, put, dest: Path, tmp_path: Path
) -> None:
    put("users.csv", b"a\n")
    known_hosts = tmp_path / "ssh" / "known_hosts"
    config = make_config(known_hosts=known_hosts)
    with pytest.raises(HostKeyUnknown):
        mirror(config, dest)

    info = fetch_host_key(sshd.host, sshd.port, timeout=5)
    assert (info.key_type, info.fingerprint_sha256) == ("ssh-ed25519", sshd.host_key_fingerprint)
    trust_host_key(known_hosts, sshd.host, sshd.port, info.key)

    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    assert known_hosts.read_text() == sshd.known_hosts_line() + "\n"
    assert mirror(config, dest).downloaded == ["users.csv"]


def test_trust_host_key_replaces_the_old_entry_only(sshd: SshdServer, tmp_path: Path) -> None:
    name = f"[{sshd.host}]:{sshd.port}"
    old = paramiko.ECDSAKey.generate()
    hashed = paramiko.HostKeys.hash_host(name)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        "# district servers\n"
        f"{name} {old.get_name()} {old.get_base64()}\n"
        f"{hashed} {old.get_name()} {old.get_base64()}\n"
        f"other.example,{name} {old.get_name()} {old.get_base64()}\n"
        f"[{sshd.host}]:1 {old.get_name()} {old.get_base64()}\n"
    )
    known_hosts.chmod(0o644)

    trust_host_key(known_hosts, sshd.host, sshd.port, fetch_host_key(sshd.host, sshd.port).key)

    assert known_hosts.read_text().splitlines() == [
        "# district servers",
        f"other.example {old.get_name()} {old.get_base64()}",
        f"[{sshd.host}]:1 {old.get_name()} {old.get_base64()}",
        sshd.known_hosts_line(),
    ]
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o644  # an existing file keeps its mode


def test_known_hosts_lines_paramiko_cannot_read_are_ignored(
    sshd: SshdServer, make_config, put, dest: Path, tmp_path: Path
) -> None:
    put("users.csv", b"a\n")
    ca = paramiko.ECDSAKey.generate()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(  # paramiko's own HostKeys.load raises on the @cert-authority line
        f"@cert-authority *.district.example {ca.get_name()} {ca.get_base64()}\n"
        "broken.example ssh-ed25519 !!!not-base64\n" + sshd.known_hosts_line() + "\n"
    )

    assert mirror(make_config(known_hosts=known_hosts), dest).downloaded == ["users.csv"]
