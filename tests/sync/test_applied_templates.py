"""The database an APPLIED fixture (`tiny_applied`, ...) starts a test from is what applying its
drop under its settings leaves: the test sees the same directory, run and traces as if it had
applied the drop itself."""

from __future__ import annotations

import shutil

import pytest

from daemon.db import Database
from tests.conftest import APPLIED
from tests.directory_state import directory_fingerprint

# What a test may read of run 1 besides the directory (timestamps and the drop's folder aside).
RUN_FACTS = (
    "SELECT run_id, status, source_kind, content_hash, summary_json, hold_reasons, base_version, "
    "applied_version FROM runs ORDER BY run_id",
    "SELECT kind, op, record_id, sis_id, fields, source_file, source_line, note FROM changes "
    "ORDER BY run_id, seq",
    "SELECT file_name, line, severity, rule FROM row_issues ORDER BY ALL",
    "SELECT actor, action, target_kind, target_id FROM audit_log ORDER BY audit_id",
)


def _facts(db: Database) -> tuple:
    return directory_fingerprint(db), *(tuple(db.rows(sql)) for sql in RUN_FACTS)


@pytest.mark.parametrize("name", sorted(APPLIED))
def test_the_template_is_what_applying_the_drop_leaves(
    sync, applied_templates, tmp_path, name
) -> None:
    APPLIED[name].apply(sync, tmp_path / "drop")
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(applied_templates(name), copy)
    template = Database(copy)
    try:
        assert _facts(template) == _facts(sync.engine.db)
    finally:
        template.close()


def test_asking_for_it_gives_run_1_applied(sync, tiny_applied) -> None:
    assert tiny_applied.run_id == 1 and tiny_applied.status == "applied"
    assert sync.engine.db.one("SELECT count(*) FROM runs") == 1
