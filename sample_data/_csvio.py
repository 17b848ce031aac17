"""Writing and reading the CSV files of a drop (standard `csv` module only)."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ZIP_TIME = (2026, 11, 4, 6, 0, 0)  # fixed, so the ZIP is the same on every run


@dataclass
class Table:
    header: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)

    def as_lists(self) -> list[list[str]]:
        return [[row.get(name, "") for name in self.header] for row in self.rows]


Drop = dict[str, Table]  # file name -> table


@dataclass(frozen=True)
class Style:
    """How a file is written: real exports differ in BOM, line ends and header quoting."""

    bom: bool = False
    crlf: bool = False
    quote_header: bool = False


PLAIN = Style()
WINDOWS_EXPORT = Style(bom=True, crlf=True, quote_header=True)


def lists_text(header: list[str], rows: list[list[str]], style: Style = PLAIN) -> str:
    end = "\r\n" if style.crlf else "\n"
    out = io.StringIO()
    if style.quote_header:
        out.write(",".join('"' + name.replace('"', '""') + '"' for name in header) + end)
    else:
        csv.writer(out, lineterminator=end).writerow(header)
    csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator=end).writerows(rows)
    return ("\ufeff" if style.bom else "") + out.getvalue()


def table_text(table: Table, style: Style = PLAIN) -> str:
    return lists_text(table.header, table.as_lists(), style)


def write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def write_folder(folder: Path, texts: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(texts.items()):
        write_text(folder / name, text)


def write_zip(path: Path, texts: dict[str, str]) -> None:
    """A ZIP with the files at its root, fixed timestamps and permissions: byte-identical reruns."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in sorted(texts.items()):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))


# ---------------------------------------------------------------------- reading back
@dataclass
class ReadFile:
    header: list[str]
    rows: list[list[str]]  # raw rows, possibly of the wrong length (broken drops)

    def dicts(self) -> list[dict[str, str]]:
        """Rows as dicts; rows of the wrong length are skipped (a loader would reject them)."""
        return [
            dict(zip(self.header, row, strict=True))
            for row in self.rows
            if len(row) == len(self.header)
        ]


def parse(data: bytes) -> ReadFile:
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return ReadFile(rows[0], rows[1:])


def read_drop(path: Path) -> dict[str, ReadFile]:
    """Every CSV file of a folder or a ZIP drop, by file name."""
    if path.is_dir():
        return {p.name: parse(p.read_bytes()) for p in sorted(path.glob("*.csv"))}
    with zipfile.ZipFile(path) as archive:
        return {name: parse(archive.read(name)) for name in sorted(archive.namelist())}


def manifest_of(files: dict[str, ReadFile]) -> dict[str, str]:
    manifest = files.get("manifest.csv")
    return {row[0]: row[1] for row in manifest.rows} if manifest else {}
