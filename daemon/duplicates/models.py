"""The shape of a duplicate candidate as it leaves the engine (CLI --json, socket API, TUI).

Scripts rely on: candidate_id, score (0..1), left/right with sis_id, status, given_name,
family_name, birth_date, school, and evidence (per field: agree / partial / differ / missing);
lifecycle (the runs behind the lifecycle evidence, in words).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CandidateSide(BaseModel):
    """One record of the pair, as a person reviewing it needs to see it."""

    user_id: int
    sis_id: str | None
    status: str
    origin: str
    given_name: str | None
    family_name: str | None
    birth_date: str | None
    school: str | None  # school names, comma separated
    identifier: str | None
    user_ids: str | None = None  # the feed's userIds ("{StateID:123},{LDAP:ava}")
    email: str | None
    phone: str | None = None  # its own phones, as the score compares them: "N (mobile), N (home)"
    grades: str | None
    guardians: list[str] = Field(default_factory=list)  # a student's guardians' names
    students: list[str] = Field(default_factory=list)  # a guardian's students' names
    arrived_run: int | None = None  # the run that created it (None: made by hand)
    left_run: int | None = None  # the run that archived it when it left the feed


class DuplicateCandidate(BaseModel):
    candidate_id: int
    record_kind: str  # student | guardian
    score: float
    points: int
    status: str  # open | merged | rejected | skipped
    left: CandidateSide
    right: CandidateSide
    evidence: dict[str, str]  # field -> agree | partial | differ | missing
    evidence_detail: dict[str, str]  # field -> exact | close | nickname | swapped | ...
    field_points: dict[str, int]
    survivor_id: int | None = None  # who the survivor rule keeps; None: the administrator picks
    found_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    merge_id: int | None = None
    # The lifecycle evidence in words: "#41 left the feed in run 12; #97 arrived in run 12".
    lifecycle: str | None = None


class ScanSummary(BaseModel):
    """What a scan found (`duplicates_scan`): counts, and the seconds each step took."""

    people: int
    keys: int
    pairs_compared: int
    found: int
    new: int
    gone: int
    open: int
    open_by_kind: dict[str, int] = Field(default_factory=dict)
    seconds: float
    timings: dict[str, float] = Field(default_factory=dict)
    # incremental: only the people changed since the last scan (and what they touch) were
    # compared again; changed: how many people were rebuilt (everyone in a full scan)
    incremental: bool = False
    changed: int = 0


class SchoolCount(BaseModel):
    school_id: int
    name: str | None
    students: int


class ArchiveSummary(BaseModel):
    """Hand-made active students of synced schools (`archive_unsynced`): counted or archived."""

    dry_run: bool
    total: int
    archived: int = 0
    schools: list[SchoolCount] = Field(default_factory=list)


class KeptChange(BaseModel):
    """A change made since a merge that its undo left as it is now, and why."""

    table: str  # users | enrollments | guardian_links | student_attributes
    id: int
    column: str
    now: str | None
    why: str


class MergeUndone(BaseModel):
    """What an undo did (`duplicates_undo`): the merge, and anything it did not put back."""

    merge_id: int
    survivor: int
    merged: int
    hand_made_again: int | None = None  # a survivor the sync had taken over, hand-made again
    not_restored: list[KeptChange] = Field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Both records are exactly as they were before the merge."""
        return not self.not_restored and self.hand_made_again is None
