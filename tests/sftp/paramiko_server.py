"""A tiny hostile SFTP server (paramiko, in-process, on 127.0.0.1) for what OpenSSH cannot serve:
a folder entry with an empty name, and reads answered a byte at a time."""

from __future__ import annotations

import contextlib
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface

MTIME = 1_700_000_000
TRICKLE_SIZE = 10 * 1024 * 1024
# Bounds on what a client that does not defend itself would make the server do, so that a
# regression fails its test instead of hanging it: reads answered, then EOF; listings, then errors.
MAX_READS = 40
MAX_LISTINGS = 100


def _attrs(name: str, mode: int, size: int = 0) -> SFTPAttributes:
    a = SFTPAttributes()
    a.filename, a.st_mode, a.st_size = name, mode, size
    a.st_uid = a.st_gid = 0
    a.st_atime = a.st_mtime = MTIME
    return a


class HostileServer:
    """`mode` "emptyname": the root lists a folder named "" (the root again) and users.csv;
    "trickle": the root lists users.csv (10 MB), and each read answers one byte after `delay`."""

    def __init__(self, mode: str, delay: float = 0.3) -> None:
        self.mode, self.delay = mode, delay
        self.key = paramiko.RSAKey.generate(2048)
        self.listings = 0
        self.reads = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(5)
        self.port: int = self._sock.getsockname()[1]
        self._transports: list[paramiko.Transport] = []
        self.sftp_threads: list[threading.Thread] = []
        self.closed = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def write_known_hosts(self, path: Path) -> Path:
        path.write_text(f"[127.0.0.1]:{self.port} {self.key.get_name()} {self.key.get_base64()}\n")
        path.chmod(0o600)
        return path

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            if self.closed:  # the wake-up connection from close()
                conn.close()
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.key)
            transport.set_subsystem_handler("sftp", SFTPServer, _Fs, self)
            transport.start_server(server=_Auth())
            self._transports.append(transport)

    def close(self) -> None:
        """Stop, and wait for every server thread: one still logging a traceback while the test
        run goes on races Python 3.11's ast module (traceback formatting parses source) and
        breaks an unrelated ast.parse with "AST constructor recursion depth mismatch"."""
        self.closed = True
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()  # wake accept
        self._sock.close()
        self._acceptor.join(5)
        for transport in self._transports:
            transport.close()
        for thread in [*self._transports, *self.sftp_threads]:
            thread.join(5)


class _Auth(paramiko.ServerInterface):
    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_SUCCESSFUL

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED


class _Handle(SFTPHandle):
    def __init__(self, server: HostileServer) -> None:
        super().__init__()
        self.server = server

    def read(self, offset: int, length: int) -> bytes:
        self.server.reads += 1
        if self.server.reads > MAX_READS or self.server.closed:
            return b""
        time.sleep(self.server.delay)
        return b"x" if offset < TRICKLE_SIZE else b""

    def stat(self) -> SFTPAttributes:
        return _attrs("users.csv", stat.S_IFREG | 0o644, TRICKLE_SIZE)


class _Fs(SFTPServerInterface):
    def __init__(self, server: paramiko.ServerInterface, hostile: HostileServer) -> None:
        super().__init__(server)
        self.hostile = hostile

    def session_started(self) -> None:
        self.hostile.sftp_threads.append(threading.current_thread())

    def canonicalize(self, path: str) -> str:
        return "/" + path.strip("/")

    def list_folder(self, path: str) -> list[SFTPAttributes] | int:
        self.hostile.listings += 1
        if self.hostile.listings > MAX_LISTINGS:
            return paramiko.SFTP_FAILURE
        if self.hostile.mode == "trickle":
            return [_attrs("users.csv", stat.S_IFREG | 0o644, TRICKLE_SIZE)]
        return [_attrs("", stat.S_IFDIR | 0o755), _attrs("users.csv", stat.S_IFREG | 0o644, 10)]

    def stat(self, path: str) -> SFTPAttributes:
        if path.rstrip("/").endswith("users.csv"):
            size = TRICKLE_SIZE if self.hostile.mode == "trickle" else 10
            return _attrs("users.csv", stat.S_IFREG | 0o644, size)
        return _attrs(path.rsplit("/", 1)[-1], stat.S_IFDIR | 0o755)

    lstat = stat

    def open(self, path: str, flags: int, attr: SFTPAttributes) -> SFTPHandle:
        if self.hostile.mode == "trickle":
            return _Handle(self.hostile)
        return _Bytes(b"sourcedId\n")


class _Bytes(SFTPHandle):
    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]

    def stat(self) -> SFTPAttributes:
        return _attrs("users.csv", stat.S_IFREG | 0o644, len(self.data))


@contextlib.contextmanager
def hostile_server(mode: str, delay: float = 0.3) -> Iterator[HostileServer]:
    server = HostileServer(mode, delay)
    try:
        yield server
    finally:
        server.close()
