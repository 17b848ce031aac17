"""Work that DuckDB undercounts runs under a smaller share of the configured memory limit."""

from __future__ import annotations

import pytest

from daemon.db import Database
from daemon.db.database import MEMORY_LIMIT_ENV
from daemon.duplicates import people
from daemon.duplicates.scan import MEMORY_SHARE, scan


def _limit(db: Database) -> str:
    return str(db.one("SELECT current_setting('memory_limit')"))


def _gib(shown: str) -> float:
    """The limit as DuckDB shows it ('1.8 GiB', '953.6 MiB'), in GiB."""
    number, unit = shown.split()
    return float(number) * 1024 ** (["KiB", "MiB", "GiB", "TiB"].index(unit) - 2)


def test_a_share_of_the_limit_is_given_back_when_the_work_ends(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "4GiB")
    with Database(tmp_path / "roster.duckdb") as db:
        whole = _limit(db)
        with db.memory_share(0.5):
            assert _gib(_limit(db)) == pytest.approx(2.0, abs=0.1)
        assert _limit(db) == whole
        assert _gib(whole) == pytest.approx(4.0, abs=0.1)


def test_the_limit_comes_back_when_the_work_fails(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "2GB")
    with Database(tmp_path / "roster.duckdb") as db:
        whole = _limit(db)
        with pytest.raises(RuntimeError), db.memory_share(0.5):
            raise RuntimeError("the work failed")
        assert _limit(db) == whole


def test_a_duplicate_scan_runs_under_its_share(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "2GB")
    seen: list[str] = []
    build_keys = people.build_keys

    def watched(db: Database) -> int:
        seen.append(_limit(db))
        return build_keys(db)

    monkeypatch.setattr(people, "build_keys", watched)
    with Database(tmp_path / "roster.duckdb") as db:
        whole = _limit(db)
        with db.memory_share(MEMORY_SHARE):
            share = _limit(db)
        scan(db, full=True)
        assert seen == [share]
        assert share != whole
        assert _limit(db) == whole
