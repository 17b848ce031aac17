"""Migration 0006 keeps the reason of an override on the run, including overrides made before it
(taken from the audit log, which has recorded the reason since the first schema)."""

from __future__ import annotations

import json

from daemon.db import Database
from daemon.db import migrate as migrate_module
from daemon.db.migrate import available_migrations

BEFORE_0006 = [m for m in available_migrations() if m[0] < 6]


def _old_database(path, monkeypatch) -> None:
    with monkeypatch.context() as older:
        older.setattr(migrate_module, "available_migrations", lambda: BEFORE_0006)
        db = Database(path)
    try:
        for run_id, override_by, reason in ((1, None, None), (2, "ana", " split "), (3, "bo", "")):
            db.execute(
                "INSERT INTO runs (run_id, source, source_kind, status, created_at, override_by) "
                "VALUES (?, '/drops/x', 'folder', 'applied', current_timestamp, ?)",
                [run_id, override_by],
            )
            if override_by:
                db.execute(
                    "INSERT INTO audit_log VALUES (nextval('audit_ids'), current_timestamp, ?, "
                    "'run.apply.override', 'run', ?, ?)",
                    [override_by, run_id, json.dumps({"reason": reason or None, "held": True})],
                )
    finally:
        db.close()


def test_overrides_made_before_the_migration_get_their_reason_from_the_audit_log(
    db_path, monkeypatch
):
    _old_database(db_path, monkeypatch)
    with Database(db_path) as db:
        reasons = db.rows("SELECT run_id, override_reason FROM runs ORDER BY run_id")
    assert reasons == [(1, None), (2, "split"), (3, None)]
