"""The CLI through its real entry point (`roster-sync` is `daemon.cli.main:main`)."""

from __future__ import annotations

import pytest

from daemon.cli.main import main


@pytest.fixture
def cli(db_path, capsys, monkeypatch):
    """Run `roster-sync --db <test db> ...` in process; returns (exit code, stdout, stderr)."""
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", str(db_path), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
