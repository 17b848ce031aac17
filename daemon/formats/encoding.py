"""Deciding how a file is encoded: UTF-8, or Windows-1252 converted with a warning, never mangled."""

from __future__ import annotations

import codecs
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
class EncodingDecision:
    encoding: str  # "utf-8" or "cp1252"
    first_bad_line: int | None = None  # where UTF-8 decoding first failed

    @property
    def converted(self) -> bool:
        return self.encoding != "utf-8"


def decide_encoding(path: Path) -> EncodingDecision:
    """Read the whole file once; only called when DuckDB reported invalid UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset = 0
    newlines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad_line = newlines + chunk.count(b"\n", 0, exc.start) + 1
                return _fallback(path, bad_line, offset + exc.start)
            offset += len(chunk)
            newlines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _fallback(path, newlines + 1, offset)
    return EncodingDecision("utf-8")


def _fallback(path: Path, bad_line: int, bad_offset: int) -> EncodingDecision:
    with open(path, "rb") as handle:
        first = True
        while chunk := handle.read(CHUNK):
            if first and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            first = False
            if _UTF8_MULTIBYTE.search(chunk):
                raise EncodingRefused(
                    f"{path.name} line {bad_line}: mixes UTF-8 with another encoding "
                    f"(byte {bad_offset} is not UTF-8); re-export the file as UTF-8"
                )
            try:
                chunk.decode("cp1252")
            except UnicodeDecodeError as exc:
                raise EncodingRefused(
                    f"{path.name} line {bad_line}: is neither UTF-8 nor Windows-1252 "
                    f"(byte 0x{chunk[exc.start]:02x}); re-export the file as UTF-8"
                ) from exc
    return EncodingDecision("cp1252", bad_line)


def transcode_to_utf8(source: Path, target: Path, encoding: str) -> None:
    with (
        open(source, encoding=encoding, newline="") as reader,
        open(target, "w", encoding="utf-8", newline="") as writer,
    ):
        while chunk := reader.read(CHUNK):
            writer.write(chunk)
