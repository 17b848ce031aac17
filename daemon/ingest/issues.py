"""Row results that are not SUCCESS, gathered in Python or SQL and stored in `row_issues`."""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path

from daemon.db import Database, sql_literal

ERROR = "ERROR"
WARNING = "WARNING"


@dataclass(frozen=True)
class Issue:
    file_name: str
    line: int | None
    sourced_id: str | None
    severity: str
    column: str | None
    rule: str
    message: str


def store_issues(db: Database, run_id: int, issues: list[Issue], workdir: Path) -> None:
    if not issues:
        return
    if len(issues) <= 200:
        db.con.executemany(
            "INSERT INTO row_issues VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [run_id, i.file_name, i.line, i.sourced_id, i.severity, i.column, i.rule, i.message]
                for i in issues
            ],
        )
        return
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".csv", dir=workdir, delete=False, encoding="utf-8", newline=""
    ) as handle:
        writer = csv.writer(handle)
        for i in issues:
            writer.writerow(
                [i.file_name, i.line, i.sourced_id, i.severity, i.column, i.rule, i.message]
            )
        path = Path(handle.name)
    try:
        db.execute(
            f"""
            INSERT INTO row_issues
            SELECT ?, file_name, line, sourced_id, severity, column_name, rule, message
            FROM read_csv({sql_literal(str(path))}, header = false, auto_detect = false,
                 delim = ',', quote = '"', escape = '"',
                 columns = {{'file_name': 'VARCHAR', 'line': 'BIGINT', 'sourced_id': 'VARCHAR',
                            'severity': 'VARCHAR', 'column_name': 'VARCHAR', 'rule': 'VARCHAR',
                            'message': 'VARCHAR'}})
            """,
            [run_id],
        )
    finally:
        path.unlink(missing_ok=True)
