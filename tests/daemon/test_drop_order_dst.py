"""Drops ordered by the time first seen, on the night the clocks fall back (America/New_York,
2026-11-01: 01:00-02:00 happens twice). A drop first seen 30 minutes after another must not look
older because its local wall time is earlier."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.service.config import load_config
from daemon.service.drop_order import (
    BY_FIRST_SEEN,
    BY_MANIFEST,
    BY_NAME,
    OrderKey,
    Taken,
    late_reason,
    naive_local,
    order_key,
)

from .conftest import SAMPLE, FakeClock, archived, copy_drop, preset, runs_in, wait_for

NEW_YORK = ZoneInfo("America/New_York")
FIRST = datetime(2026, 11, 1, 5, 50, tzinfo=UTC).astimezone(NEW_YORK)  # 01:50 EDT
LATER = datetime(2026, 11, 1, 6, 20, tzinfo=UTC).astimezone(NEW_YORK)  # 01:20 EST, 30 min later


@pytest.fixture
def new_york() -> Iterator[None]:
    """The server's local zone is New York for this test (the process's TZ, as on a server)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_drop_first_seen_after_the_clocks_fell_back_is_not_older(new_york: None) -> None:
    a, b = order_key("hourly-a", FIRST), order_key("hourly-b", LATER)
    assert (a.ordered_by, b.ordered_by) == (BY_FIRST_SEEN, BY_FIRST_SEEN)
    assert b.export_at < a.export_at  # its wall time is earlier: 01:20 after 01:50 ...
    assert a < b  # ... but it came later
    assert late_reason(b, Taken("hourly-a", a, 1)) is None
    assert "older than hourly-b" in (late_reason(a, Taken("hourly-b", b, 2)) or "")
    # the same with the local times the daemon's own clock gives (naive with fold, or aware)
    assert late_reason(order_key("b", naive_local(LATER)), Taken("a", a, 1)) is None
    assert late_reason(order_key("b", LATER.astimezone()), Taken("a", a, 1)) is None


def test_a_key_rebuilt_from_the_history_never_looks_newer_than_it_was(new_york: None) -> None:
    """The history keeps local wall times only: read back, 01:50 is the earlier 01:50 (EDT)."""
    a = order_key("hourly-a", FIRST)
    stored = OrderKey(
        a.export_at.replace(fold=0), a.first_seen.replace(fold=0), a.name, BY_FIRST_SEEN
    )
    assert late_reason(order_key("hourly-b", LATER), Taken("hourly-a", stored, 1)) is None
    # a wall time read back from the second 01:20 is taken as the first: never newer than it was
    b = order_key("hourly-b", LATER)
    rebuilt = OrderKey(b.export_at.replace(fold=0), b.first_seen, b.name, BY_FIRST_SEEN)
    assert rebuilt.export_instant <= b.export_instant


def test_names_keep_the_wall_time_the_sis_wrote_and_manifests_their_offset(new_york: None) -> None:
    # a name carries no offset: the SIS's wall time, in order as written
    early, late = order_key("2026-11-01T0120", LATER), order_key("2026-11-01T0150", FIRST)
    assert (early.ordered_by, early.export_at) == (BY_NAME, datetime(2026, 11, 1, 1, 20))
    assert early < late
    assert "older than" in (late_reason(early, Taken(late.name, late, 1)) or "")
    # a manifest that gives its offset says which 01:20 it was
    manifest = "propertyName,value\nsource.exportDate,{}\n"
    edt = order_key("nightly-1", FIRST, manifest.format("2026-11-01T01:50:00-04:00"))
    est = order_key("nightly-2", LATER, manifest.format("2026-11-01T01:20:00-05:00"))
    assert (est.ordered_by, est.export_at) == (BY_MANIFEST, datetime(2026, 11, 1, 1, 20))
    assert edt < est and late_reason(est, Taken(edt.name, edt, 1)) is None
    # a key by name and one by first seen still compare (both are instants)
    assert sorted([order_key("x", LATER), early]) == [early, order_key("x", LATER)]


def test_the_daemon_plans_a_drop_that_arrives_after_the_clocks_fell_back(
    new_york: None, make_daemon_config, start_daemon
) -> None:
    clock = FakeClock(FIRST)
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "hourly")
    wait_for(lambda: len(archived(config.archive)) == 1, 60, "the first drop")
    clock.set(LATER)
    copy_drop(SAMPLE / "day2", config.inbox, "hourly-next")
    wait_for(lambda: len(archived(config.archive)) == 2, 60, "the second drop")
    drops = {d.name: d for d in client.status().daemon.drops}
    assert drops["hourly-next"].status == "planned", drops["hourly-next"].reason
    assert runs_in(client) == [(1, "superseded"), (2, "planned")]  # the newer plan holds
    client.close()
    assert daemon.stop() == 0
