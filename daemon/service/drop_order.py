"""Which drop is newer: the export time by one documented convention, and what follows from it.

Why not file times: a server's modification times say when a file was copied, not when the SIS
exported it (a re-upload, a restore or a copy tool that keeps mtimes reorders them), and applying
an older export after a newer one undoes the newer one's changes. So a drop is ordered by:

1. a date in its folder or ZIP name: `YYYY-MM-DD` or `YYYYMMDD`, optionally followed by a time
   (`2026-11-29T0200`, `2026-11-29_02-00`, `20261129T020000`);
2. else its manifest: the first property whose name ends in `date`, `datetime` or `timestamp`
   (`source.exportDate`, `export.timestamp`, ...) holding an ISO 8601 date or date-time;
3. else the time the daemon first saw it.

Ties are broken by the time first seen, then by name. Pure functions: the daemon reads the names
and manifests, and keeps the history (`drop_history`).

Times are compared as instants (UTC), not as local wall times: on the night the clocks fall back,
a drop first seen at 01:20 EST came 30 minutes after one first seen at 01:50 EDT, and must not
look older. A time in a drop's name carries no offset: it is the SIS's wall time, read in the
server's local zone (the earlier of the two instants in the repeated hour, so names of one night
keep their wall-clock order). A manifest time with an offset is that instant. The history keeps
the instants (naive UTC, `utc_naive`), and a time is shown as the server's local time with its
offset (`shown_time`), so 01:50 -04:00 then 01:20 -05:00 reads as 30 minutes apart.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from daemon.formats.drop import MANIFEST_DATE_SUFFIXES
from daemon.formats.encoding import csv_records
from daemon.models import shown_time

BY_NAME = "name"
BY_MANIFEST = "manifest"
BY_FIRST_SEEN = "first seen"

_DASHED = re.compile(
    r"(?<!\d)((?:19|20)\d\d)-(\d\d)-(\d\d)"
    r"(?:[T_ ](\d\d)[:.-]?(\d\d)(?:[:.-]?(\d\d))?)?(?!\d)"
)
_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d\d)(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)?)?(?!\d)")
_MANIFEST_DATE_KEYS = MANIFEST_DATE_SUFFIXES


@dataclass(frozen=True, eq=False)
class OrderKey:
    """Sorts drops of one source from the oldest export to the newest, by instant (UTC).

    `export_at` and `first_seen` are the server's local wall times; `at` and `seen_at` are the
    instants they stand for, which order keys (and which the history keeps). Left out, they are
    the wall times read in the local zone (`fold` says which of a repeated hour)."""

    export_at: datetime  # naive, the server's local time
    first_seen: datetime  # naive, the server's local time
    name: str
    ordered_by: str = ""  # how export_at was found (not part of the order)
    at: datetime | None = field(default=None, repr=False)  # aware UTC: the export instant
    seen_at: datetime | None = field(default=None, repr=False)  # aware UTC: first seen

    def __post_init__(self) -> None:
        at = self.at if self.at is not None else self.export_at
        seen_at = self.seen_at if self.seen_at is not None else self.first_seen
        object.__setattr__(self, "at", utc_instant(at))
        object.__setattr__(self, "seen_at", utc_instant(seen_at))

    @property
    def export_instant(self) -> datetime:
        return self.sort_key[0]

    @property
    def sort_key(self) -> tuple[datetime, datetime, str]:
        assert self.at is not None and self.seen_at is not None  # set by __post_init__
        return (self.at, self.seen_at, self.name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OrderKey):
            return NotImplemented
        return self.sort_key == other.sort_key

    def __hash__(self) -> int:
        return hash(self.sort_key)

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, OrderKey):
            return NotImplemented
        return self.sort_key < other.sort_key

    def __le__(self, other: Any) -> bool:
        if not isinstance(other, OrderKey):
            return NotImplemented
        return self.sort_key <= other.sort_key

    def __gt__(self, other: Any) -> bool:
        if not isinstance(other, OrderKey):
            return NotImplemented
        return self.sort_key > other.sort_key

    def __ge__(self, other: Any) -> bool:
        if not isinstance(other, OrderKey):
            return NotImplemented
        return self.sort_key >= other.sort_key

    def describe(self) -> str:
        """`exported 2026-11-29 00:00 (date in its name)`, `first seen 2026-11-01 01:20:00 -05:00
        (...)`: what ordered it, for logs and reasons."""
        return describe_order(self.export_instant, self.ordered_by)


def describe_order(export_at: datetime, ordered_by: str) -> str:
    """What ordered a drop. `export_at` is an instant (aware, or naive local); an instant the
    daemon or a manifest gave is shown with its offset, a name's wall time as the SIS wrote it."""
    if ordered_by == BY_FIRST_SEEN:
        return f"first seen {shown_time(export_at)} (no export date in its name or manifest)"
    if ordered_by == BY_NAME:
        return f"exported {naive_local(export_at):%Y-%m-%d %H:%M} (date in its name)"
    return f"exported {shown_time(export_at, seconds=False)} (date in its {ordered_by})"


def utc_naive(moment: datetime) -> datetime:
    """An instant as the history keeps it: naive UTC (a naive time is the local wall time)."""
    return utc_instant(moment).replace(tzinfo=None)


def from_history(moment: datetime) -> datetime:
    """A time the history kept (naive UTC) as the instant it is, aware in UTC."""
    return moment.replace(tzinfo=UTC)


def naive_local(moment: datetime) -> datetime:
    """An aware time as the server's local wall time; a naive one as it is. (For the history and
    for display: a wall time is ambiguous in the hour the clocks fall back, so keys compare
    `utc_instant`s. `fold` says which of the two it was, as long as the value is in memory.)"""
    if moment.tzinfo is None:
        return moment
    wall = moment.astimezone().replace(tzinfo=None)
    later = wall.replace(fold=1)
    if later.astimezone(UTC) == moment.astimezone(UTC) != wall.astimezone(UTC):
        return later  # the second 01:20 of the autumn night
    return wall


def utc_instant(moment: datetime) -> datetime:
    """The instant a time stands for, aware in UTC; a naive one is the server's local wall time
    (its `fold` picks which of a repeated hour; 0, the earlier, when nothing says)."""
    return moment.astimezone(UTC)


def _valid(parts: tuple[str | None, ...]) -> datetime | None:
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in parts)
    try:
        return datetime.combine(date(year, month, day), time(hour, minute, second))
    except ValueError:
        return None


def date_in_name(name: str) -> datetime | None:
    """The export time a drop's name carries (the first valid one), or None."""
    stem = re.sub(r"\.zip$", "", name, flags=re.IGNORECASE)
    found = [(m.start(), m) for pattern in (_DASHED, _COMPACT) for m in pattern.finditer(stem)]
    for _, match in sorted(found, key=lambda item: item[0]):
        moment = _valid(match.groups())
        if moment is not None:
            return moment
    return None


def date_in_manifest(text: str | None) -> datetime | None:
    """The first `...date|datetime|timestamp` property of a manifest that holds an ISO time, as
    the server's local wall time."""
    moment = _moment_in_manifest(text)
    return naive_local(moment) if moment is not None else None


def _moment_in_manifest(text: str | None) -> datetime | None:
    """As `date_in_manifest`, but as written: aware when the manifest gives an offset."""
    if not text:
        return None
    try:
        rows = list(csv_records(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    for row in rows[1:]:
        if len(row) < 2 or not row[0].strip().lower().endswith(_MANIFEST_DATE_KEYS):
            continue
        value = row[1].strip()
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        return moment
    return None


def order_key(name: str, first_seen: datetime, manifest_text: str | None = None) -> OrderKey:
    """Where this drop sorts among its source's drops (see the module's convention)."""
    seen, seen_at = naive_local(first_seen), utc_instant(first_seen)
    named = date_in_name(name)
    if named is not None:  # the SIS's wall time: read in the local zone
        return OrderKey(named, seen, name, BY_NAME, seen_at=seen_at)
    declared = _moment_in_manifest(manifest_text)
    if declared is not None:
        return OrderKey(naive_local(declared), seen, name, BY_MANIFEST, utc_instant(declared),
                        seen_at)  # fmt: skip
    return OrderKey(seen, seen, name, BY_FIRST_SEEN, seen_at, seen_at)


@dataclass(frozen=True)
class Taken:
    """The newest drop of a source that the daemon took (queued or planned): the high-water mark."""

    name: str
    key: OrderKey
    run_id: int | None


def late_reason(key: OrderKey, newest: Taken | None) -> str | None:
    """Why a complete drop must not be planned: it is older than one already taken. None: plan it.

    A drop older than the newest one taken would undo that one's changes, so it is superseded
    (never planned); the admin can still run it by hand. An equal export time is not older (a
    re-sent export of the same night; its content hash tells a true duplicate). Export times
    compare as instants: a drop first seen after the clocks fell back is not older."""
    if newest is None or key.export_instant >= newest.key.export_instant:
        return None
    run = f" (run {newest.run_id})" if newest.run_id is not None else ""
    return f"older than {newest.name}{run}, which was already taken ({newest.key.describe()})"


def newest_first_mirror(keys: dict[str, OrderKey]) -> str | None:
    """On the first mirror only the newest drop is planned; the name of that one. (Drops already
    on the server were seen first all at once, so their keys use their newest file's mtime as
    the time they appeared.)"""
    return max(keys, key=lambda unit: keys[unit]) if keys else None
