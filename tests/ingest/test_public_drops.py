"""Public drops written by others (tests/fixtures/public, each with its source and licence) keep
the promises a district's own drops do: planned and applied, the same drop again changes
nothing, the directory passes `check`, and an export synced back changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.directory.integrity import check_directory

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "public"
DROPS = sorted(p.name for p in PUBLIC.iterdir() if p.is_dir())


@pytest.fixture(params=DROPS)
def applied(request, sync):
    run = sync.apply(PUBLIC / request.param)
    assert run.status == "applied", run.error
    return PUBLIC / request.param


def test_a_public_drop_planned_again_changes_nothing(sync, applied):
    assert sync.plan(applied).total_changes() == 0


def test_a_public_drop_leaves_a_directory_that_passes_check(sync, applied):
    assert [(name, n) for name, n in check_directory(sync.engine.db) if n] == []


def test_a_public_drops_export_synced_back_changes_nothing(sync, applied, tmp_path):
    sync.engine.export(str(tmp_path / "export"))
    assert sync.plan(tmp_path / "export").total_changes() == 0
