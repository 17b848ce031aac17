"""Control characters: what a value from a drop may not hold, and what never reaches a terminal.

One definition, used at both edges:
- ingest refuses a value holding a control character (a C0 control other than TAB, LF and CR,
  DEL, or a C1 control): an ERROR naming the character (daemon/ingest/validate.py), found cheaply
  first by the bytes pattern in the hashing pass (daemon/formats/drop.py);
- the CLI and the review UI show text through `printable`, which also covers values a database
  already holds (stored before the rule, or typed by hand): an escape sequence from a drop could
  otherwise recolour, clear or retitle an administrator's terminal, or write to its clipboard.

The patterns are written with escapes (no raw control character in the source), in a syntax
both Python's `re` and DuckDB's RE2 read alike.
"""

from __future__ import annotations

import re

# A C0 control other than TAB, LF and CR, DEL, or a C1 control (U+0080-U+009F). TAB, LF and CR
# are ordinary in text (a quoted line break in an address), so a value may hold them.
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
CONTROL_CHARACTER_PATTERN = f"[{_CONTROLS}]"
# The bidirectional embeddings, overrides and isolates: they reorder what follows them on a line.
_BIDI_CONTROLS = r"\u202a-\u202e\u2066-\u2069"


def _is_control(code: int) -> bool:
    return re.fullmatch(CONTROL_CHARACTER_PATTERN, chr(code)) is not None


# The same controls as UTF-8 bytes, derived from the pattern, to count cheaply in the hashing
# pass (daemon/formats/drop.py) whether a file holds one at all: the C0 ones and DEL are single
# bytes (counted with bytes.translate, at memchr speed), a C1 control is \xc2 then \x80-\x9f.
# A file read as Windows-1252 holds no C1 control once transcoded (bytes 0x80-0x9f are printable
# there, and the five it leaves undefined refuse the file, as does a UTF-8 sequence beside them);
# its C0 controls and DEL are the same bytes.
_ALL_BUT_SINGLE_BYTE_CONTROLS = bytes(b for b in range(256) if b >= 128 or not _is_control(b))
_C1_UTF8 = [chr(c).encode() for c in range(128, 256) if _is_control(c)]
assert {b[:1] for b in _C1_UTF8} == {b"\xc2"}
_C1_BYTES = re.compile(b"\xc2[" + b"".join(re.escape(b[1:]) for b in _C1_UTF8) + b"]")


def count_control_bytes(chunk: bytes) -> int:
    """How many control characters the UTF-8 `chunk` holds (a C1 control cut at the chunk's end
    is not counted: the caller passes its first byte on with the next chunk)."""
    return len(chunk.translate(None, _ALL_BUT_SINGLE_BYTE_CONTROLS)) + (
        len(_C1_BYTES.findall(chunk)) if b"\xc2" in chunk else 0
    )


# The names ISO 6429 gives the C0 and C1 controls.
_C0 = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM"
)
_C1 = (
    "PAD HOP BPH NBH IND NEL SSA ESA HTS HTJ VTS PLD PLU RI SS2 SS3 DCS PU1 PU2 STS CCH MW SPA EPA"
)
C0_NAMES = (*_C0.split(), "SUB", "ESC", "FS", "GS", "RS", "US")
C1_NAMES = (*_C1.split(), "SOS", "SGCI", "SCI", "CSI", "ST", "OSC", "PM", "APC")
# The name of every control, by code point (U+0000-U+009F; the printable ones have none).
CONTROL_NAMES = (*C0_NAMES, *[""] * 95, "DEL", *C1_NAMES)


def control_name(character: str) -> str:
    """'ESC, U+001B': how an issue names a control character."""
    code = ord(character)
    return f"{CONTROL_NAMES[code]}, U+{code:04X}"


# What `printable` replaces: the controls above, the bidirectional controls, and CR (a lone CR
# moves the cursor back over what was shown).
_NOT_SHOWN = re.compile(f"[{_CONTROLS}\\r{_BIDI_CONTROLS}]")
_LINE_BREAKS = re.compile(r"\r\n|[\n\r]")
REPLACEMENT = "\ufffd"


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` as it may be shown on a terminal: every control character (TAB and LF aside), DEL
    and every bidirectional override or isolate replaced by U+FFFD, visibly. CR LF reads as LF.
    `one_line` (a table cell): line breaks read as a space. Text without them is returned as is."""
    if _NOT_SHOWN.search(text) is None and not (one_line and "\n" in text):
        return text
    text = _LINE_BREAKS.sub(" ", text) if one_line else text.replace("\r\n", "\n")
    return _NOT_SHOWN.sub(REPLACEMENT, text)


_JSON_UNSAFE = re.compile(f"[{_CONTROLS}{_BIDI_CONTROLS}]")


def json_printable(text: str) -> str:
    """JSON text as it may be shown on a terminal, and still the same JSON: the characters
    `printable` replaces are written as \\u escapes. A JSON encoder escapes C0 controls in
    strings and writes TAB, LF and CR only between values, so those three are left as they are."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
