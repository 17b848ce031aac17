"""Writing a pull as a drop: OneRoster CSV files, the raw pages, and a trace between them.

Layout of the folder (the run's archive folder):

    users.csv, classes.csv, ...           the drop the sync reads, as from a SIS
    manifest.csv                          every file bulk; source.systemName names the source
    pull/pages/users-00001.json.gz        each page exactly as the API sent it
    pull/trace/users.csv.gz               line,page,index: which record each CSV line came from
    pull/fetch.json                       what was fetched (pages and records per resource)
    pull/notes.csv                        what the pull says to the run's reviewer: a row's
                                          result (a userIds entry left out, a value that
                                          cannot be read) or a run note

A record is written to its CSV line as soon as its page is read; nothing is kept in memory
beyond one page.

Until the pull is whole, each file is written as NAME.part (users.csv.part, manifest.csv.part):
no reader takes it for a drop file. `publish` names them as the drop's files once every
collection is in, and `summary` writes pull/fetch.json last, so a folder holds a drop only when it
holds the whole pull. A pull that fails leaves its .part files (what it read before it stopped,
for a person to look at) and pull/failed.txt saying why: copied anywhere, that folder is no
drop, since a partial drop would archive every record it never received.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from daemon.formats.drop import (
    DERIVED_IDS_PROPERTY,
    NOT_CARRIED_PROPERTY,
    PULL_DIR,
    PULL_NOTES,
    PULL_NOTES_HEADER,
    PULL_SUMMARY,
)
from daemon.sources.errors import SourceError, redact

TRACE_HEADER = ["line", "page", "index"]
PART = ".part"  # a file of a pull not yet whole
FAILED_NOTE = "failed.txt"  # in pull/: why the pull stopped
_SURROGATE = re.compile("[\ud800-\udfff]")
# A line end as the sync counts physical lines (daemon/ingest/load.py, _Lines): LF, CR LF, or a
# lone CR, except one right before a CR LF (a CR LF file converted once more ends lines CR CR LF).
LINE_END = re.compile(r"\r\n|\n|\r(?!\r\n)")


@dataclass
class CsvOut:
    """One CSV file being written, with the trace of its lines."""

    name: str
    header: list[str]
    handle: TextIO
    trace_handle: TextIO
    writer: Any = None
    trace: Any = None
    line: int = 1  # the physical line the last row ends on (1: the header)
    count: int = 0

    def __post_init__(self) -> None:
        self.writer = csv.writer(self.handle, lineterminator="\n")
        self.writer.writerow(self.header)
        self.trace = csv.writer(self.trace_handle, lineterminator="\n")
        self.trace.writerow(TRACE_HEADER)

    def write(self, row: dict[str, str], page: str, index: int) -> int:
        """One row, traced at the physical line it starts on (as the sync numbers rows): a value
        with a line end, quoted, moves every later row down. Returns that line."""
        values = [row.get(c, "") for c in self.header]
        try:
            self.writer.writerow(values)
        except UnicodeEncodeError:  # a lone surrogate: valid JSON (\ud800), not text
            raise self._not_text(row, values) from None
        self.line += 1
        self.count += 1
        self.trace.writerow([self.line, page, index])
        line = self.line
        self.line += sum(len(LINE_END.findall(value)) for value in values)
        return line

    def _not_text(self, row: dict[str, str], values: list[str]) -> SourceError:
        column, value = next(
            (c, v) for c, v in zip(self.header, values, strict=True) if _SURROGATE.search(v)
        )
        found = _SURROGATE.search(value)
        assert found is not None
        return SourceError(
            f"{self.name}: {row.get('sourcedId') or '(no sourcedId)'}: {column} holds "
            f"U+{ord(found.group()):04X}, half of a UTF-16 pair, which is not text; the pull is "
            "refused rather than write it, so nothing was planned"
        )

    @property
    def rows(self) -> int:
        return self.count


@dataclass
class DropWriter:
    folder: Path
    files: dict[str, CsvOut] = field(default_factory=dict)
    staged: dict[str, None] = field(default_factory=dict)  # names written as NAME.part, in order
    notes: list[list[str]] = field(default_factory=list)  # pull/notes.csv's rows (PULL_NOTES)

    def __post_init__(self) -> None:
        (self.folder / PULL_DIR / "pages").mkdir(parents=True, exist_ok=True)
        (self.folder / PULL_DIR / "trace").mkdir(parents=True, exist_ok=True)

    def csv(self, name: str, header: Iterable[str]) -> CsvOut:
        out = self.files.get(name)
        if out is None:
            handle = open(self._part(name), "w", encoding="utf-8", newline="")  # noqa: SIM115
            trace = gzip.open(  # noqa: SIM115
                self.folder / PULL_DIR / "trace" / f"{name}.gz", "wt", encoding="utf-8", newline=""
            )
            out = self.files[name] = CsvOut(name, list(header), handle, trace)
        return out

    def row_note(
        self, out: CsvOut, line: int, sourced_id: str, column: str, rule: str, message: str,
        severity: str = "WARNING",
    ) -> None:  # fmt: skip
        """A result of the row at `line` of `out` (message without its place: it is added); an
        ERROR keeps the record the row names as the directory has it."""
        said = redact(f"{out.name} line {line}: {message}")  # as every message of a pull
        self.notes.append([out.name, str(line), sourced_id, column, rule, said, severity])

    def run_note(self, message: str) -> None:
        """A note of the run planned from this pull (said where the run is reviewed)."""
        self.notes.append(["", "", "", "", "", redact(message), ""])

    def discard(self, resource: str, *files: CsvOut | None) -> None:
        """Drop what a collection read so far gave (its CSV files, their traces, its pages, its
        rows' notes): it moved under the pull and is read again from its start."""
        names = {out.name for out in files if out is not None}
        self.notes = [note for note in self.notes if note[0] not in names]
        for out in files:
            if out is None:
                continue
            out.handle.close()
            out.trace_handle.close()
            del self.files[out.name]
            self.staged.pop(out.name, None)
            self._part(out.name).unlink()
            (self.folder / PULL_DIR / "trace" / f"{out.name}.gz").unlink()
        for page in (self.folder / PULL_DIR / "pages").glob(f"{resource}-*.json.gz"):
            page.unlink()

    def page(self, resource: str, number: int, body: bytes) -> str:
        """Keep a page as sent (compressed); returns its name for the trace."""
        name = f"{resource}-{number:05d}.json.gz"
        with gzip.open(self.folder / PULL_DIR / "pages" / name, "wb", compresslevel=5) as out:
            out.write(body)
        return name

    def close(self) -> None:
        for out in self.files.values():
            out.handle.close()
            out.trace_handle.close()

    def _part(self, name: str) -> Path:
        """Where the drop file `name` is written until the pull is whole."""
        self.staged[name] = None
        return self.folder / f"{name}{PART}"

    def add(self, name: str, source: Path) -> None:
        """A file of the drop copied from elsewhere (guardians.csv beside an API source)."""
        shutil.copyfile(source, self._part(name))

    def publish(self) -> None:
        """Every file written is whole: each takes its drop name (the CSV files, the manifest
        last of them). The pull's notes are written first (before any file is named so)."""
        self.close()
        if self.notes:
            with open(
                self.folder / PULL_DIR / PULL_NOTES, "w", encoding="utf-8", newline=""
            ) as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(PULL_NOTES_HEADER)
                writer.writerows(self.notes)
        names = sorted(self.staged, key=lambda name: name == "manifest.csv")
        for name in names:
            os.replace(self.folder / f"{name}{PART}", self.folder / name)
        self.staged.clear()

    def failed(self, reason: str) -> None:
        """The pull stopped part way: its .part files stay (what was read until then), never a
        drop, and pull/failed.txt says why."""
        self.close()
        note = self.folder / PULL_DIR / FAILED_NOTE
        note.write_text(
            f"This pull failed: {reason}\nIts *.part files hold what was read before it stopped; "
            "they are not a drop and no run reads them. Pull the source again.\n",
            encoding="utf-8",
        )

    def manifest(
        self,
        version: str,
        system: str,
        absent: Iterable[str] = (),
        also: Iterable[str] = (),
        derived: Iterable[str] = (),
        not_carried: Iterable[str] = (),
    ) -> None:
        """Every file bulk (a pull is the whole district), `also` the files added beside it,
        `derived` the files whose ids the source made itself, `not_carried` the columns
        (file.column) it cannot fill (sync/derived_ids.py)."""
        lines = [
            ["propertyName", "value"],
            ["manifest.version", "1.0"],
            ["oneroster.version", version],
            *(
                [f"file.{name.removesuffix('.csv')}", "bulk"]
                for name in sorted([*self.files, *also], key=str.lower)
            ),
            *([f"file.{entity}", "absent"] for entity in absent),
            ["source.systemName", system],
            *([[DERIVED_IDS_PROPERTY, ",".join(derived)]] if derived else []),
            *([[NOT_CARRIED_PROPERTY, ",".join(not_carried)]] if not_carried else []),
        ]
        with open(self._part("manifest.csv"), "w", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(lines)

    def summary(self, summary: dict[str, Any]) -> None:
        """pull/fetch.json, written last (after `publish`): the pull is whole. Written under
        another name and renamed, so a crash never leaves half of it (which would read as whole)."""
        path = self.folder / PULL_DIR / PULL_SUMMARY
        temporary = path.with_name(f"{PULL_SUMMARY}{PART}")
        temporary.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(temporary, path)


def trace_record(folder: Path, file_name: str, line: int) -> dict[str, Any]:
    """The record behind a CSV line of a pulled drop: its page, position and JSON as sent."""
    trace = folder / PULL_DIR / "trace" / f"{file_name}.gz"
    if not trace.is_file():
        raise FileNotFoundError(f"{folder} has no trace of {file_name}; was it pulled from an API?")
    with gzip.open(trace, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if int(row["line"]) == line:
                page, index = row["page"], int(row["index"])
                break
        else:
            raise LookupError(f"{file_name} has no line {line}")
    with gzip.open(folder / PULL_DIR / "pages" / page, "rb") as handle:
        body = json.loads(handle.read())
    if isinstance(body.get("data"), list):  # Clever: {"data": [{"data": {...}}, ...]}
        records = body["data"]
    else:  # OneRoster: {"users": [...]}
        records = next(v for v in body.values() if isinstance(v, list))
    return {"page": page, "index": index, "record": records[index]}
