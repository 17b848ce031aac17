"""A converted drop's trace applied to its run: changes and row results name the original file
and line (a Clever CSV's students.csv line 7), not the OneRoster line it was translated to.

The translation (daemon.sources.clever_csv) writes pull/trace/<file>.gz beside each OneRoster file:
`line,page,index` where page is the original file and index its line. Only what this run reports
is re-pointed (changes, conflicts, row results); the directory's own records keep the OneRoster
file they were staged from, which is what decides what a bulk file leaves out.
"""

from __future__ import annotations

from pathlib import Path

from daemon.db import Database, sql_literal
from daemon.ingest import run_schema

# Row results the conversion itself made already name the original file and line.
CONVERTED_RULE_PREFIX = "clever-"


def retrace(db: Database, run_id: int, root: Path) -> None:
    folder = root / "pull" / "trace"
    traces = sorted(folder.glob("*.csv.gz")) if folder.is_dir() else []
    if not traces:
        return
    selects = [
        f"""SELECT {sql_literal(path.name.removesuffix(".gz").lower())} AS file, line,
                   page AS original_file, "index" AS original_line
            FROM read_csv({sql_literal(str(path))}, header = true, auto_detect = false,
                 columns = {{'line': 'BIGINT', 'page': 'VARCHAR', 'index': 'BIGINT'}})"""
        for path in traces
    ]
    # Kept in the run's schema: the creates of a run are listed from its plan tables, whose
    # lines are the translation's (queries._creates maps them through this table).
    table = trace_table(run_id)
    db.execute(f"CREATE OR REPLACE TABLE {table} AS {' UNION ALL '.join(selects)}")
    for target, file_col, line_col, extra in (
        ("changes", "source_file", "source_line", ""),
        ("conflicts", "source_file", "source_line", ""),
        ("row_issues", "file_name", "line", f"AND x.rule NOT LIKE '{CONVERTED_RULE_PREFIX}%'"),
    ):
        # A row result's message names its place too ("users.csv line 14: ...").
        message = (
            ", message = replace(x.message, x.file_name || ' line ' || x.line, "
            "t.original_file || ' line ' || t.original_line)"
            if target == "row_issues"
            else ""
        )
        db.execute(
            f"""UPDATE {target} x SET {file_col} = t.original_file, {line_col} = t.original_line
                       {message}
                FROM {table} t
                WHERE x.run_id = ? AND lower(x.{file_col}) = t.file
                  AND x.{line_col} = t.line {extra}""",
            [run_id],
        )


def trace_table(run_id: int) -> str:
    return f"{run_schema(run_id)}.trace"
