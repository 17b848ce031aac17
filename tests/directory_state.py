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
    """Row count and a hash of every row's values per table (timestamps, the `*_at` columns, left
    out: two applies differ there), then the directory version. Rows are hashed whole, so two
    tables holding the same values in other rows (ids swapped between records) differ."""
    parts: list = []
    for table in DIRECTORY_TABLES:
        values = ", ".join(c for c in db.columns(table) if not c.endswith("_at"))
        parts.append(
            db.one(f"SELECT count(*) || ':' || coalesce(sum(hash({values})), 0) FROM {table}")
        )
    parts.append(db.directory_version())
    return tuple(parts)
