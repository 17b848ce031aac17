"""DuckDB's memory, as every connection of Roster Sync configures it."""

from __future__ import annotations

import pytest

from daemon.db import Database
from daemon.db.database import MEMORY_LIMIT_ENV


def _bytes(db: Database, setting: str) -> float:
    """A size setting in bytes, however DuckDB shows it ('1.8 GiB', '16MB', '61.0 MiB')."""
    shown = str(db.one(f"SELECT current_setting('{setting}')")).replace(" ", "")
    units = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
    for unit in sorted(units, key=len, reverse=True):
        if shown.endswith(unit):
            return float(shown.removesuffix(unit)) * units[unit]
    raise AssertionError(f"{setting}: {shown!r}")


def test_the_configured_memory_limit_is_duckdbs(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "3GiB")
    with Database(tmp_path / "roster.duckdb") as db:
        assert _bytes(db, "memory_limit") == pytest.approx(3 * 2**30, rel=0.01)


def test_freed_memory_goes_back_to_the_system_early(tmp_path):
    """What the allocator keeps is not counted against the limit: a 3M-student first load and
    full scan went 0.3-0.4 GB over a 2 GB limit with DuckDB's thresholds (128 MB, 512 MB)."""
    with Database(tmp_path / "roster.duckdb") as db:
        assert _bytes(db, "allocator_flush_threshold") == pytest.approx(16e6, rel=0.05)
        assert _bytes(db, "allocator_bulk_deallocation_flush_threshold") == pytest.approx(
            64e6, rel=0.05
        )


def test_an_unreadable_memory_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match="expected a size such as 2GB"):
        Database(tmp_path / "roster.duckdb")
