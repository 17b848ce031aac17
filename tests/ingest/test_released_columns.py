"""After validation, staging frees what planning never reads (daemon/ingest/load.py,
`release_ingest_columns`): the memory goes, the rows and their lines stay."""

from __future__ import annotations

import pytest

from tests.ingest.reading import ingest_folder


@pytest.fixture
def db(new_database):
    return new_database


def _ingest(db, tiny, tmp_path):
    return ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")


def _table_columns(db, name: str) -> list[str]:
    query = "SELECT column_name FROM duckdb_columns() WHERE table_name = ?"
    return [c for (c,) in db.rows(query, [name])]


def test_the_row_hash_and_reader_marks_are_freed(db, tiny, tmp_path):
    outcome = _ingest(db, tiny, tmp_path)
    behind = _table_columns(db, f"run{outcome.run_id}_enrollments__rows")
    assert {"_h", "_bom_line", "_misshapen", "dateLastModified"}.isdisjoint(behind)


@pytest.mark.parametrize("entity", ["users", "demographics"])
def test_the_people_keep_their_row_hash_for_planning(db, tiny, tmp_path, entity):
    """A person is recognised from the hashes of their rows (sync/unchanged.py raw_key)."""
    outcome = _ingest(db, tiny, tmp_path)
    behind = _table_columns(db, f"run{outcome.run_id}_{entity}__rows")
    assert "_h" in behind and {"_bom_line", "_misshapen"}.isdisjoint(behind)
    assert "_h" in _table_columns(db, f"run{outcome.run_id}_{entity}")


def test_a_freed_column_reads_as_empty_and_every_row_keeps_its_line(db, tiny, tmp_path):
    outcome = _ingest(db, tiny, tmp_path)
    rows = db.rows(f'SELECT _line, sourcedId, dateLastModified FROM "run{outcome.run_id}_users"')
    assert [line for line, _, _ in rows] == list(range(2, len(tiny.rows("users.csv")) + 2))
    assert {modified for _, _, modified in rows} == {None}
    assert rows[0][1] == tiny.rows("users.csv")[0]["sourcedId"]
