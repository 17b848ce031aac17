"""The engine's operations as a type: what `connect()` hands the CLI (and the review UI holds).

Both clients satisfy it: `Engine` in process, and `SocketClient`, which answers each operation
over the daemon's socket and rebuilds the same return types. mypy checks that `Engine` keeps
these signatures (daemon/service/client.py returns an `Engine` as an `EngineClient`); the
operations and their roles are declared on `Engine` (`@operation`), not here.
"""

from __future__ import annotations

from typing import Protocol

from daemon.directory.shapes import ClassroomDetail, School, UserDetail
from daemon.duplicates.models import ArchiveSummary, MergeUndone, ScanSummary
from daemon.models import (
    Access,
    ChannelTestResult,
    DaemonInfo,
    DropList,
    NotifyStatus,
    Page,
    Run,
    SourceCheck,
    SourceInfo,
    Status,
)
from daemon.settings import SettingRow
from daemon.sync.export import ExportSummary


class EngineClient(Protocol):
    """Every operation of the API, with the engine's signatures."""

    def access(self) -> Access: ...

    def status(self) -> Status: ...

    def sync_now(self) -> str: ...

    def notify_status(self) -> NotifyStatus: ...

    def daemon_info(self) -> DaemonInfo: ...

    def notify_test(self) -> list[ChannelTestResult]: ...

    def drops(self) -> DropList: ...

    def set_aside_drop(self, drop: str, reason: str | None = None) -> str: ...

    def plan_source(
        self,
        source: str,
        source_kind: str | None = None,
        force: bool = False,
        schools: list[str] | None = None,
    ) -> Run: ...

    def apply_run(
        self,
        run_id: int,
        override: bool = False,
        reason: str | None = None,
        scan_duplicates: bool = True,
    ) -> Run: ...

    def revert_run(self, run_id: int) -> Run: ...

    def replan_run(self, run_id: int, force: bool = False) -> Run: ...

    def withheld_page(self, run_id: int, offset: int = 0, limit: int = 100) -> Page: ...

    def decide_withheld(self, run_id: int, decision: str, reason: str | None = None) -> Run: ...

    def list_sources(self) -> list[SourceInfo]: ...

    def test_source(self, name: str) -> SourceCheck: ...

    def pull_source(self, name: str) -> Run: ...

    def check(self) -> list[tuple[str, int]]: ...

    def reject_run(self, run_id: int, reason: str | None = None) -> Run: ...

    def list_runs(self, limit: int = 200) -> list[Run]: ...

    def get_run(self, run_id: int) -> Run: ...

    def change_page(
        self,
        run_id: int,
        kind: str | None = None,
        op: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page: ...

    def results_page(
        self, run_id: int, status: str | None = None, offset: int = 0, limit: int = 100
    ) -> Page: ...

    def export(self, folder: str, version: str | None = None) -> ExportSummary: ...

    def conflicts(
        self, run_id: int | None = None, open_only: bool = False, offset: int = 0, limit: int = 500
    ) -> Page: ...

    def resolve_conflicts(
        self, conflict_ids: list[int], decision: str, take_now: bool = True
    ) -> int: ...

    def list_schools(self) -> list[School]: ...

    def create_school(self, name: str) -> int: ...

    def add_school_sis_id(self, school: str, sis_id: str) -> int: ...

    def create_classroom(self, name: str, school: str) -> int: ...

    def set_classroom_sis_id(self, classroom: str, sis_id: str) -> int: ...

    def rename_classroom(self, classroom: str, name: str) -> int: ...

    def archive_classroom(self, classroom: str) -> int: ...

    def unarchive_classroom(self, classroom: str) -> int: ...

    def add_classroom_member(self, classroom: str, user: str, role: str) -> int: ...

    def create_user(
        self,
        kind: str,
        given_name: str,
        family_name: str,
        email: str | None = None,
        mobile_phone: str | None = None,
        home_phone: str | None = None,
        school: str | None = None,
        role: str | None = None,
    ) -> int: ...

    def link_guardian(self, guardian: str, student: str, relationship: str = "guardian") -> int: ...

    def edit_contact(self, user: str, changes: dict[str, str | None]) -> int: ...

    def set_account_active(self, user: str, active: bool = True) -> int: ...

    def archive_user(self, user: str) -> int: ...

    def unarchive_user(self, user: str) -> int: ...

    def find_users(
        self,
        query: str = "",
        kind: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page: ...

    def find_classrooms(self, query: str = "", offset: int = 0, limit: int = 50) -> Page: ...

    def classroom_detail(self, classroom: str) -> ClassroomDetail: ...

    def user_detail(self, user: str) -> UserDetail: ...

    def settings_show(self) -> list[SettingRow]: ...

    def settings_set(self, key: str, value: str) -> list[SettingRow]: ...

    def duplicates_scan(self, full: bool = False) -> ScanSummary: ...

    def duplicates_list(
        self, status: str | None = "open", offset: int = 0, limit: int = 50, kind: str | None = None
    ) -> Page: ...

    def duplicates_merge(
        self,
        a: str | int | None = None,
        b: str | int | None = None,
        keep: str | int | None = None,
        candidate_id: int | None = None,
    ) -> int: ...

    def duplicates_reject(
        self,
        a: str | int | None = None,
        b: str | int | None = None,
        candidate_id: int | None = None,
    ) -> None: ...

    def duplicates_skip(self, candidate_id: int) -> None: ...

    def duplicates_undo(self, merge_id: int) -> MergeUndone: ...

    def duplicates_undo_last(self) -> MergeUndone | None: ...

    def archive_unsynced(self, dry_run: bool = True) -> ArchiveSummary: ...
