"""Ingest: one drop -> validated staging tables, and a result for every input row.

Staging tables are temporary (they live as long as the planning process). What outlives it is
the row ledger of each file (line and sourcedId, kept in the run's schema) and the row issues,
so a run's per-row results can be written out at any time.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from daemon.db import Database, sql_ident, temp_table
from daemon.formats.drop import Drop, hash_file
from daemon.formats.spec import REQUIRED_ENTITIES
from daemon.ingest.header import FileRefused
from daemon.ingest.issues import WARNING, Issue, store_issues
from daemon.ingest.load import StagedFile, rejected_table, release_ingest_columns, stage_file
from daemon.ingest.validate import DirectoryIds, FileContext, Validator
from daemon.progress import Progress


@dataclass
class IngestResult:
    schema: str
    staged: dict[str, StagedFile] = field(default_factory=dict)
    contexts: dict[str, FileContext] = field(default_factory=dict)
    value_checked: dict[str, int] = field(default_factory=dict)  # see ingest.row_memo


def run_schema(run_id: int) -> str:
    return f"run_{run_id}"


def ledger_table(run_id: int, entity: str) -> str:
    return f"{run_schema(run_id)}.{sql_ident('ledger_' + entity)}"


def ingest_drop(
    db: Database,
    run_id: int,
    drop: Drop,
    workdir: Path,
    directory_ids: DirectoryIds,
    progress: Progress,
    records: DirectoryIds | None = None,
) -> IngestResult:
    """Load and validate every file; a FileRefused stops the run with nothing changed.
    `directory_ids` names the ids references may name in the directory, `records` the records
    a row may update (validate.Validator)."""
    schema = run_schema(run_id)
    db.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    result = IngestResult(schema)
    files = list(drop.files.values())
    ext_terms = drop.ext_terms
    notes = [
        Issue(n.file_name, n.line, n.sourced_id, n.severity, n.column, n.rule, n.message)
        for n in drop.warnings
    ]
    ignored: list[str] = []
    # Every file's refusal is told at once, a required file missing among them, so one
    # re-export fixes all.
    refused: list[str] = list(drop.missing)
    before = {f.name: _signature(f.path) for f in drop.all_files()}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hash") as hasher:
        # Hashing (for content identity and line checks) overlaps DuckDB's reading.
        hashed = hasher.submit(lambda: [hash_file(f) for f in drop.all_files() if f.sha256 is None])
        progress.start("Loading files", total=len(files))
        for file in files:
            if file.entity is None:
                continue
            spec = drop.format.specs[file.entity]
            progress.note(f"reading {file.name}")
            try:
                staged = stage_file(db, run_id, file, spec, workdir, ext_terms=ext_terms)
            except FileRefused as exc:
                if not _unused_empty_file(file.path, file.entity, str(exc)):
                    refused.append(str(exc))
                    progress.advance()
                    continue
                # A header-only optional file whose header is faulty carries nothing to sync.
                notes.append(
                    Issue(
                        file.name,
                        1,
                        None,
                        WARNING,
                        None,
                        "header",
                        f"{exc}; the file has no rows, so it is ignored",
                    )
                )
                ignored.append(file.entity)
                progress.advance()
                continue
            if staged.rows == 0 and staged.issues and _has_row_errors(staged):
                refused.append(
                    f"{file.name}: none of its {len(staged.issues)} rows could be read "
                    f"(first problem: {staged.issues[0].message})"
                )
            result.staged[file.entity] = staged
            progress.advance()
        hashed.result()
    refused += _changed_while_read(drop, before)
    if refused:
        raise FileRefused("; ".join(refused))
    for entity in ignored:
        drop.ignore(entity)
    files = list(drop.files.values())
    for file in files:
        if file.entity in result.staged:
            result.contexts[file.entity] = FileContext(
                result.staged[file.entity],
                drop.format.specs[file.entity],
                file.mode,
                has_controls=file.control_count is None or file.control_count > 0,
                ext_terms=ext_terms,
            )
    progress.finish()
    _create_empty_tables(db, run_id, drop, result)
    store_issues(db, run_id, notes, workdir)
    for staged in result.staged.values():
        store_issues(db, run_id, staged.issues, workdir)
    progress.start("Checking rows")
    with db.transaction():  # one commit for the many small checks
        validator = Validator(db, run_id, result.contexts, directory_ids, records)
        validator.run()
        _keep_ledgers(db, run_id, result)
    db.execute_all(s for staged in result.staged.values() for s in release_ingest_columns(staged))
    result.value_checked = validator.value_checked
    drop.notices += validator.inactive_statuses
    if validator.bulk_with_deletions:
        drop.notices.append(
            f"Rows of {', '.join(validator.bulk_with_deletions)} are marked tobedeleted, as a "
            "changes-only file's are; read as bulk all the same, as manifest.csv says (a record "
            "left out is archived). If the SIS sends only changes, mark the files delta in "
            "manifest.csv."
        )
    progress.finish()
    return result


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _changed_while_read(drop: Drop, before: dict[str, tuple[int, int] | None]) -> list[str]:
    """Files that changed while they were read: a writer still writing (an upload that paused
    longer than the quiet period, a copy into a folder the daemon had already taken). What was
    read is neither the old file nor the new one, so the run is refused, and nothing changes."""
    changed = []
    for file in drop.all_files():
        was, now = before.get(file.name), _signature(file.path)
        if was != now:
            sizes = (
                f" ({was[0]:,} bytes, then {now[0]:,})" if was and now and was[0] != now[0] else ""
            )
            changed.append(
                f"{file.name}: changed while it was read{sizes}; was it still being written? "
                "Send the drop again once it is complete"
            )
    return changed


def _unused_empty_file(path: Path, entity: str | None, error: str) -> bool:
    """An optional file with a header fault and no data rows: a fault in nothing that is synced."""
    if entity in REQUIRED_ENTITIES or "missing required column" not in error:
        return False
    with open(path, "rb") as handle:
        handle.readline(1 << 20)
        rest = handle.read(1 << 16)
    return not rest.strip()


def _has_row_errors(staged: StagedFile) -> bool:
    return any(i.severity == "ERROR" and (i.line or 0) > 1 for i in staged.issues)


def _keep_ledgers(db: Database, run_id: int, result: IngestResult) -> None:
    """Each row's line and id, plus the extra and metadata.* columns it carried (kept)."""
    statements = []
    for entity, ctx in result.contexts.items():
        key = ctx.spec.key[0]
        header = ctx.staged.header
        extra = "".join(
            f", {sql_ident(c)}"
            for c in (*header.unknown, *header.metadata)
            if ctx.spec.column(c) is None
        )
        statements.append(
            f"CREATE OR REPLACE TABLE {ledger_table(run_id, entity)} AS "
            f"SELECT _line, {sql_ident(key)} AS sourced_id{extra} FROM {ctx.table}"
        )
    db.execute_all(statements)


def _create_empty_tables(db: Database, run_id: int, drop: Drop, result: IngestResult) -> None:
    """Entities the drop does not carry get empty staging tables, so planning reads them alike."""
    statements = []
    for entity, spec in drop.format.specs.items():
        if entity in result.staged:
            continue
        columns = ", ".join(f"CAST(NULL AS VARCHAR) AS {sql_ident(c)}" for c in spec.column_names)
        statements += [
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT CAST(NULL AS BIGINT) AS _line, CAST(NULL AS BIGINT) AS _rid, {columns} "
            "WHERE false"
            for table in (temp_table(run_id, entity), rejected_table(run_id, entity))
        ]
    db.execute_all(statements)
