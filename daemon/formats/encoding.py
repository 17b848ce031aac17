"""Deciding how a file is encoded: UTF-8, or Windows-1252 converted with a warning, never mangled."""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path

from daemon.errors import RosterSyncError

CHUNK = 16 * 1024 * 1024
# A well-formed multi-byte UTF-8 sequence: its presence beside invalid bytes means mixed encodings.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


class EncodingRefused(RosterSyncError):
    """The file is neither UTF-8 nor Windows-1252; reading it would mangle names."""

    title = "Drop refused"


@dataclass(frozen=True)
class Place:
    """Where a byte of a file is, as the careful reader numbers lines and names columns."""

    line: int
    column: str | None  # the header's name of the column holding it, when the header has one

    def __str__(self) -> str:
        return f"line {self.line}" + (f", column {self.column}" if self.column else "")


@dataclass(frozen=True)
class EncodingDecision:
    encoding: str  # "utf-8" or "cp1252"
    first_bad: Place | None = None  # where UTF-8 decoding first failed

    @property
    def converted(self) -> bool:
        return self.encoding != "utf-8"


def _line_ends(data: bytes) -> int:
    """Line ends as the careful reader counts them: LF, CR LF, and a lone CR (but CR CR LF, a
    CR LF file converted once more, ends one line)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") - data.count(b"\r\r\n")


def locate(path: Path, offset: int) -> Place:
    """The line and column of the byte at `offset`. Read on the refusal path only: the prefix is
    counted in C (bytes.count), and only the record holding the byte is parsed.

    The record holding the byte starts after the last line end before it at which an even
    number of quotes lie behind (a line end inside a quoted value does not end a record)."""
    with open(path, "rb") as handle:
        prefix = handle.read(offset)
    header_end = min((i for i in (prefix.find(b"\n"), prefix.find(b"\r")) if i != -1), default=-1)
    column: str | None = None
    start = len(prefix)
    while start > 0:
        start = max(prefix.rfind(b"\n", 0, start), prefix.rfind(b"\r", 0, start))
        if start == -1 or prefix.count(b'"', 0, start) % 2 == 0:
            start += 1
            break
    if header_end != -1 and start > header_end:
        position = _unquoted_commas(prefix[start:])
        header = prefix[:header_end].decode("utf-8", errors="replace").lstrip("\ufeff")
        names = next(csv.reader([header]), [])
        if position < len(names) and names[position].strip():
            column = names[position].strip()
    return Place(_line_ends(prefix) + 1, column)


def _unquoted_commas(record: bytes) -> int:
    """How many commas outside quotes the start of a record holds: the column a byte after it is in."""
    commas = 0
    for i, piece in enumerate(record.split(b'"')):
        if i % 2 == 0:
            commas += piece.count(b",")
    return commas


def decide_encoding(path: Path) -> EncodingDecision:
    """Read the whole file once; only called when DuckDB reported invalid UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return _fallback(path, offset + exc.start)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _fallback(path, offset - 1)
    return EncodingDecision("utf-8")


def _fallback(path: Path, bad_offset: int) -> EncodingDecision:
    """Windows-1252, unless the file also holds UTF-8 (mixed: converting would mangle those
    names) or a byte Windows-1252 does not define."""
    with open(path, "rb") as handle:
        first, offset = True, 0
        while chunk := handle.read(CHUNK):
            skipped = 3 if first and chunk.startswith(b"\xef\xbb\xbf") else 0
            first = False
            if _UTF8_MULTIBYTE.search(chunk, skipped):
                raise EncodingRefused(
                    f"{path.name} {locate(path, bad_offset)}: mixes UTF-8 with another encoding "
                    f"(byte {bad_offset} is not UTF-8); re-export the file as UTF-8"
                )
            try:
                chunk[skipped:].decode("cp1252")
            except UnicodeDecodeError as exc:
                where = offset + skipped + exc.start
                raise EncodingRefused(
                    f"{path.name} {locate(path, where)}: is neither UTF-8 nor Windows-1252 "
                    f"(byte 0x{chunk[skipped + exc.start]:02x}); re-export the file as UTF-8"
                ) from exc
            offset += len(chunk)
    return EncodingDecision("cp1252", locate(path, bad_offset))


def transcode_to_utf8(source: Path, target: Path, encoding: str) -> None:
    with (
        open(source, encoding=encoding, newline="") as reader,
        open(target, "w", encoding="utf-8", newline="") as writer,
    ):
        while chunk := reader.read(CHUNK):
            writer.write(chunk)
