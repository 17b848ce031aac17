"""Shared fixtures: a real DuckDB file per test, the engine, the sample data and a tiny district."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.models import Run
from daemon.service.engine import Engine
from tests.district import TinyDistrict

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "roster.duckdb"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    db = Database(db_path)
    try:
        yield Engine(db, "tester")
    finally:
        db.close()


@pytest.fixture
def tiny() -> TinyDistrict:
    return TinyDistrict()


@pytest.fixture
def sample() -> Path:
    return SAMPLE


class Sync:
    """Small verbs for tests: plan a drop, apply it, read its issues and changes."""

    def __init__(self, engine: Engine, root: Path, scan_duplicates: bool = False) -> None:
        self.engine = engine
        self.root = root
        # Duplicate scanning after apply has its own tests (tests/duplicates turn it on).
        self.scan_duplicates = scan_duplicates

    def plan(self, drop: TinyDistrict | Path) -> Run:
        source = drop.write(self.root) if isinstance(drop, TinyDistrict) else drop
        return self.engine.plan_source(str(source))

    def apply(self, drop: TinyDistrict | Path, override: bool = False) -> Run:
        run = self.plan(drop)
        assert run.status in ("planned", "held"), run.error
        return self.engine.apply_run(
            run.run_id,
            override=override,
            reason="a test overrides the hold" if override else None,
            scan_duplicates=self.scan_duplicates,
        )

    def issues(self, run: Run, severity: str | None = None) -> list[dict]:
        sql = "SELECT * FROM row_issues WHERE run_id = ?"
        params: list = [run.run_id]
        if severity:
            sql += " AND severity = ?"
            params.append(severity)
        return self.engine.db.dicts(sql + " ORDER BY file_name, line", params)

    def changes(self, run: Run, kind: str | None = None, op: str | None = None) -> list[dict]:
        return [
            c.model_dump() for c in self.engine.change_page(run.run_id, kind, op, limit=500).items
        ]

    def user(self, sis_id: str) -> dict:
        return self.engine.db.dicts("SELECT * FROM users WHERE sis_id = ?", [sis_id])[0]


@pytest.fixture
def sync(engine: Engine, tmp_path: Path) -> Sync:
    return Sync(engine, tmp_path / "drops")
