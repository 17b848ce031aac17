"""SFTP access to the district's folder of nightly OneRoster drops.

Why it looks like this: the gateway logs in unattended to a server it must not be tricked about,
with a password it must not leak, and feeds the files to a sync that archives whoever is missing
from them. So host keys are pinned in a known_hosts file (paramiko `RejectPolicy`, never AutoAdd),
secrets come only from the environment or owner-only files and are held as `SecretStr`, and files
are mirrored atomically (see `sftp_mirror`) with retries for flaky links but none for wrong
credentials or host keys, where retrying would only lock accounts or hide an attack.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey
from pydantic import BaseModel, SecretStr

from daemon import secrets as secrets_file
from daemon.errors import RosterSyncError
from daemon.service.sftp_config import SftpConfig
from daemon.service.sftp_mirror import (
    MirrorAbort,
    MirrorMemory,
    MirrorReport,
    ProgressCallback,
    TreeMirror,
    mirror_lock,
    remove_stale_partials,
    run_with_retries,
)

LOG = logging.getLogger("roster_sync.sftp")
TRUST_COMMAND = "roster-sync sftp trust"


class SftpError(RosterSyncError):
    """Base of every error this module raises on purpose (the CLI shows the message as is)."""

    title = "SFTP"


class SftpConfigError(SftpError):
    """The `[sftp]` settings or their secrets cannot be used (refused secret file, bad key...)."""


class SftpAuthError(SftpError):
    """The server refused the login. Not retried: repeating a wrong password can lock the account."""


class HostKeyError(SftpError):
    """The server's identity could not be verified against known_hosts. Never retried."""

    def __init__(
        self, message: str, *, host: str, port: int, key_type: str, fingerprint: str,
        expected_fingerprint: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.host, self.port, self.key_type = host, port, key_type
        self.fingerprint, self.expected_fingerprint = fingerprint, expected_fingerprint


class HostKeyUnknown(HostKeyError):
    """No key is pinned for this host:port yet; the admin must verify and trust it."""


class HostKeyChanged(HostKeyError):
    """The pinned key differs from the one presented: a reinstalled server or an interception."""


class MirrorError(SftpError):
    """The mirror gave up; `report` holds what was done before that."""

    def __init__(self, message: str, report: MirrorReport | None = None):
        super().__init__(message)
        self.report = report


class _Secrets(BaseModel):
    """Secrets resolved for one mirror() call; SecretStr keeps them out of repr() and logs."""

    password: SecretStr | None = None
    passphrase: SecretStr | None = None


def read_secret_file(path: Path, what: str = "secret file") -> SecretStr:
    """Read a password or passphrase (daemon/secrets.py: owner-only files)."""
    return secrets_file.read_secret_file(path, what, SftpConfigError)


def _read_secret_env(name: str, what: str) -> SecretStr:
    value = os.environ.get(name)
    if not value:
        raise SftpConfigError(f"the {what} environment variable {name} is not set or is empty")
    return SecretStr(value)


def _load_secrets(config: SftpConfig) -> _Secrets:
    secrets = _Secrets()
    if config.password_file:
        secrets.password = read_secret_file(config.password_file, "password_file")
    elif config.password_env:
        secrets.password = _read_secret_env(config.password_env, "password_env")
    if config.passphrase_file:
        secrets.passphrase = read_secret_file(config.passphrase_file, "passphrase_file")
    elif config.passphrase_env:
        secrets.passphrase = _read_secret_env(config.passphrase_env, "passphrase_env")
    return secrets


def _load_private_key(
    path: Path, passphrase: SecretStr | None, log: logging.Logger
) -> paramiko.PKey:
    """Load an ed25519/ECDSA/RSA key (OpenSSH or PEM format), refusing group/world-readable ones."""
    try:
        secrets_file.require_owner_only(path, "key_file", path.stat(), SftpConfigError)
        # paramiko 5.1's from_path hands the passphrase to `cryptography`, which wants bytes.
        secret = passphrase.get_secret_value().encode() if passphrase else None
        try:
            return paramiko.PKey.from_path(path, secret)
        except TypeError as exc:
            if secret is None:
                raise SftpConfigError(
                    f"key_file {path} is encrypted; set passphrase_file or passphrase_env"
                ) from None
            if "not encrypted" not in str(exc):
                raise
            log.warning("key_file %s is not encrypted; ignoring the configured passphrase", path)
            return paramiko.PKey.from_path(path, None)
    except OSError as exc:
        raise SftpConfigError(f"cannot read key_file {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError, paramiko.SSHException):
        # paramiko's own message for a wrong passphrase is misleading ("no BEGIN/END delimiters").
        raise SftpConfigError(
            f"cannot load key_file {path}: wrong passphrase, or not an ed25519/ECDSA/RSA private key"
        ) from None


def sha256_fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's fingerprint format (`SHA256:` + unpadded base64), as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH (and paramiko) name a host in known_hosts: `[host]:port` unless port 22."""
    return host if port == 22 else f"[{host}]:{port}"


@dataclass(frozen=True)
class HostKeyInfo:
    """A server's host key as shown to the admin before pinning it."""

    key_type: str
    fingerprint_sha256: str
    key: paramiko.PKey


def fetch_host_key(host: str, port: int = 22, timeout: float = 30.0) -> HostKeyInfo:
    """Read the server's host key without logging in, so the admin can compare fingerprints."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise SftpError(f"cannot connect to {host}:{port} to read its host key: {exc}") from exc
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = timeout
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise SftpError(f"cannot read the host key of {host}:{port}: {exc}") from exc
    finally:
        transport.close()
    return HostKeyInfo(key.get_name(), sha256_fingerprint(key), key)


def _names_without(field: str, names: set[str]) -> list[str]:
    kept = []
    for pattern in field.split(","):
        if pattern.startswith("|1|"):
            if any(paramiko.HostKeys.hash_host(n, pattern) == pattern for n in names):
                continue
        elif pattern.lower() in names:
            continue
        kept.append(pattern)
    return kept


def trust_host_key(known_hosts: Path, host: str, port: int, key: paramiko.PKey) -> None:
    """Pin `key` for host:port, replacing every older entry for it (any key type, hashed too).

    All old types go: paramiko prefers the first pinned key type, so a stale entry of another
    type would keep the new key from ever matching. Written atomically; a new file gets 0600.
    """
    name = known_hosts_name(host, port)
    names = {name.lower(), f"[{host}]:22".lower()} if port == 22 else {name.lower()}
    lines: list[str] = []
    mode = 0o600
    if known_hosts.exists():
        mode = stat.S_IMODE(known_hosts.stat().st_mode)
        lines = known_hosts.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        fields = line.split(None, 1)
        if len(fields) < 2 or line.lstrip().startswith(("#", "@")):
            out.append(line)
            continue
        kept = _names_without(fields[0], names)
        if len(kept) == len(fields[0].split(",")):
            out.append(line)
        elif kept:
            out.append(",".join(kept) + " " + fields[1])
    out.append(f"{name} {key.get_name()} {key.get_base64()}")
    known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = known_hosts.with_name(f".{known_hosts.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, mode)
        os.write(fd, ("\n".join(out) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, known_hosts)
    LOG.info(
        "pinned %s %s for %s in %s", key.get_name(), sha256_fingerprint(key), name, known_hosts
    )


def _load_known_hosts(host_keys: paramiko.HostKeys, path: Path) -> None:
    """Like HostKeys.load, minus its crash on lines it cannot parse (e.g. @cert-authority)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return  # nothing pinned yet: the policy reports the key to trust
    except (OSError, UnicodeDecodeError) as exc:
        raise SftpConfigError(f"cannot read known_hosts {path}: {exc}") from None
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entry = None if line.startswith("@") else HostKeyEntry.from_line(line, lineno)
        except InvalidHostKey:
            entry = None
        if entry is None or entry.key is None:
            LOG.warning("ignoring line %d of %s: not a host key line paramiko reads", lineno, path)
            continue
        for name in entry.hostnames:
            host_keys.add(name, entry.key.get_name(), entry.key)


class _RejectUnknownHostKey(paramiko.RejectPolicy):
    """paramiko's RejectPolicy, but the error carries the key type and fingerprint to verify."""

    def __init__(self, known_hosts: Path, host: str, port: int) -> None:
        self.known_hosts, self.host, self.port = known_hosts, host, port

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        fingerprint = sha256_fingerprint(key)
        where = "" if self.known_hosts.exists() else " (the file does not exist yet)"
        raise HostKeyUnknown(
            f"the SFTP server {hostname} is not in {self.known_hosts}{where}; it presented "
            f"{key.get_name()} key {fingerprint}. Confirm that fingerprint with the district's "
            f"server admin, then run `{TRUST_COMMAND}` to pin it.",
            host=self.host,
            port=self.port,
            key_type=key.get_name(),
            fingerprint=fingerprint,
        )


def _connect(
    config: SftpConfig, secrets: _Secrets, pkey: paramiko.PKey | None
) -> paramiko.SSHClient:
    """Open an authenticated session; host key and auth errors become our non-retried errors."""
    client = paramiko.SSHClient()
    try:
        _load_known_hosts(client.get_host_keys(), config.known_hosts)
        client.set_missing_host_key_policy(
            _RejectUnknownHostKey(config.known_hosts, config.host, config.port)
        )
        t = config.timeout_seconds
        client.connect(
            config.host,
            port=config.port,
            username=config.username,
            pkey=pkey,
            password=secrets.password.get_secret_value() if secrets.password else None,
            timeout=t,
            banner_timeout=t,
            auth_timeout=t,
            channel_timeout=t,
            allow_agent=False,
            look_for_keys=False,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        got, expected = sha256_fingerprint(exc.key), sha256_fingerprint(exc.expected_key)
        name = known_hosts_name(config.host, config.port)
        raise HostKeyChanged(
            f"the host key of the SFTP server {name} has CHANGED: it presented "
            f"{exc.key.get_name()} key {got}, but {config.known_hosts} pins "
            f"{exc.expected_key.get_name()} key {expected}. Someone may be intercepting the "
            f"connection, or the server was reinstalled. Confirm the new fingerprint with the "
            f"district's server admin before running `{TRUST_COMMAND}`.",
            host=config.host,
            port=config.port,
            key_type=exc.key.get_name(),
            fingerprint=got,
            expected_fingerprint=expected,
        ) from None
    except paramiko.AuthenticationException as exc:
        client.close()
        methods = " and ".join(
            m for m, used in (("key", pkey), ("password", secrets.password)) if used
        )
        raise SftpAuthError(
            f"the SFTP server {config.host}:{config.port} refused the login of "
            f"{config.username!r} by {methods} ({exc}); check the credentials in the [sftp] settings"
        ) from None
    except BaseException:
        client.close()
        raise
    return client


def mirror(
    config: SftpConfig,
    dest_dir: Path,
    *,
    sleep: Callable[[float], None] = time.sleep,
    log: logging.Logger = LOG,
    progress: ProgressCallback | None = None,
    memory: MirrorMemory | None = None,
) -> MirrorReport:
    """Mirror the remote `config.path` tree into `dest_dir`; safe to call on every poll.

    Unchanged files (same size and mtime) are skipped; connection drops and timeouts are
    retried with backoff and a fresh session up to `config.retries` failed attempts (then
    MirrorError); host key, auth and config errors raise at once; files gone from the server
    are kept locally and listed in `report.vanished` (logged once per `memory`).

    A changed file is downloaded only once `memory.steady` has seen it list the same for its
    quiet period; pass the same `memory` on every poll (the daemon builds it from
    `remote_quiet_seconds`). Without one, files are downloaded at once (a single call cannot
    watch a file across polls); `report.waiting` lists the files left for a later poll. The
    files of the drops in `memory.decided` are listed but not downloaded (`report.decided`).
    """
    dest_dir = Path(dest_dir)
    secrets = _load_secrets(config)
    pkey = _load_private_key(config.key_file, secrets.passphrase, log) if config.key_file else None
    report = MirrorReport()
    where = known_hosts_name(config.host, config.port)
    target = f"sftp://{config.username}@{where}/{config.path.lstrip('/')}"
    try:
        with mirror_lock(dest_dir):
            remove_stale_partials(dest_dir, log)
            run_with_retries(
                lambda: _connect(config, secrets, pkey),
                TreeMirror(dest_dir, report, log, progress, memory),
                config.path,
                retries=config.retries,
                timeout=config.timeout_seconds,
                sleep=sleep,
                log=log,
            )
    except MirrorAbort as exc:
        raise MirrorError(f"mirror of {target} stopped: {exc}", report) from exc
    log.info(
        "mirrored %s: %d downloaded, %d unchanged, %d still changing, %d failed, "
        "%d gone from server, %d in drops decided before (not copied), %d bytes",
        target, len(report.downloaded), len(report.unchanged), len(report.waiting),
        len(report.failed), len(report.vanished), len(report.decided), report.bytes_transferred,
    )  # fmt: skip
    return report
