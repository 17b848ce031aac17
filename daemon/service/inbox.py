"""What is in the inbox, and which drops are complete enough to read.

Why so careful: a sync treats each CSV as the whole truth (whoever is missing from a bulk users.csv
is archived), so reading a file that is still being uploaded would archive real people. A drop is
complete only when every file has kept the same size and mtime for `quiet_seconds` (observed by
us, not guessed from mtimes, which copies and the SFTP mirror preserve), a ZIP also opens and
passes its CRC check, and a manifest's bulk/delta files are all there. The decisions are pure
functions of what was seen and a clock, so tests need neither sleeps nor real uploads.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from daemon.formats.drop import DropError, open_drop

ROOT_DROP = "(inbox root)"
MANIFEST = "manifest.csv"
# Names uploaders and our own mirror use while a file is still being written.
TEMP_SUFFIXES = (".partial", ".part", ".filepart", ".tmp", ".temp", "~", ".swp", ".crdownload")
# An unreadable ZIP that stays unchanged this many quiet periods (at least ZIP_GIVE_UP_MIN
# seconds) is handed to the sync anyway, so it becomes a visible failed run instead of waiting.
ZIP_GIVE_UP_FACTOR = 20
ZIP_GIVE_UP_MIN = 600.0


def is_ignored_name(name: str) -> bool:
    """Hidden files and temporary names are never part of a drop."""
    return name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES)


@dataclass(frozen=True)
class FileSig:
    rel: str  # POSIX path relative to the drop (or to the inbox for the root drop)
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Candidate:
    """One drop as seen in the inbox: a folder, a ZIP, or the loose CSVs of the inbox root."""

    name: str
    path: Path
    kind: str  # folder | zip | root
    files: tuple[FileSig, ...]

    @property
    def newest_mtime_ns(self) -> int:
        return max((f.mtime_ns for f in self.files), default=0)


def _sig(path: str, rel: str) -> FileSig | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return FileSig(rel, st.st_size, st.st_mtime_ns)


def folder_files(folder: Path) -> tuple[FileSig, ...]:
    """Every regular, non-hidden file below `folder` (symlinks are not followed)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not is_ignored_name(d))
        rel_root = Path(root).relative_to(folder).as_posix()
        for name in sorted(files):
            full = os.path.join(root, name)
            if is_ignored_name(name) or os.path.islink(full):
                continue
            sig = _sig(full, name if rel_root == "." else f"{rel_root}/{name}")
            if sig is not None:
                found.append(sig)
    return tuple(found)


def scan_inbox(inbox: Path) -> list[Candidate]:
    """The drops in the inbox right now: sub-folders, *.zip files, and loose CSVs as one drop."""
    found: list[Candidate] = []
    loose: list[FileSig] = []
    try:
        entries = sorted(os.scandir(inbox), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    for entry in entries:
        if is_ignored_name(entry.name) or entry.is_symlink():
            continue
        if entry.is_dir():
            found.append(
                Candidate(entry.name, Path(entry.path), "folder", folder_files(Path(entry.path)))
            )
        elif entry.is_file():
            sig = _sig(entry.path, entry.name)
            if sig is None:
                continue
            lower = entry.name.lower()
            if lower.endswith(".zip"):
                found.append(Candidate(entry.name, Path(entry.path), "zip", (sig,)))
            elif lower.endswith(".csv"):
                loose.append(sig)
    if loose:
        found.append(Candidate(ROOT_DROP, inbox, "root", tuple(loose)))
    return found


def zip_problem(path: Path) -> str | None:
    """Why this ZIP cannot be read yet (truncated, corrupt entry), or None when it is whole."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except Exception as exc:  # BadZipFile, EOFError, zlib.error, unsupported compression...
        return f"not a readable ZIP yet ({type(exc).__name__}: {exc})"
    return f"entry {bad} fails its CRC check" if bad else None


def expected_by_manifest(manifest_text: str) -> list[str]:
    """File names a manifest says are in the drop (`file.<x>,bulk|delta`), lower case."""
    names = []
    try:
        rows = list(csv.reader(io.StringIO(manifest_text)))
    except csv.Error:
        return []  # the sync reports a broken manifest precisely
    for row in rows[1:]:
        if len(row) < 2 or not row[0].strip().lower().startswith("file."):
            continue
        if row[1].strip().lower() in ("bulk", "delta"):
            stem = row[0].strip().lower()[len("file.") :]
            names.append(stem if stem.endswith(".csv") else f"{stem}.csv")
    return names


def manifest_problem(files: Iterable[FileSig], read: Callable[[str], bytes]) -> str | None:
    """Which files the manifest promises that are not there yet (next to the manifest)."""
    by_dir: dict[str, set[str]] = {}
    manifests = []
    for f in files:
        folder, _, name = f.rel.rpartition("/")
        by_dir.setdefault(folder, set()).add(name.lower())
        if name.lower() == MANIFEST:
            manifests.append(f.rel)
    if not manifests:
        return None
    rel = min(manifests, key=lambda r: r.count("/"))  # the drop's own manifest, not a nested one
    try:
        text = read(rel).decode("utf-8-sig", errors="replace")
    except OSError as exc:
        return f"cannot read {rel} ({exc.strerror})"
    present = by_dir.get(rel.rpartition("/")[0], set())
    missing = [n for n in expected_by_manifest(text) if n not in present]
    if missing:
        return f"waiting for {', '.join(missing)} (listed in {MANIFEST})"
    return None


def content_problem(candidate: Candidate) -> str | None:
    """Checks that read the files; run only once the files have been quiet."""
    if candidate.kind == "zip":
        return zip_problem(candidate.path)
    if not candidate.files:
        return "an empty folder"
    if not any(f.rel.lower().endswith(".csv") for f in candidate.files):
        return "no CSV files in it"
    base = candidate.path
    return manifest_problem(candidate.files, lambda rel: (base / rel).read_bytes())


@dataclass
class Readiness:
    candidate: Candidate
    ready: bool
    reason: str = ""  # why not ready (or a note when handed over anyway)
    wait: float | None = None  # seconds until worth looking again; None: on the next change


def evaluate(
    candidate: Candidate,
    since: float,
    seen_at: float,
    now: float,
    quiet: float,
    problem: Callable[[Candidate], str | None],
) -> Readiness:
    """Pure: a drop first seen exactly like this at `since`, and still so at `seen_at` (the last
    look), is complete once those two are `quiet` apart, as long as its content checks pass.
    Time passing without a look proves nothing, so `wait` says when to look again."""
    if seen_at - since < quiet:
        return Readiness(
            candidate,
            False,
            "still being written (waiting for it to stay unchanged)",
            max(since + quiet - now, 0.0),
        )
    issue = problem(candidate)
    if issue is None:
        return Readiness(candidate, True)
    if candidate.kind == "zip":
        give_up = max(ZIP_GIVE_UP_FACTOR * quiet, ZIP_GIVE_UP_MIN)
        if seen_at - since >= give_up:
            return Readiness(
                candidate, True, f"{issue}; unchanged for {give_up:.0f} s, synced anyway"
            )
        return Readiness(candidate, False, issue, max(since + give_up - now, 0.0))
    return Readiness(candidate, False, issue)


@dataclass
class _Seen:
    candidate: Candidate
    since: float
    seen_at: float
    problem: tuple[str | None] | None = None  # cached per signature: reading is not free


@dataclass
class InboxTracker:
    """Remembers since when each drop has looked the same; the clock is injectable."""

    quiet_seconds: float
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, _Seen] = field(default_factory=dict)

    def observe(self, candidates: Iterable[Candidate]) -> None:
        now = self.clock()
        seen: dict[str, _Seen] = {}
        for c in candidates:
            old = self._seen.get(c.name)
            if old is not None and old.candidate.files == c.files and old.candidate.path == c.path:
                old.seen_at = now
                seen[c.name] = old
            else:
                seen[c.name] = _Seen(c, now, now)
        self._seen = seen

    def forget(self, name: str) -> None:
        self._seen.pop(name, None)

    def names(self) -> set[str]:
        return set(self._seen)

    def states(self) -> list[Readiness]:
        now = self.clock()
        out = []
        for seen in self._seen.values():

            def cached(c: Candidate, s: _Seen = seen) -> str | None:
                if s.problem is None:
                    s.problem = (content_problem(c),)
                return s.problem[0]

            out.append(
                evaluate(seen.candidate, seen.since, seen.seen_at, now, self.quiet_seconds, cached)
            )
        out.sort(key=lambda r: (r.candidate.newest_mtime_ns, r.candidate.name))
        return out


def content_hash(path: Path, scratch: Path) -> str | None:
    """The drop's content hash exactly as its run would record it; None if it cannot be opened."""
    scratch.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hash-", dir=scratch))
    try:
        drop = open_drop(path, workdir)
        try:
            return drop.content_hash()
        finally:
            drop.cleanup()
    except (DropError, OSError):
        return None  # the plan fails the same way and records why
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
