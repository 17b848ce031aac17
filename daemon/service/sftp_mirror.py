"""The mirror engine behind `daemon.service.sftp.mirror`: walks an open SFTP session.

Why it is careful: the sync step treats each CSV as the whole truth (a user missing from a bulk
users.csv gets archived), so a truncated file under its real name would archive real people. Every
download therefore lands in a hidden temp name first and is renamed only after its size (and the
remote mtime) check out; and a changed remote file is downloaded only once it has listed the same
across polls for the remote quiet period (`MirrorMemory.steady`), because a stalled upload keeps
its size and mtime and would pass every check of a single listing. Connection handling and
retries live in `sftp.py`; this module only tells "the session died" (`ConnectionLost`, retry)
apart from "this file failed" (`RemoteFileError` or `LocalFileError`, note it and go on) and
"stop" (`MirrorAbort`, e.g. the local disk is full).

The server is not trusted: a file is read no further than its listed size, no larger than the ZIP
limits allow a drop (`MAX_ZIP_TOTAL_BYTES`, half the free space), with bounded prefetch memory,
and within a deadline that a trickling server cannot stretch; names are shown escaped.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import posixpath
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR
from pydantic import BaseModel, Field

from daemon.formats.controls import printable
from daemon.formats.drop import MAX_ZIP_SHARE_OF_FREE_SPACE, MAX_ZIP_TOTAL_BYTES
from daemon.service.inbox import SteadyFiles, not_regular

PARTIAL_SUFFIX = ".partial"
LOCK_NAME = ".roster-sync-mirror.lock"
# Names uploaders use while a file is still being written; never mirror those.
TEMP_SUFFIXES = (PARTIAL_SUFFIX, ".part", ".filepart", ".tmp", ".temp", "~")
# One SFTP read request: a read returns (and the stop request is looked at) at least this often
# while data flows.
CHUNK_SIZE = 32 * 1024
# Bytes requested ahead of the reader: paramiko's prefetch keeps a list entry per request, so
# prefetching a huge listed size at once would exhaust memory before the first byte arrives.
PREFETCH_WINDOW = 8 * 1024 * 1024
# A file may take DEADLINE_GRACE_SECONDS plus its size at MIN_BYTES_PER_SECOND: a server that
# answers each read just inside the timeout with a byte or two fails the file, not the mirror.
MIN_BYTES_PER_SECOND = 32 * 1024
DEADLINE_GRACE_SECONDS = 120.0
# How often a download that is blocked in a read looks at the deadline and the stop request.
WATCH_SECONDS = 0.5
# Folders nested deeper than this are not walked: an endless (or looping) server tree ends here.
MAX_DEPTH = 32
# The inbox's wording for a drop holding something other than regular files (inbox.py).
NOT_REGULAR = (
    "not a regular file; a drop holds regular files only, so it is not taken: remove it or "
    "replace it with a regular file"
)
NOT_UTF8 = "its name is not UTF-8, so it is not mirrored and its drop is not taken: rename it"
# Local errors that concern the whole disk, not one file: they stop the mirror.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0

# (relative path, bytes received so far, size the server listed): lets a caller show progress or
# stop the mirror by raising. Also called with (folder path + "/", 0, 0) per folder listed, and
# from a watchdog thread every WATCH_SECONDS while a read is blocked, so it must be thread-safe.
ProgressCallback = Callable[[str, int, int], None]


class MirrorReport(BaseModel):
    """What one `mirror()` call did; relative POSIX paths, so the daemon can show or serialise it."""

    downloaded: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    errors: dict[str, str] = Field(default_factory=dict)  # failed path -> reason
    vanished: list[str] = Field(default_factory=list)  # gone from the server, kept locally
    # folders ("folder/", also in `failed`) whose listing failed: what is in them is not known,
    # so their files are neither gone nor unchanged
    unlisted: list[str] = Field(default_factory=list)
    decided: list[str] = Field(default_factory=list)  # in drops decided before: not downloaded
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
    skipped: set[str] = field(default_factory=set)  # entries already said to be skipped
    # Drops (top-level folders and ZIPs) the daemon decided before: their files are listed, to
    # tell a later change, but never downloaded (nothing reads them again). A server keeping a
    # year of nightly folders is not copied on the day the daemon is installed.
    decided: set[str] = field(default_factory=set)


class MirrorAbort(Exception):
    """Stop the whole mirror: retrying the connection would not help (local disk, remote root)."""


class ConnectionLost(Exception):
    """The SSH session died or stalled mid-operation; the caller reconnects and resumes."""


class SessionDropped(ConnectionLost):
    """The mirror closed the session itself to give up one file (too slow): reconnect at once
    for the rest; not a failure of the connection, so it neither counts nor backs off."""


class RemoteFileError(Exception):
    """The server refused one file or folder while the session stayed healthy; skip just that."""


class LocalFileError(Exception):
    """One file cannot be written locally (name too long, a folder in the way); skip just that."""


def shown(name: str) -> str:
    """A server's name as it may go into a log line: a byte that is not UTF-8 as \\xNN, control
    characters and line breaks made visible (a name must not forge a log line or reach a terminal
    as an escape sequence)."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return printable(text, one_line=True)


def temp_name(name: str) -> str:
    """Hidden temp name next to the real file, so os.replace is an atomic same-folder rename.
    Hashed, so it fits whatever length the real name has (a 255-byte name is legal)."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return f".{digest}{PARTIAL_SUFFIX}"


def is_skipped_name(name: str) -> bool:
    """Hidden files and uploaders' temp names are not part of a drop."""
    return name.startswith(".") or name.endswith(TEMP_SUFFIXES)


def _listdir(sftp: paramiko.SFTPClient, path: str) -> list[paramiko.SFTPAttributes]:
    """`sftp.listdir_attr`, but a name that is not UTF-8 arrives surrogate-escaped instead of
    failing the whole listing (paramiko decodes strictly): the walk skips just that entry."""
    kind, msg = sftp._request(CMD_OPENDIR, path)
    if kind != CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    handle = msg.get_binary()
    found = []
    while True:
        try:
            kind, msg = sftp._request(CMD_READDIR, handle)
        except EOFError:  # the end of the listing
            break
        if kind != CMD_NAME:
            raise paramiko.SFTPError("Expected name response")
        for _ in range(msg.get_int()):
            name = msg.get_string().decode("utf-8", "surrogateescape")
            msg.get_string()  # the "ls -l" long name: not used
            attrs = paramiko.SFTPAttributes._from_msg(msg, name)  # read even if not kept
            if name not in (".", ".."):
                found.append(attrs)
    sftp._request(CMD_CLOSE, handle)
    return found


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
            f"cannot write the local mirror at {shown(str(path))}: {exc.strerror or exc}"
        ) from exc


@contextmanager
def _local_file_errors(path: Path) -> Iterator[None]:
    """Trouble writing one file fails that file; only a full or read-only disk ends the mirror."""
    try:
        yield
    except OSError as exc:
        if exc.errno in DISK_ERRNOS:
            raise MirrorAbort(
                f"cannot write the local mirror at {shown(str(path))}: {exc.strerror or exc}"
            ) from exc
        raise LocalFileError(
            f"cannot be saved in the local mirror ({exc.strerror or type(exc).__name__})"
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
                    log.info("removed stale partial download %s", shown(str(path)))
    return removed


def local_entries(dest_dir: Path) -> list[str]:
    """The mirror's top-level folders and files (its own hidden lock and temp files left out)."""
    if not dest_dir.is_dir():
        return []
    return sorted(name for name in os.listdir(dest_dir) if not name.startswith("."))


def prune_local_copies(dest_dir: Path, entries: list[str], log: logging.Logger) -> list[str]:
    """Delete these top-level folders and files of the mirror (drops no decision needs any more:
    the daemon chooses them, `DropHistory.mirror_prunable`), under the mirror's lock so that a
    mirror running at the same time (`roster-sync sftp mirror`) is not cut short. What they were
    stays in the drop history and the runs (names, file sizes and times, content hash)."""
    removed = []
    with mirror_lock(dest_dir):
        for entry in entries:
            path = dest_dir / entry
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning(
                    "cannot prune %s from the mirror: %s", shown(entry), exc.strerror or exc
                )
                continue
            removed.append(entry)
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
    with _local_file_errors(local_path):
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
        skipped: set[str] = set()
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            if self.progress is not None:  # lets the caller stop a long walk
                self.progress(f"{rel_dir}/" if rel_dir else "", 0, 0)
            try:
                with _remote_errors(sftp):
                    entries = _listdir(sftp, posixpath.join(root, rel_dir) if rel_dir else root)
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
                if not name or "/" in name or "\x00" in name or is_skipped_name(name):
                    self.log.debug(
                        "skipping remote %s: hidden, temporary or invalid name", shown(rel)
                    )
                elif _not_utf8(name):
                    skipped.add(rel)
                    self._hold(rel + ("/" if stat.S_ISDIR(mode) else ""), NOT_UTF8)
                elif stat.S_ISDIR(mode):
                    if rel.count("/") + 1 >= MAX_DEPTH:
                        skipped.add(rel)
                        self._hold(f"{rel}/", f"deeper than {MAX_DEPTH} folders; not mirrored")
                    else:
                        subdirs.append(rel)
                elif not stat.S_ISREG(mode):
                    skipped.add(rel)
                    what = not_regular(mode) or "a special file"
                    self._hold(rel, f"{what} on the server, {NOT_REGULAR}")
                else:
                    remote_files.add(rel)
                    self.report.listing[rel] = (attrs.st_size, _mtime(attrs))
                    if rel.partition("/")[0] in self.memory.decided:
                        self.report.decided.append(rel)
                        continue
                    if rel not in self.done:
                        self._sync_one(sftp, posixpath.join(root, rel), rel, attrs)
                        self.done.add(rel)
            stack.extend(reversed(subdirs))
        self.memory.skipped &= skipped  # said again if it comes back after it was fixed
        self.report.unlisted = unreadable_dirs
        self.memory.steady.keep_only(remote_files)
        self.report.vanished = sorted(
            rel
            for rel in _local_files(self.dest_dir) - remote_files
            if not any(rel.startswith(d) for d in unreadable_dirs)
        )
        for rel in self.report.vanished:
            if rel not in self.memory.gone:  # said once, not on every poll
                self.log.info("%s is gone from the server; keeping the local copy", shown(rel))
        self.memory.gone = set(self.report.vanished)

    def _hold(self, rel: str, reason: str) -> None:
        """An entry the mirror leaves out, noted as failed so that its drop is held naming it (the
        inbox's rule: left out silently, the drop would be planned without that file). Logged
        once while it stays (not on every poll), then at DEBUG."""
        key = shown(rel)  # the report is serialised: no undecodable bytes in it
        if key not in self.report.errors:
            self.report.failed.append(key)
        self.report.errors[key] = reason
        level = logging.DEBUG if rel in self.memory.skipped else logging.WARNING
        self.memory.skipped.add(rel)
        self.log.log(level, "skipping remote %s: %s", key, reason)

    def _fail(self, rel: str, reason: str) -> None:
        if rel not in self.report.errors:  # a folder can fail again after a reconnect
            self.report.failed.append(rel)
        self.report.errors[rel] = reason
        self.log.warning("could not mirror %s: %s", shown(rel), shown(reason))

    def _sync_one(
        self, sftp: paramiko.SFTPClient, remote_path: str, rel: str, attrs: paramiko.SFTPAttributes
    ) -> None:
        """`_sync_file`, where a file that fails (remote or local) is noted and the walk goes on."""
        try:
            self._sync_file(sftp, remote_path, rel, attrs)
        except (RemoteFileError, LocalFileError) as exc:
            self._fail(rel, str(exc))

    def _sync_file(
        self, sftp: paramiko.SFTPClient, remote_path: str, rel: str, attrs: paramiko.SFTPAttributes
    ) -> None:
        local_path = self.dest_dir.joinpath(*rel.split("/"))
        with _local_file_errors(local_path):
            is_dir = local_path.is_dir()
        if is_dir:
            raise LocalFileError("a local folder has this name")
        left = self.memory.steady.look(rel, attrs.st_size, _mtime(attrs))
        if _is_unchanged(local_path, attrs):
            self.report.unchanged.append(rel)
            self.log.debug("%s unchanged", shown(rel))
            return
        if left > 0:
            self.report.waiting[rel] = left
            self.log.debug(
                "%s changed on the server; waiting %.0f s for it to settle", shown(rel), left
            )
            return
        size = attrs.st_size or 0
        self._check_room(size)
        tmp = local_path.with_name(temp_name(local_path.name))
        try:
            local_path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise LocalFileError("a local file is in the way of its folder") from None
        except OSError as exc:
            with _local_file_errors(local_path.parent):
                raise exc
        try:
            received = self._download(sftp, remote_path, tmp, rel, size)
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
            with _local_file_errors(local_path):
                if attrs.st_mtime is not None:
                    os.utime(tmp, (attrs.st_atime or attrs.st_mtime, attrs.st_mtime))
                os.replace(tmp, local_path)
        except BaseException:
            with suppress(OSError):  # best effort: the next run removes leftovers anyway
                tmp.unlink(missing_ok=True)
            raise
        self.report.downloaded.append(rel)
        self.log.info("downloaded %s (%d bytes)", shown(rel), received)

    def _check_room(self, size: int) -> None:
        """The ZIP drop's limits for one file: at most MAX_ZIP_TOTAL_BYTES and half the free space
        of the mirror's disk, so a huge (or lying) server file never fills the database's disk."""
        if size > MAX_ZIP_TOTAL_BYTES:
            raise RemoteFileError(
                f"is {_size(size)} on the server, more than the "
                f"{MAX_ZIP_TOTAL_BYTES // 1024**3} GB limit for a file; it is not mirrored"
            )
        with _local_file_errors(self.dest_dir):
            budget = int(shutil.disk_usage(self.dest_dir).free * MAX_ZIP_SHARE_OF_FREE_SPACE)
        if size > budget:
            raise RemoteFileError(
                f"is {_size(size)} on the server, more than half of the {_size(budget * 2)} "
                "free on the mirror's disk; free some space or send a smaller file"
            )

    def _download(
        self, sftp: paramiko.SFTPClient, remote_path: str, tmp: Path, rel: str, size: int
    ) -> int:
        """Stream into `tmp`, prefetching PREFETCH_WINDOW at a time, never past the listed size:
        one more byte than listed fails the file (a server that lies about the size, or a file
        swapped for an endless one, would otherwise fill the disk)."""
        received = 0
        with _remote_errors(sftp):
            remote = sftp.open(remote_path, "rb")
        watch = _Watchdog(sftp, rel, size, self.progress)
        try:
            with _remote_errors(sftp):  # inside the file's lifetime: a stall abandons first
                with _local_file_errors(tmp):
                    local = tmp.open("wb")
                try:
                    prefetched = 0
                    while True:
                        if received >= prefetched and prefetched < size:
                            prefetched = min(received + PREFETCH_WINDOW, size)
                            remote.prefetch(prefetched)
                        # Past the listed size, ask for one byte: any answer means it grew.
                        chunk = remote.read(min(CHUNK_SIZE, size - received) or 1)
                        if not chunk:
                            break
                        received += len(chunk)
                        watch.received = received
                        if received > size:
                            raise RemoteFileError(
                                f"grew while downloading: more than the listed {size} bytes "
                                "arrived; it will be fetched on the next poll"
                            )
                        with _local_file_errors(tmp):
                            local.write(chunk)
                        self.report.bytes_transferred += len(chunk)
                        if self.progress is not None:
                            self.progress(rel, received, size)
                    with _local_file_errors(tmp):
                        local.flush()
                        os.fsync(local.fileno())
                finally:
                    with suppress(OSError):
                        local.close()
        except BaseException as exc:
            watch.stop()
            if watch.stopped_by is not None:  # the caller asked to stop while a read blocked
                raise watch.stopped_by from exc
            if watch.too_slow is not None:  # the session was closed under the read
                self._fail(rel, watch.too_slow)
                self.done.add(rel)
                raise SessionDropped(f"{shown(rel)}: {watch.too_slow}") from exc
            raise
        finally:
            watch.stop()
            with suppress(OSError, EOFError, paramiko.SSHException):  # data is in, or lost anyway
                remote.close()
        return received


class _Watchdog:
    """Looks after one download from a thread: a read blocks until the server answers, so a
    server that trickles a byte now and then (each answer inside the timeout) would keep the
    mirror, and a daemon waiting to stop, busy for ever. Past the file's deadline, or when the
    progress callback raises (a stop request), it closes the session under the blocked read."""

    def __init__(
        self,
        sftp: paramiko.SFTPClient,
        rel: str,
        size: int,
        progress: ProgressCallback | None,
    ) -> None:
        self.sftp, self.rel, self.size, self.progress = sftp, rel, size, progress
        self.received = 0
        self.seconds = DEADLINE_GRACE_SECONDS + size / MIN_BYTES_PER_SECOND
        self.deadline = time.monotonic() + self.seconds
        self.too_slow: str | None = None
        self.stopped_by: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sftp-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(WATCH_SECONDS):
            if self.progress is not None:
                try:
                    self.progress(self.rel, self.received, self.size)
                except BaseException as exc:  # the caller's way to stop: end the read now
                    self.stopped_by = exc
                    _abandon(self.sftp)
                    return
            if time.monotonic() > self.deadline:
                self.too_slow = (
                    f"too slow: {self.received} of {self.size} bytes arrived in "
                    f"{self.seconds:.0f} s (a file may take {DEADLINE_GRACE_SECONDS:.0f} s plus "
                    f"{MIN_BYTES_PER_SECOND // 1024} KB/s); it will be tried on the next poll"
                )
                _abandon(self.sftp)
                return

    def stop(self) -> None:
        self._done.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


def _not_utf8(name: str) -> bool:
    """A name `_listdir` could only surrogate-escape: its bytes are not UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


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
        except SessionDropped as exc:
            log.info("reconnecting after giving up one file (%s)", exc)
        except (ConnectionLost, OSError, EOFError, paramiko.SSHException) as exc:
            failures += 1
            if failures >= retries:
                raise MirrorAbort(
                    f"gave up after {failures} failed attempt(s); last error: "
                    f"{shown(_describe(exc))}"
                ) from exc
            delay = backoff_delay(failures)
            log.warning(
                "SFTP transfer failed (%s); reconnecting in %.0f s (failure %d of %d)",
                shown(_describe(exc)), delay, failures, retries,
            )  # fmt: skip
            sleep(delay)
