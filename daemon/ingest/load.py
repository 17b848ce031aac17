"""Reading one CSV file into a staging table, with the line number of every row.

The fast path is DuckDB's CSV reader with a fixed dialect, everything as text. When the file is
irregular (rows DuckDB rejects over several lines, blank lines, quoted line breaks, an encoding
problem, or a reader failure), a careful path re-reads it with Python's csv module so that every
record still gets its exact line and no row vanishes without a result.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from daemon.db import Database, sql_ident, sql_literal, temp_table
from daemon.formats.drop import DropFile, hash_file
from daemon.formats.encoding import EncodingRefused, decide_encoding, transcode_to_utf8
from daemon.formats.spec import FileSpec
from daemon.ingest.header import FileRefused, Header, read_header
from daemon.ingest.issues import ERROR, WARNING, Issue

MAX_FIELD_BYTES = 1 << 20
csv.field_size_limit(MAX_FIELD_BYTES)


@dataclass
class StagedFile:
    entity: str
    file_name: str
    table: str  # qualified staging table name
    header: Header
    rows: int  # rows that were read into the table
    encoding: str = "utf-8"
    careful_path: bool = False
    issues: list[Issue] = field(
        default_factory=list
    )  # reader-level issues (wrong column count, ...)


def stage_file(
    db: Database, run_id: int, file: DropFile, spec: FileSpec, workdir: Path
) -> StagedFile:
    """Staging lives in a temporary table: only the row ledger is kept (see ingest)."""
    header = read_header(file.path, spec)
    table = temp_table(run_id, spec.entity)
    staged = StagedFile(spec.entity, file.name, table, header, 0)
    source = file.path
    if header.newline:
        try:
            rejects = _read_with_duckdb(db, table, source, header, spec)
        except duckdb.Error:
            rejects = None
        if rejects is not None and not _has_encoding_rejects(rejects):
            if file.newline_count is None:
                hash_file(file)
            if _fast_path_lines_hold(db, table, rejects, file, staged):
                return staged
    # Careful path: decide the encoding, then read record by record.
    try:
        decision = decide_encoding(source)
    except EncodingRefused as exc:
        raise FileRefused(str(exc)) from exc
    if decision.converted:
        staged.encoding = decision.encoding
        staged.issues.append(
            Issue(
                file.name,
                decision.first_bad_line,
                None,
                WARNING,
                None,
                "encoding",
                f"{file.name} line {decision.first_bad_line}: {file.name} is not UTF-8 (first here); "
                "it was read as Windows-1252. Ask the SIS to export UTF-8.",
            )
        )
        workdir.mkdir(parents=True, exist_ok=True)
        converted = workdir / f"{spec.entity}.utf8.csv"
        transcode_to_utf8(source, converted, decision.encoding)
        source = converted
    _read_carefully(db, table, source, header, spec, staged, workdir)
    return staged


def _rows_table(table: str) -> str:
    """The table behind a staging view (the view adds `_line` and the columns a file lacks)."""
    return table[:-1] + '__rows"'


def _cleaned(header: Header) -> str:
    # Values are stored as the sync reads them: trimmed, empty as NULL (checked once, here).
    return ", ".join(f"rs_clean({sql_ident(n)}) AS {sql_ident(n)}" for n in header.names)


def _define_view(db: Database, table: str, header: Header, line_expr: str) -> None:
    """Line numbers come from row order (rowid) for free, instead of a costly window."""
    present = [sql_ident(n) for n in header.names]
    missing = [f"CAST(NULL AS VARCHAR) AS {sql_ident(n)}" for n in header.missing_optional]
    columns = ", ".join([f"{line_expr} AS _line", *present, *missing])
    db.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {columns} FROM {_rows_table(table)}")


def _read_with_duckdb(
    db: Database, table: str, path: Path, header: Header, spec: FileSpec
) -> list[tuple[int, int, str, str]]:
    """Returns the rejected records as (line, byte_position, error_type, csv_line)."""
    columns = "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in header.names) + "}"
    db.execute("DROP TABLE IF EXISTS reject_errors")
    db.execute("DROP TABLE IF EXISTS reject_scans")
    newline = "\\r\\n" if header.newline == "\r\n" else "\\n"
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_rows_table(table)} AS
        SELECT {_cleaned(header)}
        FROM read_csv({sql_literal(str(path))}, columns = {columns}, header = true,
             auto_detect = false, delim = ',', quote = '"', escape = '"', new_line = '{newline}',
             strict_mode = true, store_rejects = true, max_line_size = {4 * MAX_FIELD_BYTES},
             encoding = 'utf-8')
        """
    )
    _define_view(db, table, header, "CAST(rowid AS BIGINT) + 2")
    return db.rows(
        "SELECT line, byte_position, error_type, csv_line FROM reject_errors ORDER BY line"
    )


def _has_encoding_rejects(rejects: list[tuple[int, int, str, str]]) -> bool:
    return any(r[2] == "INVALID ENCODING" for r in rejects)


def _fast_path_lines_hold(
    db: Database,
    table: str,
    rejects: list[tuple[int, int, str, str]],
    file: DropFile,
    staged: StagedFile,
) -> bool:
    """True when every record is one physical line, so row_number() gives the true line."""
    rows = int(db.one(f"SELECT count(*) FROM {table}"))
    assert file.newline_count is not None
    physical_lines = file.newline_count + (0 if file.ends_with_newline else 1)
    reject_lines = sorted({int(r[0]) for r in rejects})
    single_line = all(r[3].strip("\r\n").count("\n") == 0 for r in rejects)
    if not single_line or physical_lines - 1 != rows + len(reject_lines):
        return False
    staged.rows = rows
    if reject_lines:
        _shift_lines_past_rejects(db, table, reject_lines)
        by_line: dict[int, list[str]] = {}
        for line, _pos, kind, _text in rejects:
            by_line.setdefault(int(line), []).append(kind)
        raw = {int(r[0]): r[3] for r in rejects}
        for line in reject_lines:
            staged.issues.append(_reject_issue(staged, line, by_line[line], raw[line]))
    return True


def _shift_lines_past_rejects(db: Database, table: str, reject_lines: list[int]) -> None:
    # Good row k sits on line k + 1 + (number of rejected lines before it). Reject j (1-based)
    # has (line_j - 1 - j) good rows before it, so it pushes every later good row down one line.
    values = ", ".join(f"({line - 1 - j})" for j, line in enumerate(reject_lines, start=1))
    shifted = table[:-1] + '__shifted"'
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {shifted} AS
        SELECT v._line + coalesce(s.n, 0) AS _line, v.* EXCLUDE (_line)
        FROM {table} v LEFT JOIN (
            SELECT t._line AS old_line, count(g.goods_before) AS n
            FROM {table} t JOIN (VALUES {values}) g(goods_before) ON g.goods_before < t._line - 1
            GROUP BY t._line
        ) s ON s.old_line = v._line
        """
    )
    db.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {shifted}")


def _reject_issue(staged: StagedFile, line: int, kinds: list[str], raw: str) -> Issue:
    expected = len(staged.header.names)
    fields = next(csv.reader([raw.strip("\r\n")]), [])
    sourced_id = fields[0].strip() if fields else None
    if "MISSING COLUMNS" in kinds or "TOO MANY COLUMNS" in kinds:
        message = f"has {len(fields)} values; the header has {expected} columns"
        rule = "column_count"
    elif "UNQUOTED VALUE" in kinds:
        message = "has a stray or unclosed quote; the row could not be read"
        rule = "quoting"
    elif "LINE SIZE OVER MAXIMUM" in kinds:
        message = "is longer than the 4 MB a row may hold"
        rule = "line_too_long"
    else:
        message = f"could not be read ({', '.join(sorted(set(kinds))).lower()})"
        rule = "unreadable"
    return Issue(
        staged.file_name,
        line,
        sourced_id or None,
        ERROR,
        None,
        rule,
        f"{staged.file_name} line {line}: row {message}",
    )


def _read_carefully(
    db: Database,
    table: str,
    source: Path,
    header: Header,
    spec: FileSpec,
    staged: StagedFile,
    workdir: Path,
) -> None:
    """Record by record with exact start lines; good rows go to DuckDB via a clean temp CSV."""
    staged.careful_path = True
    expected = len(header.names)
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".csv", dir=workdir, delete=False, encoding="utf-8", newline=""
    ) as out:
        clean = Path(out.name)
        writer = csv.writer(out, lineterminator="\n")
        good = 0
        with open(source, encoding="utf-8-sig", errors="strict", newline="") as handle:
            lines = _LineCounter(handle)
            next(lines, None)  # the header line, already read on its own
            reader = csv.reader(lines, strict=True)
            while True:
                start = lines.count + 1
                try:
                    record = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    staged.issues.append(
                        _careful_issue(staged, start, lines.count, str(exc), lines.last)
                    )
                    if "end of data" in str(exc) or "unexpected end" in str(exc):
                        break
                    continue
                if not record:
                    continue  # a blank line: not a row
                if len(record) != expected:
                    staged.issues.append(
                        Issue(
                            staged.file_name,
                            start,
                            record[0].strip() or None,
                            ERROR,
                            None,
                            "column_count",
                            f"{staged.file_name} line {start}: row has {len(record)} values; "
                            f"the header has {expected} columns",
                        )
                    )
                    continue
                writer.writerow([start, *record])
                good += 1
    try:
        columns = (
            "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in ["_line", *header.names]) + "}"
        )
        db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {_rows_table(table)} AS
            SELECT CAST(_line AS BIGINT) AS _line, {_cleaned(header)}
            FROM read_csv({sql_literal(str(clean))}, columns = {columns}, header = false,
                 auto_detect = false, delim = ',', quote = '"', escape = '"', strict_mode = true,
                 max_line_size = {8 * MAX_FIELD_BYTES})
            """
        )
    finally:
        clean.unlink(missing_ok=True)
    _define_view(db, table, header, "_line")
    staged.rows = good


class _LineCounter:
    """Feeds csv.reader line by line, remembering where each record began."""

    def __init__(self, handle) -> None:  # type: ignore[no-untyped-def]
        self._handle = handle
        self.count = 0
        self.last = ""

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = self._handle.readline(MAX_FIELD_BYTES * 4)
        if not line:
            raise StopIteration
        self.count += 1
        self.last = line
        return line


def _careful_issue(staged: StagedFile, start: int, end: int, error: str, last: str) -> Issue:
    if "field larger than field limit" in error:
        message = f"a value is longer than the {MAX_FIELD_BYTES // 1024} KB a value may hold"
        rule = "value_too_long"
    elif "end of data" in error or "unexpected end" in error:
        message = (
            f"a quoted value opened here is never closed; lines {start}-{end} could not be read"
            if end > start
            else "a quoted value opened here is never closed"
        )
        rule = "quoting"
    elif "NUL" in error:
        message = "contains a NUL byte"
        rule = "control_character"
    else:
        message = f"has a stray quote and could not be read ({error})"
        rule = "quoting"
    return Issue(
        staged.file_name,
        start,
        None,
        ERROR,
        None,
        rule,
        f"{staged.file_name} line {start}: {message}",
    )
