"""The `tiny_applied` fixture's database is what applying the tiny district leaves: the tests that
start from it would see the same directory, run and trace as if they had applied it themselves."""

from __future__ import annotations

import shutil

from daemon.db import Database
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


def test_the_template_is_what_applying_the_tiny_district_leaves(
    sync, tiny, tiny_applied_template, tmp_path
) -> None:
    sync.apply(tiny)
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_applied_template, copy)
    template = Database(copy)
    try:
        assert _facts(template) == _facts(sync.engine.db)
    finally:
        template.close()


def test_asking_for_it_gives_run_1_applied(sync, tiny_applied) -> None:
    assert tiny_applied.run_id == 1 and tiny_applied.status == "applied"
    assert sync.engine.db.one("SELECT count(*) FROM runs") == 1
