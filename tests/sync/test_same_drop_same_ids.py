"""Two databases loaded from the same drops hold the same records under the same ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.db import Database
from daemon.service.engine import Engine
from tests.conftest import SAMPLE
from tests.directory_state import DIRECTORY_TABLES, directory_fingerprint

# Several DuckDB threads, as in production: what they may do to row order is the point here.
pytestmark = pytest.mark.duckdb_threads


def _load(path: Path) -> tuple:
    with Database(path) as db:
        engine = Engine(db, "tester")
        for day in ("day1", "day2"):
            run = engine.plan_source(str(SAMPLE / day))
            engine.apply_run(run.run_id, override=True, reason="same drop, two databases")
        return directory_fingerprint(db)


def test_two_fresh_databases_from_the_same_drops_agree_on_every_id(tmp_path):
    first = _load(tmp_path / "first.duckdb")
    second = _load(tmp_path / "second.duckdb")
    links = first[DIRECTORY_TABLES.index("guardian_links")]
    assert not links.startswith("0:"), "the drops carry guardian links to compare"
    assert dict(zip(DIRECTORY_TABLES, first, strict=False)) == dict(
        zip(DIRECTORY_TABLES, second, strict=False)
    )
    assert first == second  # the directory versions too
