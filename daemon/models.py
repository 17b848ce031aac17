"""The shapes that leave the engine: for the CLI's --json, the socket API and the TUI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from daemon.sync.kinds import CHANGE_KINDS, OPS


def empty_changes() -> dict[str, dict[str, int]]:
    return {kind: {op: 0 for op in OPS} for kind in CHANGE_KINDS}


class RowCounts(BaseModel):
    success: int = 0
    warning: int = 0
    error: int = 0


class Threshold(BaseModel):
    kind: str
    archives: int
    active: int
    limit: int
    held: bool


class RunFile(BaseModel):
    file_name: str
    entity: str | None
    mode: str | None
    present: bool
    sha256: str | None
    size_bytes: int | None
    encoding: str | None
    rows: int | None
    success: int | None
    warning: int | None
    error: int | None
    note: str | None


class Run(BaseModel):
    run_id: int
    status: str
    source: str
    source_kind: str
    created_at: datetime
    planned_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    override_by: str | None = None
    override_reason: str | None = None
    oneroster_version: str | None = None
    hold_reasons: list[str] = Field(default_factory=list)
    changes: dict[str, dict[str, int]] = Field(default_factory=empty_changes)
    rows: RowCounts = Field(default_factory=RowCounts)
    conflicts: int = 0
    blocking_conflicts: int = 0
    error: str | None = None
    base_version: int | None = None
    content_hash: str | None = None
    notes: list[dict[str, str]] = Field(default_factory=list)
    thresholds: list[Threshold] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    files: list[RunFile] = Field(default_factory=list)

    def total_changes(self) -> int:
        return sum(sum(ops.values()) for ops in self.changes.values())


class FieldChange(BaseModel):
    field: str
    old: str | None
    new: str | None


class Change(BaseModel):
    seq: int
    kind: str
    op: str
    record_id: int
    sis_id: str | None
    label: str | None
    fields: list[FieldChange] = Field(default_factory=list)
    source_file: str | None
    source_line: int | None
    note: str | None


class RowResult(BaseModel):
    file_name: str
    line: int | None
    sourced_id: str | None
    status: str
    column_name: str | None = None
    message: str | None = None


class Conflict(BaseModel):
    conflict_id: int
    run_id: int
    kind: str
    record_kind: str | None
    record_id: int | None
    other_record_id: int | None
    sis_id: str | None
    label: str | None
    field: str | None
    feed_value: str | None
    directory_value: str | None
    message: str
    suggestion: str
    blocking: bool
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    source_file: str | None
    source_line: int | None


class Page(BaseModel):
    """A bounded slice of a long list: a run with a million changes never travels whole."""

    total: int
    offset: int
    items: list[Any]


class DaemonInfo(BaseModel):
    running: bool
    pid: int | None = None
    started_at: datetime | None = None
    inbox: str | None = None
    socket: str | None = None
    daily_sync_enabled: bool | None = None
    next_sync: datetime | None = None
    sync_on_arrival: bool | None = None
    sftp: str | None = None
    last_mirror: datetime | None = None
    last_mirror_result: str | None = None
    busy: str | None = None
    pending_drops: list[str] = Field(default_factory=list)


class Status(BaseModel):
    database: str
    schema_version: int
    directory_version: int
    active: dict[str, int]
    last_run: Run | None = None
    open_runs: int
    open_conflicts: int
    open_duplicates: int = 0
    daemon: DaemonInfo
