"""Reading runs and their history: summaries, pages of changes, row results, conflicts."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TextIO

from daemon.db import Database, sql_ident
from daemon.ingest import run_schema
from daemon.models import (
    Change,
    Conflict,
    FieldChange,
    Page,
    RowCounts,
    RowResult,
    Run,
    RunFile,
    Threshold,
    empty_changes,
)
from daemon.sync.runs import RunError

MAX_PAGE = 500


def get_run(db: Database, run_id: int) -> Run:
    rows = db.dicts("SELECT * FROM runs WHERE run_id = ?", [run_id])
    if not rows:
        raise RunError(f"there is no run {run_id}")
    return _run_from_row(db, rows[0])


def list_runs(db: Database, limit: int = 200) -> list[Run]:
    return [
        _run_from_row(db, r)
        for r in db.dicts("SELECT * FROM runs ORDER BY run_id DESC LIMIT ?", [limit])
    ]


def _run_from_row(db: Database, row: dict) -> Run:
    run_id = row["run_id"]
    changes = empty_changes()
    for kind, op, n in db.rows(
        "SELECT kind, op, count(*) FROM changes WHERE run_id = ? GROUP BY kind, op", [run_id]
    ):
        changes.setdefault(kind, {})[op] = int(n)
    counts = db.rows(
        "SELECT coalesce(sum(success), 0), coalesce(sum(warning), 0), coalesce(sum(error), 0) "
        "FROM run_files WHERE run_id = ?",
        [run_id],
    )[0]
    conflicts, blocking = db.rows(
        "SELECT count(*), count(*) FILTER (WHERE blocking AND decision IS NULL) FROM conflicts WHERE run_id = ?",
        [run_id],
    )[0]
    summary = json.loads(row["summary_json"] or "{}")
    files = [
        RunFile(**f)
        for f in db.dicts(
            """SELECT file_name, entity, mode, present, sha256, size_bytes, encoding, rows, success, warning,
                  error, note FROM run_files WHERE run_id = ? ORDER BY entity NULLS LAST, file_name""",
            [run_id],
        )
    ]
    return Run(
        run_id=run_id,
        status=row["status"],
        source=row["source"],
        source_kind=row["source_kind"],
        created_at=row["created_at"],
        planned_at=row["planned_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        override_by=row["override_by"],
        oneroster_version=row["oneroster_version"],
        hold_reasons=list(row["hold_reasons"] or []),
        changes=changes,
        rows=RowCounts(success=int(counts[0]), warning=int(counts[1]), error=int(counts[2])),
        conflicts=int(conflicts),
        blocking_conflicts=int(blocking),
        error=row["error"],
        base_version=row["base_version"],
        content_hash=row["content_hash"],
        notes=summary.get("notes", []),
        thresholds=[Threshold(**t) for t in summary.get("thresholds", [])],
        settings=json.loads(row["settings_json"] or "{}"),
        timings=json.loads(row["timings_json"] or "{}"),
        files=files,
    )


def change_page(
    db: Database,
    run_id: int,
    *,
    kind: str | None = None,
    op: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page:
    limit = max(1, min(limit, MAX_PAGE))
    where = ["run_id = ?"]
    params: list = [run_id]
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if op:
        where.append("op = ?")
        params.append(op)
    clause = " AND ".join(where)
    total = int(db.one(f"SELECT count(*) FROM changes WHERE {clause}", params))
    rows = db.dicts(
        f"SELECT * FROM changes WHERE {clause} ORDER BY seq LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    items = [
        Change(
            seq=r["seq"],
            kind=r["kind"],
            op=r["op"],
            record_id=r["record_id"],
            sis_id=r["sis_id"],
            label=r["label"],
            fields=[FieldChange(**f) for f in (r["fields"] or [])],
            source_file=r["source_file"],
            source_line=r["source_line"],
            note=r["note"],
        )
        for r in rows
    ]
    return Page(total=total, offset=offset, items=items)


def conflicts_for(
    db: Database,
    run_id: int | None = None,
    *,
    open_only: bool = False,
    offset: int = 0,
    limit: int = MAX_PAGE,
) -> Page:
    where, params = ["true"], []
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    if open_only:
        where.append("decision IS NULL")
    clause = " AND ".join(where)
    total = int(db.one(f"SELECT count(*) FROM conflicts WHERE {clause}", params))
    rows = db.dicts(
        f"SELECT * EXCLUDE (conflict_key) FROM conflicts WHERE {clause} ORDER BY conflict_id LIMIT ? OFFSET ?",
        [*params, max(1, min(limit, MAX_PAGE)), offset],
    )
    return Page(total=total, offset=offset, items=[Conflict(**r) for r in rows])


def _results_sql(db: Database, run_id: int) -> tuple[str, list]:
    """Every row's result: staged rows (SUCCESS unless they have issues) and rows with issues."""
    schema = run_schema(run_id)
    parts = [
        """SELECT file_name, line, sourced_id, severity AS status, column_name, message
                FROM row_issues WHERE run_id = ?"""
    ]
    params: list = [run_id]
    for file_name, entity in db.rows(
        "SELECT file_name, entity FROM run_files WHERE run_id = ? AND entity IS NOT NULL", [run_id]
    ):
        if not db.table_exists(entity, schema):
            continue
        key = "studentSourcedId" if entity == "student_attributes" else "sourcedId"
        parts.append(
            f"""SELECT ? AS file_name, s._line AS line, s.{sql_ident(key)} AS sourced_id, 'SUCCESS',
                       NULL, NULL
                FROM {sql_ident(schema)}.{sql_ident(entity)} s
                ANTI JOIN (SELECT line FROM row_issues WHERE run_id = ? AND file_name = ?) i ON i.line = s._line"""
        )
        params += [file_name, run_id, file_name]
    return " UNION ALL ".join(parts), params


def results_page(
    db: Database, run_id: int, *, status: str | None = None, offset: int = 0, limit: int = 100
) -> Page:
    sql, params = _results_sql(db, run_id)
    where = "WHERE status = ?" if status else ""
    extra = [status.upper()] if status else []
    total = int(db.one(f"SELECT count(*) FROM ({sql}) {where}", [*params, *extra]))
    rows = db.dicts(
        f"SELECT * FROM ({sql}) {where} ORDER BY file_name, line, status LIMIT ? OFFSET ?",
        [*params, *extra, max(1, min(limit, MAX_PAGE)), offset],
    )
    return Page(total=total, offset=offset, items=[RowResult(**r) for r in rows])


def write_results_csv(db: Database, run_id: int, out: TextIO) -> int:
    """The seed product's downloadable upload results: one line per row result."""
    get_run(db, run_id)
    sql, params = _results_sql(db, run_id)
    cursor = db.con.execute(f"SELECT * FROM ({sql}) ORDER BY file_name, line, status", params)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "line", "sourcedId", "status", "column", "message"])
    written = 0
    while batch := cursor.fetchmany(10_000):
        writer.writerows(batch)
        written += len(batch)
    return written


def results_to_file(db: Database, run_id: int, path: Path) -> int:
    with open(path, "w", encoding="utf-8", newline="") as out:
        return write_results_csv(db, run_id, out)
