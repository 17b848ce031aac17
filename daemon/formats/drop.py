"""Opening a drop: a folder or a ZIP of OneRoster files, extracted safely, with its manifest read."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from daemon.formats.spec import (
    IGNORED_FILES,
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
MODES = ("bulk", "delta", "absent")


class DropError(Exception):
    """A problem with the drop as a whole: the run fails and the directory is untouched."""


@dataclass
class DropFile:
    name: str  # as found in the drop
    path: Path
    entity: str | None  # None: not rostering data
    size: int
    mode: str = "bulk"
    sha256: str | None = None
    newline_count: int | None = None
    nul_count: int | None = None
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
    extracted_to: Path | None = None

    @property
    def version(self) -> str:
        return self.format.version

    def mode(self, entity: str) -> str:
        file = self.files.get(entity)
        if file is not None:
            return file.mode
        declared = self.manifest.get(f"file.{entity.lower()}")
        return declared if declared in MODES else "absent"

    def content_hash(self) -> str:
        """One hash for the drop's content: the same files in a folder or a ZIP hash alike."""
        digest = hashlib.sha256()
        for file in sorted(self.all_files(), key=lambda f: f.name.lower()):
            digest.update(f"{file.name.lower()}\0{file.sha256 or hash_file(file)}\n".encode())
        return digest.hexdigest()

    def all_files(self) -> list[DropFile]:
        manifest = [f for f in self.ignored if f.name.lower() == MANIFEST_FILE]
        return [*self.files.values(), *manifest]

    def cleanup(self) -> None:
        if self.extracted_to is not None:
            shutil.rmtree(self.extracted_to, ignore_errors=True)


def hash_file(file: DropFile) -> str:
    """SHA-256 and newline count in one pass (the loader uses the count to check line numbers)."""
    digest = hashlib.sha256()
    newlines = 0
    nuls = 0
    last = b""
    with open(file.path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            nuls += chunk.count(b"\x00")
            last = chunk
    file.sha256 = digest.hexdigest()
    file.newline_count = newlines
    file.nul_count = nuls
    file.ends_with_newline = (not last) or last.endswith(b"\n")
    return file.sha256


def open_drop(
    source: str | os.PathLike[str], workdir: Path, *, source_kind: str | None = None
) -> Drop:
    """Find the drop's files. A ZIP is extracted below `workdir`, refusing anything unsafe."""
    path = Path(source)
    if not path.exists():
        raise DropError(f"{path}: no such file or folder")
    if path.is_dir():
        root, kind, extracted = _csv_root(path, path), "folder", None
    elif zipfile.is_zipfile(path):
        extracted = workdir / "extracted"
        _extract_zip(path, extracted)
        root, kind = _csv_root(extracted, path), "zip"
    else:
        raise DropError(f"{path.name}: not a folder or a ZIP file")
    try:
        drop = _identify(root, str(path), source_kind or kind)
    except DropError:
        if extracted is not None:
            shutil.rmtree(extracted, ignore_errors=True)
        raise
    drop.extracted_to = extracted
    return drop


def _extract_zip(path: Path, target: Path) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DropError(f"{path.name}: not a readable ZIP file ({exc})") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise DropError(
                f"{path.name}: holds {len(entries)} entries; a drop has at most {MAX_ZIP_ENTRIES}"
            )
        total = sum(e.file_size for e in entries)
        if total > MAX_ZIP_TOTAL_BYTES:
            raise DropError(
                f"{path.name}: would unpack to {total / 1024**3:.1f} GB, more than the "
                f"{MAX_ZIP_TOTAL_BYTES // 1024**3} GB limit for a drop"
            )
        for entry in entries:
            _check_entry(path.name, entry)
        target.mkdir(parents=True, exist_ok=True)
        for entry in entries:
            if entry.is_dir():
                continue
            destination = target / Path(*PurePosixPath(entry.filename).parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            _copy_limited(archive, entry, destination, path.name)


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
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, destination: Path, zip_name: str
) -> None:
    """Copy an entry, stopping if it turns out larger than its header declared."""
    written = 0
    try:
        with archive.open(entry) as source, open(destination, "wb") as out:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > entry.file_size:
                    raise DropError(
                        f"{zip_name}: entry '{entry.filename}' is larger than its header says; refused"
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise DropError(f"{zip_name}: entry '{entry.filename}' could not be read ({exc})") from exc


def _csv_root(folder: Path, source: Path) -> Path:
    """The folder holding the CSV files: the drop itself or its single sub-folder."""
    if any(_is_csv(p) for p in folder.iterdir()):
        return folder
    subfolders = [
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX"))
    ]
    if len(subfolders) == 1 and any(_is_csv(p) for p in subfolders[0].iterdir()):
        return subfolders[0]
    raise DropError(f"{source.name}: holds no CSV files")


def _is_csv(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".csv" and not path.name.startswith(".")


def _identify(root: Path, source: str, kind: str) -> Drop:
    csv_files = sorted((p for p in root.iterdir() if _is_csv(p)), key=lambda p: p.name.lower())
    by_lower: dict[str, Path] = {}
    for p in csv_files:
        if p.name.lower() in by_lower:
            raise DropError(
                f"{p.name} and {by_lower[p.name.lower()].name}: two files with the same name"
            )
        by_lower[p.name.lower()] = p
    manifest = _read_manifest(by_lower.get(MANIFEST_FILE))
    fmt = _detect_version(manifest, by_lower)
    drop = Drop(source=source, source_kind=kind, root=root, files={}, manifest=manifest, format=fmt)
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
            drop.notices.append(
                f"{p.name}: the manifest says this file is absent; its rows are ignored"
            )
            drop.ignored.append(file)
            continue
        drop.files[spec.entity] = file
    for entity in REQUIRED_ENTITIES:
        if entity not in drop.files and _declared_mode(manifest, entity, "") != "absent":
            raise DropError(f"{entity}.csv is missing from the drop; it is required")
    drop.files = {e: drop.files[e] for e in LOAD_ORDER if e in drop.files}
    return drop


def _declared_mode(manifest: dict[str, str], entity: str, file_name: str) -> str:
    for key in (
        f"file.{entity.lower()}",
        f"file.{entity.lower()}.csv",
        f"file.{file_name.lower()}",
    ):
        if key in manifest:
            return manifest[key]
    return "bulk"


def _read_manifest(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DropError(f"manifest.csv: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["propertyname", "value"]:
        raise DropError("manifest.csv line 1: expected the header 'propertyName,value'")
    manifest: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise DropError(f"manifest.csv line {number}: expected 2 columns, found {len(row)}")
        key, value = row[0].strip().lower(), row[1].strip()
        if key.startswith("file."):
            value = value.lower()
            if value not in MODES:
                raise DropError(
                    f"manifest.csv line {number}: '{row[0]}' is '{row[1]}'; expected bulk, delta or absent"
                )
        manifest[key] = value
    return manifest


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
        return next(csv.reader([text]), [])
    except csv.Error:
        return []
