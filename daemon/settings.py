"""The district's sync settings: stored in the database, validated, every change audited."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from daemon.audit import audit
from daemon.db import Database
from daemon.errors import RosterSyncError
from daemon.formats.spec import USER_ROLES_12

GuardianRole = Literal["parent", "guardian", "relative"]
_DEFAULT_GUARDIAN_ROLES: list[GuardianRole] = ["parent", "guardian"]
KNOWN_ROLES = tuple(r.lower() for r in USER_ROLES_12)


@dataclass(frozen=True, order=True)
class DateRange:
    """A blackout: the days from `first` to `last`, both included."""

    first: date
    last: date

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}..{self.last}"


def parse_blackout(text: str) -> DateRange:
    """`2027-06-15..2027-08-20` or one day `2027-06-15`; a range never runs backwards."""
    first_text, sep, last_text = text.strip().partition("..")
    try:
        first = date.fromisoformat(first_text.strip())
        last = date.fromisoformat(last_text.strip()) if sep else first
    except ValueError:
        raise ValueError(
            f"'{text}' is not a date range (YYYY-MM-DD..YYYY-MM-DD, or one YYYY-MM-DD)"
        ) from None
    if last < first:
        raise ValueError(f"'{text}' ends before it starts")
    return DateRange(first, last)


def blackout_on(settings: SyncSettings, day: date) -> DateRange | None:
    """The blackout range `day` falls in, if any."""
    return next((r for r in map(parse_blackout, settings.blackout_dates) if day in r), None)


class SyncSettings(BaseModel):
    """Every setting that shapes a plan or the daemon, with the seed product's defaults."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    student_id: Literal["sourcedId", "identifier"] = "sourcedId"
    archived_students: Literal["unarchive", "keep_archived"] = "unarchive"
    phone_credential_column: Literal["sms", "phone"] = "sms"
    daily_sync_enabled: bool = True
    sync_start_time: str = "02:00"
    sync_on_arrival: bool = False
    manage_guardians: bool = True
    guardian_roles: list[GuardianRole] = Field(default_factory=lambda: _DEFAULT_GUARDIAN_ROLES[:])
    unarchive_reappearing_classrooms: bool = True
    classroom_filter: Literal["all", "homeroom_only"] = "all"
    update_active_users_contacts: bool = False
    update_language: bool = True
    school_matching: Literal["create_missing", "match_only"] = "create_missing"
    auto_apply: bool = False
    deletion_threshold: float = Field(10.0, ge=0, le=100)
    deletion_threshold_count: int | None = Field(None, ge=0)
    drop_retention_days: int = Field(30, ge=1, le=3650)
    ext_roles: dict[str, str] = Field(default_factory=dict)
    threshold_action: Literal["hold_run", "withhold_archives"] = "hold_run"
    archive_mode: Literal["normal", "additions_only"] = "normal"
    blackout_dates: list[str] = Field(default_factory=list)

    @field_validator("blackout_dates")
    @classmethod
    def _blackouts(cls, value: list[str]) -> list[str]:
        return [str(r) for r in sorted(parse_blackout(v) for v in value)]

    @field_validator("sync_start_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValueError("a time of day as HH:MM, 24-hour clock (e.g. 02:00)")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @field_validator("ext_roles")
    @classmethod
    def _ext_roles(cls, value: dict[str, str]) -> dict[str, str]:
        mapped = {}
        for term, role in value.items():
            term, role = term.strip().lower(), role.strip().lower()
            if not term.startswith("ext:") or len(term) < 5:
                raise ValueError(f"'{term}' is not an extension role (ext:<name>)")
            if role not in KNOWN_ROLES:
                raise ValueError(f"'{role}' is not a OneRoster role ({', '.join(KNOWN_ROLES)})")
            mapped[term] = role
        return dict(sorted(mapped.items()))

    @field_validator("guardian_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one of parent, guardian, relative")
        return sorted(set(value), key=["parent", "guardian", "relative"].index)


class SettingRow(BaseModel):
    """One setting as `settings show` lists it: its value as text, what it means, what it takes."""

    key: str
    value: str
    meaning: str
    allowed: str


@dataclass(frozen=True)
class SettingInfo:
    key: str
    meaning: str
    allowed: str  # human-readable allowed values


SETTING_INFO: dict[str, SettingInfo] = {
    info.key: info
    for info in (
        SettingInfo(
            "student_id",
            "Which feed column identifies a student. Switching re-keys existing students.",
            "sourcedId, identifier",
        ),
        SettingInfo(
            "archived_students",
            "A student archived here but active in the feed: unarchive, or keep archived (a conflict). "
            "Staff and guardians archived by hand always stay archived (a conflict).",
            "unarchive, keep_archived",
        ),
        SettingInfo(
            "phone_credential_column",
            "Which feed column is the mobile phone (log-in and messages); the other is the home phone.",
            "sms, phone",
        ),
        SettingInfo(
            "daily_sync_enabled",
            "Sync every day at the start time. While on, students cannot be created by hand.",
            "true, false",
        ),
        SettingInfo(
            "sync_start_time",
            "When the daily sync starts (server local time).",
            "HH:MM, 24-hour clock",
        ),
        SettingInfo(
            "sync_on_arrival", "Sync a complete new drop as soon as it arrives.", "true, false"
        ),
        SettingInfo(
            "manage_guardians",
            "When off, the sync creates, changes and archives no guardian and no link.",
            "true, false",
        ),
        SettingInfo(
            "guardian_roles",
            "Feed roles that count as guardians (relative = emergency contacts).",
            "comma list of parent, guardian, relative",
        ),
        SettingInfo(
            "ext_roles",
            "OneRoster 1.2 extension roles and the role each counts as; unmapped ones are not synced.",
            "comma list of ext:<name>=<role>, or none",
        ),
        SettingInfo(
            "unarchive_reappearing_classrooms",
            "A classroom archived here that comes back in the feed is unarchived.",
            "true, false",
        ),
        SettingInfo(
            "classroom_filter",
            "Which classes become classrooms: all, or homerooms only (against oversharing).",
            "all, homeroom_only",
        ),
        SettingInfo(
            "update_active_users_contacts",
            "Overwrite email and phones of activated or hand-edited users. Off: each difference is a conflict.",
            "true, false",
        ),
        SettingInfo(
            "update_language",
            "The user's language follows the feed; hand edits of language are refused.",
            "true, false",
        ),
        SettingInfo(
            "school_matching",
            "Feed schools with no match: create them, or skip their rows (reported once per school).",
            "create_missing, match_only",
        ),
        SettingInfo(
            "auto_apply",
            "Apply planned runs without review when nothing is held and no blocking conflict exists; the daemon's run of a drop without a ready marker (a folder or loose CSVs; a ZIP has its own) only if it archives nothing.",
            "true, false",
        ),
        SettingInfo(
            "deletion_threshold",
            "Most records of one kind a run may archive, as % of that kind's active records; over it the run is held.",
            "a percentage 0-100",
        ),
        SettingInfo(
            "deletion_threshold_count",
            "Optional absolute limit of archived records of one kind per run.",
            "a whole number, or none",
        ),
        SettingInfo(
            "threshold_action",
            "A run over the deletion threshold: hold it whole, or apply everything else and "
            "withhold only its archives for a decision (roster-sync withheld RUN).",
            "hold_run, withhold_archives",
        ),
        SettingInfo(
            "archive_mode",
            "additions_only: runs create and update but never archive; what they would archive "
            "waits for a decision (summer rollover).",
            "normal, additions_only",
        ),
        SettingInfo(
            "blackout_dates",
            "Days the daemon syncs nothing (scheduled, inbox, SFTP); a manual run needs --force.",
            "comma list of YYYY-MM-DD..YYYY-MM-DD or YYYY-MM-DD, or none",
        ),
        SettingInfo(
            "drop_retention_days",
            "How long processed drops are kept in the archive folder (a drop whose run is "
            "still open stays until it is decided).",
            "days, 1-3650",
        ),
    )
}


# Settings that say when the daemon syncs, how long it keeps drops, or what it does with a plan
# as it makes one (auto_apply): no plan already made depends on them, so changing one leaves the
# open plans as they are (a run under review is not superseded by a new start time).
NO_PLAN_DEPENDS_ON = frozenset(
    {
        "daily_sync_enabled",
        "sync_start_time",
        "sync_on_arrival",
        "auto_apply",
        "drop_retention_days",
        "blackout_dates",
    }
)


class SettingError(RosterSyncError, ValueError):
    """A bad key or value; the message names the allowed values."""

    title = "Setting not changed"


def parse_value(key: str, raw: str) -> Any:
    if key not in SETTING_INFO:
        raise SettingError(f"unknown setting '{key}'; settings are: {', '.join(SETTING_INFO)}")
    field = SyncSettings.model_fields[key]
    text = raw.strip()
    annotation = str(field.annotation)
    if "bool" in annotation and "list" not in annotation:
        lowered = text.lower()
        if lowered in ("true", "on", "yes", "1"):
            return True
        if lowered in ("false", "off", "no", "0"):
            return False
        raise SettingError(f"{key}: '{raw}' is not allowed; allowed: {SETTING_INFO[key].allowed}")
    if key == "guardian_roles":
        return [part.strip().lower() for part in text.split(",") if part.strip()]
    if key == "deletion_threshold":
        return text.rstrip("%").strip()
    if key == "deletion_threshold_count" and text.lower() in ("none", "off", ""):
        return None
    if key == "blackout_dates":
        if text.lower() in ("none", "off", ""):
            return []
        return [part.strip() for part in text.split(",") if part.strip()]
    if key == "ext_roles":
        if text.lower() in ("none", "off", ""):
            return {}
        pairs = [part.partition("=") for part in text.split(",") if part.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise SettingError(
                f"{key}: '{raw}' is not allowed; allowed: {SETTING_INFO[key].allowed}"
            )
        roles_of: dict[str, list[str]] = {}
        for term, _, role in pairs:
            roles_of.setdefault(term.strip().lower(), []).append(role.strip())
        twice = next(((t, r) for t, r in roles_of.items() if len(r) > 1), None)
        if twice:
            raise SettingError(
                f"{key}: '{raw}' maps {twice[0]} twice ({', '.join(twice[1])}); "
                "map each extension role once"
            )
        return {term.strip(): role.strip() for term, _, role in pairs}
    return text


def load_settings(db: Database) -> SyncSettings:
    stored = {k: json.loads(v) for k, v in db.rows("SELECT key, value FROM settings")}
    known = {k: v for k, v in stored.items() if k in SyncSettings.model_fields}
    return SyncSettings(**known)


def set_setting(db: Database, key: str, raw: str, actor: str) -> SyncSettings:
    """Validate, store and audit one change; raises SettingError with the allowed values."""
    value = parse_value(key, raw)
    current = load_settings(db)
    try:
        updated = current.model_copy(update={}).model_validate({**current.model_dump(), key: value})
    except ValidationError as exc:
        # "Value error, " is the validator library's prefix, not words for an administrator.
        reason = str(exc.errors()[0].get("msg", "invalid")).removeprefix("Value error, ")
        raise SettingError(
            f"{key}: '{raw}' is not allowed ({reason}); allowed: {SETTING_INFO[key].allowed}"
        ) from exc
    old = getattr(current, key)
    new = getattr(updated, key)
    with db.transaction():
        db.execute(
            "INSERT OR REPLACE INTO settings VALUES (?, ?, current_timestamp, ?)",
            [key, json.dumps(new), actor],
        )
        audit(db, actor, "settings.set", details={"key": key, "old": old, "new": new})
        if new != old and key not in NO_PLAN_DEPENDS_ON:
            # Open plans were made (and their holds decided) under the old value: they are
            # superseded, as after a hand edit, so none is applied under rules it was not made by.
            db.bump_directory_version()
    return updated


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value) or "none"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}"
    return str(value)
