"""The fast reader (DuckDB) and the careful one (Python's csv) read the same bytes alike.

A file switches readers between nights for reasons unrelated to its rows (one trailing blank
line sends it to the careful reader), so a value read differently would be a spurious change,
or an archived record. Each test reads one small enrollments file with both readers."""

from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.db import Database
from daemon.formats.drop import DropFile, hash_file
from daemon.formats.spec import ENROLLMENTS
from daemon.ingest import load
from daemon.ingest.header import FileRefused

HEADER = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
    "primary,beginDate,endDate"
)
ROW = "enr-{n},active,2026-08-20,cls-a,sch-elm,stu-{n},student,false,2026-08-24,"
READERS = pytest.mark.parametrize("careful", [False, True], ids=["fast reader", "careful reader"])
_RUN_IDS = itertools.count(950_001)


@dataclass
class Read:
    fast: bool  # the fast reader took the file
    rows: list[tuple]  # (_line, values...) as staged
    rejected: list[tuple]  # (_line, values...) of the rows the reader rejected
    issues: list[tuple]  # (line, severity, rule)
    hashes: list[tuple]  # (_line, _h)

    def row(self, line: int) -> dict:
        names = ["_line", *HEADER.split(",")]
        return dict(zip(names, next(r for r in self.rows if r[0] == line), strict=True))


def read(db: Database, folder: Path, data: bytes, *, careful: bool) -> Read | str:
    """The file read as ingest reads it (the careful reader when asked); a refusal's message."""
    path = folder / "enrollments.csv"
    path.write_bytes(data)
    file = DropFile(path.name, path, "enrollments", path.stat().st_size)
    hash_file(file)
    run_id = next(_RUN_IDS)
    try:
        fast_reader = mock.patch.object(load, "_read_clean_file_with_duckdb", lambda *a: False)
        with fast_reader if careful else contextlib.nullcontext():
            staged = load.stage_file(db, run_id, file, ENROLLMENTS, folder / "work")
    except FileRefused as exc:
        return str(exc)
    columns = ", ".join(f'"{n}"' for n in HEADER.split(","))
    return Read(
        not staged.careful_path,
        db.rows(f"SELECT _line, {columns} FROM {staged.table} ORDER BY _line"),
        db.rows(f"SELECT _line, {columns} FROM {staged.rejected_table} ORDER BY _line"),
        sorted((i.line, i.severity, i.rule) for i in staged.issues),
        sorted(db.rows(f"SELECT * FROM {staged.row_hashes}")),
    )


def both(db: Database, folder: Path, data: bytes) -> tuple[Read | str, Read | str]:
    return read(db, folder, data, careful=False), read(db, folder, data, careful=True)


def file_of(*rows: str, newline: str = "\n") -> bytes:
    return newline.join([HEADER, *rows, ""]).encode("utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


# ------------------------------------------------------------------ spaces around quotes
@READERS
def test_a_space_before_an_opening_quote_is_not_part_of_the_value(new_database, folder, careful):
    data = file_of(ROW.format(n=1), ROW.format(n=2).replace(",active,", ', "active",'))
    got = read(new_database, folder, data, careful=careful)
    assert isinstance(got, Read), got
    assert got.row(3)["status"] == "active"
    assert got.rejected == []


@READERS
def test_spaces_after_a_closing_quote_are_not_part_of_the_value(new_database, folder, careful):
    data = file_of(ROW.format(n=1), ROW.format(n=2).replace("stu-2,", '"stu-2"  ,'))
    got = read(new_database, folder, data, careful=careful)
    assert isinstance(got, Read), got
    assert got.row(3)["userSourcedId"] == "stu-2"
    assert got.rejected == []


@READERS
def test_spaces_after_a_closing_quote_at_the_end_of_a_crlf_line_are_not_part_of_the_value(
    new_database, folder, careful
):
    data = file_of(ROW.format(n=1) + '"2027-01-01" ', newline="\r\n")
    got = read(new_database, folder, data, careful=careful)
    assert isinstance(got, Read), got
    assert got.row(2)["endDate"] == "2027-01-01"


def test_an_export_with_a_space_before_every_quoted_value_reads_alike_on_both_readers(
    new_database, folder
):
    rows = [", ".join(f'"{v}"' for v in ROW.format(n=n).split(",")) for n in range(1, 4)]
    fast, careful = both(new_database, folder, file_of(*rows))
    assert isinstance(fast, Read) and fast.fast
    assert careful == Read(False, fast.rows, fast.rejected, fast.issues, fast.hashes)
    assert fast.row(2)["status"] == "active"


def test_two_spaces_before_a_quote_read_as_one_on_both_readers(new_database, folder):
    # DuckDB reads `  "active"` as the text `  "active"` (quotes kept) but ` "active"` as
    # active: the fast reader leaves such a file to the careful one, which reads active.
    data = file_of(ROW.format(n=1).replace(",active,", ',  "active",'))
    fast, careful = both(new_database, folder, data)
    assert isinstance(fast, Read) and not fast.fast
    assert fast.row(2)["status"] == "active"
    assert careful == fast


@READERS
def test_text_after_a_closing_quote_and_spaces_is_a_row_error(new_database, folder, careful):
    data = file_of(ROW.format(n=1), ROW.format(n=2).replace(",active,", ',"active" x,'))
    got = read(new_database, folder, data, careful=careful)
    assert isinstance(got, Read), got
    assert (3, "ERROR", "quoting") in got.issues
    assert [r[0] for r in got.rejected] == [3]


def test_a_line_inside_a_broken_quote_is_read_with_the_same_rules(new_database, folder):
    # Line 3 closes the quote line 2 left open, then goes on: both rows are rejected, and line 3
    # read on its own names enr-2 (not '"enr-2"', which would let enr-2 be archived).
    spaced = ", ".join(f' "{v}"' for v in ROW.format(n=2).split(","))
    data = file_of(ROW.format(n=1) + '"x', spaced, ROW.format(n=3))
    got = read(new_database, folder, data, careful=True)
    assert isinstance(got, Read), got
    assert [(r[0], r[1]) for r in got.rejected] == [(2, "enr-1"), (3, "enr-2")]


# ------------------------------------------------------------------ carriage returns
def test_a_lone_cr_is_no_line_break(new_database, folder):
    # A CRLF line converted once more ends CR CR LF: the rows after it keep their lines.
    data = file_of(ROW.format(n=1) + "\r\r", ROW.format(n=2), ROW.format(n=3))
    fast, careful = both(new_database, folder, data)
    assert isinstance(fast, Read) and not fast.fast
    assert careful == fast
    assert [r[0] for r in fast.rows] == [2, 3, 4]


@pytest.mark.parametrize("newline", ["\r\r\n", "\r"], ids=["CR CR LF throughout", "classic Mac"])
def test_a_file_whose_header_ends_at_a_cr_keeps_its_lines(new_database, folder, newline):
    # a header ending CR CR LF made the file read as classic Mac: every row counted twice
    data = file_of(*(ROW.format(n=n) for n in (1, 2, 3)), newline=newline)
    got = read(new_database, folder, data, careful=True)
    assert isinstance(got, Read), got
    assert [(r[0], r[1]) for r in got.rows] == [(2, "enr-1"), (3, "enr-2"), (4, "enr-3")]


def test_a_lone_cr_after_a_comma_ends_a_row_and_a_line(new_database, folder):
    # DuckDB ends a row at a CR after a comma; one blank line makes its count of rows match the
    # count of lines, so the fast reader itself must leave the file to the careful one. The CR
    # ends a line too, as an editor shows it: no two rows share a line (a row's identity).
    data = file_of(ROW.format(n=1) + "\r" + ROW.format(n=2), "", ROW.format(n=3))
    fast, careful = both(new_database, folder, data)
    assert isinstance(fast, Read) and not fast.fast
    assert careful == fast
    assert [(r[0], r[1]) for r in fast.rows] == [(2, "enr-1"), (3, "enr-2"), (5, "enr-3")]


def test_rows_joined_by_lone_crs_are_all_read_each_on_its_line(new_database, folder):
    # An LF export with a classic Mac one joined to it: no record is lost behind a CR, and each
    # is on a line of its own (on one line, two new rows were given one id: the apply refused).
    data = file_of(ROW.format(n=1), "\r".join(ROW.format(n=n) for n in (2, 3, 4)) + "\r")
    got = read(new_database, folder, data, careful=True)
    assert isinstance(got, Read), got
    assert [(r[0], r[1]) for r in got.rows] == [(n, f"enr-{n - 1}") for n in (2, 3, 4, 5)]


@READERS
def test_a_quoted_value_holding_a_lone_cr_reads_as_that_value(new_database, folder, careful):
    data = file_of(ROW.format(n=1) + '"x\ry"', ROW.format(n=2))
    got = read(new_database, folder, data, careful=careful)
    assert isinstance(got, Read), got
    assert got.row(2)["endDate"] == "x\ry"
    assert got.row(4)["sourcedId"] == "enr-2"  # the CR is a line break, as in an editor


def test_a_crlf_file_takes_the_fast_reader(new_database, folder):
    data = file_of(ROW.format(n=1), ROW.format(n=2), newline="\r\n")
    fast, careful = both(new_database, folder, data)
    assert isinstance(fast, Read) and fast.fast
    assert careful == Read(False, fast.rows, fast.rejected, fast.issues, fast.hashes)


@pytest.mark.parametrize(
    "lines",
    [
        [ROW.format(n=1), "", ROW.format(n=2)],  # a blank line: fewer rows than lines
        [ROW.format(n=1) + ",", ROW.format(n=2)],  # one value too many
        [ROW.format(n=1).rsplit(",", 1)[0], ROW.format(n=2)],  # one value too few
    ],
    ids=["blank line", "too long", "too short"],
)
def test_an_irregular_crlf_file_is_left_to_the_careful_reader(new_database, folder, lines):
    got = read(new_database, folder, file_of(*lines, newline="\r\n"), careful=False)
    assert isinstance(got, Read) and not got.fast


# ------------------------------------------------------------------ byte-order marks
@READERS
def test_a_byte_order_mark_before_a_quoted_first_value_is_dropped(new_database, folder, careful):
    quoted = ",".join(f'"{v}"' for v in ROW.format(n=2).split(","))
    data = file_of(ROW.format(n=1), "\ufeff" + quoted, ROW.format(n=3))
    got = read(new_database, folder, data, careful=careful)
    assert isinstance(got, Read), got
    assert [r[1] for r in got.rows] == ["enr-1", "enr-2", "enr-3"]
    assert (3, "WARNING", "byte_order_mark") in got.issues


def test_a_byte_order_mark_reads_alike_on_both_readers(new_database, folder):
    data = file_of(ROW.format(n=1), "\ufeff" + ROW.format(n=2))
    fast, careful = both(new_database, folder, data)
    assert isinstance(fast, Read) and fast.row(3)["sourcedId"] == "enr-2"
    assert careful == Read(False, fast.rows, fast.rejected, fast.issues, fast.hashes)


# ------------------------------------------------------------------ the row hash
def test_both_readers_hash_a_row_alike(new_database, folder):
    data = file_of(ROW.format(n=1), ROW.format(n=2).replace(",active,", ', "active",'))
    fast, careful = both(new_database, folder, data)
    assert isinstance(fast, Read) and fast.fast and isinstance(careful, Read)
    assert careful.hashes == fast.hashes


# ------------------------------------------------------------------ property
_PIECES = ["enr", "x", " ", "  ", '"', '""', ",", "\r", "\n", "\r\n", "\ufeff", "é"]


@settings(
    max_examples=int(os.environ.get("AGREEMENT_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 9),
            st.sampled_from(["replace", "prefix", "suffix", "quote"]),
            st.lists(st.sampled_from(_PIECES), max_size=3),
        ),
        min_size=1,
        max_size=3,
    ),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_whenever_the_fast_reader_takes_a_file_the_careful_one_reads_it_alike(
    edits, newline, empty_template, tmp_path_factory
):
    rows = [ROW.format(n=n).split(",") for n in range(1, 4)]
    for row, column, how, pieces in edits:
        text = "".join(pieces)
        value = rows[row][column]
        rows[row][column] = {
            "replace": text,
            "prefix": text + value,
            "suffix": value + text,
            "quote": f'{pieces[0] if pieces else ""}"{value}"{text}',
        }[how]
    data = file_of(*(",".join(r) for r in rows), newline=newline)
    folder = tmp_path_factory.mktemp("agree")
    db_path = folder / "roster.duckdb"
    db_path.write_bytes(empty_template.read_bytes())
    db = Database(db_path)
    try:
        fast, careful = both(db, folder, data)
    finally:
        db.close()
    if isinstance(fast, Read) and fast.fast:
        assert careful == Read(False, fast.rows, fast.rejected, fast.issues, fast.hashes), data
