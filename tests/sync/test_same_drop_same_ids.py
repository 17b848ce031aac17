"""Two databases loaded from the same drop hold the same records under the same ids."""

from __future__ import annotations

from pathlib import Path

from daemon.db import Database
from daemon.service.engine import Engine
from tests.conftest import SAMPLE

DIRECTORY = (
    "schools",
    "classrooms",
    "users",
    "enrollments",
    "guardian_links",
    "student_attributes",
)


def _load(path: Path) -> dict[str, list[tuple]]:
    db = Database(path)
    try:
        engine = Engine(db, "tester")
        for day in ("day1", "day2"):
            run = engine.plan_source(str(SAMPLE / day))
            engine.apply_run(run.run_id, override=True, reason="same drop, two databases")
        tables = {}
        for table in DIRECTORY:
            # Times differ between the two loads; every other value must not.
            columns = [
                name
                for name, type_ in db.rows(
                    "SELECT column_name, data_type FROM duckdb_columns() "
                    "WHERE table_name = ? AND database_name = current_database()",
                    [table],
                )
                if not type_.startswith("TIMESTAMP")
            ]
            tables[table] = db.rows(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL")
        return tables
    finally:
        db.close()


def test_two_fresh_databases_from_the_same_drops_agree_on_every_id(tmp_path):
    first = _load(tmp_path / "first.duckdb")
    second = _load(tmp_path / "second.duckdb")
    for table in DIRECTORY:
        assert first[table], table
        assert first[table] == second[table], table
