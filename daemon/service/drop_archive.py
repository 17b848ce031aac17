"""Where drops go: from the inbox (or the SFTP mirror) into a queue, then to a dated archive.

Why: the inbox must only hold what is still to do (so a restart never processes a drop twice),
while the district keeps the files behind each run for a while (`drop_retention_days`) to answer
"what did the SIS send that night?".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from daemon.service.config import DaemonConfig
from daemon.service.inbox import FileSig, folder_files, is_ignored_name
from daemon.service.sftp import SftpError, mirror

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


def prune_archive(archive_root: Path, retention_days: int, today: date) -> list[Path]:
    """Delete dated folders older than `retention_days` (by their name, not their mtime)."""
    if not archive_root.is_dir():
        return []
    oldest_kept = today - timedelta(days=retention_days)
    removed = []
    for entry in sorted(archive_root.iterdir()):
        match = DAY_FOLDER.match(entry.name)
        if not match or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
        if day < oldest_kept:
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


def _new_slot(queue: Path) -> str:
    """A fresh slot name; unique over time, so a run's source path names one drop only."""
    queue.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    n = 1
    while any((queue / f"{prefix}{stamp}-{n:03d}").exists() for prefix in ("", COPYING, GATHERING)):
        n += 1
    return f"{stamp}-{n:03d}"


def queue_drop(path: Path, name: str, inbox: Path) -> Path:
    """Move a folder or ZIP from the inbox into the queue (renames: same filesystem)."""
    slot = queue_dir(inbox) / _new_slot(queue_dir(inbox))
    slot.mkdir()
    target = slot / name
    os.rename(path, target)  # a crash before this leaves an empty slot, removed at start
    return target


def queue_loose_files(inbox: Path, rels: list[str], name: str) -> Path:
    """Gather the inbox root's loose CSVs into one queued folder, all or none."""
    number = _new_slot(queue_dir(inbox))
    staging = queue_dir(inbox) / f"{GATHERING}{number}"
    (staging / name).mkdir(parents=True)
    for rel in rels:
        with contextlib.suppress(FileNotFoundError):
            os.rename(inbox / rel, staging / name / rel)
    os.rename(staging, queue_dir(inbox) / number)
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
SNAPSHOT_STATE = ".roster-sync-snapshots.json"


def mirror_units(mirror_dir: Path, vanished: set[str]) -> dict[str, list[FileSig]]:
    """The mirror's drops: each top folder, each top *.zip, and the loose top CSVs together.
    Files gone from the server (kept locally by the mirror) are left out."""
    units: dict[str, list[FileSig]] = {}
    if not mirror_dir.is_dir():
        return units
    loose = []
    for entry in sorted(mirror_dir.iterdir()):
        if is_ignored_name(entry.name) or entry.is_symlink():
            continue
        if entry.is_dir():
            files = [
                FileSig(f"{entry.name}/{f.rel}", f.size, f.mtime_ns)
                for f in folder_files(entry)
                if f"{entry.name}/{f.rel}" not in vanished
            ]
            if files:
                units[entry.name] = files
        elif entry.is_file() and entry.name not in vanished:
            st = entry.stat()
            sig = FileSig(entry.name, st.st_size, st.st_mtime_ns)
            if entry.name.lower().endswith(".zip"):
                units[entry.name] = [sig]
            elif entry.name.lower().endswith(".csv"):
                loose.append(sig)
    if loose:
        units[""] = loose
    return units


def _unit_digest(files: list[FileSig]) -> str:
    text = json.dumps([[f.rel, f.size, f.mtime_ns] for f in files])
    return hashlib.sha256(text.encode()).hexdigest()


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # the mirror replaces files by rename, so a link is a snapshot
    except OSError:
        shutil.copy2(source, target)


def _save_state(state_file: Path, state: dict[str, str]) -> None:
    tmp = state_file.with_name(f"{SNAPSHOT_STATE}.tmp")
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    os.replace(tmp, state_file)


def snapshot_mirror(mirror_dir: Path, inbox: Path, vanished: set[str]) -> list[Path]:
    """Queue every mirrored drop whose files changed since its last snapshot, oldest first.

    The first time (no record yet) only the newest drop is queued: a server that keeps a year
    of nightly folders must not turn into a year of runs on the day the daemon is installed."""
    state_file = mirror_dir / SNAPSHOT_STATE
    try:
        state: dict[str, str] = json.loads(state_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        state = {}
    units = mirror_units(mirror_dir, vanished)
    order = sorted(units, key=lambda u: (max(f.mtime_ns for f in units[u]), u))
    if not state and len(order) > 1:
        state = {unit: _unit_digest(units[unit]) for unit in order[:-1]}
        LOG.info(
            "first mirror: %d older drop(s) on the server recorded as seen; syncing the newest, %s",
            len(order) - 1, order[-1] or "(the folder's loose files)",
        )  # fmt: skip
        _save_state(state_file, state)
    made = []
    for unit in order:
        files, digest = units[unit], _unit_digest(units[unit])
        if state.get(unit) == digest:
            continue
        name = f"sftp-{unit}" if unit else "sftp"
        number = _new_slot(queue_dir(inbox))
        staging = queue_dir(inbox) / f"{COPYING}{number}"
        if unit.lower().endswith(".zip") and len(files) == 1 and files[0].rel == unit:
            _link_or_copy(mirror_dir / unit, staging / name)
        else:
            prefix = f"{unit}/" if unit else ""
            for f in files:
                _link_or_copy(mirror_dir / f.rel, staging / name / f.rel[len(prefix) :])
        os.rename(staging, queue_dir(inbox) / number)
        made.append(queue_dir(inbox) / number / name)
        state[unit] = digest  # saved after the rename: a crash in between re-queues a duplicate
        _save_state(state_file, state)
    return made


def mirror_to_queue(
    config: DaemonConfig,
    sleep: Callable[[float], None],
    progress: Callable[[str, int, int], None] | None = None,
) -> str:
    """Mirror the SFTP folder, then queue each drop that changed; a one-line result for status.

    Nothing is queued after a mirror that left a file behind: a drop missing one file would be
    read as the whole truth. SFTP errors are reported in the result, never raised."""
    assert config.sftp is not None
    try:
        report = mirror(config.sftp, config.mirror_dir, sleep=sleep, progress=progress)
    except SftpError as exc:
        LOG.error("SFTP mirror failed: %s", exc)
        return f"failed: {exc}"
    done = f"{len(report.downloaded)} downloaded, {len(report.unchanged)} unchanged"
    if report.failed:
        result = (
            f"{done}, {len(report.failed)} failed ({', '.join(report.failed[:3])}); "
            "nothing synced until every file is mirrored"
        )
        LOG.warning("SFTP mirror incomplete: %s", result)
        return result
    made = snapshot_mirror(config.mirror_dir, config.inbox, set(report.vanished))
    for target in made:
        LOG.info("queued mirrored drop %s", target.relative_to(config.inbox))
    return f"{done}, {len(made)} new drop(s)"
