"""Reading a drop as ingest does, keeping the run's working tables for inspection.

Planning drops its working tables when it ends, so tests of the ingest contract (the rejected
table planning reads) call ingest directly on a real database."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from daemon.db import Database, sql_ident
from daemon.formats.drop import DropError, open_drop
from daemon.ingest import ingest_drop
from daemon.ingest.header import FileRefused
from daemon.ingest.load import rejected_table
from daemon.progress import Progress

_RUN_IDS = itertools.count(900_001)


@dataclass
class Ingested:
    run_id: int
    error: str | None = None
    issues: list[dict] = field(default_factory=list)
    rejected: dict[str, list[dict]] = field(default_factory=dict)
    staged_keys: dict[str, list[str]] = field(default_factory=dict)
    value_checked: dict[str, int] = field(default_factory=dict)
    # Per file read as changes only tonight: the row whose record cannot be told (StagedFile).
    untold: dict[str, tuple[int, str, str] | None] = field(default_factory=dict)

    def only_rejected(self, entity: str) -> dict:
        rows = self.rejected[entity]
        assert len(rows) == 1, rows
        return rows[0]

    def issues_at(self, file_name: str, line: int) -> list[dict]:
        return [i for i in self.issues if i["file_name"] == file_name and i["line"] == line]


def ingest_folder(db: Database, folder: Path, workdir: Path) -> Ingested:
    run_id = next(_RUN_IDS)
    outcome = Ingested(run_id)
    try:
        drop = open_drop(folder, workdir)
    except DropError as exc:
        outcome.error = str(exc)
        return outcome
    try:
        result = ingest_drop(db, run_id, drop, workdir, lambda entity: None, Progress())
    except FileRefused as exc:
        outcome.error = str(exc)
        return outcome
    finally:
        drop.cleanup()
    outcome.value_checked = result.value_checked
    outcome.issues = db.dicts(
        "SELECT * FROM row_issues WHERE run_id = ? ORDER BY file_name, line", [run_id]
    )
    for entity, staged in result.staged.items():
        outcome.untold[entity] = staged.untold
        outcome.rejected[entity] = db.dicts(
            f"SELECT * FROM {rejected_table(run_id, entity)} ORDER BY _line"
        )
        key = sql_ident(drop.format.specs[entity].key[0])
        outcome.staged_keys[entity] = [
            r[0] for r in db.rows(f"SELECT {key} FROM {staged.table} ORDER BY _line")
        ]
    return outcome


def rewrite_line(path: Path, starts_with: str, new_text: str) -> int:
    """Replace the line that starts with `starts_with`; returns its line number (1-based)."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(starts_with))
    lines[index] = new_text
    path.write_bytes("\n".join(lines).encode("utf-8"))
    return index + 1


def line_text(path: Path, starts_with: str) -> str:
    return next(
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(starts_with)
    )
