"""Reading and checking a file's header line before DuckDB reads the rest."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from daemon.formats.spec import FileSpec

MAX_HEADER_BYTES = 1 << 20


class FileRefused(Exception):
    """A file-level problem: the run fails with this message and nothing is changed."""


@dataclass
class Header:
    names: list[str]  # staging column names, in file order (canonical for known columns)
    original: list[str]
    newline: str  # "\n" or "\r\n" ("" when the file uses something else)
    has_bom: bool
    unknown: list[str] = field(default_factory=list)  # kept, with one warning per file
    metadata: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)


def read_header(path: Path, spec: FileSpec, *, encoding: str = "utf-8") -> Header:
    with open(path, "rb") as handle:
        first = handle.readline(MAX_HEADER_BYTES)
    if not first.strip():
        raise FileRefused(f"{path.name}: the file is empty; expected a header line")
    if not first.endswith(b"\n") and len(first) >= MAX_HEADER_BYTES:
        raise FileRefused(f"{path.name} line 1: the header is longer than 1 MB")
    has_bom = first.startswith(b"\xef\xbb\xbf")
    newline = "\r\n" if first.endswith(b"\r\n") else ("\n" if first.endswith(b"\n") else "")
    if not newline and b"\r" in first:
        newline = ""  # classic Mac line ends: the careful loader handles them
    try:
        text = first.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError:
        text = first.decode("cp1252", errors="replace")
    text = text.lstrip("\ufeff").rstrip("\r\n")
    if "\x00" in text:
        raise FileRefused(f"{path.name} line 1: the header contains NUL bytes; is this a CSV file?")
    try:
        original = next(csv.reader([text]))
    except csv.Error as exc:
        raise FileRefused(f"{path.name} line 1: the header could not be read ({exc})") from exc
    original = [name.strip() for name in original]
    return _map_columns(path.name, spec, original, newline, has_bom)


def _map_columns(
    file_name: str, spec: FileSpec, original: list[str], newline: str, has_bom: bool
) -> Header:
    if any(not name for name in original):
        position = next(i for i, name in enumerate(original) if not name) + 1
        raise FileRefused(f"{file_name} line 1, column {position}: a column has no name")
    seen: dict[str, int] = {}
    for position, name in enumerate(original, start=1):
        if name.lower() in seen:
            raise FileRefused(
                f"{file_name} line 1: column '{name}' appears twice "
                f"(columns {seen[name.lower()]} and {position})"
            )
        seen[name.lower()] = position
    names, unknown, metadata = [], [], []
    for name in original:
        column = spec.column(name)
        if column is not None:
            names.append(column.name)
        else:
            names.append(name)
            (metadata if name.lower().startswith("metadata.") else unknown).append(name)
    missing = [c.name for c in spec.columns if c.must_be_in_header and c.name not in names]
    if missing:
        hint = _delimiter_hint(original)
        raise FileRefused(
            f"{file_name} line 1: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}{hint}"
        )
    optional = [c.name for c in spec.columns if c.name not in names]
    return Header(names, original, newline, has_bom, unknown, metadata, optional)


def _delimiter_hint(original: list[str]) -> str:
    if len(original) == 1:
        for delimiter, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in original[0]:
                return f" (the file seems to be separated by {label}; OneRoster files use commas)"
    return ""
