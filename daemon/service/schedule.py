"""When the daily sync runs: `sync_start_time` in the server's local time, with a clock to inject.

Why wall-clock arithmetic in a real time zone: "02:00" means two in the morning every day, also on
the nights the clocks change, so the next time is built from the local date and then localized
(a fixed UTC offset taken today would be an hour off after a DST change).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from datetime import time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], datetime]  # returns an aware datetime; its tzinfo is the schedule's zone


def _system_zone() -> tzinfo | None:
    """The server's zone with its DST rules: $TZ, else /etc/localtime; None when unknown."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        return None


_ZONE = _system_zone()


def system_clock() -> datetime:
    """Now, in the server's local time zone (aware)."""
    if _ZONE is not None:
        return datetime.now(_ZONE)
    return datetime.now().astimezone()


def parse_start_time(value: str) -> dtime:
    """ "HH:MM" (the settings validate it) as a time of day."""
    hours, minutes = value.strip().split(":")
    return dtime(int(hours), int(minutes))


def next_daily(now: datetime, start: str) -> datetime:
    """The first `start` time of day strictly after `now`, in `now`'s time zone."""
    at = parse_start_time(start)
    zone = now.tzinfo
    wall = now.replace(tzinfo=None) if zone is not None else now
    day = wall.date()
    for _ in range(3):  # today, tomorrow; a third day only if a DST gap ate tomorrow's time
        candidate = _localize(datetime.combine(day, at), zone)
        if candidate > now:
            return candidate
        day += timedelta(days=1)
    return _localize(datetime.combine(day, at), zone)


def start_passed(previous: datetime, now: datetime, start: str) -> datetime | None:
    """The daily start time that passed in (previous, now], if one did; robust to ticks of any
    length. The same start time can pass twice: the wall clock stepped back over it (NTP), or
    it lies in the hour repeated when the clocks fall back. The caller fires once per value."""
    at = next_daily(previous, start)
    return at if at <= now else None


def crossed(previous: datetime, now: datetime, start: str) -> bool:
    """Did a daily start time pass in (previous, now]?"""
    return start_passed(previous, now, start) is not None


def _localize(wall: datetime, zone: tzinfo | None) -> datetime:
    if zone is None:
        return wall.astimezone()  # naive: the system's local time, with its DST rules
    return wall.replace(tzinfo=zone)
