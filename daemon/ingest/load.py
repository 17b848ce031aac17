"""Reading one CSV file into a staging table, with the line number of every row.

The fast path is DuckDB's CSV reader with a fixed dialect, everything as text, in strict mode and
without a rejects table: it either reads every record as exactly one line, or stops at the first
irregularity. (DuckDB's `store_rejects` is super-linear on rows with many extra values: one row
with 200,000 of them took minutes, so it is not used.) Any irregular file (a rejected row, a blank
line, a quoted line break, an encoding problem) is re-read by the careful path, record by record with
Python's csv module, which is linear in the file and gives every record its exact line.

Rows the reader rejects never reach staging. Each gets an ERROR row issue *and* a row in the file's
rejected table, `temp_table(run_id, f"{entity}__rejected")`, so planning knows which record it named
and keeps that record as it is. The table exists for every staged file (empty when nothing was
rejected) and has `_line BIGINT`, `_rid` (NULL: a rejected row has no place in staging) and every
column of the staging view, as text cleaned like staging
(`rs_clean`: trimmed of spaces, empty as NULL): the values that could be read reliably (see
`broken_rows`), NULL for the rest. When a rejected row's key (`FileSpec.record_columns`) cannot be
read reliably, the record it named cannot be kept by name: `StagedFile.untold` says so, and the
file then speaks only for the rows it has (read as changes for the night, so nothing is archived
for being absent from it) rather than the whole night being refused. A file cut inside its last
row (the row short, a quote open or a character cut, and no line end after it) is such a file:
nothing of that row counts, whatever the columns' types (`_CarefulReader._cut_short`).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb

from daemon.db import Database, sql_ident, sql_literal, temp_table
from daemon.formats.drop import DropFile, hash_file
from daemon.formats.encoding import (
    EncodingRefused,
    csv_records,
    decide_encoding,
    open_utf8,
    transcode_to_utf8,
)
from daemon.formats.spec import FileSpec
from daemon.ingest.broken_rows import (
    CLEAN,
    OPEN,
    Shape,
    place_prefix,
    reliable_values,
    shapes_for,
    split_record,
    split_until_fault,
)
from daemon.ingest.header import FileRefused, Header, read_header
from daemon.ingest.issues import ERROR, WARNING, Issue

MAX_FIELD_BYTES = 1 << 20  # one value
MAX_RECORD_CHARS = 16 << 20  # one record, quoted line breaks included
FAST_MAX_LINE_BYTES = 4 << 20  # longer lines go to the careful path
csv.field_size_limit(MAX_RECORD_CHARS)


@dataclass
class StagedFile:
    entity: str
    file_name: str
    table: str  # qualified staging table name
    header: Header
    rows: int  # rows that were read into the table
    encoding: str = "utf-8"
    careful_path: bool = False
    issues: list[Issue] = field(default_factory=list)  # reader-level issues
    rejected: int = 0  # rows in the rejected table
    line_expr: str = "_line"  # each row's line, over the table behind the staging view
    # Whether a value may hold a TAB, LF or CR. Read by the fast path, none holds a line break
    # (each row is one line, and no CR stands alone); and a file without a TAB byte has none.
    may_hold_tabs_or_breaks: bool = True
    # The first rejected row whose record cannot be told (its key unreadable), and why: the file
    # then speaks only for the rows it has (sync/runs.py reads it as changes for the night).
    untold: tuple[int, str, str] | None = None  # line, key column, why
    # The line of the row the file ends inside, with no line end (a file cut short): it is
    # untold too, and the remedy is the whole file again, not a fixed row.
    cut_line: int | None = None

    def mode_tonight(self, mode: str) -> str:
        """How the file is read tonight, declared `mode` (bulk, delta): a whole file with a row
        whose record cannot be told (`untold`, a file cut short among them) speaks only for the
        rows it has, as a delta does: any record absent from it may be the one that row names,
        so none is archived for being absent, and rows of other files may name the directory's
        records it leaves out."""
        return "delta" if mode == "bulk" and self.untold is not None else mode

    @property
    def rejected_table(self) -> str:
        return self.table[:-1] + '__rejected"'

    @property
    def row_hashes(self) -> str:
        """Each staged row's line and the hash of its values as read (see ingest.row_memo)."""
        return f"(SELECT {self.line_expr} AS _line, _h FROM {_rows_table(self.table)})"

    @property
    def hashed_rows(self) -> str:
        """The staging rows with that hash beside them (`_h`)."""
        columns = _view_columns(self.header, self.line_expr)
        return f"(SELECT {columns}, _h FROM {_rows_table(self.table)})"

    @property
    def rows_table(self) -> str:
        """The table behind the staging view (its `rowid` is the view's `_rid`)."""
        return _rows_table(self.table)


def replace_staged_values(db: Database, table: str, column: str, replacements: str) -> None:
    """Set `column` of some staged rows of the view `table`: `replacements` is SQL yielding
    `_rid` and `value`. The rows keep their place (rowid, hence `_rid` and `_line`)."""
    rows = _rows_table(table)
    db.execute(
        f"""UPDATE {rows} SET {sql_ident(column)} = r.value FROM ({replacements}) r
            WHERE {rows}.rowid = r._rid"""
    )


def rejected_table(run_id: int, entity: str) -> str:
    """Rows the reader rejected, with their reliably read values (see the module docstring)."""
    return temp_table(run_id, f"{entity}__rejected")


def stage_file(
    db: Database,
    run_id: int,
    file: DropFile,
    spec: FileSpec,
    workdir: Path,
    *,
    ext_terms: bool = False,
) -> StagedFile:
    """Staging lives in a temporary table: only the row ledger is kept (see ingest)."""
    header = read_header(file.path, spec)
    table = temp_table(run_id, spec.entity)
    staged = StagedFile(spec.entity, file.name, table, header, 0)
    staged.issues += [
        Issue(file.name, 1, None, WARNING, None, "header", message) for message in header.warnings
    ]
    source = file.path
    if header.newline and _read_clean_file_with_duckdb(db, table, source, header, file, staged):
        _create_rejected_table(db, staged, None)
        return staged
    # Careful path: decide the encoding, then read record by record.
    try:
        decision = decide_encoding(source)
    except EncodingRefused as exc:
        raise FileRefused(str(exc)) from exc
    if decision.converted:
        staged.encoding = decision.encoding
        place = decision.first_bad
        assert place is not None
        staged.issues.append(
            Issue(
                file.name,
                place.line,
                None,
                WARNING,
                place.column,
                "encoding",
                decision.warning(file.name),
            )
        )
        workdir.mkdir(parents=True, exist_ok=True)
        converted = workdir / f"{spec.entity}.utf8.csv"
        transcode_to_utf8(source, converted, decision.encoding)
        source = converted
    shapes = shapes_for(header.positions, spec, ext_terms)
    cut_character = decision.cut_at is not None
    _CarefulReader(
        db, table, source, header, spec, staged, workdir, shapes, cut_character=cut_character
    ).read()
    return staged


def _rows_table(table: str) -> str:
    """The table behind a staging view (the view adds `_line` and the columns a file lacks)."""
    return table[:-1] + '__rows"'


def _cleaned(header: Header, spaces: bool = True) -> str:
    """Values as the sync reads them: trimmed, empty as NULL (checked once, here). A file without
    a space (`spaces` false) has nothing to trim: rs_clean is then nullif(x, '')."""
    clean = "rs_clean({})" if spaces else "nullif({}, '')"
    return ", ".join(f"{clean.format(sql_ident(n))} AS {sql_ident(n)}" for n in header.names)


def _row_hash(header: Header) -> str:
    """The hash of a staged row (`_h`), over the values of `_cleaned` rows.

    The hash is of the values as cleaned, which are all the checks read: the two readers differ
    only in what cleaning removes (an empty value is '' on one and NULL on the other)."""
    return f"hash({', '.join(sql_ident(n) for n in header.names)})"


def _note_stray_boms(staged: StagedFile, lines: list[int]) -> None:
    for line in lines[:1000]:
        staged.issues.append(
            Issue(
                staged.file_name,
                line,
                None,
                WARNING,
                None,
                "byte_order_mark",
                f"{staged.file_name} line {line}: the line starts with a byte-order mark (were two "
                "files joined?); it was ignored",
            )
        )


def _view_columns(
    header: Header, line_expr: str, released: tuple[str, ...] = (), kept: tuple[str, ...] = ()
) -> str:
    """`_rid` is the row's place in the table behind the view: a filter `_rid IN (...)` reaches
    the few rows it names without reading the others (see `PlanContext.good_except`). `kept`:
    columns of the reader the view shows too (the row hash, `_h`, where planning reads it)."""

    def empty(name: str) -> str:
        return f"CAST(NULL AS VARCHAR) AS {sql_ident(name)}"

    present = [empty(n) if n in released else sql_ident(n) for n in header.names]
    missing = [empty(n) for n in header.missing_optional]
    return ", ".join([f"{line_expr} AS _line", "rowid AS _rid", *present, *missing, *kept])


def _define_view(db: Database, table: str, header: Header, line_expr: str) -> None:
    db.execute(_view_sql(table, header, line_expr))


def _view_sql(
    table: str,
    header: Header,
    line_expr: str,
    released: tuple[str, ...] = (),
    kept: tuple[str, ...] = (),
) -> str:
    """Line numbers come from row order (rowid) for free, instead of a costly window."""
    columns = _view_columns(header, line_expr, released, kept)
    return f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {columns} FROM {_rows_table(table)}"


# What only reading and validation read: the row hash (ingest.row_memo), the reader's marks, and
# dateLastModified (bookkeeping, checked by validation, never synced).
_INGEST_ONLY = ("_h", "_misshapen")
_UNREAD_BY_PLANNING = ("dateLastModified",)
# Files whose row hash planning reads too: a person sent again as they were applied is
# recognised from it before their row is normalised (sync/unchanged.py raw_key).
ROW_HASH_PLANNED = ("users", "demographics")


def release_ingest_columns(staged: StagedFile) -> list[str]:
    """The statements that free the columns planning never reads, once validation is done
    (every file's sent to DuckDB in one call).

    A staging table is held in memory uncompressed (1.7 GB for the enrollments of a 1M-student
    district), and under the engine's memory limit every later step spilled what did not fit.
    The view keeps its columns: a released one reads as empty, as a column the file lacks.
    Dropping a column keeps the others' storage and row order (rowid, hence `_line`)."""
    rows = _rows_table(staged.table)
    released = tuple(c for c in _UNREAD_BY_PLANNING if c in staged.header.names)
    kept = ("_h",) if staged.entity in ROW_HASH_PLANNED else ()
    return [
        *(
            f"ALTER TABLE {rows} DROP COLUMN IF EXISTS {sql_ident(name)}"
            for name in (*_INGEST_ONLY, *released)
            if name not in kept
        ),
        _view_sql(staged.table, staged.header, staged.line_expr, released, kept),
    ]


def _varchar_columns(names: list[str]) -> str:
    return "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in names) + "}"


# Only a padded column reads as NULL: no unquoted value holds a line break, and quoted values
# are never NULL. (The sentinel was the four characters \x01 once: a value so spelled read as
# empty on this path and as itself on the careful one.)
_NO_VALUE_IS_NULL = sql_literal("\n")


def _read_clean_file_with_duckdb(
    db: Database, table: str, path: Path, header: Header, file: DropFile, staged: StagedFile
) -> bool:
    """True when DuckDB read every data line as exactly one row of the header's width.

    DuckDB quietly drops trailing empty values (`a,b,c,` reads as three columns), which would
    shift a row holding an unquoted comma. So one sentinel column past the last is read with
    `null_padding` and a `nullstr` no file holds: a row with a value there is too long, a row
    without its last column (NULL rather than '') too short; either sends the file to the
    careful path.

    Where DuckDB reads a line otherwise than the careful reader would, the file is left to it too:
    a CR that does not end a line (DuckDB ends a row at one after a comma, and skips one opening
    a line, so a row's place would no longer give its line), a line opening with a byte-order
    mark (a quoted first value would keep its quotes), and a value opening with two spaces or
    more, then a quote (DuckDB skips one space before a quote, not two: the text would keep its
    quotes; once cleaned, such a value opens with the quote, and so does the rare value that is
    meant to)."""
    lone_cr, any_quote, any_space, any_tab = _scan_bytes(path)
    if lone_cr:
        return False
    # DuckDB 2.0.1 reads no row with new_line '\\r\\n'; unset, it takes CR LF (and refuses a line
    # ending LF alone in a CR LF file).
    newline = "" if header.newline == "\r\n" else ", new_line = '\\n'"
    names = header.reader_names()
    sentinel = "_past_last_column"
    while sentinel.lower() in {n.lower() for n in names}:
        sentinel = "_" + sentinel
    # A value of a read column is checked once cleaned (below: leading spaces gone, it opens with
    # the quote), which is cheaper; one of a column that is not read, here.
    unread = [sql_ident(n) for n in names if n not in header.names]
    misread = [
        f"starts_with({sql_ident(names[0])}, chr(65279))",
        *(
            f"starts_with({c}, '  ') AND starts_with(ltrim({c}, ' '), '\"')"
            for c in (unread if any_quote else [])
        ),
    ]
    # A cleaned value opening with a quote was read otherwise than the careful reader would
    # (above); tested in the same pass, so that counting what is misshapen reads one column.
    # A file without a quote has no such value (about 0.4 s of a 1M-student enrollments.csv).
    quoted = " OR ".join(f"starts_with({sql_ident(n)}, '\"')" for n in header.names)
    if not any_quote:
        quoted = "false"
    try:
        db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {_rows_table(table)} AS
            SELECT * EXCLUDE (_misshapen), _misshapen OR coalesce({quoted}, false) AS _misshapen,
                   {_row_hash(header)} AS _h FROM (
            SELECT {_cleaned(header, any_space)},
                   {sql_ident(names[header.least_width - 1])} IS NULL
                   OR {sql_ident(sentinel)} IS NOT NULL
                   OR coalesce({" OR ".join(misread)}, false) AS _misshapen
            FROM read_csv({sql_literal(str(path))}, columns = {_varchar_columns([*names, sentinel])},
                 header = true, auto_detect = false, delim = ',', quote = '"', escape = '"'{newline},
                 strict_mode = true, max_line_size = {FAST_MAX_LINE_BYTES},
                 encoding = 'utf-8', null_padding = true, nullstr = {_NO_VALUE_IS_NULL},
                 allow_quoted_nulls = false))
            """
        )
    except duckdb.Error:
        return False
    if file.newline_count is None:
        hash_file(file)
    assert file.newline_count is not None
    rows, misshapen = db.rows(
        f"SELECT count(*), count(*) FILTER (WHERE _misshapen) FROM {_rows_table(table)}"
    )[0]
    physical_lines = file.newline_count + (0 if file.ends_with_newline else 1)
    if misshapen or physical_lines - 1 != rows:
        return False
    staged.line_expr = "CAST(rowid AS BIGINT) + 2"
    _define_view(db, table, header, staged.line_expr)
    staged.rows = int(rows)
    staged.may_hold_tabs_or_breaks = any_tab
    return True


def _scan_bytes(path: Path) -> tuple[bool, bool, bool, bool]:
    """Whether the file holds a CR that is not followed by LF, a double quote, a space, a TAB
    (one pass, at memchr speed; a lone CR ends it early, as the file then goes to the careful
    reader, which reads no other answer). In UTF-8, the only encoding this path reads, none of
    0x22, 0x20 and 0x09 is ever part of another character: a file without the byte has no
    quoted value, nothing to trim, no TAB in a value."""
    quote = space = tab = False
    with open(path, "rb") as handle:
        previous = b""
        while chunk := handle.read(1 << 20):
            quote = quote or b'"' in chunk
            space = space or b" " in chunk
            tab = tab or b"\t" in chunk
            if b"\r" in chunk or previous == b"\r":
                if chunk.count(b"\r") != chunk.count(b"\r\n") + chunk.endswith(b"\r"):
                    return True, quote, space, tab
                if previous == b"\r" and not chunk.startswith(b"\n"):
                    return True, quote, space, tab
            previous = chunk[-1:]
        return previous == b"\r", quote, space, tab


def _create_rejected_table(db: Database, staged: StagedFile, rejects: Path | None) -> None:
    header = staged.header
    columns = [
        *(f"rs_clean({sql_ident(n)}) AS {sql_ident(n)}" for n in header.names),
        *(f"CAST(NULL AS VARCHAR) AS {sql_ident(n)}" for n in header.missing_optional),
    ]
    if rejects is None:
        source, where = f"(SELECT CAST(NULL AS BIGINT) AS _line, {_nulls(header.names)})", "false"
    else:
        source = f"""read_csv({sql_literal(str(rejects))},
                     columns = {_varchar_columns(["_line", *header.names])}, header = false,
                     auto_detect = false, delim = ',', quote = '"', escape = '"',
                     new_line = '\\n', strict_mode = true, max_line_size = {8 * MAX_RECORD_CHARS})"""
        where = "true"
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {staged.rejected_table} AS
            SELECT CAST(_line AS BIGINT) AS _line, CAST(NULL AS BIGINT) AS _rid, {", ".join(columns)}
            FROM {source} WHERE {where}"""
    )


def _nulls(names: list[str]) -> str:
    return ", ".join(f"CAST(NULL AS VARCHAR) AS {sql_ident(n)}" for n in names)


_TOO_LONG = f"the line is longer than the {MAX_RECORD_CHARS // 1024**2} MB a row may hold"


def _runs_past_it(column: str | None) -> str:
    """Which value runs past the limit of a line `_TOO_LONG`, when the header names it."""
    return f" (the value of {column} runs past it)" if column is not None else ""


class _Lines:
    """Feeds csv.reader one piece of a line at a time, keeping the pieces of the current record.

    Pieces end at LF, CR LF or a lone CR, as Python's universal newlines (and csv) read them; a
    lone CR ends a record, as where DuckDB reads one, and a line, as editors show it (a classic
    Mac file, or one joined to another file: each of its rows on a line of its own), except right
    before the LF or CR LF that ends the line anyway (a CR LF file converted once more ends its
    lines CR CR LF, its header too: its rows keep their lines). So no two records ever start on
    one line: a row's line is its identity (its messages, the id a new record gets). `count` is
    the line the last piece lies on.

    A line longer than a record may be is not fed whole: it is remembered (cut at the limit) and
    a blank line stands in for it, so it cannot swallow the lines after it; the blank line ends
    as the long one does, with no line end where the file ends in it (a file cut short there).
    A byte-order mark opening a record after the header (two exports joined) is dropped before
    the line is read, and its line remembered for a warning."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self.count = 0
        self.next_line = 1  # the line the next piece lies on
        self._lone_cr = False  # the last piece ended at a lone CR (see above)
        self.pieces = 0
        self.pending: list[str] = []
        self.pending_lines: list[int] = []
        self.pending_chars = 0
        self.too_long: dict[int, str] = {}  # by piece
        self.boms: list[int] = []

    def first_line(self) -> int:
        """The line the current record starts on (known once its first piece is read)."""
        return self.pending_lines[0] if self.pending_lines else self.next_line

    def start_record(self) -> None:
        self.pending, self.pending_lines, self.pending_chars = [], [], 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = last = self._handle.readline(MAX_RECORD_CHARS)
        if not line:
            raise StopIteration
        if self._lone_cr and line not in ("\n", "\r\n"):
            self.next_line += 1
        self._lone_cr = False
        self.count = self.next_line
        self.pieces += 1
        if len(line) >= MAX_RECORD_CHARS and not line.endswith(("\n", "\r")):
            while (last := self._handle.readline(MAX_RECORD_CHARS)) and not last.endswith(
                ("\n", "\r")
            ):
                pass
            self.too_long[self.pieces] = line
            line = "\n" if last.endswith(("\n", "\r")) else ""
        if last.endswith("\n"):
            self.next_line += 1
        elif last.endswith("\r"):
            self._lone_cr = True  # a line end unless an LF follows (decided on the next piece)
        if not self.pending and self.count > 1 and line.startswith("\ufeff"):
            self.boms.append(self.count)
            line = line[1:]
        self.pending.append(line)
        self.pending_lines.append(self.count)
        self.pending_chars += len(line)
        return line

    def more(self) -> str | None:
        """The next line of an open record, or None at the end of the file or the record limit."""
        return None if self.pending_chars > MAX_RECORD_CHARS else next(self, None)

    def unended(self) -> bool:
        """The current record runs to the end of the file with no line end after it (only the
        last piece of a file can lack one, or the blank line standing in for a longer line the
        file ends in)."""
        return bool(self.pending) and not self.pending[-1].endswith(("\n", "\r"))


class _CarefulReader:
    """Record by record with exact start lines; good rows go to DuckDB via a clean temp CSV."""

    def __init__(
        self,
        db: Database,
        table: str,
        source: Path,
        header: Header,
        spec: FileSpec,
        staged: StagedFile,
        workdir: Path,
        shapes: list[Shape],
        *,
        cut_character: bool = False,
    ) -> None:
        """`cut_character`: the file ends inside a character (`EncodingDecision.cut_at`)."""
        self.db, self.table, self.source, self.header = db, table, source, header
        self.spec, self.staged, self.workdir, self.shapes = spec, staged, workdir, shapes
        self.cut_character = cut_character
        self.width = header.width
        self.read_positions = [i for i, name in enumerate(header.positions) if name is not None]
        self.key_position = self._position(spec.key[0])
        self.record_positions = [
            (name, p) for name in spec.record_columns if (p := self._position(name)) is not None
        ]
        self._rejects: csv.writer | None = None  # type: ignore[valid-type]

    def _position(self, name: str) -> int | None:
        try:
            return self.header.positions.index(name)
        except ValueError:
            return None

    def read(self) -> None:
        self.staged.careful_path = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        clean = self._temp_csv()
        rejects = self._temp_csv()
        try:
            with (
                open(clean, "w", encoding="utf-8", newline="") as clean_out,
                open(rejects, "w", encoding="utf-8", newline="") as rejects_out,
            ):
                # Every value quoted: csv leaves a value holding a lone CR unquoted (CR is not in
                # its line terminator), which DuckDB cannot read back.
                self._good = csv.writer(clean_out, lineterminator="\n", quoting=csv.QUOTE_ALL)
                self._rejects = csv.writer(rejects_out, lineterminator="\n", quoting=csv.QUOTE_ALL)
                boms = self._read_records()
            # new_line '\\n': unset, DuckDB refuses a quoted value holding a lone CR.
            self.db.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE {_rows_table(self.table)} AS
                SELECT *, {_row_hash(self.header)} AS _h FROM (
                SELECT CAST(_line AS BIGINT) AS _line, {_cleaned(self.header)}
                FROM read_csv({sql_literal(str(clean))},
                     columns = {_varchar_columns(["_line", *self.header.names])}, header = false,
                     auto_detect = false, delim = ',', quote = '"', escape = '"', new_line = '\\n',
                     strict_mode = true, max_line_size = {8 * MAX_RECORD_CHARS}))
                """
            )
            _create_rejected_table(self.db, self.staged, rejects if self.staged.rejected else None)
        finally:
            clean.unlink(missing_ok=True)
            rejects.unlink(missing_ok=True)
        _define_view(self.db, self.table, self.header, "_line")
        _note_stray_boms(self.staged, boms)

    def _temp_csv(self) -> Path:
        with tempfile.NamedTemporaryFile(suffix=".csv", dir=self.workdir, delete=False) as handle:
            return Path(handle.name)

    def _read_records(self) -> list[int]:
        """Reads every record; returns the lines that opened with a byte-order mark.

        csv reads the spaces before a quote as DuckDB does; a record it refuses is split again by
        `split_record`, which also allows spaces after a closing quote."""
        with open_utf8(self.source, cut_character=self.cut_character) as handle:
            lines = _Lines(handle)
            next(lines, None)  # the header line, already read on its own
            reader = csv_records(lines, strict=True)
            while True:
                lines.start_record()
                piece = lines.pieces + 1
                try:
                    record = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    start = lines.first_line()
                    record, status = split_record("".join(lines.pending), lines.more)
                    if status == OPEN and lines.unended():
                        pieces = list(zip(lines.pending_lines, lines.pending, strict=True))
                        self._cut_short(start, len(record), pieces)
                        continue
                    if status != CLEAN:
                        error = "unexpected end of data" if status == OPEN else str(exc)
                        if lines.pending_chars > MAX_RECORD_CHARS:
                            error = "field larger than field limit"
                        pieces = list(zip(lines.pending_lines, lines.pending, strict=True))
                        self._broken_record(start, lines.count, pieces, error)
                        continue
                else:
                    start = lines.first_line()
                if piece in lines.too_long:
                    self._too_long_line(start, lines.too_long.pop(piece), cut=lines.unended())
                    continue
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # a blank line is not a row
                # A row the file ends in, with no line end, is cut when short, or when it ends
                # inside a character (whatever its width: that character was cut).
                if lines.unended() and (
                    len(record) < self.header.least_width or self.cut_character
                ):
                    self._cut_short(start, len(record) - 1, [])
                    continue
                self._record(start, record)
        return lines.boms

    # ------------------------------------------------------------------ one record
    def _record(self, line: int, record: list[str]) -> None:
        oversized = [i for i, value in enumerate(record) if len(value) > MAX_FIELD_BYTES]
        if self.header.least_width <= len(record) < self.width:
            record = record + [""] * (self.width - len(record))  # unnamed columns left out
        if len(record) == self.width and not oversized:
            self._good.writerow([line, *(record[i] for i in self.read_positions)])
            self.staged.rows += 1
            return
        values, known = reliable_values(record, self.shapes)
        if len(record) != self.width:
            problem = f"row has {len(record)} values; the header has {self.width} columns"
            # Where the fault may lie: the first column whose value could not be placed.
            unplaced = next((i for i, ok in enumerate(known) if not ok), None)
            column = None if unplaced is None else self._column_name(unplaced)
            why = problem
            if column is not None:
                problem += f" (the values from {column} on could not be matched to columns)"
            self._reject(line, "column_count", problem, values, known, why, column=column)
            return
        first = oversized[0]
        for i in oversized:
            values[i], known[i] = None, False
        name = self._column_name(first)
        problem = (
            f"the value of {name} is {len(record[first]):,} characters long; "
            f"a value may hold at most {MAX_FIELD_BYTES // 1024:,} KB"
        )
        self._reject(line, "value_too_long", problem, values, known, problem, column=name)

    def _column_name(self, position: int) -> str | None:
        """The header's name of a column (`column N` when unnamed), None past the header."""
        if position >= self.width:
            return None
        return self.header.positions[position] or f"column {position + 1}"

    def _too_long_line(self, line: int, text: str, *, cut: bool) -> None:
        """A line longer than a row may hold (`text`: its first MAX_RECORD_CHARS). `cut`: the
        file ends in it with no line end, so it is cut short as any row the file ends in
        (`_cut_short`): its end is never read, so how many values it holds cannot be told."""
        fields, _ = split_until_fault(text)
        if cut:
            self._cut_short(line, max(len(fields) - 1, 0), [], too_long=True)
            return
        values, known = place_prefix(fields[:-1], self.shapes)  # the last value is cut
        column = self._column_name(max(len(fields) - 1, 0))
        why = _TOO_LONG
        problem = _TOO_LONG + _runs_past_it(column)
        self._reject(line, "line_too_long", problem, values, known, why, column=column)

    def _broken_record(
        self, start: int, end: int, pending: list[tuple[int, str]], error: str
    ) -> None:
        """A record csv could not split: the row that opened it, then each line it swallowed
        (`pending`: each piece of the record, with its line)."""
        text = "".join(piece for _, piece in pending)
        fields, _ = split_until_fault(text)
        values, known = place_prefix(fields, self.shapes)
        column = self._column_name(len(fields))  # the value the fault is in
        where = f" in {column}" if column is not None else ""
        if "field larger than field limit" in error:
            rule = "line_too_long"
            problem = (
                f"a value opened here{where} runs past the {MAX_RECORD_CHARS // 1024**2} MB a "
                f"row may hold (to line {end}); the row could not be read"
            )
            why = f"a value runs from line {start} past the size limit at line {end}"
        elif "unexpected end of data" in error:
            rule = "quoting"
            problem = (
                f"a quoted value opened here{where} is never closed"
                + (f" (it runs to line {end}, the end of the file)" if end > start else "")
                + "; the row could not be read"
            )
            why = f"unclosed quote from line {start} to {end}"
        elif end > start:
            rule = "quoting"
            problem = (
                f"a quoted value opened here{where} is closed on line {end} by a quote followed "
                f"by other text; lines {start}-{end} could not be read as one row"
            )
            why = f"a quote opened on line {start} ends in a stray quote on line {end}"
        else:
            rule = "quoting"
            problem = f"has a stray quote{where} and could not be read ({error})"
            why = "a stray quote"
        self._reject(start, rule, problem, values, known, why, column=column)
        for line, swallowed in pending[1:]:
            self._swallowed_line(line, swallowed, start)

    def _cut_short(
        self, start: int, cut_at: int, pending: list[tuple[int, str]], *, too_long: bool = False
    ) -> None:
        """The file ends inside this row with no line end: an upload that stopped there, or a
        file cut short. The row is short (values lost after the cut) or a quoted value is still
        open (`pending`: each piece of the record, with its line), and the value at the cut
        (`cut_at`) is cut short: a cut `enr-0` fits a sourcedId as well as a whole one. So
        nothing of the row counts, whatever the types of the columns: the record it names
        cannot be told, and the file speaks only for its other rows tonight (any record absent
        from it may be one the rows cut away named). The lines a quote opened here swallowed
        before the cut are read on their own, as any swallowed line is. A line `too_long` for a
        row is cut alike, its value at the limit (`cut_at`) named."""
        column = self._column_name(cut_at)
        if too_long:
            where = f"{_TOO_LONG}{_runs_past_it(column)}, and the file ends in it"
        else:
            inside = ", inside a character" if self.cut_character else ""
            place = f" (in {column}{inside})" if column is not None else ""
            where = f"the file ends in the middle of this row{place}"
        problem = (
            f"{where}, with no line end: it was cut short (an upload that stopped?); the row "
            "could not be read"
        )
        why = "the file ends in the middle of it: was it cut short?"
        nothing: list[str | None] = [None] * self.width
        self.staged.cut_line = start
        self._reject(start, "file_cut", problem, nothing, [False] * self.width, why, column)
        for line, swallowed in pending[1:-1]:
            self._swallowed_line(line, swallowed, start)
        if len(pending) > 1:
            line = pending[-1][0]
            problem = (
                f"this line lies inside the quoted value opened on line {start}, and the file "
                "ends in it, with no line end: it was cut short; the line could not be read"
            )
            self._reject(line, "file_cut", problem, nothing, [False] * self.width, problem)

    def _swallowed_line(self, line: int, text: str, opened: int) -> None:
        """A line inside another row's broken quote: read on its own, reported, never staged."""
        record, status = split_record(text)  # as the careful reader splits a line
        if status != CLEAN:
            values, known = place_prefix(record, self.shapes)
        elif not record or (len(record) == 1 and not record[0].strip()):
            return  # a blank line is not a row
        else:
            values, known = reliable_values(record, self.shapes)
        problem = (
            f"this line lies inside the quoted value opened on line {opened}, so it could not be "
            "read as a row"
        )
        self._reject(line, "quoting", problem, values, known, problem)

    def _reject(
        self,
        line: int,
        rule: str,
        problem: str,
        values: list[str | None],
        known: list[bool],
        why: str,
        column: str | None = None,
    ) -> None:
        file_name = self.staged.file_name
        for name, position in self.record_positions:
            if not known[position] and self.staged.untold is None:
                self.staged.untold = (line, name, why)
        if values and values[0] and values[0].startswith("\ufeff"):
            values[0] = values[0][1:] or None  # see _cleaned: a stray byte-order mark
        key = values[self.key_position] if self.key_position is not None else None
        self.staged.issues.append(
            Issue(file_name, line, key, ERROR, column, rule, f"{file_name} line {line}: {problem}")
        )
        assert self._rejects is not None
        self._rejects.writerow(
            [
                line,
                *(
                    values[i] if known[i] and values[i] is not None else ""
                    for i in self.read_positions
                ),
            ]
        )
        self.staged.rejected += 1
