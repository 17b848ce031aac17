"""What can be read *reliably* from a row the CSV reader rejects, so the record it names is kept.

A row whose shape is broken (an unclosed or stray quote, one value too few, 5,000 values too many,
a value over the size limit) cannot be staged, yet it still names a record: planning must keep that
record as it is rather than archive it. So for every rejected row ingest keeps the values it can
place in their columns *without guessing*, and refuses the whole file when the columns that name the
record (the file's key) cannot be placed. This module decides which values those are.

"Reliable" means: whatever single fault explains the row, the column holds that value.

* A row that splits cleanly into the header's number of values (only a value is too long): every
  other value is reliable; the oversized one is not.
* A row that splits cleanly into a different number of values (a column-count error). One fault is
  assumed, at some position p, of one of these forms:
    - too few values: the values of columns p .. p+d-1 were lost (p = the end: trailing values
      missing);
    - too many values: d values were inserted before column p (p = the end: extra values after the
      last column, such as a trailing comma), or the value of column p held d unquoted commas and
      was split into d+1 values.
  Left of p every value sits in its own column; right of the fault every value sits d columns
  away. An explanation is *consistent* when each value lands in a column whose type admits it: an
  enumeration value (status, role, type, classType, ...), true/false, a date or date-time shape,
  and an identifier without a comma; free text admits anything, and an empty value fits any column.
  A column's value is reliable when every consistent explanation gives it the same value (and none
  lost it). If no explanation is consistent, nothing in the row is reliable. Because the fault may
  lie anywhere the types allow, a value is never trusted past the first position where the row could
  have gone wrong, and a value that itself contains the break (a split value, a lost one) never is.
* A row that cannot be split to its end (a quote opened but never closed, a closing quote followed
  by a stray character, a record cut at the size limit): the values that end before the fault are
  reliable, provided each fits its column's type; if one does not, the row is shifted somewhere
  before the fault and none is. The value holding the fault, and everything after it, is not.
* A line swallowed by another row's unclosed quote is read on its own, by the same rules.
* A row the file ends inside, with no line end (a file cut short: too few values, a quote still
  open, or a character begun and not ended), is not placed at all: the value at the cut is cut
  short, and types cannot tell (`enr-0` fits a sourcedId). The reader counts nothing of it
  (`load._CarefulReader._cut_short`).

Values are compared as staging stores them (trimmed of spaces, empty as NULL).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from daemon.formats.spec import FileSpec, ValueType

_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXT_TERM = re.compile(r"ext:[A-Za-z0-9.\-_]+")
_FIELD_END = re.compile(r"[,\r\n]")

FREE = "free"  # any text, commas included


@dataclass(frozen=True)
class Shape:
    """What a column (one header position) can hold, for placing the values of a broken row."""

    kind: str  # free | id | enum | bool | date | datetime
    allowed: frozenset[str] = frozenset()  # enum: lower-cased terms
    ext_terms: bool = False  # enum: `ext:` terms allowed (OneRoster 1.2)

    def fits(self, value: str) -> bool:
        value = value.strip(" ")
        if not value or self.kind == FREE:
            return True
        if self.kind == "id":
            return "," not in value
        if self.kind == "enum":
            return value.lower() in self.allowed or bool(
                self.ext_terms and _EXT_TERM.fullmatch(value)
            )
        if self.kind == "bool":
            return value.lower() in ("true", "false")
        if self.kind == "date":
            return bool(_DATE_SHAPE.fullmatch(value))
        if self.kind == "datetime":
            return bool(_DATE_SHAPE.match(value))
        return True

    @property
    def admits_comma(self) -> bool:
        return self.kind == FREE


def shapes_for(positions: list[str | None], spec: FileSpec, ext_terms: bool) -> list[Shape]:
    """One shape per header position (an unnamed or unknown column is free text)."""
    shapes = []
    for name in positions:
        column = spec.column(name) if name else None
        if column is None:
            shapes.append(Shape(FREE))
        elif column.type is ValueType.ID:
            shapes.append(Shape("id"))
        elif column.type is ValueType.ENUM and column.name != "sex":  # sex is a warning only
            shapes.append(
                Shape("enum", frozenset(v.lower() for v in column.enum), ext_terms and column.ext)
            )
        elif column.type is ValueType.BOOL:
            shapes.append(Shape("bool"))
        elif column.type is ValueType.DATE:
            shapes.append(Shape("date"))
        elif column.type is ValueType.DATETIME:
            shapes.append(Shape("datetime"))
        else:
            shapes.append(Shape(FREE))
    return shapes


def _cleaned(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip(" ")
    return value or None


_LOST = object()


def reliable_values(fields: list[str], shapes: list[Shape]) -> tuple[list[str | None], list[bool]]:
    """Values and, per column, whether the value is reliable (see the module docstring)."""
    return _place(fields, shapes)


def _place(fields: list[str], shapes: list[Shape]) -> tuple[list[str | None], list[bool]]:
    n, m = len(fields), len(shapes)
    if n == m:
        return [_cleaned(f) for f in fields], [True] * m
    values: list[str | None] = [None] * m
    known = [False] * m
    # left[p]: fields 0..p-1 fit columns 0..p-1.
    limit = min(n, m)
    left = [True] * (limit + 1)
    for i in range(limit):
        left[i + 1] = left[i] and shapes[i].fits(fields[i])
    if n < m:
        d = m - n
        # right[p]: fields p..n-1 fit columns p+d..m-1.
        right = [True] * (n + 1)
        for i in range(n - 1, -1, -1):
            right[i] = right[i + 1] and shapes[i + d].fits(fields[i])
        lost_at = [p for p in range(n + 1) if left[p] and right[p]]
        if not lost_at:
            return values, known
        for k in range(m):
            seen: set = set()
            if bisect_right(lost_at, k) < len(lost_at):  # some p > k: own position
                seen.add(_cleaned(fields[k]))
            if k - d >= 0 and bisect_right(lost_at, k - d) > 0:  # some p <= k-d: shifted
                seen.add(_cleaned(fields[k - d]))
            lo, hi = bisect_left(lost_at, max(0, k - d + 1)), bisect_right(lost_at, k)
            if hi > lo:  # some p in (k-d, k]: this column's value was lost
                seen.add(_LOST)
            if len(seen) == 1 and _LOST not in seen:
                values[k], known[k] = seen.pop(), True
        return values, known
    d = n - m
    # right[p]: fields p+d..n-1 fit columns p..m-1 (everything after the fault, shifted by d).
    right = [True] * (m + 1)
    for i in range(m - 1, -1, -1):
        right[i] = right[i + 1] and shapes[i].fits(fields[i + d])
    inserted_at = [p for p in range(m + 1) if left[p] and right[p]]
    # A split value holds commas, so only free-text columns can have been split.
    split_at = [p for p in range(m) if left[p] and right[p + 1] and shapes[p].admits_comma]
    if not inserted_at and not split_at:
        return values, known
    split_set = set(split_at)
    for k in range(m):
        own = bool(inserted_at and inserted_at[-1] > k) or bool(split_at and split_at[-1] > k)
        shifted = bool(inserted_at and inserted_at[0] <= k) or bool(split_at and split_at[0] < k)
        split_here = k in split_set
        if split_here and not own and not shifted:
            values[k], known[k] = _cleaned(",".join(fields[k : k + d + 1])), True
        elif not split_here and own != shifted:
            values[k], known[k] = _cleaned(fields[k] if own else fields[k + d]), True
        elif not split_here and own and shifted and _cleaned(fields[k]) == _cleaned(fields[k + d]):
            values[k], known[k] = _cleaned(fields[k]), True
    return values, known


def place_prefix(fields: list[str], shapes: list[Shape]) -> tuple[list[str | None], list[bool]]:
    """A row cut at a fault: the values before it are reliable if every one fits its column."""
    m = len(shapes)
    values: list[str | None] = [None] * m
    known = [False] * m
    fields = fields[:m]
    if all(shapes[i].fits(f) for i, f in enumerate(fields)):
        for i, f in enumerate(fields):
            values[i], known[i] = _cleaned(f), True
    return values, known


def split_until_fault(text: str) -> tuple[list[str], bool]:
    """Split one record's text as the readers do (see `split_record`).

    Returns the values that end before the first fault, and whether the record ended cleanly."""
    fields, status = split_record(text)
    return fields, status == CLEAN


CLEAN, OPEN, STRAY = "clean", "open", "stray"


def split_record(text: str, more: Callable[[], str | None] = lambda: None) -> tuple[list[str], str]:
    """Split one record as RFC 4180 and DuckDB's reader do; the values before any fault.

    A quote opens a value at its start, after any spaces (DuckDB skips one space; more are
    skipped too, and the fast reader leaves such a file to the careful one); inside it `""` is a
    quote; the closing quote may be followed by spaces, then a comma or the line end (or by a
    quote: DuckDB reads `"x" "y"` as `x y`, so this does too); outside quotes, CR or LF ends the
    record. While a quoted value is open at the end of the text, `more` gives the next line
    (None: there is none). The status says how the record ended: CLEAN, OPEN (a quote never
    closed) or STRAY (text after a closing quote)."""
    fields: list[str] = []
    i = 0
    while True:
        n = len(text)
        start = i
        while start < n and text[start] == " ":
            start += 1
        if start < n and text[start] == '"':
            parts, j = [], start + 1
            while True:
                q = text.find('"', j)
                if q < 0:
                    parts.append(text[j:])
                    line = more()
                    if line is None:
                        return fields, OPEN
                    text, j = line, 0
                    continue
                if text[q + 1 : q + 2] == '"':
                    parts.append(text[j : q + 1])
                    j = q + 2
                    continue
                parts.append(text[j:q])
                end = q + 1
                while end < len(text) and text[end] == " ":
                    end += 1
                if end > q + 1 and text[end : end + 1] == '"':
                    parts.append(text[q + 1 : end])  # `"x" "y"`: DuckDB reads `x y`
                    j = end + 1
                    continue
                break
            n = len(text)
            if end < n and text[end] not in ",\r\n":
                return fields, STRAY
            fields.append("".join(parts))
        else:
            match = _FIELD_END.search(text, i)
            end = match.start() if match else n
            fields.append(text[i:end])
        if end >= n or text[end] != ",":
            return fields, CLEAN
        i = end + 1
