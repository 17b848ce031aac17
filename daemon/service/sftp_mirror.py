"""The mirror engine behind `daemon.service.sftp.mirror`: walks an open SFTP session.

Why it is careful: the sync step treats each CSV as the whole truth (a user missing from a bulk
users.csv gets archived), so a truncated file under its real name would archive real people. Every
download therefore lands in a hidden temp name first and is renamed only after its size (and the
remote mtime) check out; and a changed remote file is downloaded only once it has listed the same
across polls for the remote quiet period (`MirrorMemory.steady`), because a stalled upload keeps
its size and mtime and would pass every check of a single listing. Connection handling and
retries live in `sftp.py`; this module only tells "the session died" (`ConnectionLost`, retry)
apart from "this file failed" (`RemoteFileError`, note it and go on) and "stop" (`MirrorAbort`,
e.g. the local disk is full).
"""

from __future__ import annotations

import fcntl
import logging
import os
import posixpath
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from pydantic import BaseModel, Field

from daemon.service.inbox import SteadyFiles

PARTIAL_SUFFIX = ".partial"
LOCK_NAME = ".roster-sync-mirror.lock"
# Names uploaders use while a file is still being written; never mirror those.
TEMP_SUFFIXES = (PARTIAL_SUFFIX, ".part", ".filepart", ".tmp", ".temp", "~")
CHUNK_SIZE = 1024 * 1024
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0

# (relative path, bytes received so far, size the server listed): lets a CLI show progress.
ProgressCallback = Callable[[str, int, int], None]


class MirrorReport(BaseModel):
    """What one `mirror()` call did; relative POSIX paths, so the daemon can show or serialise it."""

    downloaded: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    errors: dict[str, str] = Field(default_factory=dict)  # failed path -> reason
    vanished: list[str] = Field(default_factory=list)  # gone from the server, kept locally
    waiting: dict[str, float] = Field(default_factory=dict)  # still changing: seconds left
    listing: dict[str, tuple[int | None, int | None]] = Field(default_factory=dict)  # size, mtime
    bytes_transferred: int = 0  # includes partial downloads that were cut and retried
    attempts: int = 0  # connections made (1 when nothing went wrong)


@dataclass
class MirrorMemory:
    """What the mirror remembers from one poll to the next (the daemon keeps it): since when each
    remote file has listed the same, and which files it already said are gone from the server."""

    steady: SteadyFiles = field(default_factory=lambda: SteadyFiles(0.0))
    gone: set[str] = field(default_factory=set)


class MirrorAbort(Exception):
    """Stop the whole mirror: retrying the connection would not help (local disk, remote root)."""


class ConnectionLost(Exception):
    """The SSH session died or stalled mid-operation; the caller reconnects and resumes."""


class RemoteFileError(Exception):
    """The server refused one file or folder while the session stayed healthy; skip just that."""


def temp_name(name: str) -> str:
    """Hidden temp name next to the real file, so os.replace is an atomic same-folder rename."""
    return f".{name}{PARTIAL_SUFFIX}"


def is_skipped_name(name: str) -> bool:
    """Hidden files and uploaders' temp names are not part of a drop."""
    return name.startswith(".") or name.endswith(TEMP_SUFFIXES)


def _session_alive(sftp: paramiko.SFTPClient) -> bool:
    channel = sftp.get_channel()
    transport = channel.get_transport() if channel is not None else None
    return bool(transport and transport.is_active() and not channel.closed)


def _abandon(sftp: paramiko.SFTPClient) -> None:
    """Drop a dead or stalled session at once, so closing its file handles cannot block."""
    channel = sftp.get_channel()
    transport = channel.get_transport() if channel is not None else None
    if transport is not None:
        transport.close()


def _lost(sftp: paramiko.SFTPClient, exc: BaseException) -> ConnectionLost:
    _abandon(sftp)
    if isinstance(exc, TimeoutError):
        return ConnectionLost("the server stopped answering (timed out)")
    detail = str(exc).rstrip(": ")  # paramiko: "Server connection dropped: "
    return ConnectionLost(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)


@contextmanager
def _remote_errors(sftp: paramiko.SFTPClient) -> Iterator[None]:
    """Classify remote failures: a dead or stalled session is retried, a refused file is not."""
    try:
        yield
    except (EOFError, TimeoutError, paramiko.SSHException, paramiko.SFTPError) as exc:
        raise _lost(sftp, exc) from exc
    except OSError as exc:
        if not _session_alive(sftp):
            raise _lost(sftp, exc) from exc
        raise RemoteFileError(exc.strerror or str(exc) or type(exc).__name__) from exc


@contextmanager
def _local_errors(path: Path) -> Iterator[None]:
    """Local disk trouble (full, read-only, permissions) ends the mirror: reconnecting won't fix it."""
    try:
        yield
    except OSError as exc:
        raise MirrorAbort(
            f"cannot write the local mirror at {path}: {exc.strerror or exc}"
        ) from exc


@contextmanager
def mirror_lock(dest_dir: Path) -> Iterator[None]:
    """One mirror per folder at a time: a second one would delete the first one's temp files."""
    with _local_errors(dest_dir):
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(dest_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MirrorAbort(f"another mirror into {dest_dir} is already running") from None
        yield
    finally:
        os.close(fd)


def remove_stale_partials(dest_dir: Path, log: logging.Logger) -> list[Path]:
    """Delete temp files a crashed or cut-off earlier run left behind."""
    removed = []
    with _local_errors(dest_dir):
        for root, _dirs, files in os.walk(dest_dir):
            for name in files:
                if name.startswith(".") and name.endswith(PARTIAL_SUFFIX):
                    path = Path(root, name)
                    path.unlink(missing_ok=True)
                    removed.append(path)
                    log.info("removed stale partial download %s", path)
    return removed


def _local_files(dest_dir: Path) -> set[str]:
    found = set()
    for root, dirs, files in os.walk(dest_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel_root = Path(root).relative_to(dest_dir).as_posix()
        for name in files:
            if not name.startswith("."):
                found.add(name if rel_root == "." else f"{rel_root}/{name}")
    return found


def _mtime(attrs: paramiko.SFTPAttributes) -> int | None:
    return int(attrs.st_mtime) if attrs.st_mtime is not None else None


def _is_unchanged(local_path: Path, attrs: paramiko.SFTPAttributes) -> bool:
    """Same size and the exact remote mtime we stamped on it; without an mtime, never assume."""
    if attrs.st_mtime is None or attrs.st_size is None:
        return False
    with _local_errors(local_path):
        try:
            st = local_path.stat()
        except FileNotFoundError:
            return False
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_size == attrs.st_size
        and st.st_mtime_ns == int(attrs.st_mtime) * 1_000_000_000
    )


class TreeMirror:
    """Mirrors one remote folder tree over one session; `done` survives reconnects."""

    def __init__(
        self,
        dest_dir: Path,
        report: MirrorReport,
        log: logging.Logger,
        progress: ProgressCallback | None = None,
        memory: MirrorMemory | None = None,
    ) -> None:
        self.dest_dir = dest_dir
        self.report = report
        self.log = log
        self.progress = progress
        self.memory = memory or MirrorMemory()
        self.done: set[str] = set()  # files finished (any outcome) in an earlier attempt

    def run(self, sftp: paramiko.SFTPClient, remote_root: str) -> None:
        """Walk the remote tree depth-first in name order and sync every regular file."""
        root = remote_root.rstrip("/") or "/"
        try:
            with _remote_errors(sftp):
                root_attrs = sftp.stat(root)
        except RemoteFileError as exc:
            raise MirrorAbort(f"the remote folder {root!r} cannot be read: {exc}") from exc
        if not stat.S_ISDIR(root_attrs.st_mode or 0):
            raise MirrorAbort(f"the remote path {root!r} is not a folder")
        remote_files: set[str] = set()
        unreadable_dirs: list[str] = []
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            try:
                with _remote_errors(sftp):
                    entries = sftp.listdir_attr(posixpath.join(root, rel_dir) if rel_dir else root)
            except RemoteFileError as exc:
                if not rel_dir:
                    raise MirrorAbort(
                        f"the remote folder {root!r} cannot be listed: {exc}"
                    ) from exc
                self._fail(f"{rel_dir}/", str(exc))
                unreadable_dirs.append(f"{rel_dir}/")
                continue
            subdirs = []
            for attrs in sorted(entries, key=lambda a: a.filename):
                name = attrs.filename
                rel = f"{rel_dir}/{name}" if rel_dir else name
                mode = attrs.st_mode or 0
                if is_skipped_name(name) or "/" in name or "\x00" in name:
                    self.log.debug("skipping remote %s: hidden or temporary name", rel)
                elif stat.S_ISDIR(mode):
                    subdirs.append(rel)
                elif not stat.S_ISREG(mode):
                    self.log.info("skipping remote %s: not a regular file (symlink?)", rel)
                else:
                    remote_files.add(rel)
                    self.report.listing[rel] = (attrs.st_size, _mtime(attrs))
                    if rel not in self.done:
                        self._sync_file(sftp, posixpath.join(root, rel), rel, attrs)
                        self.done.add(rel)
            stack.extend(reversed(subdirs))
        self.memory.steady.keep_only(remote_files)
        self.report.vanished = sorted(
            rel
            for rel in _local_files(self.dest_dir) - remote_files
            if not any(rel.startswith(d) for d in unreadable_dirs)
        )
        for rel in self.report.vanished:
            if rel not in self.memory.gone:  # said once, not on every poll
                self.log.info("%s is gone from the server; keeping the local copy", rel)
        self.memory.gone = set(self.report.vanished)

    def _fail(self, rel: str, reason: str) -> None:
        if rel not in self.report.errors:  # a folder can fail again after a reconnect
            self.report.failed.append(rel)
        self.report.errors[rel] = reason
        self.log.warning("could not mirror %s: %s", rel, reason)

    def _sync_file(
        self, sftp: paramiko.SFTPClient, remote_path: str, rel: str, attrs: paramiko.SFTPAttributes
    ) -> None:
        local_path = self.dest_dir.joinpath(*rel.split("/"))
        if local_path.is_dir():
            self._fail(rel, "a local folder has this name")
            return
        left = self.memory.steady.look(rel, attrs.st_size, _mtime(attrs))
        if _is_unchanged(local_path, attrs):
            self.report.unchanged.append(rel)
            self.log.debug("%s unchanged", rel)
            return
        if left > 0:
            self.report.waiting[rel] = left
            self.log.debug("%s changed on the server; waiting %.0f s for it to settle", rel, left)
            return
        tmp = local_path.with_name(temp_name(local_path.name))
        try:
            local_path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            self._fail(rel, "a local file is in the way of its folder")
            return
        except OSError as exc:
            raise MirrorAbort(f"cannot create {local_path.parent}: {exc.strerror}") from exc
        try:
            received = self._download(sftp, remote_path, tmp, rel, attrs.st_size or 0)
            with _remote_errors(sftp):
                after = sftp.stat(remote_path)
            if (
                (attrs.st_size is not None and received != attrs.st_size)
                or after.st_size != received
                or (attrs.st_mtime is not None and after.st_mtime != attrs.st_mtime)
            ):
                raise RemoteFileError(
                    f"changed while downloading (listed {attrs.st_size} bytes, received "
                    f"{received}, now {after.st_size}); it will be fetched on the next poll"
                )
            with _local_errors(local_path):
                if attrs.st_mtime is not None:
                    os.utime(tmp, (attrs.st_atime or attrs.st_mtime, attrs.st_mtime))
                os.replace(tmp, local_path)
        except BaseException as exc:
            with suppress(OSError):  # best effort: the next run removes leftovers anyway
                tmp.unlink(missing_ok=True)
            if isinstance(exc, RemoteFileError):
                self._fail(rel, str(exc))
                return
            raise
        self.report.downloaded.append(rel)
        self.log.info("downloaded %s (%d bytes)", rel, received)

    def _download(
        self, sftp: paramiko.SFTPClient, remote_path: str, tmp: Path, rel: str, size: int
    ) -> int:
        """Stream into `tmp` with prefetch (pipelined reads; SSH flow control bounds memory)."""
        received = 0
        with _remote_errors(sftp):
            remote = sftp.open(remote_path, "rb")
        try:
            with _remote_errors(sftp):  # inside the file's lifetime: a stall abandons first
                remote.prefetch(size)
                with _local_errors(tmp):
                    local = tmp.open("wb")
                try:
                    while chunk := remote.read(CHUNK_SIZE):
                        with _local_errors(tmp):
                            local.write(chunk)
                        received += len(chunk)
                        self.report.bytes_transferred += len(chunk)
                        if self.progress is not None:
                            self.progress(rel, received, size)
                    with _local_errors(tmp):
                        local.flush()
                        os.fsync(local.fileno())
                finally:
                    with suppress(OSError):
                        local.close()
        finally:
            with suppress(OSError, EOFError, paramiko.SSHException):  # data is in, or lost anyway
                remote.close()
        return received


def backoff_delay(failures: int) -> float:
    """Seconds to wait after the n-th failure: 1, 2, 4, ... capped at BACKOFF_CAP_SECONDS."""
    return min(BACKOFF_BASE_SECONDS * 2 ** (failures - 1), BACKOFF_CAP_SECONDS)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionLost):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def run_with_retries(
    open_session: Callable[[], paramiko.SSHClient],
    tree: TreeMirror,
    remote_root: str,
    *,
    retries: int,
    timeout: float,
    sleep: Callable[[float], None],
    log: logging.Logger,
) -> None:
    """Run `tree` on fresh sessions until it completes; back off between connection failures.

    Only connection-level trouble is retried; whatever else `open_session` raises (host key,
    login) propagates at once. After `retries` failures: MirrorAbort with the last error.
    """
    failures = 0
    while True:
        tree.report.attempts += 1
        try:
            client = open_session()
            try:
                sftp = client.open_sftp()
                sftp.get_channel().settimeout(timeout)  # a stalled read raises, not hangs
                tree.run(sftp, remote_root)
            finally:
                client.close()
            return
        except (ConnectionLost, OSError, EOFError, paramiko.SSHException) as exc:
            failures += 1
            if failures >= retries:
                raise MirrorAbort(
                    f"gave up after {failures} failed attempt(s); last error: {_describe(exc)}"
                ) from exc
            delay = backoff_delay(failures)
            log.warning(
                "SFTP transfer failed (%s); reconnecting in %.0f s (failure %d of %d)",
                _describe(exc), delay, failures, retries,
            )  # fmt: skip
            sleep(delay)
