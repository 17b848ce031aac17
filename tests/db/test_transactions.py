"""Database.transaction keeps its promise: all of a block's writes, or none and an error."""

from __future__ import annotations

import contextlib

import duckdb
import pytest

from daemon.db import Database


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(tmp_path / "t.duckdb")
    database.execute("CREATE TABLE notes (n INTEGER)")
    return database


def _notes(db: Database) -> list[int]:
    return [r[0] for r in db.rows("SELECT n FROM notes ORDER BY n")]


def test_a_block_that_ends_commits_its_writes(db) -> None:
    with db.transaction():
        db.execute("INSERT INTO notes VALUES (1), (2)")
    assert _notes(db) == [1, 2]


def test_a_block_that_raises_writes_nothing(db) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO notes VALUES (1)")
        raise RuntimeError("stop")
    assert _notes(db) == []


def test_a_failed_statement_caught_inside_the_block_fails_the_block(db) -> None:
    """DuckDB would commit such a transaction silently and keep nothing: the block must say so."""
    with pytest.raises(duckdb.Error), db.transaction():
        db.execute("INSERT INTO notes VALUES (1)")
        with contextlib.suppress(duckdb.Error):
            db.execute("CHECKPOINT")  # not allowed with writes pending: aborts the transaction
    assert _notes(db) == []
    with db.transaction():  # and the connection is usable again
        db.execute("INSERT INTO notes VALUES (3)")
    assert _notes(db) == [3]
