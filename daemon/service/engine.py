"""The engine's operations in one place: the CLI, the socket API and the TUI all call these.

Every method takes and returns plain values or pydantic models, so the same calls work in
process (embedded mode) and over the daemon's socket.
"""

from __future__ import annotations

import shlex
import stat
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

from daemon.audit import audit
from daemon.db import Database
from daemon.directory import records, search
from daemon.directory.integrity import check_directory
from daemon.directory.shapes import ClassroomDetail, School, UserDetail
from daemon.duplicates import decisions
from daemon.duplicates.archive import archive_unsynced
from daemon.duplicates.errors import DuplicateScanNotDone
from daemon.duplicates.listing import list_candidates
from daemon.duplicates.models import ArchiveSummary, MergeUndone, ScanSummary
from daemon.duplicates.scan import scan
from daemon.errors import interrupted
from daemon.models import (
    Access,
    ChannelTestResult,
    DaemonInfo,
    DropInfo,
    DropList,
    NotifyStatus,
    Page,
    Run,
    SourceCheck,
    SourceInfo,
    Status,
    WaitingDrop,
)
from daemon.notify.config import NotifyConfig, NotifyError
from daemon.notify.outbox import outbox_status, send_test
from daemon.progress import Progress
from daemon.service import set_aside, source_pulls
from daemon.service.drop_history import DropHistory, DropRow
from daemon.service.operations import (
    ADMIN,
    CONTACTS,
    READ,
    ROLE_ORDER,
    declared_operations,
    operation,
)
from daemon.settings import (
    SETTING_INFO,
    SettingRow,
    blackout_on,
    format_value,
    load_settings,
    set_setting,
)
from daemon.sources import clever_csv
from daemon.sources.config import SourceConfig
from daemon.sync import queries, revert, runs, withheld
from daemon.sync.conflicts import open_conflict, resolve_conflicts
from daemon.sync.export import ExportError, ExportSummary, export_directory
from daemon.sync.runs import BlackoutDay, RunError
from daemon.sync.scope import parse_scope


def archives_planned(run: Run) -> int:
    """Records the run archives when applied (its withheld archives are not in its changes: they
    wait for a person's decision anyway)."""
    return sum(ops.get("archive", 0) for ops in run.changes.values())


def unmarked_review_reason(archives: int) -> str:
    """Why auto_apply left a run of a drop without a ready marker for review (one line)."""
    return (
        f"waiting for review: it archives {archives:,} record{'' if archives == 1 else 's'}, and "
        "the drop had no ready marker to show it was complete; set ready_marker to let such runs "
        "apply by themselves"
    )


def manifest_review_reason(archives: int) -> str:
    """Why auto_apply left a run of a drop taken without its manifest for review (one line)."""
    return (
        f"waiting for review: it archives {archives:,} record{'' if archives == 1 else 's'}, and "
        "the drop came without the manifest.csv the drops before it had (every file was read as "
        "bulk); apply it only if its files are whole exports"
    )


def recent_drops(db: Database) -> tuple[list[DropInfo], int]:
    return DropHistory(db, actor="").recent()


def check_source(source: str) -> None:
    """A drop is a folder or a ZIP; anything else is refused (RunError) before a run is made."""
    path = Path(source)
    what = "name a drop: a folder or a .zip of OneRoster or Clever CSV files"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise RunError(f"{source}: no such file or folder; {what}") from None
    except OSError as exc:  # there, but not to be reached: a symlink loop, a name too long...
        reason = (exc.strerror or type(exc).__name__).lower()
        raise RunError(f"{source}: {reason}; {what}") from None
    if stat.S_ISDIR(mode):
        return
    # Only a regular file is opened: a FIFO or a device would block the reader (and, through
    # the daemon, every write waiting behind it).
    if stat.S_ISREG(mode) and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)):
        return
    raise RunError(f"{source} is neither a folder nor a .zip; {what}")


class Engine:
    """Operations on one database, done as `actor` (a Unix user name)."""

    def __init__(self, db: Database, actor: str, progress: Progress | None = None) -> None:
        self.db = db
        self.actor = actor
        self.progress = progress or Progress()
        # the daemon config's [notify], when a command read it (the daemon's own otherwise)
        self.notify_config: NotifyConfig | None = None
        self.sources: dict[str, SourceConfig] = {}  # the daemon config's [sources.NAME]
        self.archive: Path | None = None  # where pulls are kept (the daemon config's archive)
        # True for a drop the daemon plans unattended that had no ready marker (DaemonEngine's
        # argument): a file cut at a line ending looks complete, so such a run is auto-applied
        # only if it archives nothing (a truncated export must never archive records without a
        # person's decision).
        self.unmarked_drop = False
        self.without_manifest = False  # the daemon's drop came without its expected manifest
        self.review_reason: str | None = None  # why _after_plan left a run for review
        # the caller's roles, set by the socket server; None in process, where whoever may
        # write the database file may do everything
        self.caller_roles: frozenset[str] | None = None

    # ------------------------------------------------------------------ status
    @operation(READ)
    def access(self) -> Access:
        """What the caller may do, so that a client offers only that."""
        in_process = self.caller_roles is None
        roles = frozenset({ADMIN}) if self.caller_roles is None else self.caller_roles
        best = max((ROLE_ORDER[r] for r in roles if r in ROLE_ORDER), default=-1)
        return Access(
            user=self.actor,
            roles=sorted(roles, key=lambda r: ROLE_ORDER.get(r, -1), reverse=True),
            operations=[
                name
                for name, role in declared_operations(type(self)).items()
                if ROLE_ORDER[role] <= best
            ],
            in_process=in_process,
        )

    @operation(READ)
    def daemon_info(self) -> DaemonInfo:
        """The daemon's side of `status` alone (the drops waiting, and why), without the
        directory's counts: the TUI's list of runs asks it at every reload."""
        drops, seen = recent_drops(self.db)  # the daemon's last decisions, also while it is down
        return DaemonInfo(running=False, drops=drops, drops_seen_at_first_mirror=seen)

    @operation(READ)
    def status(self) -> Status:
        db = self.db
        active = dict(
            db.rows(
                """SELECT kind, count(*) FROM users WHERE status = 'active' GROUP BY kind
               UNION ALL SELECT 'classroom', count(*) FROM classrooms WHERE status = 'active'
               UNION ALL SELECT 'school', count(*) FROM schools WHERE status = 'active' AND org_type <> 'district'"""
            )
        )
        last = db.one("SELECT max(run_id) FROM runs")
        open_duplicates = int(
            db.one("SELECT count(*) FROM duplicate_candidates WHERE status = 'open'")
        )
        return Status(
            database=str(db.path),
            schema_version=int(db.one("SELECT max(version) FROM schema_migrations")),
            directory_version=db.directory_version(),
            active={k: int(v) for k, v in active.items()},
            last_run=queries.get_run(db, int(last)) if last is not None else None,
            open_runs=int(db.one("SELECT count(*) FROM runs WHERE status IN ('planned', 'held')")),
            open_conflicts=int(db.one(f"SELECT count(*) FROM conflicts c WHERE {open_conflict()}")),
            open_duplicates=open_duplicates,
            daemon=self.daemon_info(),
            notifications=outbox_status(db, self.notify_config),
            blackout=self.blackout(),
        )

    @operation(ADMIN)
    def sync_now(self) -> str:
        raise RunError("no daemon is running; sync a drop with: roster-sync run PATH")

    @operation(READ)
    def drops(self) -> DropList:
        """The drops the daemon holds (without it running: those it queued, planned when it
        starts), and its latest decisions."""
        history = DropHistory(self.db, self.actor)
        waiting = [
            WaitingDrop(
                name=set_aside.label(row), source=row.source, drop_id=row.drop_id, queued=True,
                why="queued; the daemon is not running: it plans it when it starts, in export order",
            )
            for row in history.queued()
        ]  # fmt: skip
        return DropList(waiting=waiting, recent=history.recent()[0], daemon_running=False)

    @operation(ADMIN)
    def set_aside_drop(self, drop: str, reason: str | None = None) -> str:
        """Set aside a drop the daemon holds (`daemon/service/set_aside.py`). Without the
        daemon, a queued one: the decision is recorded here, and the daemon archives its queued
        copy when it starts, then plans the drops queued after it."""
        text = set_aside.checked_reason(reason)
        history = DropHistory(self.db, self.actor)
        found = set_aside.find(drop, self.drops().waiting, history)
        row = found if isinstance(found, DropRow) else history.get(found.drop_id or 0)
        set_aside.refuse_decided(row, self._run_status(row.run_id))
        history.set_aside(
            row.drop_id, set_aside.recorded_reason(self.actor, text), datetime.now().astimezone()
        )
        return (
            f"{set_aside.label(row)} (drop {row.drop_id}) is set aside: recorded as skipped, with "
            "your reason; the daemon is not running: it moves the queued copy to the archive "
            "when it starts, and plans the drops queued after it"
        )

    def _run_status(self, run_id: int | None) -> str | None:
        if run_id is None:
            return None
        return self.db.one("SELECT status FROM runs WHERE run_id = ?", [run_id])

    @operation(READ)
    def notify_status(self) -> NotifyStatus:
        """The notification outbox: pending and failed deliveries, each channel's last error."""
        return outbox_status(self.db, self.notify_config)

    @operation(ADMIN)
    def notify_test(self) -> list[ChannelTestResult]:
        """A test message to every channel of [notify], sent now; one result per channel."""
        config = self.notify_config
        if config is None:
            raise NotifyError(
                "the daemon's config file has no [notify] section (see docs/notifications.md)"
            )
        if not config.channels():
            raise NotifyError("[notify] has no channel: add [[notify.email]] or [[notify.webhook]]")
        return send_test(config)

    # ------------------------------------------------------------------ runs
    def today(self) -> date:
        """The day blackout dates are read against (the daemon's clock when it serves)."""
        return date.today()

    def blackout(self) -> str | None:
        """Why nothing is synced today, when today is in one of the `blackout_dates`."""
        found = blackout_on(load_settings(self.db), self.today())
        if found is None:
            return None
        return f"today ({self.today()}) is in the blackout {found}"

    @operation(ADMIN)
    def plan_source(
        self,
        source: str,
        source_kind: str | None = None,
        force: bool = False,
        schools: list[str] | None = None,
    ) -> Run:
        """A run from a drop. A path that names no drop at all is a mistake, not a failed run.
        On a blackout day only a forced run is planned (audited)."""
        check_source(source)
        blackout = self.blackout()
        if blackout is not None:
            if not force:
                raise BlackoutDay(
                    f"{blackout}: nothing is synced; pass --force to run this drop all the same"
                )
            audit(
                self.db,
                self.actor,
                "run.blackout.force",
                details={"source": source, "why": blackout},
            )
        run_id = runs.plan_source(
            self.db,
            source,
            actor=self.actor,
            source_kind=source_kind,
            progress=self.progress,
            scope=parse_scope(schools),
            convert=clever_csv.convert,
        )
        return self._after_plan(queries.get_run(self.db, run_id))

    # ------------------------------------------------------------------ API sources
    def configure_sources(self, sources: dict[str, SourceConfig], archive: Path | None) -> None:
        """The CLI (in process) and the daemon hand over the config's sources and archive."""
        self.sources, self.archive = dict(sources), archive

    @operation(READ)
    def list_sources(self) -> list[SourceInfo]:
        """The `[sources.NAME]` of the daemon's config, each with its last pull."""
        return source_pulls.list_sources(self.db, self.sources)

    @operation(ADMIN)  # reaches the API with the source's secret
    def test_source(self, name: str) -> SourceCheck:
        """Reach the source's API, authenticate, count records per resource; change nothing."""
        return source_pulls.test_source(name, source_pulls.source_named(self.sources, name))

    @operation(ADMIN)
    def pull_source(self, name: str) -> Run:
        """Pull an API source into the archive and plan it as a run (like a drop's)."""
        config = source_pulls.source_named(self.sources, name)
        run_id = source_pulls.pull_source(
            self.db, name, config, self.archive, actor=self.actor, progress=self.progress
        )
        return self._after_plan(queries.get_run(self.db, run_id))

    def _after_plan(self, run: Run) -> Run:
        """A planned run is applied at once when the district chose auto_apply (an unmarked
        drop's run only if it archives nothing: `review_reason` then says why it waits)."""
        self.review_reason = None
        if run.status == "planned" and self._auto_apply_allowed(run):
            archives = archives_planned(run)
            if self.without_manifest and archives:
                self.review_reason = manifest_review_reason(archives)
                return run
            if self.unmarked_drop and archives:
                self.review_reason = unmarked_review_reason(archives)
                return run
            runs.apply_run(self.db, run.run_id, actor="auto_apply")
            self._after_apply(run.run_id)
            run = queries.get_run(self.db, run.run_id)
        return run

    def _auto_apply_allowed(self, run: Run) -> bool:
        return load_settings(self.db).auto_apply and run.blocking_conflicts == 0

    @operation(ADMIN)
    def apply_run(
        self,
        run_id: int,
        override: bool = False,
        reason: str | None = None,
        scan_duplicates: bool = True,
    ) -> Run:
        """Apply, then look for duplicate candidates (skippable: `duplicates scan` later)."""
        runs.apply_run(self.db, run_id, actor=self.actor, override=override, reason=reason)
        if scan_duplicates:
            try:
                self._after_apply(run_id)
            except BaseException as exc:  # the run is applied: say so, whatever stopped the scan
                if not (interrupted(exc) or isinstance(exc, Exception)):
                    raise
                why = "was interrupted" if interrupted(exc) else f"failed ({exc})"
                raise DuplicateScanNotDone(
                    f"run {run_id} was applied; the duplicate scan after it {why}: find the "
                    "candidates with roster-sync duplicates scan"
                ) from exc
        return queries.get_run(self.db, run_id)

    def _after_apply(self, run_id: int) -> None:
        """Duplicate candidates are found again after every applied run."""
        from daemon.duplicates import scan_after_apply

        self.progress.start("Finding duplicate candidates")
        started = time.monotonic()
        scan_after_apply(self.db)
        runs.record_timing(self.db, run_id, "duplicate_scan", time.monotonic() - started)
        self.progress.finish()

    @operation(ADMIN)
    def revert_run(self, run_id: int) -> Run:
        """Plan the run that undoes an applied run (reviewed and applied like any other)."""
        new_id = revert.plan_revert(self.db, run_id, actor=self.actor)
        return queries.get_run(self.db, new_id)

    @operation(ADMIN)
    def replan_run(self, run_id: int, force: bool = False) -> Run:
        """A superseded, failed or rejected plan is made again from the same drop, as a new run
        (a revert, again against today's directory).

        An open run is decided first, and an applied one is in the directory already: planning
        its drop again would quietly take the directory back to an older night."""
        run = queries.get_run(self.db, run_id)
        if run.status in ("planned", "held", "loading"):
            raise RunError(f"run {run_id} is {run.status}; apply it or reject it first")
        if run.reverted_run is not None:  # a revert is planned again against today's directory
            return self.revert_run(run.reverted_run)
        if run.status == "applied":
            raise RunError(
                f"run {run_id} was applied, so its drop is in the directory already; to undo it, "
                f"revert it (roster-sync revert {run_id})"
            )
        later = run.later_drop_applied
        if later is not None:  # an applied drop is in the directory: this one is older
            raise RunError(
                f"run {later}, planned from a later drop, was applied since run {run_id}: its "
                f"drop is an older night, and planning it again would take back what run "
                f"{later} changed; to sync that drop all the same, run it again "
                f"(roster-sync run {shlex.quote(run.source)})"
            )
        if not Path(run.source).exists():
            raise RunError(
                f"the drop of run {run_id} is no longer at {run.source}; find it in the archive "
                "folder and run it again"
            )
        return self.plan_source(
            run.source, run.source_kind if run.source_kind != "folder" else None, force, run.scope
        )

    # ------------------------------------------------------------------ withheld archives
    @operation(READ)
    def withheld_page(self, run_id: int, offset: int = 0, limit: int = 100) -> Page:
        """The archives a run withheld, and what became of each once decided."""
        queries.get_run(self.db, run_id)
        return withheld.withheld_page(self.db, run_id, offset, limit)

    @operation(ADMIN)
    def decide_withheld(self, run_id: int, decision: str, reason: str | None = None) -> Run:
        """Approve (archive what is still due, re-checked against today's directory) or drop the
        archives an applied run withheld; audited with the reason, like an override."""
        queries.get_run(self.db, run_id)
        withheld.decide_withheld(
            self.db, run_id, actor=self.actor, decision=decision, reason=reason
        )
        return queries.get_run(self.db, run_id)

    @operation(READ)
    def check(self) -> list[tuple[str, int]]:
        return check_directory(self.db)

    @operation(ADMIN)
    def reject_run(self, run_id: int, reason: str | None = None) -> Run:
        runs.reject_run(self.db, run_id, actor=self.actor, reason=reason)
        return queries.get_run(self.db, run_id)

    @operation(READ)
    def list_runs(self, limit: int = 200) -> list[Run]:
        return queries.list_runs(self.db, limit)

    @operation(READ)
    def get_run(self, run_id: int) -> Run:
        return queries.get_run(self.db, run_id)

    @operation(READ)
    def change_page(
        self,
        run_id: int,
        kind: str | None = None,
        op: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page:
        return queries.change_page(self.db, run_id, kind=kind, op=op, offset=offset, limit=limit)

    @operation(READ)
    def results_page(
        self, run_id: int, status: str | None = None, offset: int = 0, limit: int = 100
    ) -> Page:
        return queries.results_page(self.db, run_id, status=status, offset=offset, limit=limit)

    def write_results(self, run_id: int, path: str) -> int:
        return queries.results_to_file(self.db, run_id, Path(path))

    @operation(ADMIN)
    def export(self, folder: str, version: str | None = None) -> ExportSummary:
        try:
            return export_directory(self.db, Path(folder), version)
        except OSError as exc:  # a folder that cannot be made or written: say which and why
            raise ExportError(
                f"cannot write into {folder}: {exc.strerror or exc}; name a folder you may write"
            ) from exc

    # ------------------------------------------------------------------ conflicts
    @operation(READ)
    def conflicts(
        self, run_id: int | None = None, open_only: bool = False, offset: int = 0, limit: int = 500
    ) -> Page:
        if run_id is not None:
            queries.get_run(self.db, run_id)  # "there is no run N", not an empty list
        return queries.conflicts_for(
            self.db, run_id, open_only=open_only, offset=offset, limit=limit
        )

    @operation(ADMIN)
    def resolve_conflicts(
        self, conflict_ids: list[int], decision: str, take_now: bool = True
    ) -> int:
        """Decide conflicts. 'take' on an applied run changes the directory at once; a caller
        that did not ask a person first passes `take_now=False`, and such a take is refused."""
        return resolve_conflicts(self.db, conflict_ids, decision, self.actor, take_now=take_now)

    # ------------------------------------------------------------------ directory
    @operation(READ)
    def list_schools(self) -> list[School]:
        return records.list_schools(self.db)

    @operation(ADMIN)
    def create_school(self, name: str) -> int:
        return records.create_school(self.db, self.actor, name)

    @operation(ADMIN)
    def add_school_sis_id(self, school: str, sis_id: str) -> int:
        return records.add_school_sis_id(self.db, self.actor, school, sis_id)

    @operation(ADMIN)
    def create_classroom(self, name: str, school: str) -> int:
        return records.create_classroom(self.db, self.actor, name, school)

    @operation(ADMIN)
    def set_classroom_sis_id(self, classroom: str, sis_id: str) -> int:
        return records.set_classroom_sis_id(self.db, self.actor, classroom, sis_id)

    @operation(ADMIN)
    def rename_classroom(self, classroom: str, name: str) -> int:
        return records.rename_classroom(self.db, self.actor, classroom, name)

    @operation(ADMIN)
    def archive_classroom(self, classroom: str) -> int:
        return records.set_classroom_archived(self.db, self.actor, classroom, True)

    @operation(ADMIN)
    def unarchive_classroom(self, classroom: str) -> int:
        return records.set_classroom_archived(self.db, self.actor, classroom, False)

    @operation(ADMIN)
    def add_classroom_member(self, classroom: str, user: str, role: str) -> int:
        return records.add_member(self.db, self.actor, classroom, user, role)

    @operation(ADMIN)
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
    ) -> int:
        return records.create_user(
            self.db,
            self.actor,
            kind=kind,
            given_name=given_name,
            family_name=family_name,
            email=email,
            mobile_phone=mobile_phone,
            home_phone=home_phone,
            school_ref=school,
            role=role,
        )

    @operation(ADMIN)
    def link_guardian(self, guardian: str, student: str, relationship: str = "guardian") -> int:
        return records.link_guardian(self.db, self.actor, guardian, student, relationship)

    @operation(CONTACTS)
    def edit_contact(self, user: str, changes: dict[str, str | None]) -> int:
        return records.edit_contact(self.db, self.actor, user, changes)

    @operation(CONTACTS)
    def set_account_active(self, user: str, active: bool = True) -> int:
        return records.set_account_active(self.db, self.actor, user, active)

    @operation(ADMIN)
    def archive_user(self, user: str) -> int:
        return records.set_archived(self.db, self.actor, user, True)

    @operation(ADMIN)
    def unarchive_user(self, user: str) -> int:
        return records.set_archived(self.db, self.actor, user, False)

    @operation(READ)
    def find_users(
        self,
        query: str = "",
        kind: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page:
        return search.find_users(
            self.db, query, kind=kind, status=status, offset=offset, limit=limit
        )

    @operation(READ)
    def find_classrooms(self, query: str = "", offset: int = 0, limit: int = 50) -> Page:
        return search.find_classrooms(self.db, query, offset=offset, limit=limit)

    @operation(READ)
    def classroom_detail(self, classroom: str) -> ClassroomDetail:
        return search.classroom_detail(self.db, records.resolve_classroom(self.db, classroom))

    @operation(READ)
    def user_detail(self, user: str) -> UserDetail:
        return search.user_detail(self.db, records.resolve_user(self.db, user))

    # ------------------------------------------------------------------ settings
    @operation(READ)
    def settings_show(self) -> list[SettingRow]:
        current = load_settings(self.db)
        return [
            SettingRow(
                key=key,
                value=format_value(getattr(current, key)),
                meaning=info.meaning,
                allowed=info.allowed,
            )
            for key, info in SETTING_INFO.items()
        ]

    @operation(ADMIN)
    def settings_set(self, key: str, value: str) -> list[SettingRow]:
        set_setting(self.db, key, value, self.actor)
        return self.settings_show()

    # ------------------------------------------------------------------ duplicates
    @operation(ADMIN)
    def duplicates_scan(self, full: bool = False) -> ScanSummary:
        """Find candidates now (also done after every applied run): only what changed since the
        last scan, with the same result as a full scan; `full` recomputes everything."""
        return ScanSummary.model_validate(scan(self.db, full=full))

    @operation(READ)
    def duplicates_list(
        self,
        status: str | None = "open",
        offset: int = 0,
        limit: int = 50,
        kind: str | None = None,
    ) -> Page:
        """Candidates best first; status 'open' (default), 'merged', 'rejected', 'skipped' or
        None / 'all'; kind 'student' or 'guardian'."""
        return list_candidates(self.db, status, offset, limit, kind)

    @operation(ADMIN)
    def duplicates_merge(
        self,
        a: str | int | None = None,
        b: str | int | None = None,
        keep: str | int | None = None,
        candidate_id: int | None = None,
    ) -> int:
        """Merge two records of one person (user ids, SIS ids, or a candidate); the merge id."""
        return decisions.merge_pair(self.db, self.actor, a, b, keep, candidate_id)

    @operation(ADMIN)
    def duplicates_reject(
        self,
        a: str | int | None = None,
        b: str | int | None = None,
        candidate_id: int | None = None,
    ) -> None:
        """Not the same person: never proposed again."""
        decisions.reject_pair(self.db, self.actor, a, b, candidate_id)

    @operation(ADMIN)
    def duplicates_skip(self, candidate_id: int) -> None:
        decisions.skip_candidate(self.db, self.actor, candidate_id)

    @operation(ADMIN)
    def duplicates_undo(self, merge_id: int) -> MergeUndone:
        """Put back what the merge changed; what changed since stays, and is named."""
        return decisions.undo_merge(self.db, self.actor, merge_id)

    @operation(ADMIN)
    def duplicates_undo_last(self) -> MergeUndone | None:
        """Undo this actor's most recent merge; None when there is none."""
        return decisions.undo_last(self.db, self.actor)

    @operation(ADMIN)
    def archive_unsynced(self, dry_run: bool = True) -> ArchiveSummary:
        """Hand-made active students of synced schools: counted (dry run) or archived."""
        return archive_unsynced(self.db, self.actor, dry_run)
