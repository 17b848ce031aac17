"""Reading runs and their history: summaries, pages of changes, row results, conflicts."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, TextIO

from daemon.db import Database, sql_ident, sql_literal
from daemon.ingest import ledger_table, run_schema
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
from daemon.sync.conflicts import open_conflict
from daemon.sync.kinds import CHANGE_KINDS, OPS, REFERENCES, TABLES
from daemon.sync.runs import RunError, later_drop_applied

MAX_PAGE = 500


def get_run(db: Database, run_id: int) -> Run:
    runs = _read_runs(db, "WHERE run_id = ?", [run_id])
    if not runs:
        raise RunError(f"there is no run {run_id}")
    return runs[0]


def list_runs(db: Database, limit: int = 200) -> list[Run]:
    """The newest runs first, at most MAX_PAGE of them (a socket reply stays bounded)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    return _read_runs(db, "ORDER BY run_id DESC LIMIT ?", [limit])


# -- runs, one query for any number of them -------------------------------------------------
# A run is its `runs` row plus its files, their row counts and its conflict counts. Each piece is
# aggregated per run over the selected runs only, so a page of 200 runs is one query, not 600.

RUN_FILE_FIELDS = tuple(RunFile.model_fields)


def _selected_runs(selection: str) -> str:
    """The runs asked for (one by id, or the newest page): every later piece joins to it."""
    return f"SELECT * FROM runs {selection}"


def _files_per_run() -> str:
    """Each selected run's files in the order they are shown, and their row counts summed."""
    fields = ", ".join(f"{sql_literal(name)}: {sql_ident(name)}" for name in RUN_FILE_FIELDS)
    return f"""SELECT run_id, list({{{fields}}} ORDER BY entity NULLS LAST, file_name) AS files,
                      sum(success) AS rows_success, sum(warning) AS rows_warning,
                      sum(error) AS rows_error
               FROM run_files WHERE run_id IN (SELECT run_id FROM selected) GROUP BY run_id"""


def _file_warnings_per_run() -> str:
    """Each selected run's warnings about its files themselves (the manifest, a header): they
    name no data row, so the row counts leave them out."""
    return """SELECT i.run_id, count(*) AS file_warnings FROM row_issues i
              WHERE i.run_id IN (SELECT run_id FROM selected) AND i.severity = 'WARNING'
                AND (coalesce(i.line, 1) <= 1 OR i.file_name NOT IN (
                    SELECT f.file_name FROM run_files f
                    WHERE f.run_id = i.run_id AND f.entity IS NOT NULL))
              GROUP BY i.run_id"""


def _conflicts_per_run() -> str:
    """Each selected run's conflicts, how many of them still block its apply, and how many were
    decided each way."""
    return """SELECT run_id, count(*) AS conflicts,
                     count(*) FILTER (WHERE blocking AND decision IS NULL) AS blocking_conflicts,
                     count(*) FILTER (WHERE decision = 'take') AS taken_conflicts,
                     count(*) FILTER (WHERE decision = 'keep') AS kept_conflicts,
                     count(*) FILTER (WHERE decision = 'ignore') AS ignored_conflicts
              FROM conflicts WHERE run_id IN (SELECT run_id FROM selected) GROUP BY run_id"""


def _runs_query(selection: str) -> str:
    """The selected runs, newest first, each with its files and counts (none: empty, zero)."""
    return f"""WITH selected AS ({_selected_runs(selection)}),
                    files AS ({_files_per_run()}),
                    conflict_counts AS ({_conflicts_per_run()}),
                    file_warnings AS ({_file_warnings_per_run()})
               SELECT selected.*, coalesce(files.files, []) AS files,
                      coalesce(rows_success, 0) AS rows_success,
                      coalesce(rows_warning, 0) AS rows_warning,
                      coalesce(rows_error, 0) AS rows_error,
                      coalesce(file_warnings, 0) AS file_warnings,
                      coalesce(conflicts, 0) AS conflicts,
                      coalesce(blocking_conflicts, 0) AS blocking_conflicts,
                      coalesce(taken_conflicts, 0) AS taken_conflicts,
                      coalesce(kept_conflicts, 0) AS kept_conflicts,
                      coalesce(ignored_conflicts, 0) AS ignored_conflicts,
                      ({later_drop_applied("selected")}) AS later_drop_applied
               FROM selected LEFT JOIN files USING (run_id)
                    LEFT JOIN conflict_counts USING (run_id)
                    LEFT JOIN file_warnings USING (run_id)
               ORDER BY run_id DESC"""


def _read_runs(db: Database, selection: str, params: list[Any]) -> list[Run]:
    return [_run_from_row(row) for row in db.dicts(_runs_query(selection), params)]


def _run_from_row(row: dict[str, Any]) -> Run:
    summary = json.loads(row["summary_json"] or "{}")
    changes = empty_changes()
    for kind, ops in summary.get("changes", {}).items():
        changes.setdefault(kind, {}).update({op: int(n) for op, n in ops.items()})
    return Run(
        run_id=row["run_id"],
        status=row["status"],
        source=row["source"],
        source_kind=row["source_kind"],
        created_at=row["created_at"],
        planned_at=row["planned_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        override_by=row["override_by"],
        override_reason=row.get("override_reason"),
        oneroster_version=row["oneroster_version"],
        hold_reasons=list(row["hold_reasons"] or []),
        changes=changes,
        rows=RowCounts(
            success=int(row["rows_success"]),
            warning=int(row["rows_warning"]),
            error=int(row["rows_error"]),
            file_warnings=int(row["file_warnings"]),
        ),
        conflicts=int(row["conflicts"]),
        blocking_conflicts=int(row["blocking_conflicts"]),
        conflict_decisions={
            "take": int(row["taken_conflicts"]),
            "keep": int(row["kept_conflicts"]),
            "ignore": int(row["ignored_conflicts"]),
        },
        error=row["error"],
        base_version=row["base_version"],
        content_hash=row["content_hash"],
        notes=summary.get("notes", []),
        thresholds=[Threshold(**t) for t in summary.get("thresholds", [])],
        settings=json.loads(row["settings_json"] or "{}"),
        timings=json.loads(row["timings_json"] or "{}"),
        files=[RunFile(**f) for f in row["files"]],
        withheld=_in_kind_order(summary.get("withheld", {})),
        withheld_why=row.get("withheld_why"),
        withheld_decision=row.get("withheld_decision"),
        withheld_decided_by=row.get("withheld_decided_by"),
        withheld_decided_at=row.get("withheld_decided_at"),
        withheld_reason=row.get("withheld_reason"),
        withheld_outcome=summary.get("withheld_outcome", {}),
        reverted_run=row.get("reverted_run"),
        later_drop_applied=row.get("later_drop_applied"),
        scope=list(row.get("scope") or []),
        source_name=row.get("source_name"),
        fetch=json.loads(row["fetch_json"]) if row.get("fetch_json") else None,
    )


def _in_kind_order(counts: dict[str, Any]) -> dict[str, int]:
    """Counts per kind in the one order every screen lists kinds in (a stored summary's key
    order is whatever the database grouped them in)."""
    return {kind: int(counts[kind]) for kind in CHANGE_KINDS if counts.get(kind)}


def change_page(
    db: Database,
    run_id: int,
    *,
    kind: str | None = None,
    op: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page:
    """A page of a run's changes in kind, then operation order; never the whole run."""
    limit = max(1, min(limit, MAX_PAGE))
    run = get_run(db, run_id)
    groups = [
        (k, o, run.changes.get(k, {}).get(o, 0))
        for k in CHANGE_KINDS
        for o in OPS
        if (kind is None or k == kind) and (op is None or o == op)
    ]
    total = sum(n for _, _, n in groups)
    items: list[Change] = []
    skip = offset
    for k, o, n in groups:
        if skip >= n:
            skip -= n
            continue
        take = min(limit - len(items), n - skip)
        rows = (
            _creates(db, run, k, skip, take)
            if o == "create"
            else _changes(db, run_id, k, o, skip, take)
        )
        position = offset + len(items)
        for i, row in enumerate(rows):
            row.seq = position + i + 1
        items += rows
        skip = 0
        if len(items) >= limit:
            break
    return Page(total=total, offset=offset, items=items)


def _changes(db: Database, run_id: int, kind: str, op: str, skip: int, take: int) -> list[Change]:
    rows = db.dicts(
        "SELECT * FROM changes WHERE run_id = ? AND kind = ? AND op = ? ORDER BY seq LIMIT ? OFFSET ?",
        [run_id, kind, op, take, skip],
    )
    return [
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


USER_KINDS = {"students": "student", "staff": "staff", "guardians": "guardian"}


def _creates(db: Database, run: Run, kind: str, skip: int, take: int) -> list[Change]:
    """Creates are listed from the plan table until applied, then from the directory."""
    table = next(
        t for t in TABLES if t.change_kind == kind or (t.name == "users" and kind in USER_KINDS)
    )
    kind_filter = f"AND kind = {sql_literal(USER_KINDS[kind])}" if kind in USER_KINDS else ""
    schema = run_schema(run.run_id)
    sis = "sis_id" if "sis_id" in table.compared else "NULL"
    refs = REFERENCES.get(table.name)
    ref_cols = f", {refs[0][0]}, {refs[1][0]}" if refs else ", NULL, NULL"
    planned = db.table_exists(f"plan_{table.name}", schema)
    has_trace = db.table_exists("trace", schema)

    def traced(file: str, line: str) -> str:
        """A converted drop's creates name the original file and line (sync/retrace.py)."""
        if not has_trace:
            return f"{file}, {line}"
        return f"coalesce(t.original_file, p.{file}), coalesce(t.original_line, p.{line})"

    def trace_join(file: str, line: str) -> str:
        if not has_trace:
            return ""
        return f"LEFT JOIN {schema}.trace t ON lower(p.{file}) = t.file AND p.{line} = t.line"

    if planned:
        rows = db.rows(
            f"""SELECT id, {sis}, {"coalesce(_label, given_name || ' ' || family_name)" if table.name == "users" else "_label"},
                       {traced("_file", "_line")} {ref_cols} FROM {schema}.plan_{table.name} p
                {trace_join("_file", "_line")}
                WHERE op = 'create' {kind_filter} LIMIT ? OFFSET ?""",
            [take, skip],
        )
    elif run.status == "applied":
        label = {"users": "given_name || ' ' || family_name", "student_attributes": "name"}.get(
            table.name, "name" if table.name in ("schools", "classrooms") else "NULL"
        )
        rows = db.rows(
            f"""SELECT {table.id_col}, {sis}, {label}, {traced("source_file", "source_line")}
                       {ref_cols} FROM {table.name} p {trace_join("source_file", "source_line")}
                WHERE created_run = ? {kind_filter} LIMIT ? OFFSET ?""",
            [run.run_id, take, skip],
        )
    else:
        rows = []
    labels = _reference_labels(db, schema if planned else None, refs, rows) if refs else {}
    return [
        Change(
            seq=0,
            kind=kind,
            op="create",
            record_id=r[0],
            sis_id=r[1],
            label=r[2] or labels.get(r[0]),
            source_file=r[3],
            source_line=r[4],
            note=None,
        )
        for r in rows
    ]


def _reference_labels(
    db: Database, schema: str | None, refs: tuple, rows: list[tuple]
) -> dict[int, str]:
    """'stu-1 in cls-2' for a page of rows, looking the SIS ids up in the directory and the plan."""
    names: list[dict[int, str]] = []
    for position, (_col, table, id_col) in enumerate(refs[:2]):
        ids = sorted({int(r[5 + position]) for r in rows if r[5 + position] is not None})
        found: dict[int, str] = {}
        if ids:
            id_list = ", ".join(str(i) for i in ids)
            found.update(
                db.rows(f"SELECT {id_col}, sis_id FROM {table} WHERE {id_col} IN ({id_list})")
            )
            if schema and db.table_exists(f"plan_{table}", schema):
                found.update(
                    db.rows(f"SELECT id, sis_id FROM {schema}.plan_{table} WHERE id IN ({id_list})")
                )
        names.append(found)
    return {r[0]: f"{names[0].get(r[5], '?')}{refs[2]}{names[1].get(r[6], '?')}" for r in rows}


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
        where.append(open_conflict("conflicts"))
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
        if not db.table_exists(f"ledger_{entity}", schema):
            continue
        parts.append(
            f"""SELECT ? AS file_name, s._line AS line, s.sourced_id, 'SUCCESS', NULL, NULL
                FROM {ledger_table(run_id, entity)} s
                ANTI JOIN (SELECT line FROM row_issues WHERE run_id = ? AND file_name = ?) i ON i.line = s._line"""
        )
        params += [file_name, run_id, file_name]
    return " UNION ALL ".join(parts), params


# A total order: a row may have several issues, and pages must neither skip nor repeat one.
RESULTS_ORDER = "file_name, line, status, column_name NULLS FIRST, message NULLS FIRST"


def results_page(
    db: Database, run_id: int, *, status: str | None = None, offset: int = 0, limit: int = 100
) -> Page:
    sql, params = _results_sql(db, run_id)
    where = "WHERE status = ?" if status else ""
    extra = [status.upper()] if status else []
    total = int(db.one(f"SELECT count(*) FROM ({sql}) {where}", [*params, *extra]))
    rows = db.dicts(
        f"SELECT * FROM ({sql}) {where} ORDER BY {RESULTS_ORDER} LIMIT ? OFFSET ?",
        [*params, *extra, max(1, min(limit, MAX_PAGE)), offset],
    )
    return Page(total=total, offset=offset, items=[RowResult(**r) for r in rows])


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading quote (OWASP's advice
    against CSV injection); every other cell is written as it is."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def write_results_csv(db: Database, run_id: int, out: TextIO) -> int:
    """The seed product's downloadable upload results: one line per row result.

    People open this file in spreadsheets and its cells carry text from the drop (sourcedIds,
    values quoted in messages), so cells that would start a formula are neutralised. `export`,
    whose files programs read back, stays byte-faithful."""
    get_run(db, run_id)
    sql, params = _results_sql(db, run_id)
    cursor = db.con.execute(f"SELECT * FROM ({sql}) ORDER BY {RESULTS_ORDER}", params)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "line", "sourcedId", "status", "column", "message"])
    written = 0
    while batch := cursor.fetchmany(10_000):
        writer.writerows([spreadsheet_safe(cell) for cell in row] for row in batch)
        written += len(batch)
    return written


def results_to_file(db: Database, run_id: int, path: Path) -> int:
    with open(path, "w", encoding="utf-8", newline="") as out:
        return write_results_csv(db, run_id, out)
