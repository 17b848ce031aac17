"""The files of a run, their hashes, and how many of their rows succeeded, warned or failed."""

from __future__ import annotations

from daemon.db import Database
from daemon.formats.drop import Drop
from daemon.ingest import ledger_table, run_schema

READER_RULES = (
    "column_count", "quoting", "line_too_long", "unreadable", "value_too_long", "file_cut",
)  # fmt: skip

# The note of a whole file read as changes only tonight (a row whose record cannot be told, or
# cut short): it spoke only for its rows, so what it left out says nothing (sync/withheld.py).
READ_AS_CHANGES = "read as changes only"


def note_files_read_as_changes(db: Database, run_id: int, file_names: list[str]) -> None:
    if file_names:
        db.execute(
            "UPDATE run_files SET note = ? WHERE run_id = ? AND list_contains(?, file_name)",
            [READ_AS_CHANGES, run_id, file_names],
        )


def record_run_files(db: Database, run_id: int, drop: Drop | None) -> None:
    """With a drop: list its files. Without: (re)count each file's row results."""
    if drop is not None:
        db.execute("DELETE FROM run_files WHERE run_id = ?", [run_id])
        listed = [(f, True) for f in drop.files.values()] + [(f, False) for f in drop.ignored]
        for file, loaded in listed:
            db.execute(
                """INSERT INTO run_files (run_id, file_name, entity, mode, present, sha256, size_bytes, note)
                   VALUES (?, ?, ?, ?, true, ?, ?, ?)""",
                [
                    run_id,
                    file.name,
                    file.entity if loaded else None,
                    file.mode if loaded else None,
                    file.sha256,
                    file.size,
                    None if loaded else "not loaded",
                ],
            )
    schema = run_schema(run_id)
    for file_name, entity in db.rows(
        "SELECT file_name, entity FROM run_files WHERE run_id = ? AND entity IS NOT NULL", [run_id]
    ):
        if not db.table_exists(f"ledger_{entity}", schema):
            continue
        staged = int(db.one(f"SELECT count(*) FROM {ledger_table(run_id, entity)}"))
        rejected, errors, warnings, converted = db.rows(
            f"""
            WITH per_line AS (
                SELECT line, bool_or(severity = 'ERROR') AS has_error,
                       bool_or(rule IN {READER_RULES}) AS rejected
                FROM row_issues WHERE run_id = ? AND file_name = ? AND line > 1 GROUP BY line)
            SELECT (SELECT count(*) FROM per_line WHERE rejected),
                   (SELECT count(*) FROM per_line WHERE has_error),
                   (SELECT count(*) FROM per_line WHERE NOT has_error),
                   (SELECT count(*) FROM row_issues WHERE run_id = ? AND file_name = ? AND rule = 'encoding')
            """,
            [run_id, file_name, run_id, file_name],
        )[0]
        total = staged + int(rejected)
        db.execute(
            """UPDATE run_files SET rows = ?, error = ?, warning = ?, success = ?, encoding = ?
               WHERE run_id = ? AND file_name = ?""",
            [
                total,
                errors,
                warnings,
                total - errors - warnings,
                "windows-1252" if converted else "utf-8",
                run_id,
                file_name,
            ],
        )
