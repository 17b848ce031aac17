"""Deciding how a file is encoded: UTF-8, or Windows-1252 converted with a warning, never mangled."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

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
    # A UTF-8 file that ends inside a character (its last bytes begin one, and nothing follows):
    # the offset of that character. The file was cut short there; `open_utf8` reads it.
    cut_at: int | None = None

    @property
    def converted(self) -> bool:
        return self.encoding != "utf-8"

    def warning(self, file_name: str) -> str:
        """The WARNING a converted file gets, naming the place of its first byte not UTF-8."""
        return (
            f"{file_name} {self.first_bad}: {file_name} is not UTF-8 (first here); it was read "
            "as Windows-1252. Ask the SIS to export UTF-8."
        )


def _line_ends_before(path: Path, offset: int) -> int:
    """Line ends before `offset` as the careful reader counts them: LF, CR LF, and a lone CR
    (but CR CR LF, a CR LF file converted once more, ends one line). Counted in C, by chunks."""
    ends, tail, left = 0, b"", offset
    with open(path, "rb") as handle:
        while left > 0 and (chunk := handle.read(min(CHUNK, left))):
            left -= len(chunk)
            window = tail + chunk  # a CR LF or CR CR LF across chunks is counted once
            ends += chunk.count(b"\n") + chunk.count(b"\r")
            ends -= window.count(b"\r\n") - tail.count(b"\r\n")
            ends -= window.count(b"\r\r\n")
            tail = window[-2:]
    return ends


def csv_records(lines: Iterable[str], *, strict: bool = False) -> Iterator[list[str]]:
    """Records as every reader of a drop splits them (the careful reader, ingest/load.py, with
    `strict`): a quote may open a value after spaces, so the `"a", "b"` style many exports write
    reads `a` and `b`, in a header as in a row."""
    return csv.reader(lines, strict=strict, skipinitialspace=True)


class _Consumed:
    """Lines of a text file opened as Latin-1 (one character per byte), counting the bytes
    read so far: where each CSV record starts."""

    def __init__(self, handle: TextIO) -> None:
        self.handle, self.consumed = handle, 0

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            self.consumed += len(line)
            yield line


def locate(path: Path, offset: int) -> Place:
    """The line and column of the byte at `offset`, on the refusal path only.

    Records are read with the csv module, which reads quotes as the careful reader does (a
    quote opens a value only at its start; a quote inside an unquoted value is text), so a line
    end inside a quoted value does not start a record. Streamed: memory stays small."""
    column: str | None = None
    try:
        with open(path, encoding="latin-1", newline="") as handle:
            lines = _Consumed(handle)
            records = csv_records(lines)
            names = [_as_utf8(n).lstrip("\ufeff").strip() for n in next(records, [])]
            start = lines.consumed
            while start <= offset:
                if next(records, None) is None:
                    break
                if lines.consumed > offset:
                    handle.seek(start)
                    held = handle.read(offset - start)
                    position = max(
                        len(next(csv_records(io.StringIO(held, newline="")), [""])) - 1,
                        0,
                    )
                    if position < len(names) and names[position]:
                        column = names[position]
                    break
                start = lines.consumed
    except (csv.Error, OSError, ValueError):
        column = None  # a record the csv module cannot read: the line is still named
    return Place(_line_ends_before(path, offset) + 1, column)


def _as_utf8(text: str) -> str:
    """A header name read as Latin-1, as the UTF-8 it is."""
    return text.encode("latin-1").decode("utf-8", errors="replace")


def decide_encoding(path: Path) -> EncodingDecision:
    """Read the whole file once; only called when DuckDB reported invalid UTF-8.

    A file that is UTF-8 up to its last bytes, and whose last bytes begin a character that
    never ends (nothing follows them, a line end least of all), was cut inside that character:
    it is UTF-8, cut (`cut_at`). Any other byte that is not UTF-8, anywhere, is decided as
    before (Windows-1252, or refused as mixed), whatever the file's end holds."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return _fallback(path, offset + exc.start)
            offset += len(chunk)
    # Decoding chunk by chunk holds back only a character begun and not yet ended: at the
    # end of the file, the one it was cut inside.
    unended, _ = decoder.getstate()
    return EncodingDecision("utf-8", cut_at=offset - len(unended) if unended else None)


CUT_CHARACTER = "\ufffd"  # what the incomplete character of a cut file reads as (open_utf8)


def _cut_character(exc: UnicodeError) -> tuple[str, int]:
    """The decoding of a file decided cut inside its last character: that character (the only
    sequence left unended at the end of the input) reads as U+FFFD; any other byte that is not
    UTF-8 fails as with `strict`."""
    if isinstance(exc, UnicodeDecodeError) and exc.reason == "unexpected end of data":
        return CUT_CHARACTER, exc.end
    raise exc


codecs.register_error("roster-sync-cut-character", _cut_character)


def open_utf8(path: Path, *, cut_character: bool = False) -> TextIO:
    """A UTF-8 file as text for the careful reader (a byte-order mark dropped, line ends kept),
    strict; in a file cut inside its last character (`EncodingDecision.cut_at`), that
    character reads as CUT_CHARACTER: the last row holds it, and is the cut one."""
    errors = "roster-sync-cut-character" if cut_character else "strict"
    return open(path, encoding="utf-8-sig", errors=errors, newline="")


def _fallback(path: Path, bad_offset: int) -> EncodingDecision:
    """Windows-1252, unless the file also holds UTF-8 (mixed: converting would mangle those
    names) or a byte Windows-1252 does not define."""
    with open(path, "rb") as handle:
        first, offset, tail = True, 0, b""
        while chunk := handle.read(CHUNK):
            skipped = 3 if first and chunk.startswith(b"\xef\xbb\xbf") else 0
            first = False
            # a UTF-8 character cut by the chunk's start is found with the last chunk's end
            if _UTF8_MULTIBYTE.search(tail + chunk, 0 if tail else skipped):
                place, byte = locate(path, bad_offset), _byte_at(path, bad_offset)
                if _mostly_utf8(path):
                    raise EncodingRefused(
                        f"{path.name} {place}: mixes UTF-8 with another encoding "
                        f"(byte 0x{byte:02x} is not UTF-8); re-export the file as UTF-8"
                    )
                raise EncodingRefused(
                    f"{path.name} {place}: is neither UTF-8 nor Windows-1252 (byte 0x{byte:02x} "
                    "is not UTF-8; an encoding such as Shift_JIS?); re-export the file as UTF-8"
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
            tail = chunk[-3:]
    return EncodingDecision("cp1252", locate(path, bad_offset))


def _byte_at(path: Path, offset: int) -> int:
    """The byte at `offset`: a refusal names the byte by its value, as the line and column
    already say where it is (its offset in the file read as a value, "byte 56", misled)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(1)[0]


def _mostly_utf8(path: Path) -> bool:
    """Whether UTF-8 characters hold at least half the file's bytes past ASCII: a UTF-8 file
    with a name pasted from elsewhere, not a file in another multi-byte encoding (Shift_JIS)
    whose byte pairs here and there happen to read as UTF-8. Only words the refusal."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    not_utf8 = beyond_ascii = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            beyond_ascii += len(chunk) - len(chunk.translate(None, _BEYOND_ASCII))
            not_utf8 += len(_ESCAPED_BYTE.findall(decoder.decode(chunk)))
    not_utf8 += len(_ESCAPED_BYTE.findall(decoder.decode(b"", final=True)))
    return 2 * (beyond_ascii - not_utf8) >= beyond_ascii


_BEYOND_ASCII = bytes(range(0x80, 0x100))
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8 (surrogateescape)


def transcode_to_utf8(source: Path, target: Path, encoding: str) -> None:
    with (
        open(source, encoding=encoding, newline="") as reader,
        open(target, "w", encoding="utf-8", newline="") as writer,
    ):
        while chunk := reader.read(CHUNK):
            writer.write(chunk)
