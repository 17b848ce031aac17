"""The engine's operations in one place: the CLI, the socket API and the TUI all call these.

Every method takes and returns plain values or pydantic models, so the same calls work in
process (embedded mode) and over the daemon's socket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon.db import Database
from daemon.models import Page, Run
from daemon.progress import Progress
from daemon.settings import SETTING_INFO, format_value, load_settings, set_setting
from daemon.sync import queries, runs
from daemon.sync.conflicts import resolve_conflicts


class Engine:
    """Operations on one database, done as `actor` (a Unix user name)."""

    def __init__(self, db: Database, actor: str, progress: Progress | None = None) -> None:
        self.db = db
        self.actor = actor
        self.progress = progress or Progress()

    # ------------------------------------------------------------------ runs
    def plan_source(self, source: str, source_kind: str | None = None) -> Run:
        run_id = runs.plan_source(
            self.db, source, actor=self.actor, source_kind=source_kind, progress=self.progress
        )
        run = queries.get_run(self.db, run_id)
        if run.status == "planned" and self._auto_apply_allowed(run):
            runs.apply_run(self.db, run_id, actor="auto_apply")
            run = queries.get_run(self.db, run_id)
        return run

    def _auto_apply_allowed(self, run: Run) -> bool:
        return load_settings(self.db).auto_apply and run.blocking_conflicts == 0

    def apply_run(self, run_id: int, override: bool = False, reason: str | None = None) -> Run:
        runs.apply_run(self.db, run_id, actor=self.actor, override=override, reason=reason)
        self._after_apply(run_id)
        return queries.get_run(self.db, run_id)

    def _after_apply(self, run_id: int) -> None:
        """Hook for work that follows an applied run (duplicate detection)."""

    def reject_run(self, run_id: int, reason: str | None = None) -> Run:
        runs.reject_run(self.db, run_id, actor=self.actor, reason=reason)
        return queries.get_run(self.db, run_id)

    def list_runs(self, limit: int = 200) -> list[Run]:
        return queries.list_runs(self.db, limit)

    def get_run(self, run_id: int) -> Run:
        return queries.get_run(self.db, run_id)

    def change_page(
        self,
        run_id: int,
        kind: str | None = None,
        op: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page:
        return queries.change_page(self.db, run_id, kind=kind, op=op, offset=offset, limit=limit)

    def results_page(
        self, run_id: int, status: str | None = None, offset: int = 0, limit: int = 100
    ) -> Page:
        return queries.results_page(self.db, run_id, status=status, offset=offset, limit=limit)

    def write_results(self, run_id: int, path: str) -> int:
        return queries.results_to_file(self.db, run_id, Path(path))

    # ------------------------------------------------------------------ conflicts
    def conflicts(
        self, run_id: int | None = None, open_only: bool = False, offset: int = 0, limit: int = 500
    ) -> Page:
        return queries.conflicts_for(
            self.db, run_id, open_only=open_only, offset=offset, limit=limit
        )

    def resolve_conflicts(self, conflict_ids: list[int], decision: str) -> int:
        return resolve_conflicts(self.db, conflict_ids, decision, self.actor)

    # ------------------------------------------------------------------ settings
    def settings_show(self) -> list[dict[str, Any]]:
        current = load_settings(self.db)
        return [
            {
                "key": key,
                "value": format_value(getattr(current, key)),
                "meaning": info.meaning,
                "allowed": info.allowed,
            }
            for key, info in SETTING_INFO.items()
        ]

    def settings_set(self, key: str, value: str) -> list[dict[str, Any]]:
        set_setting(self.db, key, value, self.actor)
        return self.settings_show()
