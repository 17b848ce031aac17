"""A fingerprint of the whole directory, to show that something left it exactly as it was."""

from __future__ import annotations

from daemon.db import Database

DIRECTORY_TABLES = (
    "schools",
    "school_sis_ids",
    "users",
    "classrooms",
    "enrollments",
    "guardian_links",
    "student_attributes",
)


def directory_fingerprint(db: Database) -> tuple:
    """Row count and content hash per table (timestamps left out: two applies differ there),
    then the directory version."""
    parts: list = [
        db.one(
            "SELECT count(*) || ':' || coalesce(sum(hash(COLUMNS(lambda c: c NOT LIKE '%_at'))), 0) "
            f"FROM {table}"
        )
        for table in DIRECTORY_TABLES
    ]
    parts.append(db.directory_version())
    return tuple(parts)
