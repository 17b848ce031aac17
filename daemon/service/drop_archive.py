"""Where drops go: from the inbox (or the SFTP mirror) into a queue, then to a dated archive.

Why: the inbox must only hold what is still to do (so a restart never processes a drop twice),
while the district keeps the files behind each run for a while (`drop_retention_days`) to answer
"what did the SIS send that night?".
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from collections.abc import Collection
from datetime import date, datetime, timedelta
from pathlib import Path

from daemon.service.inbox import Candidate

LOG = logging.getLogger("roster_sync.archive")
DAY_FOLDER = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def safe_label(text: str) -> str:
    """A file-name-safe version of a drop name (no separators, no leading dot)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("._") or "drop"
    return cleaned[:120]


def archive_drop(path: Path, archive_root: Path, label: str, name: str, now: datetime) -> Path:
    """Move `path` to `archive_root/YYYY-MM-DD/HHMMSS-<label>-<name>`; never overwrites."""
    day = archive_root / now.strftime("%Y-%m-%d")
    day.mkdir(parents=True, exist_ok=True)
    base = f"{now:%H%M%S}-{label}-{safe_label(name)}"
    target = day / base
    n = 1
    while target.exists() or target.is_symlink():
        n += 1
        target = day / f"{base}.{n}"
    shutil.move(str(path), str(target))  # a rename on the same filesystem
    return target


def prune_archive(
    archive_root: Path, retention_days: int, today: date, open_drops: Collection[Path] = ()
) -> list[Path]:
    """Delete dated folders older than `retention_days` (by their name, not their mtime).

    A folder holding the drop of a run still open (`open_drops`) stays until that run is
    decided: reviewing, approving and replanning it read its files, and lowering the
    retention must not throw a run under review away."""
    if not archive_root.is_dir():
        return []
    oldest_kept = today - timedelta(days=retention_days)
    held = [Path(os.path.abspath(p)) for p in open_drops]
    removed = []
    for entry in sorted(archive_root.iterdir()):
        match = DAY_FOLDER.match(entry.name)
        if not match or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
        if day >= oldest_kept:
            continue
        folder = Path(os.path.abspath(entry))
        still_open = [p for p in held if p.is_relative_to(folder)]
        if still_open:
            LOG.info(
                "kept archived drops of %s past %d days: %s is the drop of a run still open",
                entry.name,
                retention_days,
                still_open[0],
            )
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
        LOG.info("pruned archived drops of %s (older than %d days)", entry.name, retention_days)
    return removed


# -- the queue: drops the daemon has committed to process ----------------------------------------
# A drop leaves the inbox for `inbox/.processing/NNNN/<name>` before it is read; whatever is there
# after a crash or a stop is resumed at the next start, and its content hash tells whether its run
# already exists. So a drop is neither lost nor planned twice. Entries are built under a hidden
# name and renamed into place, so a crash never leaves half a drop in the queue.
QUEUE_DIR = ".processing"
COPYING = ".incoming-"  # copies from the SFTP mirror: dropped after a crash (the mirror has them)
GATHERING = ".gathering-"  # the inbox root's own files: put back after a crash
_SLOT = re.compile(r"^\d{8}-\d{6}-\d{3,}$")  # when it was queued: never reused, sorts by age


def queue_dir(inbox: Path) -> Path:
    return inbox / QUEUE_DIR


def _new_slot(queue: Path, after: str | None = None) -> str:
    """A fresh slot name; unique over time, so a run's source path names one drop only. `after`:
    the slot of a queued drop this one replaces (a new upload of it); the new slot sorts right
    after it, before any slot queued later, so the drop keeps its place in the queue."""
    queue.mkdir(parents=True, exist_ok=True)
    if after is not None:
        n = 1
        while any((queue / f"{prefix}{after}{n}").exists() for prefix in ("", COPYING)):
            n += 1
        return f"{after}{n}"
    # after every slot queued already: the queue is planned in the order of its slots' names,
    # and the local wall time goes back when the clocks fall back (or are set back)
    newest = _newest_slot(queue)
    stamp = max(datetime.now().strftime("%Y%m%d-%H%M%S"), newest[:15])
    n = 1
    while f"{stamp}-{n:03d}" <= newest or any(
        (queue / f"{prefix}{stamp}-{n:03d}").exists() for prefix in ("", COPYING, GATHERING)
    ):
        n += 1
    return f"{stamp}-{n:03d}"


def _newest_slot(queue: Path) -> str:
    """The name of the newest slot in the queue (or being filled); "" if none."""
    names = (entry.name.removeprefix(COPYING).removeprefix(GATHERING) for entry in queue.iterdir())
    return max((name for name in names if _SLOT.match(name)), default="")


def queue_drop(path: Path, name: str, inbox: Path) -> Path:
    """Move a folder or ZIP from the inbox into the queue (renames: same filesystem)."""
    slot = queue_dir(inbox) / _new_slot(queue_dir(inbox))
    slot.mkdir()
    target = slot / name
    try:
        os.rename(path, target)  # a crash before this leaves an empty slot, removed at start
    except OSError:
        slot.rmdir()
        raise
    return target


def queue_loose_files(inbox: Path, rels: list[str], name: str) -> Path:
    """Gather the inbox root's loose CSVs into one queued folder, all or none."""
    number = _new_slot(queue_dir(inbox))
    staging = queue_dir(inbox) / f"{GATHERING}{number}"
    (staging / name).mkdir(parents=True)
    moved: list[str] = []
    try:
        for rel in rels:
            with contextlib.suppress(FileNotFoundError):
                os.rename(inbox / rel, staging / name / rel)
                moved.append(rel)
        os.rename(staging, queue_dir(inbox) / number)
    except OSError:
        # Put back what was gathered: the files left in the root would look like a drop of
        # their own (complete once quiet), and be planned without the ones taken away.
        for rel in moved:
            with contextlib.suppress(OSError):
                os.rename(staging / name / rel, inbox / rel)
        with contextlib.suppress(OSError):
            (staging / name).rmdir()
            staging.rmdir()
        raise
    return queue_dir(inbox) / number / name


def queued(inbox: Path) -> list[Path]:
    """Queued drops, oldest first."""
    queue = queue_dir(inbox)
    if not queue.is_dir():
        return []
    found = []
    for slot in queue.iterdir():
        if _SLOT.match(slot.name) and slot.is_dir():
            entries = list(slot.iterdir())
            if len(entries) == 1:
                found.append((slot.name, entries[0]))
    return [p for _, p in sorted(found)]


def release_slot(path: Path) -> None:
    """Remove a queue slot once its drop is archived."""
    with contextlib.suppress(OSError):
        path.parent.rmdir()


def recover_queue(inbox: Path) -> list[str]:
    """At start: drop unfinished copies, put gathered inbox files back, remove empty slots."""
    queue = queue_dir(inbox)
    notes: list[str] = []
    if not queue.is_dir():
        return notes
    for entry in sorted(queue.iterdir()):
        if entry.name.startswith(COPYING):
            shutil.rmtree(entry, ignore_errors=True)
            notes.append(f"removed the unfinished copy {entry.name}")
        elif entry.name.startswith(GATHERING):
            for folder in entry.iterdir():
                for file in folder.iterdir():
                    if not (inbox / file.name).exists():
                        os.rename(file, inbox / file.name)
                with contextlib.suppress(OSError):
                    folder.rmdir()
            with contextlib.suppress(OSError):
                entry.rmdir()
            notes.append(f"put the files of {entry.name} back into the inbox")
        elif _SLOT.match(entry.name) and entry.is_dir() and not any(entry.iterdir()):
            entry.rmdir()
    return notes


# -- SFTP mirror -> queue ------------------------------------------------------------------------
def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # the mirror replaces files by rename, so a link is a snapshot
    except OSError:
        shutil.copy2(source, target)


def queue_snapshot(candidate: Candidate, inbox: Path, name: str, after: str | None = None) -> Path:
    """Queue a mirrored drop as `name`: a snapshot (hard links) of exactly the files it was judged
    complete with, built under a hidden name and renamed into place (all or nothing). The mirror
    keeps its own copy, so the next poll compares against the server, not against the queue.
    `after`: the slot whose place it takes (`_new_slot`)."""
    number = _new_slot(queue_dir(inbox), after)
    staging = queue_dir(inbox) / f"{COPYING}{number}"
    try:
        if candidate.kind == "zip":
            _link_or_copy(candidate.path, staging / name)
        else:
            for f in candidate.files:
                _link_or_copy(candidate.path / f.rel, staging / name / f.rel)
        os.rename(staging, queue_dir(inbox) / number)
    except OSError:  # a full disk: the daemon tries again on its next pass, from the mirror
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return queue_dir(inbox) / number / name
