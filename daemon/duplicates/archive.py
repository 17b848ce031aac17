"""Archiving students that no sync manages, in schools the sync now manages.

The seed product's advice before relying on the sync: hand-made students of a synced school are
either duplicates of synced students (merge them) or children who left; archiving them keeps
them (and their history) while leaving them out of classes and messages. A dry run counts first.
"""

from __future__ import annotations

from daemon.db import Database
from daemon.directory.records import archive_attached, directory_edit
from daemon.duplicates.models import ArchiveSummary

# Active hand-made students in a school that has active sync-managed students.
_TARGETS = """
    WITH synced AS (
        SELECT DISTINCT us.school_id FROM user_direct_schools us JOIN users u USING (user_id)
        WHERE u.kind = 'student' AND u.origin = 'sync' AND u.status = 'active'
    )
    SELECT DISTINCT u.user_id, us.school_id
    FROM users u JOIN user_direct_schools us USING (user_id) JOIN synced USING (school_id)
    WHERE u.kind = 'student' AND u.status = 'active' AND u.origin = 'hand'
"""


def archive_unsynced(db: Database, actor: str, dry_run: bool = True) -> ArchiveSummary:
    """Counts per school; unless dry_run, archives them in one audited transaction."""
    db.execute(f"CREATE OR REPLACE TEMP TABLE dup_unsynced AS {_TARGETS}")
    try:
        schools = db.dicts(
            """SELECT t.school_id, s.name, count(*) AS students
               FROM dup_unsynced t JOIN schools s USING (school_id)
               GROUP BY ALL ORDER BY s.name, t.school_id"""
        )
        total = int(db.one("SELECT count(DISTINCT user_id) FROM dup_unsynced"))
        result = ArchiveSummary.model_validate(
            {"dry_run": dry_run, "total": total, "archived": 0, "schools": schools}
        )
        if dry_run or total == 0:
            return result
        ids = [r[0] for r in db.rows("SELECT DISTINCT user_id FROM dup_unsynced ORDER BY 1")]
        details: dict[str, object] = {"total": total, "schools": schools, "user_ids": ids}
        with directory_edit(db, actor, "students.archive_unsynced", "users", None, details):
            db.execute(
                """UPDATE users SET status = 'archived', archived_run = NULL,
                          archived_at = current_timestamp, updated_at = current_timestamp
                   WHERE user_id IN (SELECT user_id FROM dup_unsynced) AND status = 'active'"""
            )
            # Out of classes and messages, as a hand archive takes them (an unarchive brings
            # them back).
            details["archived"] = archive_attached(db, "SELECT user_id FROM dup_unsynced")
        result.archived = total
        return result
    finally:
        db.execute("DROP TABLE IF EXISTS temp.dup_unsynced")
