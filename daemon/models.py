"""The shapes that leave the engine: for the CLI's --json, the socket API and the TUI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from daemon.sync.kinds import CHANGE_KINDS, OPS


def empty_changes() -> dict[str, dict[str, int]]:
    return {kind: {op: 0 for op in OPS} for kind in CHANGE_KINDS}


def no_decisions() -> dict[str, int]:
    return {decision: 0 for decision in ("take", "keep", "ignore")}


# The kind of a run's note that says what apply changes in the reference data (courses,
# sessions, roles): a run with no record changes but such a note still has something to apply.
REFERENCE_NOTE = "reference"


class RowCounts(BaseModel):
    success: int = 0
    warning: int = 0
    error: int = 0
    # warnings about the files themselves (the manifest, a header), which name no row
    file_warnings: int = 0


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
    # The run's conflicts decided so far, per decision (take | keep | ignore). A 'take' of a run
    # not applied yet overwrites the directory's value (a hand edit, an active account's) when
    # the run is applied.
    conflict_decisions: dict[str, int] = Field(default_factory=no_decisions)
    error: str | None = None
    base_version: int | None = None
    content_hash: str | None = None
    notes: list[dict[str, str]] = Field(default_factory=list)
    thresholds: list[Threshold] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    files: list[RunFile] = Field(default_factory=list)
    # Archives this run withheld (threshold_action = withhold_archives, or archive_mode =
    # additions_only), per kind; they wait as one decision once the run is applied.
    withheld: dict[str, int] = Field(default_factory=dict)
    withheld_why: str | None = None  # threshold | additions_only
    withheld_decision: str | None = None  # approved | dropped; None while waiting
    withheld_decided_by: str | None = None
    withheld_decided_at: datetime | None = None
    withheld_reason: str | None = None
    withheld_outcome: dict[str, int] = Field(default_factory=dict)  # archived | kept -> n
    reverted_run: int | None = None  # the run this one undoes
    # A run of a later drop applied since this one (not applied) was made: this drop is an
    # older night, and planning it again would take back what that run did (replan refuses).
    later_drop_applied: int | None = None
    scope: list[str] = Field(default_factory=list)  # school SIS ids; empty: the whole district
    source_name: str | None = None  # the [sources.NAME] an API pull came from
    fetch: dict[str, Any] | None = None  # what that pull fetched (pages, records per resource)

    def total_changes(self) -> int:
        return sum(sum(ops.values()) for ops in self.changes.values())

    def keeps_reference_data(self) -> bool:
        """No record changes, but reference data (courses, sessions, roles) apply would keep."""
        return any(note.get("kind") == REFERENCE_NOTE for note in self.notes)

    def reference_words(self, done: bool = False) -> str:
        """What applying does to the reference data of a run that changes no record: keeps a
        drop's, or (a revert, which reads no drop) restores what the reverted run changed."""
        if self.reverted_run is None:
            return f"{'kept' if done else 'keeps'} the drop's reference data"
        return (
            f"{'restored' if done else 'restores'} the courses, academic sessions and roles run "
            f"{self.reverted_run} changed"
        )

    @property
    def taken_conflicts(self) -> int:
        """Conflicts decided 'take the feed's value'."""
        return self.conflict_decisions.get("take", 0)

    def total_withheld(self) -> int:
        return sum(self.withheld.values())

    @property
    def withheld_waiting(self) -> bool:
        """Withheld archives wait for a decision (approve or drop) once the run is applied."""
        return (
            bool(self.withheld)
            and self.withheld_decision is None
            and self.status
            in (
                "planned",
                "held",
                "applied",
            )
        )


class SourceInfo(BaseModel):
    """An API source of the daemon's config ([sources.NAME]) and its last pull. No secrets."""

    name: str
    kind: str
    label: str
    base_url: str
    auth: str
    client_id: str | None = None
    last_run_id: int | None = None
    last_status: str | None = None
    last_pull_at: datetime | None = None
    last_records: int | None = None
    last_error: str | None = None


class SourceCheck(BaseModel):
    """`sources test`: the API answered, took the credentials, and holds this many records."""

    name: str
    label: str
    counts: dict[str, int | None]
    requests: int


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


class WithheldArchive(BaseModel):
    """An archive a run withheld, and what became of it when the decision was taken."""

    seq: int
    kind: str
    record_id: int
    sis_id: str | None
    label: str | None
    source_file: str | None
    source_line: int | None
    note: str | None
    outcome: str | None = None  # archived | kept (approved); None while waiting or dropped
    outcome_note: str | None = None


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


def shown_time(moment: datetime, *, seconds: bool = True) -> str:
    """`2026-11-01 01:20:00 -05:00`: an instant (aware; naive is local) as the server's local
    time with its offset, so two times of the hour repeated when the clocks fall back read in
    their true order."""
    local = moment.astimezone()
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if len(offset) == 5 else offset
    return f"{local:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {offset}"


class DropInfo(BaseModel):
    """One drop the daemon decided about: what ordered it and why it was planned or not."""

    drop_id: int
    source: str  # inbox | sftp
    name: str
    status: str  # queued | planning | planned | failed | skipped | superseded | seen
    reason: str | None = None
    run_id: int | None = None
    first_seen_at: datetime | None = None  # instants (aware): shown in the server's zone
    complete_at: datetime | None = None
    export_at: datetime | None = None
    ordered_by: str | None = None  # name | manifest | first seen
    decided_at: datetime | None = None
    change_note: str | None = None  # changed on the server after it was taken (SFTP)

    def describe(self) -> str:
        """One line for `roster-sync status`."""
        what = self.status + (f" (run {self.run_id})" if self.run_id is not None else "")
        parts = [f"{self.source} {self.name}: {what}"]
        if self.reason:
            parts.append(self.reason)
        if self.export_at is not None and self.ordered_by == "first seen":
            parts.append("ordered by when it was first seen (no export date in its name)")
        elif self.export_at is not None and self.ordered_by == "name":  # the SIS's wall time
            parts.append(
                f"exported {self.export_at.astimezone():%Y-%m-%d %H:%M} (date in its name)"
            )
        elif self.export_at is not None and self.ordered_by:
            when = shown_time(self.export_at, seconds=False)
            parts.append(f"exported {when} (date in its {self.ordered_by})")
        times = []
        if self.first_seen_at is not None:
            times.append(f"first seen {shown_time(self.first_seen_at)}")
        if self.complete_at is not None:
            times.append(f"complete {shown_time(self.complete_at)}")
        if times:
            parts.append(", ".join(times))
        if self.change_note:
            parts.append(f"changed on the server since it was taken: {self.change_note}")
        return "; ".join(parts)


class WaitingDrop(BaseModel):
    """A drop the daemon holds and has not planned: a person may set it aside by `name` (or
    `drop_id`, once it has one: a queued drop)."""

    name: str  # as status shows it: its queue folder (sftp-2026-09-15), or day2, sftp/2026-09-16
    why: str  # what it waits for, as status says it
    source: str  # inbox | sftp
    drop_id: int | None = None  # its decision in the history (a queued drop has one)
    queued: bool = False  # in the daemon's queue (inbox/.processing/), taken in export order


class DropList(BaseModel):
    """`roster-sync drops`: what the daemon holds, and what it decided recently."""

    waiting: list[WaitingDrop] = Field(default_factory=list)  # oldest first, as they are taken
    recent: list[DropInfo] = Field(default_factory=list)  # the latest decisions, newest first
    daemon_running: bool = True  # False: only the queue is known (not its inbox, nor the server)


class Access(BaseModel):
    """Who asks, and what they may do: the review UI offers only the keys of these operations
    (the engine refuses the others anyway)."""

    user: str
    roles: list[str]  # as the daemon's [roles] config gives them; in process: rostering_admin
    operations: list[str]  # every operation of the API the caller may call
    in_process: bool = False  # the database opened directly: its file's permissions decide


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
    drops: list[DropInfo] = Field(default_factory=list)  # the latest decisions, newest first
    drops_seen_at_first_mirror: int = 0  # older drops the first SFTP mirror recorded, unplanned
    notify_channels: list[str] = Field(default_factory=list)  # "email-1 (smtp host:587)", ...


class ChannelState(BaseModel):
    """One notification channel as the outbox knows it (never its secret or full address)."""

    channel: str
    pending: int = 0
    failed: int = 0
    sent: int = 0
    dropped: int = 0  # its channel stopped wanting the event, or left the config for good
    last_sent_at: datetime | None = None  # UTC
    last_error: str | None = None
    last_error_at: datetime | None = None  # UTC


class ChannelTestResult(BaseModel):
    """`roster-sync notify test`: what one channel answered (its address shortened, no secret)."""

    channel: str
    target: str
    ok: bool
    detail: str
    seconds: float


class NotifyStatus(BaseModel):
    """The notification outbox: what waits, what gave up, and each channel's last error."""

    pending: int = 0
    failed: int = 0
    sent: int = 0
    dropped: int = 0
    channels: list[ChannelState] = Field(default_factory=list)


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
    notifications: NotifyStatus = Field(default_factory=NotifyStatus)
    blackout: str | None = None  # today is in a blackout: the daemon syncs nothing
