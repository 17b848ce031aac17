"""A column the product does not know is kept and changes nothing, whatever its name.

Staging tables have names of their own: DuckDB's `rowid`, which gives each row its line and its
place, and the columns the reader and the checks add (`_line`, `_rid`, `_h`, ...). A file column
with one of those names once hid them: an SIS export with an Oracle-style ROWID column got wrong
line numbers, skipped value checks and archived a record its changed row named.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.formats.spec import ENROLLMENTS
from daemon.ingest.header import read_header
from daemon.service.engine import Engine
from tests.district import TinyDistrict

# DuckDB's row number in two spellings, what the reader and the checks add, and a name of the
# ledger's own (kept apart there by DuckDB).
NAMES = ("rowid", "ROWID", "_line", "_rid", "_h", "_misshapen", "_first_line", "sourced_id")
# A line with more values than the header names: the file goes to the careful reader (the
# message counts the header's columns, so it is compared without it).
RAGGED = "enr-ragged,,,cls-1,sch-1,stu-1,student,false,,," + "too many," * 5 + "\n"


def _nights(district: TinyDistrict, column: str | None) -> list[TinyDistrict]:
    """Night 1 as given; night 2 with one membership changed and one value broken. With
    `column`: an extra enrollments.csv column of that name, numbered on night 1, empty on 2."""
    first, second = district.copy(), district.copy()
    second.rows("enrollments.csv")[3]["endDate"] = "2027-06-30"
    second.rows("enrollments.csv")[5]["beginDate"] = "not a date"
    if column is not None:
        for night, value in ((first, lambda i: str(i + 1)), (second, lambda i: "")):
            for i, row in enumerate(night.rows("enrollments.csv")):
                row[column] = value(i)
    return [first, second]


def _night(engine: Engine, drop: Path) -> tuple:
    """What a night plans and reports of its rows (line 1 aside: the unknown column's note),
    then applies it."""
    run = engine.plan_source(str(drop))
    rows = engine.db.rows(
        """SELECT file_name, line, severity, rule,
                  CASE WHEN message LIKE '%enr-ragged%' OR message LIKE '%values%' THEN ''
                       ELSE message END
           FROM row_issues WHERE run_id = ? AND line > 1 ORDER BY ALL""",
        [run.run_id],
    )
    if run.status in ("planned", "held"):
        engine.apply_run(run.run_id, override=True, reason="test", scan_duplicates=False)
    return run.status, run.changes, rows


def _run(folder: Path, template: Path, nights: list[TinyDistrict], ragged: bool) -> list[tuple]:
    folder.mkdir()
    (folder / "roster.duckdb").write_bytes(template.read_bytes())
    engine = Engine(Database(folder / "roster.duckdb"), "tester")
    said = []
    try:
        for night in nights:
            drop = night.write(folder / "drops")
            if ragged:
                with open(drop / "enrollments.csv", "a", encoding="utf-8") as out:
                    out.write(RAGGED)
            said.append(_night(engine, drop))
    finally:
        engine.db.close()
    return said


@pytest.fixture(scope="module")
def without_the_column(
    tmp_path_factory: pytest.TempPathFactory, empty_template: Path
) -> Callable[[bool], list[tuple]]:
    """What the two nights plan with no extra column, per reader: the same for every name,
    so worked out once each."""
    said: dict[bool, list[tuple]] = {}

    def _said(ragged: bool) -> list[tuple]:
        if ragged not in said:
            folder = tmp_path_factory.mktemp("without") / "run"
            said[ragged] = _run(folder, empty_template, _nights(TinyDistrict(), None), ragged)
        return said[ragged]

    return _said


@pytest.mark.parametrize("ragged", [False, True], ids=["fast reader", "careful reader"])
@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_column_changes_nothing_whatever_its_name(
    tmp_path: Path,
    empty_template: Path,
    without_the_column: Callable[[bool], list[tuple]],
    name: str,
    ragged: bool,
) -> None:
    with_it = _run(tmp_path / "with", empty_template, _nights(TinyDistrict(), name), ragged)
    assert with_it == without_the_column(ragged)
    second_night = with_it[1][1]["enrollments"]
    assert second_night["update"] == 1 and second_night["archive"] == 0


def test_a_column_named_as_staging_names_its_own_is_kept_under_another_name(tmp_path: Path) -> None:
    path = tmp_path / "enrollments.csv"
    path.write_text(
        "sourcedId,classSourcedId,schoolSourcedId,userSourcedId,role,ROWID,_line,file.ROWID\n"
    )
    header = read_header(path, ENROLLMENTS)
    assert header.names[5:] == ["_file.ROWID", "file._line", "file.ROWID"]
    assert header.unknown == ["_file.ROWID", "file._line", "file.ROWID"]
    assert "column 'ROWID' is kept as '_file.ROWID'" in " ".join(header.warnings)
