"""Which drops are there, and which are complete enough to read: the one place that decides it,
for drops in the inbox and drops mirrored from SFTP alike.

Why so careful: a sync treats each CSV as the whole truth (whoever is missing from a bulk users.csv
is archived), so reading a file that is still being uploaded would archive real people. A drop is
complete only when
- every file has kept the same size and mtime for `quiet_seconds` (observed by us, not guessed from
  mtimes, which copies and the SFTP mirror preserve); for SFTP, every remote file has also listed
  the same across polls for `remote_quiet_seconds` before it is mirrored at all (`SteadyFiles`);
- its ready marker is there and was written last, when one is configured (folders and loose files;
  a ZIP carries its own: its central directory is written last);
- a ZIP opens and passes its CRC check, and a manifest's bulk/delta files are all there;
- once the drops of its source carry a manifest.csv, it carries one too (at its top, or in its
  ZIP), or it has waited `give_up_seconds` for it (or its ready marker says it is complete): an
  SIS that pauses before uploading the manifest would otherwise have its delta files read as
  bulk, and everyone they leave out archived;
- it holds regular files only: a symlink, FIFO, socket or device in it holds the drop, and its
  status names the file (reading a FIFO or a device would block the daemon; a link can lead
  outside the drop). Nothing here opens a file that lstat does not call regular.
The decisions are pure functions of what was seen and a clock, so tests need neither sleeps nor
real uploads.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from daemon.formats.drop import (
    MAX_MANIFEST_BYTES,
    DropError,
    check_zip_directory,
    manifest_too_large,
    open_drop,
)
from daemon.sources import clever_csv

LOG = logging.getLogger("roster_sync.daemon")
ROOT_DROP = "(inbox root)"
SFTP_ROOT_DROP = "(loose files)"
MANIFEST = "manifest.csv"
# Names uploaders and our own mirror use while a file is still being written.
TEMP_SUFFIXES = (".partial", ".part", ".filepart", ".tmp", ".temp", "~", ".swp", ".crdownload")
# An unreadable ZIP that stays unchanged this many quiet periods (at least ZIP_GIVE_UP_MIN
# seconds) is handed to the sync anyway, so it becomes a visible failed run instead of waiting.
ZIP_GIVE_UP_FACTOR = 20
ZIP_GIVE_UP_MIN = 600.0
MANIFEST_WAIT = f"waits for {MANIFEST}: the drops before it had one"


def give_up_seconds(quiet: float) -> float:
    """How long a drop that stays unchanged waits for what it lacks (a ZIP's directory, its
    manifest) before it is handed over anyway."""
    return max(ZIP_GIVE_UP_FACTOR * quiet, ZIP_GIVE_UP_MIN)


def waiting_left(quiet: float, since: float, seen_at: float, now: float) -> float | None:
    """Seconds a drop unchanged since `since` may still wait for what it lacks, or None once
    it has waited the give-up (measured to when it was last seen unchanged)."""
    give_up = give_up_seconds(quiet)
    return None if seen_at - since >= give_up else max(since + give_up - now, 0.0)


def is_ignored_name(name: str) -> bool:
    """Hidden files and temporary names are never part of a drop."""
    return name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES)


@dataclass(frozen=True)
class FileSig:
    rel: str  # POSIX path relative to the drop (or to the inbox for the root drop)
    size: int
    mtime_ns: int


DropKey = tuple[str, str]  # (source, name)


@dataclass(frozen=True)
class Candidate:
    """One drop as seen in the inbox or the SFTP mirror: a folder, a ZIP, or the loose CSVs."""

    name: str
    path: Path
    kind: str  # folder | zip | root
    files: tuple[FileSig, ...]
    source: str = "inbox"  # inbox | sftp
    marker: str | None = None  # the ready marker it must hold (folders and loose files)
    held: str | None = None  # why not ready, from outside its local files (the server's side)
    arriving: bool = False  # held because files are still changing on the server
    irregular: tuple[tuple[str, str], ...] = ()  # (rel, what it is): not regular files, never read
    # held because the last mirror did not look at it (it failed, or could not list a folder of
    # it): nothing says that what is on its way there has stopped
    unseen: bool = False
    unlisted: str | None = None  # the folder of it ("2026-09-15/") the mirror could not list

    @property
    def key(self) -> DropKey:
        return (self.source, self.name)

    @property
    def label(self) -> str:
        """How status lines name it: `day1` in the inbox, `sftp/2026-11-29` from the server."""
        return self.name if self.source == "inbox" else f"{self.source}/{self.name}"

    @property
    def newest_mtime_ns(self) -> int:
        return max((f.mtime_ns for f in self.files), default=0)


def not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is (from its lstat mode); None for a regular one."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


def _look(path: str, rel: str) -> FileSig | tuple[str, str] | None:
    """A regular file's signature; (rel, what it is) for anything else; None when it is gone."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    what = not_regular(st.st_mode)
    if what is not None:
        return (rel, what)
    return FileSig(rel, st.st_size, st.st_mtime_ns)


def folder_entries(folder: Path) -> tuple[tuple[FileSig, ...], tuple[tuple[str, str], ...]]:
    """The regular, non-hidden files below `folder`, and what else is there that is not a
    regular file or a folder (symlinks, FIFOs, sockets, devices: never followed nor opened)."""
    found: list[FileSig] = []
    irregular: list[tuple[str, str]] = []
    for root, dirs, files in os.walk(folder):
        rel_root = Path(root).relative_to(folder).as_posix()
        names = [d for d in dirs if os.path.islink(os.path.join(root, d))] + files
        dirs[:] = sorted(
            d for d in dirs if not is_ignored_name(d) and not os.path.islink(os.path.join(root, d))
        )
        for name in sorted(names):
            if is_ignored_name(name):
                continue
            look = _look(
                os.path.join(root, name), name if rel_root == "." else f"{rel_root}/{name}"
            )
            if isinstance(look, FileSig):
                found.append(look)
            elif look is not None:
                irregular.append(look)
    return tuple(found), tuple(irregular)


def folder_files(folder: Path) -> tuple[FileSig, ...]:
    """Every regular, non-hidden file below `folder` (links and special files are left out)."""
    return folder_entries(folder)[0]


def scan_inbox(inbox: Path, marker: str | None = None) -> list[Candidate]:
    """The drops in the inbox right now: sub-folders, *.zip files, and loose CSVs as one drop."""
    found: list[Candidate] = []
    loose: list[FileSig] = []
    loose_irregular: list[tuple[str, str]] = []
    try:
        entries = sorted(os.scandir(inbox), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    for entry in entries:
        if is_ignored_name(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        mode, lower = st.st_mode, entry.name.lower()
        if stat.S_ISDIR(mode):
            files, irregular = folder_entries(Path(entry.path))
            found.append(
                Candidate(entry.name, Path(entry.path), "folder", files, marker=marker,
                          irregular=irregular)
            )  # fmt: skip
            continue
        what = not_regular(mode)
        if lower.endswith(".zip"):
            if what is None:
                sig = FileSig(entry.name, st.st_size, st.st_mtime_ns)
                found.append(Candidate(entry.name, Path(entry.path), "zip", (sig,)))
            else:  # shown as a drop that waits, so the administrator sees why
                found.append(
                    Candidate(entry.name, Path(entry.path), "zip", (),
                              irregular=((entry.name, what),))
                )  # fmt: skip
        elif lower.endswith(".csv") or entry.name == marker:
            look = _look(entry.path, entry.name)
            if isinstance(look, FileSig):
                loose.append(look)
            elif look is not None:
                loose_irregular.append(look)
        # anything else at the top (a link to a folder, a stray pipe) is not a drop: ignored
    if loose or loose_irregular:
        found.append(
            Candidate(ROOT_DROP, inbox, "root", tuple(loose), marker=marker,
                      irregular=tuple(loose_irregular))
        )  # fmt: skip
    return found


def irregular_problem(candidate: Candidate) -> str | None:
    """Why a drop holding something other than regular files is not taken: which file, and what
    it is. Such a drop waits until the file is removed or replaced by a regular file."""
    if not candidate.irregular:
        return None
    rel, what = candidate.irregular[0]
    more = f" (and {len(candidate.irregular) - 1} more)" if len(candidate.irregular) > 1 else ""
    return (
        f"{rel} is {what}, not a regular file{more}; a drop holds regular files only, so it is "
        f"not taken: remove it or replace it with a regular file"
    )


def open_regular(path: Path) -> io.BufferedReader:
    """Open a file for reading only if it is a regular file: lstat first (a FIFO or a device is
    never opened), then open without following a link or waiting for a writer, and check that
    what was opened is that same regular file."""
    before = os.lstat(path)
    what = not_regular(before.st_mode)
    if what is not None:
        raise OSError(f"{path.name} is not a regular file ({what})")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (
            before.st_dev,
            before.st_ino,
        ):
            raise OSError(f"{path.name} changed while it was opened; not read")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_regular(path: Path, limit: int = -1) -> bytes:
    """The file's bytes; with a `limit`, no more than limit + 1 (enough to tell it is over)."""
    with open_regular(path) as f:
        return f.read(limit + 1 if limit >= 0 else -1)


class NeverReadable(str):
    """A problem no more bytes can cure: the drop is handed to the sync at once, so that its run
    fails saying why, instead of waiting for an upload that has ended."""


# Damaged entries under a whole directory: what a ZIP rewritten in place looks like while its
# upload is stalled (new entries over the old ones, the old directory still at its end), so it
# waits for a change like a ZIP without a directory, and is taken as it is at the give-up.
REWRITTEN = " (an upload rewriting it in place that stopped?)"

# How a ZIP begins (a local file header; an end record when empty; a spanning marker).
ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def zip_problem(path: Path) -> str | None:
    """Why this ZIP cannot be read, or None when it is whole.

    A ZIP writer writes the directory last, so a ZIP still being uploaded has none: that waits
    (a plain str). Once the directory is there, what is wrong stays wrong (an entry escaping its
    folder, encryption, a bomb, a file twice, a damaged entry), and so does a file that does not
    even begin as a ZIP: NeverReadable. The directory is checked before anything is unpacked,
    so a bomb is refused without being inflated."""
    try:
        with open_regular(path) as f:
            head = f.read(4)
            f.seek(0)
            try:
                archive = zipfile.ZipFile(f)
            except (zipfile.BadZipFile, EOFError) as exc:  # no directory (yet)
                if any(start.startswith(head) for start in ZIP_STARTS):
                    return f"not a readable ZIP yet ({type(exc).__name__}: {exc})"
                return NeverReadable("not a ZIP file (it does not begin as one); send it again")
            except Exception as exc:  # a directory Python cannot read (a newer ZIP version...)
                reason = f"{type(exc).__name__}: {exc}"
                return NeverReadable(f"not a readable ZIP ({reason}); send the drop again")
            with archive:
                try:
                    check_zip_directory(path.name, archive.infolist())
                    bad = archive.testzip()
                except DropError as exc:
                    return NeverReadable(str(exc).removeprefix(f"{path.name}: "))
                except OSError:
                    raise
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # entries damaged
                    return f"damaged ({type(exc).__name__}: {exc}){REWRITTEN}"
                except Exception as exc:  # unsupported compression, a newer ZIP version...
                    reason = f"{type(exc).__name__}: {exc}"
                    return NeverReadable(f"damaged ({reason}); send the drop again")
    except OSError as exc:
        return f"cannot be read yet ({exc.strerror or exc})"
    if bad:
        return f"entry {bad} fails its CRC check{REWRITTEN}"
    return None


def drop_manifest(rels: Iterable[str]) -> str | None:
    """Which of the drop's files (paths inside it) is the manifest.csv the sync reads: the one at
    the top when CSV files lie there, else the one in its single folder (daemon/formats/drop.py,
    `_csv_root`); None when there is none there. A manifest elsewhere (a previous export's, kept
    in a sub-folder) is not read, so it is not the drop's."""
    rels = [r for r in rels if not r.endswith("/")]
    top = [r for r in rels if "/" not in r and r.lower().endswith(".csv")]
    if top:
        found = [r for r in top if r.lower() == MANIFEST]
    else:
        folders = {
            r.partition("/")[0] for r in rels
            if "/" in r and not r.startswith((".", "__MACOSX"))
        }  # fmt: skip
        if len(folders) != 1:
            return None
        (folder,) = folders
        found = [r for r in rels if r.lower() == f"{folder}/{MANIFEST}".lower()]
    return min(found, default=None)


def expected_by_manifest(manifest_text: str) -> list[str]:
    """File names a manifest says are in the drop (`file.<x>,bulk|delta`), lower case. A first
    row that is not the header is a property, as the sync reads it."""
    names = []
    try:
        rows = list(csv.reader(io.StringIO(manifest_text, newline=None)))  # CR, LF, CRLF
    except csv.Error:
        return []  # the sync reports a broken manifest precisely
    if rows and rows[0] and rows[0][0].strip().lower() == "propertyname":
        rows = rows[1:]
    for row in rows:
        if len(row) < 2 or not row[0].strip().lower().startswith("file."):
            continue
        if row[1].strip().lower() in ("bulk", "delta"):
            stem = row[0].strip().lower()[len("file.") :]
            names.append(stem if stem.endswith(".csv") else f"{stem}.csv")
    return names


def manifest_problem(files: Iterable[FileSig], read: Callable[[str], bytes]) -> str | None:
    """Which files the manifest promises that are not there yet (next to the manifest). A
    manifest over MAX_MANIFEST_BYTES is not read: the drop goes to the sync, which refuses it
    saying so (no wait makes it smaller)."""
    files = list(files)
    by_dir: dict[str, set[str]] = {}
    for f in files:
        folder, _, name = f.rel.rpartition("/")
        by_dir.setdefault(folder, set()).add(name.lower())
    rel = drop_manifest(f.rel for f in files)
    if rel is None:
        return None
    size = max((f.size for f in files if f.rel == rel), default=0)
    try:
        data = read(rel) if size <= MAX_MANIFEST_BYTES else b""
    except OSError as exc:
        return f"cannot read {rel} ({exc.strerror or exc})"
    if size > MAX_MANIFEST_BYTES or len(data) > MAX_MANIFEST_BYTES:  # `read` stops past the limit
        return NeverReadable(manifest_too_large(rel, max(size, len(data))))
    text = data.decode("utf-8-sig", errors="replace")
    present = by_dir.get(rel.rpartition("/")[0], set())
    missing = [n for n in expected_by_manifest(text) if n not in present]
    if missing:
        return f"waiting for {', '.join(missing)} (listed in {MANIFEST})"
    return None


def marker_problem(files: Iterable[FileSig], marker: str | None) -> str | None:
    """Why the ready marker does not say "complete" yet: missing, or older than a file of the
    drop (left from an earlier upload into the same folder). The SIS writes it last."""
    if not marker:
        return None
    files = list(files)
    found = [f for f in files if f.rel.rpartition("/")[2] == marker]
    if not found:
        return f"waiting for its ready marker {marker}"
    mark = min(found, key=lambda f: f.rel.count("/"))
    newer = sorted(f.rel for f in files if f.mtime_ns > mark.mtime_ns)
    if newer:
        more = f" (and {len(newer) - 1} more)" if len(newer) > 1 else ""
        return f"waiting for a new ready marker: {newer[0]}{more} changed after {mark.rel}"
    return None


def content_problem(candidate: Candidate) -> str | None:
    """Checks that read the files; run only once the files have been quiet."""
    irregular = irregular_problem(candidate)
    if irregular:
        return irregular
    if candidate.kind == "zip":
        return zip_problem(candidate.path)
    if not candidate.files:
        return "an empty folder"
    if not any(f.rel.lower().endswith(".csv") for f in candidate.files):
        return "no CSV files in it"
    marker = marker_problem(candidate.files, candidate.marker)
    if marker:
        return marker
    base = candidate.path
    return manifest_problem(
        candidate.files, lambda rel: _read_regular(base / rel, MAX_MANIFEST_BYTES)
    )


def carries_manifest(candidate: Candidate) -> bool:
    """Whether the drop holds the manifest.csv the sync reads (`drop_manifest`): one of its
    files, or an entry of its ZIP."""
    if candidate.kind != "zip":
        return drop_manifest(f.rel for f in candidate.files) is not None
    try:
        with open_regular(candidate.path) as f, zipfile.ZipFile(f) as archive:
            return drop_manifest(archive.namelist()) is not None
    except Exception:  # unreadable: the sync says why
        return False


def lone_manifest(candidate: Candidate) -> bool:
    """A folder or the loose files holding a manifest.csv and no other CSV: never a drop by
    itself (it can be the manifest of a drop taken before it came)."""
    csvs = {f.rel.lower() for f in candidate.files if f.rel.lower().endswith(".csv")}
    return candidate.kind != "zip" and csvs == {MANIFEST}


def manifest_text(candidate: Candidate) -> str | None:
    """The drop's own manifest (the shallowest manifest.csv), for its export date; None if none."""
    if candidate.irregular:
        return None
    try:
        if candidate.kind == "zip":
            with open_regular(candidate.path) as f, zipfile.ZipFile(f) as archive:
                name = drop_manifest(archive.namelist())
                if name is None:
                    return None
                entry = archive.getinfo(name)
                if entry.file_size > MAX_MANIFEST_BYTES:
                    return None
                data = archive.read(entry)
        else:
            rel = drop_manifest(f.rel for f in candidate.files)
            manifest = next((f for f in candidate.files if f.rel == rel), None)
            if manifest is None:
                return None
            if manifest.size > MAX_MANIFEST_BYTES:
                return None
            data = _read_regular(candidate.path / manifest.rel, MAX_MANIFEST_BYTES)
            if len(data) > MAX_MANIFEST_BYTES:
                return None
    except Exception:  # encrypted, damaged, unsupported compression: the sync says which
        return None
    return data.decode("utf-8-sig", errors="replace")


@dataclass
class Readiness:
    candidate: Candidate
    ready: bool
    reason: str = ""  # why not ready (or a note when handed over anyway)
    wait: float | None = None  # seconds until worth looking again; None: on the next change
    in_progress: bool = False  # not ready because files are still changing (ends by itself)
    first_seen: datetime | None = None  # wall time the drop's name first appeared
    complete_at: datetime | None = None  # wall time it was first found complete
    manifest: bool = False  # it carries a manifest.csv
    without_manifest: bool = False  # ready after waiting in vain for the manifest it should have
    # seconds it may still wait for what it lacks (`waiting_left`); None once it waited the
    # give-up: what a manifest alone, after its drop was taken, waits by too
    give_up_in: float | None = None


def evaluate(
    candidate: Candidate,
    since: float,
    seen_at: float,
    now: float,
    quiet: float,
    problem: Callable[[Candidate], str | None],
    expect_manifest: bool = False,
    has_manifest: Callable[[Candidate], bool] = carries_manifest,
) -> Readiness:
    """Pure: a drop first seen exactly like this at `since`, and still so at `seen_at` (the last
    look), is complete once those two are `quiet` apart, as long as its content checks pass.
    Time passing without a look proves nothing, so `wait` says when to look again. A drop held
    from outside (its server side) is not ready whatever its local files say, and one holding
    something other than regular files is not ready until that is gone (it does not end by
    itself, so it is not in progress: newer drops do not wait for it). With `expect_manifest`
    (the drops before it had a manifest.csv), a drop without one waits for it, in progress,
    until the give-up time; a ready marker configured for it says it is complete already."""
    irregular = irregular_problem(candidate)
    if irregular:
        return Readiness(candidate, False, irregular)
    if candidate.held and candidate.arriving:
        return Readiness(candidate, False, candidate.held, None, in_progress=True)
    if seen_at - since < quiet:
        return Readiness(
            candidate,
            False,
            # a drop not looked at says so: nothing is known to be written there
            candidate.held
            if candidate.unseen and candidate.held
            else "still being written (waiting for it to stay unchanged)",
            max(since + quiet - now, 0.0),
            in_progress=True,
        )
    if candidate.held:
        return Readiness(candidate, False, candidate.held)
    issue = problem(candidate)
    if issue is None:
        if has_manifest(candidate):
            return Readiness(candidate, True, manifest=True)
        if not expect_manifest or candidate.marker:
            return Readiness(candidate, True)
        left = waiting_left(quiet, since, seen_at, now)
        if left is None:
            return Readiness(
                candidate,
                True,
                f"no {MANIFEST} came in {give_up_seconds(quiet):.0f} s, though the drops before "
                "it had one; synced without it: every file is read as bulk (whoever a file "
                "leaves out is archived), so its run waits for review if it archives anyone",
                without_manifest=True,
            )
        return Readiness(
            candidate,
            False,
            f"{MANIFEST_WAIT} (synced without it if none comes in {left:.0f} s)",
            left,
            in_progress=True,
        )
    if isinstance(issue, NeverReadable):
        return Readiness(
            candidate, True, f"{issue} (no upload can fix it: its run will fail saying so)"
        )
    if candidate.kind == "zip":
        left = waiting_left(quiet, since, seen_at, now)
        if left is None:
            return Readiness(
                candidate,
                True,
                f"{issue}; unchanged for {give_up_seconds(quiet):.0f} s, synced anyway",
            )
        return Readiness(
            candidate,
            False,
            f"{issue}; waits for it to change (synced as it is in {left:.0f} s)",
            left,
        )
    return Readiness(candidate, False, issue)


def _wall_now() -> datetime:
    return datetime.now().astimezone()


@dataclass
class _Seen:
    candidate: Candidate
    since: float
    seen_at: float
    first_seen: datetime
    problem: tuple[str | None] | None = None  # cached per signature: reading is not free
    manifest: tuple[bool] | None = None  # the same
    complete_at: datetime | None = None


@dataclass
class InboxTracker:
    """Remembers since when each drop has looked the same; both clocks are injectable (`clock`
    measures quiet periods, `wall` dates what is shown and recorded)."""

    quiet_seconds: float
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = _wall_now
    expect_manifest: set[str] = field(default_factory=set)  # sources whose drops carry one
    _seen: dict[DropKey, _Seen] = field(default_factory=dict)

    def observe(self, candidates: Iterable[Candidate]) -> None:
        now = self.clock()
        seen: dict[DropKey, _Seen] = {}
        for c in candidates:
            old = self._seen.get(c.key)
            if c.irregular and (old is None or old.candidate.irregular != c.irregular):
                LOG.warning("%s: %s", c.label, irregular_problem(c))
            if old is not None and old.candidate.files == c.files and old.candidate.path == c.path:
                old.seen_at = now
                old.candidate = c  # the same files; what the server says may have changed
                seen[c.key] = old
            else:
                first = old.first_seen if old is not None else self.wall()
                seen[c.key] = _Seen(c, now, now, first)
        self._seen = seen

    def forget(self, key: DropKey) -> None:
        self._seen.pop(key, None)

    def names(self) -> set[DropKey]:
        return set(self._seen)

    def states(self) -> list[Readiness]:
        now = self.clock()
        out = []
        for seen in self._seen.values():

            def cached(c: Candidate, s: _Seen = seen) -> str | None:
                if s.problem is None:
                    s.problem = (content_problem(c),)
                return s.problem[0]

            def has_manifest(c: Candidate, s: _Seen = seen) -> bool:
                if s.manifest is None:
                    s.manifest = (carries_manifest(c),)
                return s.manifest[0]

            state = evaluate(
                seen.candidate, seen.since, seen.seen_at, now, self.quiet_seconds, cached,
                seen.candidate.source in self.expect_manifest, has_manifest,
            )  # fmt: skip
            if state.ready and seen.complete_at is None:
                seen.complete_at = self.wall()
            elif not state.ready:
                seen.complete_at = None
            state.first_seen, state.complete_at = seen.first_seen, seen.complete_at
            state.give_up_in = waiting_left(self.quiet_seconds, seen.since, seen.seen_at, now)
            out.append(state)
        out.sort(key=lambda r: (r.candidate.newest_mtime_ns, r.candidate.name))
        return out


# -- the server's side of an SFTP drop -----------------------------------------------------------
@dataclass
class _Steady:
    sig: tuple[int | None, int | None]
    since: float
    seen_at: float


@dataclass
class SteadyFiles:
    """Since when each remote file has listed the same size and mtime, across polls.

    Why: a stalled upload keeps its size and mtime, so a listing that matches the bytes received
    proves nothing; only seeing the file unchanged at two polls `quiet_seconds` apart does. Kept
    by the daemon from poll to poll (a restart starts every file's quiet period again)."""

    quiet_seconds: float
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, _Steady] = field(default_factory=dict)

    def look(self, rel: str, size: int | None, mtime: int | None) -> float:
        """Record a listing of `rel`; seconds until it counts as settled (0.0: it does now)."""
        now = self.clock()
        old = self._seen.get(rel)
        if old is None or old.sig != (size, mtime):
            old = self._seen[rel] = _Steady((size, mtime), now, now)
        else:
            old.seen_at = now
        return max(old.since + self.quiet_seconds - old.seen_at, 0.0)

    def keep_only(self, rels: Iterable[str]) -> None:
        """Forget files no longer listed (one that comes back starts its quiet period again)."""
        keep = set(rels)
        self._seen = {rel: s for rel, s in self._seen.items() if rel in keep}


@dataclass
class RemoteView:
    """What the last poll of the SFTP server found, as the drop rules need it."""

    listing: dict[str, tuple[int | None, int | None]]  # every regular file -> (size, mtime s)
    waiting: dict[str, float] = field(default_factory=dict)  # not mirrored yet: seconds left
    failed: dict[str, str] = field(default_factory=dict)  # file or "folder/" -> why
    problem: str | None = None  # the last mirror failed as a whole: nothing is ready
    unlisted: tuple[str, ...] = ()  # "folder/"s (in `failed` too) the last mirror could not list


def keep_unlisted(view: RemoteView, before: RemoteView | None) -> RemoteView:
    """`view`, with the files under the folders it could not list (a permission changed, a
    folder renamed while the mirror walked the server) as the view `before` had them, still
    changing or not. A folder not looked at says nothing new about its drop: the drop neither
    vanishes from the server (a queued drop would be planned from its stale copy while its new
    upload is on its way) nor stops arriving."""
    if before is None or not view.unlisted:
        return view
    return RemoteView(
        {**{r: s for r, s in before.listing.items() if r.startswith(view.unlisted)},
         **view.listing},
        {**{r: s for r, s in before.waiting.items() if r.startswith(view.unlisted)},
         **view.waiting},
        view.failed, view.problem, view.unlisted,
    )  # fmt: skip


def unlisted_units(view: RemoteView) -> set[str]:
    """The server's top folders holding a folder the last mirror could not list."""
    return {folder.partition("/")[0] for folder in view.unlisted}


def remote_unit(rel: str, marker: str | None = None) -> str | None:
    """The drop a remote file belongs to: its top folder, itself for a top-level ZIP, "" for the
    loose CSVs at the top (and the top-level ready marker); None for anything else there."""
    top, sep, _ = rel.partition("/")
    if sep:
        return top
    lower = rel.lower()
    if lower.endswith(".zip"):
        return rel
    if lower.endswith(".csv") or rel == marker:
        return ""
    return None


def group_units(
    listing: dict[str, tuple[int | None, int | None]], marker: str | None = None
) -> dict[str, dict[str, tuple[int | None, int | None]]]:
    """The server's drops: unit -> its files (path relative to the mirror's top -> size, mtime)."""
    units: dict[str, dict[str, tuple[int | None, int | None]]] = {}
    for rel, sig in listing.items():
        unit = remote_unit(rel, marker)
        if unit is not None:
            units.setdefault(unit, {})[rel] = sig
    return units


def unit_files(view: RemoteView, unit: str, marker: str | None = None) -> dict[str, tuple]:
    """The remote files of one drop, by path relative to the mirror's top."""
    return group_units(view.listing, marker).get(unit, {})


def _waiting_reason(view: RemoteView, rels: list[str]) -> str:
    first = rels[0]
    size = view.listing.get(first, (None, None))[0]
    shown = first.partition("/")[2] or first
    seen = f" ({size:,} bytes)" if size is not None else ""
    more = f"; {len(rels) - 1} more file(s) too" if len(rels) > 1 else ""
    left = max(view.waiting[r] for r in rels)
    return (
        f"{shown} is still changing on the server{seen}; mirrored once it stays unchanged "
        f"(about {left:.0f} s more){more}"
    )


def mirror_candidates(
    mirror_dir: Path, view: RemoteView, units: Iterable[str], marker: str | None = None
) -> list[Candidate]:
    """The SFTP drops `units` as candidates: their mirrored files, held while the server side is
    not settled (a file still changing, a file that failed) or was not looked at (a failed
    mirror, a folder of the drop it could not list). Files gone from the server are not part of
    them, even though the mirror keeps its copy. A folder no mirror could list yet (unreadable
    since the first) is a drop with no file known, held so too: it shows as waiting, and why,
    instead of not at all."""
    found = []
    by_unit = group_units(view.listing, marker)
    for unit in units:
        rels = by_unit.get(unit, {})
        failed = sorted(
            r for r in view.failed if (remote_unit(r.rstrip("/"), marker) or r.rstrip("/")) == unit
        )
        unlisted = next((r for r in failed if r in view.unlisted), None)
        if not rels and unlisted is None:
            continue
        if unit == "":
            name, path, kind = SFTP_ROOT_DROP, mirror_dir, "root"
        elif not rels or "/" in next(iter(rels)):  # a folder never listed: no file known yet
            name, path, kind = unit, mirror_dir / unit, "folder"
        else:
            name, path, kind = unit, mirror_dir / unit, "zip"
        files, irregular = [], []
        for rel in sorted(rels):
            if rel in view.waiting:
                continue
            local = rel if kind != "folder" else rel.partition("/")[2]
            look = _look(os.fspath(path / local) if kind == "folder" else os.fspath(mirror_dir / rel),
                         local)  # fmt: skip
            if isinstance(look, FileSig):
                files.append(look)
            elif look is not None:
                irregular.append(look)
        waiting = sorted(r for r in rels if r in view.waiting)
        held, arriving = None, False
        if view.problem:
            held = f"the last mirror failed ({view.problem}); waiting for the next one"
        elif unlisted is not None:
            held = (
                f"the last mirror could not list {unlisted} ({view.failed[unlisted]}); "
                "waiting for the next one"
            )
        elif waiting:
            held, arriving = _waiting_reason(view, waiting), True
        elif failed:
            held = f"could not be mirrored: {failed[0]}: {view.failed[failed[0]]}"
        found.append(
            Candidate(name, path, kind, tuple(files), "sftp", marker if kind != "zip" else None,
                      held, arriving, tuple(irregular),
                      unseen=bool(view.problem) or unlisted is not None, unlisted=unlisted)
        )  # fmt: skip
    return found


RAW = "raw:"  # a raw hash's prefix: never equal to a content hash


def raw_hash(path: Path, rels: Iterable[str] | None = None) -> str | None:
    """A hash of the drop's bytes (a file's, or those of the regular files under a folder, or of
    `rels` in it: the inbox root's loose files), for a drop that cannot be opened as one (a
    broken ZIP): how a person's set-aside knows it again. None if it cannot be read."""
    digest = hashlib.sha256()
    try:
        if path.is_file():
            files = [(path.name, path)]
        elif rels is not None:
            files = sorted((rel, path / rel) for rel in rels)
        else:
            found = (p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
            files = sorted((p.relative_to(path).as_posix(), p) for p in found)
        for rel, file in files:
            digest.update(f"{rel if file != path else ''}\0".encode())
            with open(file, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            digest.update(b"\n")
    except OSError:
        return None
    return RAW + digest.hexdigest()


DATA = "data:"  # a hash of a drop's data files alone: never equal to a content hash


def content_hash(path: Path, scratch: Path) -> str | None:
    """The drop's content hash exactly as its run would record it; None if it cannot be opened."""
    found = _hashes(path, scratch, with_data=False)
    return found[0] if found else None


def content_hashes(path: Path, scratch: Path) -> list[str]:
    """What a drop is known by when a person sets it aside: its content hash, and that of its
    data files alone (`DATA`: the same data with a manifest come late is the same drop, as
    `_manifest_come_late` has it); none if it cannot be opened."""
    return _hashes(path, scratch, with_data=True)


def _hashes(path: Path, scratch: Path, with_data: bool) -> list[str]:
    scratch.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hash-", dir=scratch))
    try:
        drop = open_drop(path, workdir, convert=clever_csv.convert)
        try:
            found = [drop.content_hash()]
            if with_data:  # the files' own hashes are kept: no second read
                found.append(DATA + drop.content_hash(with_manifest=False))
            return found
        finally:
            drop.cleanup()
    except (DropError, OSError):
        return []  # the plan fails the same way and records why
    except Exception:  # a bug on some input: planning it records a failed run, once; raised,
        # it would stop the loop's pass over the queue on every tick
        LOG.exception("cannot hash %s; planning it says why", path.name)
        return []
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
