"""A real OpenSSH sshd on loopback for the SFTP tests (see docs: sftp-test-server.md).

Why a real server: paramiko's own test server does not behave like the OpenSSH the districts run
(host key negotiation, password checks against /etc/shadow, internal-sftp). The server runs in
the foreground (-D) as our child, on a free port, with throwaway keys and a throwaway user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.host_accounts import Claim, claim

SSHD = Path("/usr/sbin/sshd")
INSTALL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-test-deps.sh"
USER_PREFIX = "rs_sftp_"
CLIENT_KEY_TYPES = {
    "ed25519": ["-t", "ed25519"],
    "rsa": ["-t", "rsa", "-b", "2048"],
    "ecdsa": ["-t", "ecdsa"],
}


class SshdUnavailable(Exception):
    """sshd is missing and cannot be installed here (not root, or no apt-get)."""


def ensure_sshd() -> None:
    """Install openssh-server via the project's script when missing; failures there are errors."""
    if os.geteuid() != 0:
        raise SshdUnavailable("the SFTP tests need root (they add a user and run sshd)")
    if SSHD.exists() and Path("/run/sshd").is_dir():
        return
    if not SSHD.exists() and shutil.which("apt-get") is None:
        raise SshdUnavailable(f"{SSHD} is missing and apt-get is not available")
    done = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0 or not SSHD.exists():
        raise RuntimeError(f"{INSTALL_SCRIPT} failed:\n{done.stdout}\n{done.stderr}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path, args: list[str], passphrase: str = "") -> subprocess.Popen:
    cmd = ["ssh-keygen", "-q", *args, "-N", passphrase, "-C", "rs-sftp-test", "-f", str(path)]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL)


def _fingerprint(pub: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(pub)], capture_output=True, text=True)
    return out.stdout.split()[1]  # "256 SHA256:... comment (ED25519)"


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat_line = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat_line.rsplit(")", 1)[1].split()[1])  # comm may hold spaces or parens
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


# The lock files of the servers' users (tests/host_accounts.py): the folder's name is older
# than the module, and a run of the older code must keep seeing this run's locks.
USER_LOCKS = "rs-sftp-test-users"


@dataclass
class SshdServer:
    """Handle on the running sshd: connection details, keys, and ways to hurt it."""

    workdir: Path
    remote_root: Path
    host: str = "127.0.0.1"
    port: int = 0
    username: str = ""
    user_claim: Claim | None = None
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    key_passphrase: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    host_key_type: str = "ssh-ed25519"
    host_key_fingerprint: str = ""
    process: subprocess.Popen | None = None

    @property
    def host_key_pub(self) -> Path:
        return self.workdir / "ssh_host_ed25519_key.pub"

    @property
    def log_file(self) -> Path:
        return self.workdir / "sshd.log"

    def client_key(self, kind: str = "ed25519") -> Path:
        """Private key path: "ed25519", "rsa", "ecdsa" or "ed25519_pass" (uses key_passphrase)."""
        return self.workdir / "client" / f"id_{kind}"

    def known_hosts_line(self) -> str:
        key_type, key_b64 = self.host_key_pub.read_text().split()[:2]
        return f"[{self.host}]:{self.port} {key_type} {key_b64}"

    def write_known_hosts(self, path: Path) -> Path:
        """Write a known_hosts (mode 0600) that pins this server's real host key."""
        path.write_text(self.known_hosts_line() + "\n")
        path.chmod(0o600)
        return path

    def make_remote_dir(self, name: str) -> Path:
        """A fresh remote folder owned by the test user, for one test."""
        path = Path(tempfile.mkdtemp(prefix=f"{name[:40]}_", dir=self.remote_root))
        path.chmod(0o755)
        self.chown(path)
        return path

    def chown(self, path: Path) -> None:
        user = pwd.getpwnam(self.username)
        os.chown(path, user.pw_uid, user.pw_gid)

    def kill_sessions(self, sig: int = signal.SIGKILL) -> list[int]:
        """Signal every process serving a connection (all descendants of the listener).

        SIGKILL cuts transfers mid-file; SIGSTOP makes the server hang (a timeout for the client).
        """
        assert self.process is not None
        pids = _descendants(self.process.pid)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pids

    # -- lifecycle -------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.workdir.chmod(0o755)  # sshd reads authorized_keys as the test user
        (self.workdir / "client").mkdir(mode=0o700)
        jobs = [_keygen(self.workdir / "ssh_host_ed25519_key", ["-t", "ed25519"])]
        jobs += [_keygen(self.client_key(k), a) for k, a in CLIENT_KEY_TYPES.items()]
        jobs.append(
            _keygen(self.client_key("ed25519_pass"), ["-t", "ed25519"], self.key_passphrase)
        )
        if any(job.wait() != 0 for job in jobs):
            raise RuntimeError("ssh-keygen failed")
        pubs = sorted((self.workdir / "client").glob("*.pub"))
        authorized = self.workdir / "authorized_keys"
        authorized.write_text("".join(p.read_text() for p in pubs))
        authorized.chmod(0o644)
        self.host_key_fingerprint = _fingerprint(self.host_key_pub)
        # Each xdist worker, and each test run on the host, starts its own sshd: a user shared
        # between them had one password, and one run's chpasswd locked out another's logins.
        self.user_claim = claim(USER_PREFIX, USER_LOCKS)
        self.username = self.user_claim.tag
        try:
            pwd.getpwnam(self.username)
        except KeyError:
            home = ["-d", str(self.remote_root), "-M", "-s", "/usr/sbin/nologin"]
            subprocess.run(["useradd", *home, self.username], check=True)
        subprocess.run(
            ["chpasswd"], input=f"{self.username}:{self.password}\n", text=True, check=True
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def _config(self, extra: str) -> Path:
        w = self.workdir
        config = w / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress {self.host}\nHostKey {w}/ssh_host_ed25519_key\n"
            f"PidFile {w}/sshd.pid\nAuthorizedKeysFile {w}/authorized_keys\n"
            f"AllowUsers {self.username}\nPubkeyAuthentication yes\nPasswordAuthentication yes\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin no\n"
            "Subsystem sftp internal-sftp\nForceCommand internal-sftp\nMaxStartups 100\n"
            f"LogLevel INFO\n{extra}"
        )
        return config

    def start(self) -> None:
        self._prepare()
        # OpenSSH >= 9.8 penalises sources whose sessions crash or fail auth; the tests do both.
        extra = "PerSourcePenalties no\n"
        self.port = _free_port()
        if subprocess.run([SSHD, "-t", "-f", self._config(extra)], capture_output=True).returncode:
            extra = ""  # older sshd (Debian 12 has 9.2) does not know the option
        for _ in range(3):  # the free port can be taken between probing and binding
            self.port = _free_port()
            check = subprocess.run([SSHD, "-t", "-f", self._config(extra)], capture_output=True)
            if check.returncode:
                raise RuntimeError(f"sshd -t rejected the config: {check.stderr.decode()}")
            cmd = [SSHD, "-D", "-f", str(self._config(extra)), "-E", str(self.log_file)]
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
            if self._wait_ready():
                return
        raise RuntimeError(f"sshd did not start; log:\n{self.log_file.read_text()}")

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return True
            except OSError:
                time.sleep(0.05)
        self.stop()
        return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.kill_sessions()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def cleanup(self) -> None:
        self.stop()
        if self.user_claim is not None:
            self.user_claim.release()
            self.user_claim = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(self.remote_root, ignore_errors=True)

    @classmethod
    def launch(cls) -> SshdServer:
        """Start a server; the caller owns it and must call cleanup()."""
        workdir = Path(tempfile.mkdtemp(prefix="rs_sshd_"))
        remote_root = Path(tempfile.mkdtemp(prefix="rs_sftp_remote_", dir="/tmp"))
        remote_root.chmod(0o755)  # traversable by the test user; pytest's tmp dirs are 0700
        server = cls(workdir=workdir, remote_root=remote_root)
        try:
            server.start()
        except BaseException:
            server.cleanup()
            raise
        return server
