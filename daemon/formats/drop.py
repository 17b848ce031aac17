"""Opening a drop: a folder or a ZIP of OneRoster files, extracted safely, with its manifest read."""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from daemon.errors import RosterSyncError
from daemon.formats.controls import count_control_bytes
from daemon.formats.encoding import EncodingRefused, csv_records, decide_encoding, locate
from daemon.formats.spec import (
    IGNORED_FILES,
    LIST_SEPARATORS,
    LOAD_ORDER,
    MANIFEST_FILE,
    ONEROSTER_11,
    ONEROSTER_12,
    REQUIRED_ENTITIES,
    FormatVersion,
)

MAX_ZIP_ENTRIES = 1000
MAX_ZIP_TOTAL_BYTES = 50 * 1024**3  # 50 GB: ten times the largest district we know of
MAX_ZIP_RATIO = 1000  # CSV compresses 5-20x; 1000x is a ZIP bomb
# What a ZIP may unpack to: this share of the free space of the disk it unpacks to, so that a drop
# never fills the disk the database lives on.
MAX_ZIP_SHARE_OF_FREE_SPACE = 0.5
MODES = ("bulk", "delta", "absent")
PROPERTY_PREFIXES = ("manifest.", "oneroster.", "file.", "source.")
# The files whose sourcedIds the source made itself, not the SIS's (daemon/sync/derived_ids.py).
DERIVED_IDS_PROPERTY = "source.derivedIds"
# Columns (file.column) the source cannot fill: the directory keeps those fields as they are.
NOT_CARRIED_PROPERTY = "source.notCarried"
# The schools a school-level upload speaks for (daemon/sync/scope.py).
SCOPE_PROPERTY = "source.schools"
# A property whose name ends so dates the export (daemon/service/drop_order.py).
MANIFEST_DATE_SUFFIXES = ("date", "datetime", "timestamp")
# A manifest is a few dozen lines (its properties and files): one larger than this is not read,
# so a huge manifest.csv never goes into memory whole (the drop is refused, naming it).
MAX_MANIFEST_BYTES = 1024 * 1024


def manifest_too_large(name: str, size: int) -> str:
    """The one-line refusal of a manifest over MAX_MANIFEST_BYTES."""
    return (
        f"{name} is {size:,} bytes, over the limit of {MAX_MANIFEST_BYTES:,} bytes (1 MB) for a "
        "manifest, so it is not read; a manifest lists the drop's properties and files in a few "
        "lines: send the drop with its own manifest"
    )


# Properties that change how a drop is read (besides each synced file's mode), lower case as
# the manifest reader keeps them, and every property Roster Sync reads.
SHAPING_PROPERTIES = {
    DERIVED_IDS_PROPERTY.lower(),
    NOT_CARRIED_PROPERTY.lower(),
    SCOPE_PROPERTY.lower(),
}
READ_PROPERTIES = SHAPING_PROPERTIES | {
    "manifest.version",
    "oneroster.version",
    "source.systemname",
    "source.systemcode",
}


# An API pull's own records beside its files (daemon/sources/drop_writer.py); the summary is
# written only once the pull is complete.
PULL_DIR = "pull"
PULL_SUMMARY = "fetch.json"
# What the pull found worth a reviewer's word (pull/notes.csv): a row's (file, line, sourcedId,
# column, rule, message, severity: stored as that row's result; an ERROR keeps the record it
# names as it is) or the run's (file empty: a run note). A folder pulled before severity was
# written says WARNING only.
PULL_NOTES = "notes.csv"
PULL_NOTES_HEADER = ["file", "line", "sourcedId", "column", "rule", "message", "severity"]


class DropError(RosterSyncError):
    """A problem with the drop as a whole: the run fails and the directory is untouched."""

    title = "Drop refused"


@dataclass(frozen=True)
class Notice:
    """A WARNING about the drop itself (manifest, layout), stored as a row result of its file."""

    file_name: str
    line: int | None
    column: str | None
    rule: str
    message: str
    severity: str = "WARNING"  # ERROR for a row of a converted format (a Clever CSV row)
    sourced_id: str | None = None


# Turns a drop in another format (Clever's SFTP CSV) into a OneRoster folder below the workdir,
# with a result per row of the original files; None when the files are not that format.
Convert = Callable[[Path, Path], "tuple[Path, list[Notice]] | None"]


@dataclass
class DropFile:
    name: str  # as found in the drop
    path: Path
    entity: str | None  # None: not rostering data
    size: int
    mode: str = "bulk"
    sha256: str | None = None
    newline_count: int | None = None
    control_count: int | None = None  # control characters, NUL among them (formats/controls.py)
    ends_with_newline: bool = True


@dataclass
class Drop:
    source: str
    source_kind: str  # folder | zip | sftp
    root: Path
    files: dict[str, DropFile]  # by entity
    ignored: list[DropFile] = field(default_factory=list)
    manifest: dict[str, str] = field(default_factory=dict)
    format: FormatVersion = ONEROSTER_11
    notices: list[str] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    extracted_to: Path | None = None
    converted_from: Path | None = None  # the original files, when `root` is their translation
    # Why the drop cannot be synced for a required file it lacks: refused when it is read
    # (ingest_drop), together with every refusal of the files it has, so one re-export fixes all.
    missing: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.format.version

    @property
    def ext_terms(self) -> bool:
        """OneRoster 1.2: extensible vocabularies accept `ext:` terms."""
        return self.version == "1.2"

    def mode(self, entity: str) -> str:
        file = self.files.get(entity)
        if file is not None:
            return file.mode
        declared = self.manifest.get(f"file.{entity.lower()}")
        return declared if declared in MODES else "absent"

    def content_hash(self, with_manifest: bool = True) -> str:
        """One hash for the drop's content: the same files in a folder or a ZIP hash alike.
        Without its manifest: its data alone (a manifest come late joins the same data)."""
        digest = hashlib.sha256()
        files = self.all_files() if with_manifest else list(self.files.values())
        for file in sorted(files, key=lambda f: f.name.lower()):
            digest.update(f"{file.name.lower()}\0{file.sha256 or hash_file(file)}\n".encode())
        return digest.hexdigest()

    def all_files(self) -> list[DropFile]:
        manifest = [f for f in self.ignored if f.name.lower() == MANIFEST_FILE]
        return [*self.files.values(), *manifest]

    def ignore(self, entity: str) -> None:
        """Stop loading a file (listed, not loaded), e.g. a header-only file with nothing to sync."""
        file = self.files.pop(entity, None)
        if file is not None:
            self.ignored.append(file)

    def cleanup(self) -> None:
        if self.extracted_to is not None:
            shutil.rmtree(self.extracted_to, ignore_errors=True)


def hash_file(file: DropFile) -> str:
    """SHA-256, newline count and control character count in one pass (the loader uses the
    newlines to check line numbers; validation checks values for control characters only in a
    file that holds one)."""
    digest = hashlib.sha256()
    newlines = 0
    controls = 0
    last = b""
    with open(file.path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            # A C1 control's two bytes may lie across chunks: its first is counted with the next.
            controls += count_control_bytes(last[-1:] + chunk if last.endswith(b"\xc2") else chunk)
            last = chunk
    file.sha256 = digest.hexdigest()
    file.newline_count = newlines
    file.control_count = controls
    file.ends_with_newline = (not last) or last.endswith(b"\n")
    return file.sha256


def open_drop(
    source: str | os.PathLike[str],
    workdir: Path,
    *,
    source_kind: str | None = None,
    convert: Convert | None = None,
) -> Drop:
    """Find the drop's files. A ZIP is extracted below `workdir`, refusing anything unsafe."""
    path = Path(source)
    if not path.exists():
        raise DropError(f"{path}: no such file or folder")
    kind = drop_kind(path)
    if kind == "folder":
        root, extracted = _csv_root(path, path), None
    elif not path.is_file():
        raise DropError(f"{path.name}: not a regular file or folder; refused")
    elif kind == "zip":
        extracted = workdir / "extracted"
        _extract_zip(path, extracted)
        root = _csv_root(extracted, path)
    else:
        raise DropError(f"{path.name}: not a folder or a ZIP file")
    _refuse_unfinished_pull(root)
    try:
        converted = convert(root, workdir) if convert is not None else None
        if converted is not None:
            drop = _identify(converted[0], str(path), source_kind or kind)
            drop.warnings += converted[1]
            drop.converted_from = root
        else:
            drop = _identify(root, str(path), source_kind or kind)
        _pull_notes(drop.root, drop)
    except DropError:
        if extracted is not None:
            shutil.rmtree(extracted, ignore_errors=True)
        raise
    drop.extracted_to = extracted
    return drop


# A ZIP opens with a local file header, or an end record when empty (or a spanning marker).
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def drop_kind(path: Path) -> str:
    """What the drop at `path` is, known before it is opened (a run that fails to open it is
    labelled so): a folder, a ZIP (named .zip, or a file a ZIP's signature opens, damaged or
    not), or some other file."""
    if path.is_dir():
        return "folder"
    if path.suffix.lower() == ".zip":
        return "zip"
    if not path.is_file():  # never opened: a pipe could block
        return "file" if path.exists() else "folder"
    try:
        with open(path, "rb") as handle:
            signature = handle.read(4)
    except OSError:
        return "file"
    return "zip" if signature in _ZIP_SIGNATURES or zipfile.is_zipfile(path) else "file"


def _refuse_unfinished_pull(root: Path) -> None:
    """The folder of an API pull that stopped part way (daemon/sources writes its summary last,
    once every collection is in) holds whole files for what was fetched and nothing for the
    rest: read as a drop, it would archive every record it never received."""
    if (root / PULL_DIR).is_dir() and not (root / PULL_DIR / PULL_SUMMARY).is_file():
        raise DropError(
            f"{root.name}: this folder holds an API pull that did not finish (no "
            f"{PULL_DIR}/{PULL_SUMMARY}); a partial pull is never planned: pull the source again"
        )


def _pull_notes(root: Path, drop: Drop) -> None:
    """What an API pull said beside its files (daemon/sources/drop_writer.py): a row's note is
    that row's result (a userIds entry left out: a WARNING; a value that cannot be read: an
    ERROR, so the record is kept as it is), the others the run's notes (a next link not
    followed as sent), so a reviewer sees them where the run is reviewed, and planning the
    folder again says them again."""
    path = root / PULL_DIR / PULL_NOTES
    if not path.is_file():
        return
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            line = row.get("line") or ""
            if not row.get("file"):
                drop.notices.append(row.get("message") or "")
                continue
            drop.warnings.append(
                Notice(
                    row["file"],
                    int(line) if line.isdigit() else None,
                    row.get("column") or None,
                    row.get("rule") or "pull",
                    row.get("message") or "",
                    "ERROR" if row.get("severity") == "ERROR" else "WARNING",
                    row.get("sourcedId") or None,
                )
            )


def _extract_zip(path: Path, target: Path) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, OSError, a newer ZIP version, a name not UTF-8...
        raise DropError(
            f"{path.name}: not a readable ZIP file ({exc}); send the drop again"
        ) from exc
    with archive:
        entries = archive.infolist()
        total = check_zip_directory(path.name, entries)
        target.mkdir(parents=True, exist_ok=True)
        budget = int(shutil.disk_usage(target).free * MAX_ZIP_SHARE_OF_FREE_SPACE)
        if total > budget:
            raise DropError(
                f"{path.name}: would unpack to {_size(total)}, more than half of the "
                f"{_size(budget * 2)} free on the disk it unpacks to; free some space or send a "
                "smaller drop"
            )
        written = 0
        for entry in entries:
            if entry.is_dir():
                continue
            destination = target / Path(*PurePosixPath(entry.filename).parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            written += _copy_limited(archive, entry, destination, path.name, budget - written)


def check_zip_directory(zip_name: str, entries: list[zipfile.ZipInfo]) -> int:
    """Refuse a ZIP for what its directory alone shows (too many entries, an entry escaping its
    folder, a link, encryption, a bomb, a file twice, too large), before a byte is unpacked;
    the bytes it unpacks to when it passes. No upload can change these: the directory is the
    last thing a ZIP writer writes (the inbox reports them at once, daemon/service/inbox.py)."""
    if len(entries) > MAX_ZIP_ENTRIES:
        raise DropError(
            f"{zip_name}: holds {len(entries)} entries; a drop has at most {MAX_ZIP_ENTRIES}"
        )
    for entry in entries:
        _check_entry(zip_name, entry)
    _check_same_names(zip_name, entries)
    total = sum(e.file_size for e in entries)
    if total > MAX_ZIP_TOTAL_BYTES:
        raise DropError(
            f"{zip_name}: would unpack to {total / 1024**3:.1f} GB, more than the "
            f"{MAX_ZIP_TOTAL_BYTES // 1024**3} GB limit for a drop"
        )
    return total


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _check_same_names(zip_name: str, entries: list[zipfile.ZipInfo]) -> None:
    """Two entries that would be the same file of a drop (same name, any folder) are refused."""
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.is_dir():
            continue
        parts = PurePosixPath(entry.filename.replace("\\", "/")).parts
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue  # macOS resource forks and hidden files are never read
        name = parts[-1].lower() if parts else ""
        if not name.endswith(".csv"):
            continue
        if name in seen:
            raise DropError(
                f"{zip_name}: holds two {parts[-1]} ('{seen[name]}' and '{entry.filename}'); "
                "a drop holds each file once, so it is refused"
            )
        seen[name] = entry.filename


def _check_entry(zip_name: str, entry: zipfile.ZipInfo) -> None:
    name = entry.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise DropError(f"{zip_name}: entry '{name}' would escape the extraction folder; refused")
    if stat.S_ISLNK(entry.external_attr >> 16):
        raise DropError(f"{zip_name}: entry '{name}' is a symbolic link; refused")
    if entry.flag_bits & 0x1:
        raise DropError(f"{zip_name}: entry '{name}' is encrypted; send the drop unencrypted")
    if entry.compress_size and entry.file_size / max(entry.compress_size, 1) > MAX_ZIP_RATIO:
        raise DropError(
            f"{zip_name}: entry '{name}' claims {entry.file_size:,} bytes from {entry.compress_size:,} "
            "compressed; this looks like a ZIP bomb and is refused"
        )


def _copy_limited(
    archive: zipfile.ZipFile,
    entry: zipfile.ZipInfo,
    destination: Path,
    zip_name: str,
    budget: int,
) -> int:
    """Copy an entry, stopping if it turns out larger than its header declared or the budget."""
    written = 0
    try:
        with archive.open(entry) as source, open(destination, "wb") as out:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > entry.file_size:
                    raise DropError(
                        f"{zip_name}: entry '{entry.filename}' is larger than its header says; refused"
                    )
                if written > budget:
                    raise DropError(
                        f"{zip_name}: unpacking entry '{entry.filename}' would use more than half of "
                        "the free disk space; free some space or send a smaller drop"
                    )
                out.write(chunk)
    except DropError:
        raise
    except Exception as exc:  # zlib.error, BadZipFile, EOFError, OSError, NotImplementedError...
        reason = str(exc) or type(exc).__name__
        raise DropError(
            f"{zip_name}: entry '{entry.filename}' is damaged and cannot be unpacked ({reason}); "
            "send the drop again"
        ) from exc
    return written


# How far `_csv_root` looks for CSV files a drop holds elsewhere, to say where they are.
_LOOK_DEPTH, _LOOK_FOLDERS = 4, 1000


def _csv_root(folder: Path, source: Path) -> Path:
    """The folder holding the CSV files: the drop itself or its single sub-folder. Elsewhere
    (deeper, or in several folders) they are refused, naming where they are."""
    if any(_is_csv(p) for p in folder.iterdir()):
        return folder
    subfolders = _subfolders(folder)
    if len(subfolders) == 1 and any(_is_csv(p) for p in subfolders[0].iterdir()):
        return subfolders[0]
    found = _folders_with_csv(folder)
    if not found:
        raise DropError(f"{source.name}: holds no CSV files")
    named = [f"'{f.relative_to(folder).as_posix()}/'" for f in found]
    depth = len(found[0].relative_to(folder).parts)
    if len(found) > 1:
        shown = ", ".join(named[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        where = f"its CSV files are in {len(found)} folders ({shown})"
    elif depth > 1:
        where = f"its CSV files are in {named[0]}, {depth} folders down"
    else:
        beside = ", ".join(f"'{p.name}/'" for p in subfolders if p != found[0])
        where = f"its CSV files are in {named[0]}, beside {beside}"
    raise DropError(
        f"{source.name}: {where}; a drop's CSV files lie at its top, or all in one folder alone "
        "at its top: put them there and send the drop again"
    )


def _subfolders(folder: Path) -> list[Path]:
    """The folders a drop holds (never a link; never macOS's resource forks or a hidden one)."""
    return sorted(
        p for p in folder.iterdir() if _is_real_dir(p) and not p.name.startswith((".", "__MACOSX"))
    )


def _folders_with_csv(folder: Path) -> list[Path]:
    """The folders below `folder` that hold CSV files, looked for within bounds (a folder drop
    may be any folder), shallowest first."""
    found: list[Path] = []
    level, looked = [folder], 0
    for _ in range(_LOOK_DEPTH):
        below = []
        for parent in level:
            for child in _subfolders(parent):
                looked += 1
                if looked > _LOOK_FOLDERS:
                    return found
                if any(_is_csv(p) for p in child.iterdir()):
                    found.append(child)
                below.append(child)
        level = below
    return found


def _is_real_dir(path: Path) -> bool:
    """A folder, not a link to one (a link could lead outside the drop)."""
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _is_csv(path: Path) -> bool:
    """Named like a CSV file (links and special files included: _identify refuses them)."""
    return path.suffix.lower() == ".csv" and not path.name.startswith(".")


def _check_regular(path: Path) -> None:
    """Only regular files are read: never a link (it may lead outside the drop), never a FIFO or
    device (reading one could block forever)."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        raise DropError(
            f"{path.name}: is a symbolic link; a drop holds regular files only, so it is refused"
        )
    if not stat.S_ISREG(mode):
        raise DropError(f"{path.name}: is not a regular file (a pipe, socket or device); refused")


def _identify(root: Path, source: str, kind: str) -> Drop:
    csv_files = sorted((p for p in root.iterdir() if _is_csv(p)), key=lambda p: p.name.lower())
    by_lower: dict[str, Path] = {}
    for p in csv_files:
        _check_regular(p)
        if p.name.lower() in by_lower:
            raise DropError(
                f"{p.name} and {by_lower[p.name.lower()].name}: two files with the same name"
            )
        by_lower[p.name.lower()] = p
    present = {name[: -len(".csv")] for name in by_lower if name.endswith(".csv")}
    manifest, manifest_lines, warnings = _read_manifest(by_lower.get(MANIFEST_FILE), present)
    fmt = _detect_version(manifest, by_lower)
    drop = Drop(source=source, source_kind=kind, root=root, files={}, manifest=manifest, format=fmt)
    drop.warnings += warnings
    drop.warnings += _manifest_disagreements(manifest, manifest_lines, by_lower, fmt)
    drop.format = _not_carried(manifest, manifest_lines, fmt, drop.warnings)
    for lower, p in by_lower.items():
        spec = fmt.spec_for_file(lower)
        file = DropFile(
            name=p.name, path=p, entity=spec.entity if spec else None, size=p.stat().st_size
        )
        if spec is None:
            drop.ignored.append(file)
            if lower != MANIFEST_FILE:
                why = (
                    "not rostering data"
                    if lower in IGNORED_FILES
                    else "not a file Roster Sync knows"
                )
                drop.notices.append(f"{p.name}: {why}; ignored")
            continue
        file.mode = _declared_mode(manifest, spec.entity, p.name)
        if file.mode == "absent":
            key = next((k for k in lines_for(spec.entity, p.name) if k in manifest_lines), None)
            line = manifest_lines.get(key) if key else None
            drop.warnings.append(
                Notice(
                    "manifest.csv",
                    line,
                    None,
                    "manifest",
                    f"manifest.csv{f' line {line}' if line else ''}: says {p.name} is absent, but "
                    "the file is in the drop; its rows are ignored",
                )
            )
            drop.notices.append(
                f"{p.name}: the manifest says this file is absent; its rows are ignored"
            )
            drop.ignored.append(file)
            continue
        drop.files[spec.entity] = file
    for entity in REQUIRED_ENTITIES:
        if entity not in drop.files and _declared_mode(manifest, entity, "") != "absent":
            drop.missing.append(f"{entity}.csv is missing from the drop; it is required")
    drop.files = {e: drop.files[e] for e in LOAD_ORDER if e in drop.files}
    return drop


def listed(value: str | None) -> list[str]:
    """The names a manifest value lists (commas, semicolons or spaces), in order."""
    return [part for part in re.split(LIST_SEPARATORS, value or "") if part]


def _not_carried(
    manifest: dict[str, str], lines: dict[str, int], fmt: FormatVersion, warnings: list[Notice]
) -> FormatVersion:
    """The format with the columns `source.notCarried` names (`file.column`) marked not carried:
    each is read as a column the file lacks (daemon/formats/spec.py `Column.not_carried`). A
    column a file is not read without (its key, a required id or term, `status`) refuses the
    drop; a name that is no column of a file Roster Sync reads is a WARNING."""
    key = NOT_CARRIED_PROPERTY.lower()
    line = lines.get(key)
    where = f"manifest.csv line {line}" if line else "manifest.csv"
    columns: dict[str, set[str]] = {}
    for name in listed(manifest.get(key)):
        file_part, _, column_part = name.partition(".")
        if column_part.lower().startswith("csv."):  # users.csv.userIds
            column_part = column_part[len("csv.") :]
        entity = next((e for e in fmt.specs if e.lower() == file_part.lower()), None)
        spec = fmt.specs[entity] if entity else None
        column = spec.column(column_part) if spec else None
        if spec is None or column is None:
            warnings.append(
                Notice(
                    "manifest.csv",
                    line,
                    None,
                    "manifest",
                    f"{where}: {NOT_CARRIED_PROPERTY} names '{name}', which is no column of a "
                    f"OneRoster {fmt.version} file Roster Sync reads (file.column, such as "
                    "users.userIds); ignored",
                )
            )
            continue
        if spec.places_rows(column):
            raise DropError(
                f"{where}: {NOT_CARRIED_PROPERTY} names {spec.entity}.{column.name}, which every "
                f"row of {spec.file_name} needs (it says which record the row is, what it is or "
                "links, or whether it ends); the drop is refused, as a file without it is"
            )
        columns.setdefault(spec.entity, set()).add(column.name)
    return fmt.not_carrying(columns, where) if columns else fmt


def lines_for(entity: str, file_name: str) -> tuple[str, ...]:
    """The manifest keys that may declare a file's mode."""
    return (f"file.{entity.lower()}", f"file.{entity.lower()}.csv", f"file.{file_name.lower()}")


def _declared_mode(manifest: dict[str, str], entity: str, file_name: str) -> str:
    for key in lines_for(entity, file_name):
        if key in manifest:
            return manifest[key]
    return "bulk"


def _synced_entities() -> set[str]:
    """Lower-cased entity names of every file Roster Sync reads (either version)."""
    return {e.lower() for fmt in (ONEROSTER_11, ONEROSTER_12) for e in fmt.specs}


def _manifest_file_key(key: str) -> str | None:
    """'file.users' or 'file.users.csv' -> 'users'; None for other properties."""
    if not key.startswith("file."):
        return None
    name = key[len("file.") :]
    return name[: -len(".csv")] if name.endswith(".csv") else name


def _unknown_property(
    key: str, value: str, entity: str | None, synced: set[str], present: set[str]
) -> tuple[str, bool] | None:
    """A manifest row Roster Sync cannot read as meant: (why, whether the drop is refused).

    A misspelt property that would change how the drop is read is refused: left out, a synced
    file in the drop declared delta or absent would be read as bulk, a required file declared
    absent would be missing, and a column the source does not carry would be blanked. A near
    miss that changes nothing (a file declared bulk, as it is read anyway, or declared anything
    when it is not in the drop: a public LEPO sample says `fiel.demographics,absent` with no
    demographics.csv; the version, which the headers tell too), and a file no OneRoster version
    has, are warned about and ignored. Any other property (a vendor's own, an export date) is
    ignored. `present`: the lower-cased names, without .csv, of the drop's files."""
    files = synced | {name[: -len(".csv")] for name in IGNORED_FILES}
    if key in READ_PROPERTIES or key.endswith(MANIFEST_DATE_SUFFIXES):
        return None
    if entity is not None and entity in files:
        return None
    known = sorted({f"file.{name}" for name in files} | READ_PROPERTIES)
    guess = next(iter(difflib.get_close_matches(key, known, n=1, cutoff=0.8)), None)
    meant_file = _manifest_file_key(guess or "")
    mode = value.strip().lower()
    changes_a_file = meant_file in synced and (
        (meant_file in present and mode != "bulk")
        or (meant_file in REQUIRED_ENTITIES and mode == "absent")
    )
    if guess in SHAPING_PROPERTIES or changes_a_file:
        return (
            f"'{key}' is no property Roster Sync knows; did you mean {_as_written(guess)}? It decides how "
            "the drop is read, so the drop is not guessed at: correct the manifest",
            True,
        )
    guess = _as_written(guess)
    meant = f" (did you mean {guess}?)" if guess else ""
    if entity is not None:
        return f"'{key}' names no OneRoster file{meant}; the row is ignored", False
    if guess:
        return f"'{key}' is no property Roster Sync reads{meant}; the row is ignored", False
    return None


def _as_written(key: str | None) -> str | None:
    """A property as the spec spells it (the manifest reader keeps them in lower case)."""
    if key is None:
        return None
    spelled = {p.lower(): p for p in (DERIVED_IDS_PROPERTY, NOT_CARRIED_PROPERTY, SCOPE_PROPERTY)}
    spelled |= {"source.systemname": "source.systemName", "source.systemcode": "source.systemCode"}
    entity = _manifest_file_key(key)
    if entity is not None:
        names = {e.lower(): e for fmt in (ONEROSTER_11, ONEROSTER_12) for e in fmt.specs}
        return f"file.{names.get(entity, entity)}"
    return spelled.get(key, key)


def _read_manifest(
    path: Path | None, present: set[str]
) -> tuple[dict[str, str], dict[str, int], list[Notice]]:
    """The manifest's properties, the line of each, and warnings about rows that do not matter
    (`present`: the drop's files, lower-cased, without .csv).

    A fault in a row about a file Roster Sync reads fails the drop; a fault in a row about a file it
    does not use (scoreScales, lineItems, ...) is a warning naming the line."""
    if path is None:
        return {}, {}, []
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise DropError(manifest_too_large(path.name, size))
    warnings: list[Notice] = []
    try:
        encoding = decide_encoding(path)  # as every CSV file of a drop (ingest/load.py)
    except EncodingRefused as exc:
        raise DropError(str(exc)) from exc
    if encoding.cut_at is not None:  # what a cut manifest lost (`file.users,delta`?) is unknown
        raise DropError(
            f"{path.name} {locate(path, encoding.cut_at)}: the file ends inside a character, "
            "with no line end: it was cut short (an upload that stopped?); send the whole file "
            "again"
        )
    if encoding.converted:
        place = encoding.first_bad
        assert place is not None
        warning = encoding.warning(path.name)
        warnings.append(Notice(path.name, place.line, place.column, "encoding", warning))
    # A byte-order mark opens the text in either encoding (_fallback skips it too).
    with path.open("rb") as f:  # no more than the limit, should it have grown since
        data = f.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise DropError(manifest_too_large(path.name, len(data)))
    text = data.removeprefix(codecs.BOM_UTF8).decode(encoding.encoding)
    rows: list[list[str]] = []
    try:
        for row in csv_records(io.StringIO(text, newline="")):
            rows.append(row)
    except csv.Error as exc:
        raise DropError(f"manifest.csv line {len(rows) + 1}: could not be read ({exc})") from exc
    first = [c.strip().lower() for c in rows[0][:2]] if rows else []
    start = 2
    if first != ["propertyname", "value"]:
        if not first or not first[0].startswith(PROPERTY_PREFIXES):
            raise DropError("manifest.csv line 1: expected the header 'propertyName,value'")
        # Some exporters leave the header out; a first row that is a property is read as one.
        warnings.append(
            Notice(
                "manifest.csv",
                1,
                None,
                "manifest",
                "manifest.csv line 1: the header 'propertyName,value' is missing; the rows are "
                "read as properties",
            )
        )
        rows, start = [[], *rows], 1
    synced = _synced_entities()
    manifest: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=start):
        if not row or not any(cell.strip() for cell in row):
            continue
        while len(row) > 2 and not row[-1].strip():
            row = row[:-1]  # trailing empty cells (spreadsheet exports)
        key = row[0].strip().lower()
        entity = _manifest_file_key(key)
        unknown = _unknown_property(key, row[1] if len(row) > 1 else "", entity, synced, present)
        if unknown and unknown[1]:
            raise DropError(f"manifest.csv line {number}: {unknown[0]}")
        used = entity is None or entity in synced
        problem = None
        if len(row) != 2:
            problem = f"expected 2 columns, found {len(row)}"
        elif entity is not None and row[1].strip().lower() not in MODES:
            problem = f"'{row[0]}' is '{row[1]}'; expected bulk, delta or absent"
        if problem and used and entity is not None and not unknown:
            raise DropError(f"manifest.csv line {number}: {problem}")
        ignored = None
        if unknown:
            ignored = unknown[0]
        elif problem and used:
            ignored = f"{problem}; the row is ignored"
        elif problem:
            ignored = (
                f"{problem}; ignored, since Roster Sync does not use "
                f"{row[0].strip()[len('file.') :]}"
            )
        if ignored:
            line = f"manifest.csv line {number}: {ignored}"
            warnings.append(Notice("manifest.csv", number, None, "manifest", line))
            continue
        value = row[1].strip()
        value = value.lower() if entity is not None else value
        if (
            key in manifest
            and manifest[key] != value
            and ((used and entity is not None) or key == "oneroster.version")
        ):
            # A file read whole or as changes decides what is archived: never guess.
            raise DropError(
                f"manifest.csv lines {lines[key]} and {number}: {row[0].strip()} is given twice "
                f"('{manifest[key]}', then '{value}'); which one is meant cannot be told"
            )
        manifest[key] = value
        lines.setdefault(key, number)
    return manifest, lines, warnings


def _manifest_disagreements(
    manifest: dict[str, str], lines: dict[str, int], files: dict[str, Path], fmt: FormatVersion
) -> list[Notice]:
    """What the manifest says that the files contradict: each a warning naming the manifest line."""
    if not manifest:
        return []
    notes: list[Notice] = []

    def note(key: str | None, message: str) -> None:
        line = lines.get(key) if key else None
        where = f"manifest.csv line {line}" if line else "manifest.csv"
        notes.append(Notice("manifest.csv", line, None, "manifest", f"{where}: {message}"))

    present = {name[: -len(".csv")] for name in files if name != MANIFEST_FILE}
    declared = {}
    for key, value in manifest.items():
        entity = _manifest_file_key(key)
        if entity is not None:
            declared[entity] = (key, value)
    for entity, (key, mode) in sorted(declared.items()):
        if mode in ("bulk", "delta") and entity not in present:
            note(key, f"{key} says {mode}, but {entity}.csv is not in the drop")
    if declared:
        for entity in sorted(present):
            spec = fmt.spec_for_file(f"{entity}.csv")
            if spec is not None and entity not in declared:
                note(None, f"does not list {spec.file_name}; it is read as bulk")
    version = manifest.get("oneroster.version", "")
    users = files.get("users.csv")
    if version and users is not None:
        header = {h.strip().lower() for h in read_header_names(users)}
        looks_12 = "roles.csv" in files or bool(
            {"usermasteridentifier", "primaryorgsourcedid", "preferredgivenname"} & header
        )
        looks_11 = "roles.csv" not in files and {"role", "orgsourcedids"} <= header and not looks_12
        if version.startswith("1.1") and looks_12:
            note(
                "oneroster.version",
                f"oneroster.version is {version}, but the files look like OneRoster 1.2 "
                "(roles.csv or 1.2 columns in users.csv); they are read as the manifest says",
            )
        elif version.startswith("1.2") and looks_11:
            note(
                "oneroster.version",
                f"oneroster.version is {version}, but users.csv has a OneRoster 1.1 header "
                "(role and orgSourcedIds, no roles.csv); it is read as the manifest says",
            )
    return notes


def _detect_version(manifest: dict[str, str], files: dict[str, Path]) -> FormatVersion:
    declared = manifest.get("oneroster.version")
    if declared:
        if declared.startswith("1.2"):
            return ONEROSTER_12
        if declared.startswith(("1.1", "1.0")):
            return ONEROSTER_11
        raise DropError(
            f"manifest.csv: oneroster.version '{declared}' is not supported (1.1 or 1.2)"
        )
    if "roles.csv" in files:
        return ONEROSTER_12
    users = files.get("users.csv")
    if users is not None:
        header = read_header_names(users)
        if {"usermasteridentifier", "primaryorgsourcedid"} & {h.lower() for h in header}:
            return ONEROSTER_12
    return ONEROSTER_11


def read_header_names(path: Path) -> list[str]:
    """The header line's names (best effort; the loader reports problems precisely)."""
    with open(path, "rb") as handle:
        first = handle.readline(1 << 20)
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    try:
        return [name.strip() for name in next(csv_records([text]), [])]
    except csv.Error:
        return []
