"""The safety rule that holds a run: too many records of one kind would be archived."""

from __future__ import annotations

from dataclasses import dataclass

from daemon.db import Database
from daemon.settings import SyncSettings
from daemon.sync.kinds import CHANGE_KINDS
from daemon.sync.scope import record_filter
from daemon.words import counted

ACTIVE_COUNTS = {
    "schools": ("schools", "true"),
    "classrooms": ("classrooms", "true"),
    "students": ("users", "d.kind = 'student'"),
    "staff": ("users", "d.kind = 'staff'"),
    "guardians": ("users", "d.kind = 'guardian'"),
    "enrollments": ("enrollments", "true"),
    "guardian_links": ("guardian_links", "true"),
    "student_attributes": ("student_attributes", "true"),
}


def active_count_sql(kind: str, scope: list[str]) -> str:
    """Active records of a kind; within a school-level upload's scope, only the scope's."""
    table, where = ACTIVE_COUNTS[kind]
    return (
        f"SELECT count(*) FROM {table} d WHERE d.status = 'active' AND {where} "
        f"AND {record_filter(scope, table)}"
    )


@dataclass(frozen=True)
class ThresholdCheck:
    kind: str
    archives: int
    active: int
    limit: int  # the most this run may archive
    held: bool

    @property
    def percent(self) -> float:
        return 100.0 * self.archives / self.active if self.active else 0.0

    def reason(self, settings: SyncSettings) -> str:
        count_part = (
            f" or {settings.deletion_threshold_count} records"
            if settings.deletion_threshold_count is not None
            else ""
        )
        return (
            f"{self.kind}: {self.archives:,} of {self.active:,} active records would be archived "
            f"({self.percent:.1f}%), over the limit of {settings.deletion_threshold:g}%{count_part} "
            f"(at most {counted(self.limit, 'record')})"
        )


def check_thresholds(
    db: Database,
    counts: dict[str, dict[str, int]],
    settings: SyncSettings,
    scope: list[str] | None = None,
) -> list[ThresholdCheck]:
    archives = {kind: ops.get("archive", 0) for kind, ops in counts.items()}
    # every kind's count in one statement (a statement apiece was most of this step's cost)
    actives = db.rows(
        "SELECT " + ", ".join(f"({active_count_sql(kind, scope or [])})" for kind in CHANGE_KINDS)
    )[0]
    checks = []
    for kind, active_of_kind in zip(CHANGE_KINDS, actives, strict=True):
        active = int(active_of_kind or 0)
        limit = int(active * settings.deletion_threshold / 100.0)
        if settings.deletion_threshold_count is not None:
            limit = min(limit, settings.deletion_threshold_count)
        n = int(archives.get(kind, 0))
        checks.append(ThresholdCheck(kind, n, active, limit, n > limit))
    return checks
