"""Writing a pull as a drop: OneRoster CSV files, the raw pages, and a trace between them.

Layout of the folder (the run's archive folder):

    users.csv, classes.csv, ...           the drop the sync reads, as from a SIS
    manifest.csv                          every file bulk; source.systemName names the source
    pull/pages/users-00001.json.gz        each page exactly as the API sent it
    pull/trace/users.csv.gz               line,page,index: which record each CSV line came from
    pull/fetch.json                       what was fetched (pages and records per resource)

A record is written to its CSV line as soon as its page is read; nothing is kept in memory
beyond one page.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from daemon.formats.drop import (
    DERIVED_IDS_PROPERTY,
    NOT_CARRIED_PROPERTY,
    PULL_DIR,
    PULL_SUMMARY,
)
from daemon.sources.errors import SourceError

TRACE_HEADER = ["line", "page", "index"]
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

    def write(self, row: dict[str, str], page: str, index: int) -> None:
        """One row, traced at the physical line it starts on (as the sync numbers rows): a value
        with a line end, quoted, moves every later row down."""
        values = [row.get(c, "") for c in self.header]
        try:
            self.writer.writerow(values)
        except UnicodeEncodeError:  # a lone surrogate: valid JSON (\ud800), not text
            raise self._not_text(row, values) from None
        self.line += 1
        self.count += 1
        self.trace.writerow([self.line, page, index])
        self.line += sum(len(LINE_END.findall(value)) for value in values)

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

    def __post_init__(self) -> None:
        (self.folder / PULL_DIR / "pages").mkdir(parents=True, exist_ok=True)
        (self.folder / PULL_DIR / "trace").mkdir(parents=True, exist_ok=True)

    def csv(self, name: str, header: Iterable[str]) -> CsvOut:
        out = self.files.get(name)
        if out is None:
            handle = open(self.folder / name, "w", encoding="utf-8", newline="")  # noqa: SIM115
            trace = gzip.open(  # noqa: SIM115
                self.folder / PULL_DIR / "trace" / f"{name}.gz", "wt", encoding="utf-8", newline=""
            )
            out = self.files[name] = CsvOut(name, list(header), handle, trace)
        return out

    def discard(self, resource: str, *files: CsvOut | None) -> None:
        """Drop what a collection read so far gave (its CSV files, their traces, its pages): it
        moved under the pull and is read again from its start."""
        for out in files:
            if out is None:
                continue
            out.handle.close()
            out.trace_handle.close()
            del self.files[out.name]
            (self.folder / out.name).unlink()
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
        with open(self.folder / "manifest.csv", "w", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(lines)

    def summary(self, summary: dict[str, Any]) -> None:
        path = self.folder / PULL_DIR / PULL_SUMMARY  # written last: the pull is whole
        path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


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
