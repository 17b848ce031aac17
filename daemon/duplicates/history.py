"""A person's history across merges: the survivor's own and that of its tombstones.

Run changes and audit entries are never rewritten; a merged record's history stays filed under
its own id and is read together with the survivor's through merged_into.
"""

from __future__ import annotations

from typing import Any

from daemon.db import Database


def merged_ids(db: Database, user_id: int) -> list[int]:
    """The record and every tombstone merged into it (merges re-point older tombstones)."""
    return [
        int(r[0])
        for r in db.rows(
            "SELECT user_id FROM users WHERE user_id = ? OR merged_into = ? ORDER BY user_id",
            [user_id, user_id],
        )
    ]


def person_history(db: Database, user_id: int) -> list[dict[str, Any]]:
    """Which runs changed the person's records and who edited them, newest first."""
    ids = merged_ids(db, user_id) or [user_id]
    id_list = ", ".join(str(i) for i in ids)
    return db.dicts(
        f"""SELECT * FROM (
                SELECT r.decided_at AS happened_at, 'run ' || c.run_id AS who, c.op AS what,
                       c.record_id,
                       array_to_string(list_transform(coalesce(c.fields, []),
                           lambda f: f.field || ': ' || coalesce(f.old, '-') || ' -> ' || coalesce(f.new, '-')), '; ') AS detail
                FROM changes c JOIN runs r USING (run_id)
                WHERE c.kind IN ('students', 'staff', 'guardians') AND c.record_id IN ({id_list})
                  AND r.status = 'applied'
                UNION ALL
                SELECT u.created_at, 'run ' || u.created_run, 'create', u.user_id, NULL
                FROM users u WHERE u.user_id IN ({id_list}) AND u.created_run IS NOT NULL
                UNION ALL
                SELECT occurred_at, actor, action, target_id, details FROM audit_log
                WHERE target_kind = 'users' AND target_id IN ({id_list}))
            ORDER BY happened_at DESC, record_id LIMIT 500"""
    )
