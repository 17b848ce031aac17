"""The files of a run, their hashes, and how many of their rows succeeded, warned or failed."""

from __future__ import annotations

from daemon.db import Database, sql_literal
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
    files: list[tuple[str, str]] | None = None
    if drop is not None:
        db.execute("DELETE FROM run_files WHERE run_id = ?", [run_id])
        listed = [(f, True) for f in drop.files.values()] + [(f, False) for f in drop.ignored]
        if listed:  # one statement for every file
            db.execute(
                "INSERT INTO run_files (run_id, file_name, entity, mode, present, sha256, "
                "size_bytes, note) VALUES "
                + ", ".join(["(?, ?, ?, ?, true, ?, ?, ?)"] * len(listed)),
                [
                    value
                    for file, loaded in listed
                    for value in (
                        run_id,
                        file.name,
                        file.entity if loaded else None,
                        file.mode if loaded else None,
                        file.sha256,
                        file.size,
                        None if loaded else "not loaded",
                    )
                ],
            )
        files = [(f.name, f.entity) for f, loaded in listed if loaded and f.entity is not None]
    _count_rows(db, run_id, files)


def _count_rows(db: Database, run_id: int, listed: list[tuple[str, str]] | None) -> None:
    """Each staged file's rows and their results, in one statement for all the files (a
    statement apiece cost a drop of a few rows as much as planning one of its steps).
    `listed`: the run's files and entities, when just written (else read from run_files)."""
    schema = run_schema(run_id)
    ledgers = {name for name in db.tables(schema) if name.startswith("ledger_")}
    if listed is None:
        listed = db.rows(
            "SELECT file_name, entity FROM run_files WHERE run_id = ? AND entity IS NOT NULL",
            [run_id],
        )
    files = [(file_name, entity) for file_name, entity in listed if f"ledger_{entity}" in ledgers]
    if not files:
        return
    staged = " UNION ALL ".join(
        f"SELECT {sql_literal(file_name)} AS file_name, count(*) AS staged "
        f"FROM {ledger_table(run_id, entity)}"
        for file_name, entity in files
    )
    db.execute(
        f"""
        WITH staged AS ({staged}),
        issues AS (SELECT file_name, line, severity, rule FROM row_issues
                   WHERE run_id = ? AND file_name IN (SELECT file_name FROM staged)),
        per_line AS (
            SELECT file_name, line, bool_or(severity = 'ERROR') AS has_error,
                   bool_or(rule IN {READER_RULES}) AS rejected
            FROM issues WHERE line > 1 GROUP BY file_name, line),
        results AS (
            SELECT file_name, count(*) FILTER (WHERE rejected) AS rejected,
                   count(*) FILTER (WHERE has_error) AS errors,
                   count(*) FILTER (WHERE NOT has_error) AS warnings
            FROM per_line GROUP BY file_name),
        converted AS (
            SELECT file_name, count(*) AS converted FROM issues WHERE rule = 'encoding'
            GROUP BY file_name),
        counted AS (
            SELECT s.file_name, s.staged + coalesce(r.rejected, 0) AS total,
                   coalesce(r.errors, 0) AS errors, coalesce(r.warnings, 0) AS warnings,
                   coalesce(c.converted, 0) > 0 AS converted
            FROM staged s LEFT JOIN results r USING (file_name)
            LEFT JOIN converted c USING (file_name))
        UPDATE run_files SET rows = c.total, error = c.errors, warning = c.warnings,
               success = c.total - c.errors - c.warnings,
               encoding = CASE WHEN c.converted THEN 'windows-1252' ELSE 'utf-8' END
        FROM counted c WHERE run_files.run_id = ? AND run_files.file_name = c.file_name
        """,
        [run_id, run_id],
    )
