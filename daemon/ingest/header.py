"""Reading and checking a file's header line before DuckDB reads the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from daemon.errors import RosterSyncError
from daemon.formats.spec import FileSpec
from daemon.ingest.broken_rows import CLEAN, OPEN, split_record

MAX_HEADER_BYTES = 1 << 20
MAX_COLUMNS = 1000  # the widest OneRoster file has 24 columns; 1,000 leaves room for extensions
# A file column is staged under its own name unless that name is one a staging table has of
# its own: DuckDB's `rowid` (a column so named hides the row number that gives each row its line
# and place) and the columns the reader and the checks add (all named with a leading "_").
RENAMED_PREFIX = "file."


class FileRefused(RosterSyncError):
    """A file-level problem: the run fails with this message and nothing is changed."""

    title = "Drop refused"


@dataclass
class Header:
    names: list[str]  # staging column names, in file order (canonical for known columns)
    original: list[str]
    newline: str  # "\n" or "\r\n" ("" when the file uses something else)
    has_bom: bool
    unknown: list[str] = field(default_factory=list)  # kept, with one warning per file
    metadata: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    # The staging name of each column of the file, in file order; None for a column that is not
    # read (no name, or a second copy of an unknown column). `names` are the ones that are read.
    positions: list[str | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # file-level notes, each naming line 1

    def __post_init__(self) -> None:
        if not self.positions:
            self.positions = list(self.names)

    @property
    def width(self) -> int:
        return len(self.positions)

    @property
    def least_width(self) -> int:
        """The values a row must have: it may leave out the unnamed columns the header ends with
        (a spreadsheet export's trailing commas on the header line only)."""
        width = len(self.original)
        while width > 1 and not self.original[width - 1]:
            width -= 1
        return width

    def reader_names(self) -> list[str]:
        """A name for every position (columns that are not read get a placeholder)."""
        taken = {n.lower() for n in self.names}
        names = []
        for position, name in enumerate(self.positions, start=1):
            if name is None:
                name = f"_unread_{position}"
                while name.lower() in taken:
                    name = "_" + name
                taken.add(name.lower())
            names.append(name)
        return names


def read_header(path: Path, spec: FileSpec, *, encoding: str = "utf-8") -> Header:
    with open(path, "rb") as handle:
        first = handle.readline(MAX_HEADER_BYTES)
        more = bool(first) and bool(handle.read(1))
    if not first.strip(b" \t\r\n\xef\xbb\xbf"):
        if more:
            raise FileRefused(
                f"{path.name} line 1: the line is blank; the header must be the first line "
                "(remove the blank line and send the file again)"
            )
        raise FileRefused(f"{path.name}: the file is empty; expected a header line")
    wide = _wide_encoding(first)
    if wide:
        raise FileRefused(
            f"{path.name} line 1, column 1: the file is {wide}; re-export it as UTF-8"
        )
    if not first.endswith(b"\n") and len(first) >= MAX_HEADER_BYTES:
        raise FileRefused(f"{path.name} line 1: the header is longer than 1 MB")
    cr = first.find(b"\r")
    if cr != -1 and first[cr + 1 : cr + 2] != b"\n":
        first = first[: cr + 1]  # classic Mac line ends: the header ends at the first CR
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
    # Split as the rows are: a quote may open after spaces and be followed by spaces (`"a", "b"`).
    original, status = split_record(text)
    if status != CLEAN:
        fault = "a quote never closed" if status == OPEN else "text after a closing quote"
        raise FileRefused(
            f"{path.name} line 1, column {len(original) + 1}: the header could not be read "
            f"({fault})"
        )
    original = [name.strip() for name in original]
    if len(original) > MAX_COLUMNS:
        raise FileRefused(
            f"{path.name} line 1: the header has {len(original):,} columns; a file may have at most "
            f"{MAX_COLUMNS:,} (is this the right file?)"
        )
    return _map_columns(path.name, spec, original, newline, has_bom)


def _wide_encoding(first: bytes) -> str | None:
    """UTF-16 or UTF-32 named by its byte-order mark, or UTF-16 without one (every other byte of
    an ASCII header is NUL): said as such rather than as a header of NUL bytes."""
    for mark, name in (
        (b"\xff\xfe\x00\x00", "UTF-32"),
        (b"\x00\x00\xfe\xff", "UTF-32"),
        (b"\xff\xfe", "UTF-16"),
        (b"\xfe\xff", "UTF-16"),
    ):
        if first.startswith(mark):
            return f"{name} (it starts with the byte-order mark {mark.hex(' ').upper()})"
    text = first.rstrip(b"\r\n")
    for zeros in (text[1::2], text[0::2]):
        if len(text) >= 4 and not zeros.strip(b"\x00"):
            return "UTF-16 without a byte-order mark (every other byte is NUL)"
    return None


def _map_columns(
    file_name: str, spec: FileSpec, original: list[str], newline: str, has_bom: bool
) -> Header:
    """Known columns must be named once; a fault in a column the product does not use is a note.

    Empty names at the end of the header (spreadsheet exports) and a second copy of an unknown
    column are not read, with a warning. An empty name between named columns is refused: it
    usually means the header and the rows disagree about where columns are."""
    warnings: list[str] = []
    named = len(original)
    while named and not original[named - 1]:
        named -= 1
    if named < len(original):
        first = named + 1
        where = f"column {first}" if first == len(original) else f"columns {first}-{len(original)}"
        warnings.append(
            f"{file_name} line 1, {where}: the header ends with {len(original) - named} "
            "column(s) without a name; their values are ignored"
        )
    if any(not name for name in original[:named]):
        position = next(i for i, name in enumerate(original) if not name) + 1
        raise FileRefused(f"{file_name} line 1, column {position}: a column has no name")
    seen: dict[str, int] = {}
    positions: list[str | None] = []
    names: list[str] = []
    unknown: list[str] = []
    metadata: list[str] = []
    for position, name in enumerate(original[:named], start=1):
        column = spec.column(name)
        if name.lower() in seen:
            if column is not None:
                raise FileRefused(
                    f"{file_name} line 1: column '{name}' appears twice "
                    f"(columns {seen[name.lower()]} and {position})"
                )
            warnings.append(
                f"{file_name} line 1, column {position}: column '{name}' appears twice (first "
                f"as column {seen[name.lower()]}); the second copy is ignored"
            )
            positions.append(None)
            continue
        seen[name.lower()] = position
        if column is not None:
            names.append(column.name)
        else:
            names.append(_staging_name(name, original))
            if names[-1] != name:
                warnings.append(
                    f"{file_name} line 1, column {position}: column '{name}' is kept as "
                    f"'{names[-1]}' (Roster Sync uses the name '{name}' itself)"
                )
            (metadata if name.lower().startswith("metadata.") else unknown).append(names[-1])
        positions.append(names[-1])
    positions += [None] * (len(original) - named)
    missing = [c.name for c in spec.columns if c.must_be_in_header and c.name not in names]
    if missing:
        hint = _delimiter_hint(original) or _other_name_hint(spec.entity, missing, unknown)
        raise FileRefused(
            f"{file_name} line 1: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}{hint}"
        )
    optional = [c.name for c in spec.columns if c.name not in names]
    return Header(
        names, original, newline, has_bom, unknown, metadata, optional, positions, warnings
    )


def _staging_name(name: str, original: list[str]) -> str:
    """The name an unknown column is staged (and kept) under: its own, unless staging uses it."""
    if name.lower() != "rowid" and not name.startswith("_"):
        return name
    taken = {n.lower() for n in original}
    staged = RENAMED_PREFIX + name
    while staged.lower() in taken:
        staged = "_" + staged
    return staged


# Names another OneRoster version or binding gives a required column (OneRoster 1.0's CSV
# files, the REST binding's field names), as public exports use them: a header with one is
# refused all the same, and the refusal says which column it stands for.
OTHER_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("users", "orgSourcedIds"): ("orgs", "orgSourcedId"),
    ("classes", "termSourcedIds"): ("termSourcedId", "terms"),
    ("classes", "courseSourcedId"): ("course",),
    ("classes", "schoolSourcedId"): ("school",),
    ("enrollments", "classSourcedId"): ("class",),
    ("enrollments", "schoolSourcedId"): ("school",),
    ("enrollments", "userSourcedId"): ("user",),
    ("demographics", "sourcedId"): ("userSourcedId",),
}


def _other_name_hint(entity: str, missing: list[str], unknown: list[str]) -> str:
    """Which of the header's unknown columns name a missing one under another version's name."""
    present = {name.lower(): name for name in unknown}
    found = [
        f"'{present[other.lower()]}' is what OneRoster 1.0 or the REST binding calls {column}"
        for column in missing
        for other in OTHER_NAMES.get((entity, column), ())
        if other.lower() in present
    ]
    if not found:
        return ""
    return f" ({'; '.join(found)}: rename the column)"


def _delimiter_hint(original: list[str]) -> str:
    if len(original) == 1:
        for delimiter, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in original[0]:
                return f" (the file seems to be separated by {label}; OneRoster files use commas)"
    return ""
