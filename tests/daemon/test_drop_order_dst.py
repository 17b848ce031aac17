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

from daemon.db import Database
from daemon.db import migrate as migrate_module
from daemon.db.migrate import available_migrations
from daemon.service.drop_history import DropHistory
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

from .conftest import (
    SAMPLE,
    FakeClock,
    archived,
    copy_drop,
    runs_in,
    start_on_arrival,
    wait_for,
)

NEW_YORK = ZoneInfo("America/New_York")
FIRST = datetime(2026, 11, 1, 5, 50, tzinfo=UTC).astimezone(NEW_YORK)  # 01:50 EDT
LATER = datetime(2026, 11, 1, 6, 20, tzinfo=UTC).astimezone(NEW_YORK)  # 01:20 EST, 30 min later
BEFORE_0020 = [m for m in available_migrations() if m[0] < 20]


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
    config, daemon = start_on_arrival(make_daemon_config, start_daemon, clock)
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


def test_a_drop_held_since_before_the_clocks_fell_back_is_older_than_one_taken_after(
    new_york: None, make_daemon_config, start_daemon
) -> None:
    """B is first seen at 01:50 EDT and waits for a file its manifest lists; A, first seen at
    01:20 EST (30 minutes later), is taken. B, complete at last, is the older drop: planned after
    A it would undo A's changes. The history keeps instants, so its 01:20 is not read as EDT."""
    clock = FakeClock(FIRST)
    config, daemon = start_on_arrival(make_daemon_config, start_daemon, clock)
    client = daemon.client()
    held = copy_drop(SAMPLE / "day1", config.inbox, "hourly-b")
    users = (held / "users.csv").read_bytes()
    (held / "users.csv").unlink()
    wait_for(
        lambda: any("waiting for users.csv" in p for p in client.status().daemon.pending_drops),
        60, "hourly-b to wait for users.csv",
    )  # fmt: skip
    clock.set(LATER)
    copy_drop(SAMPLE / "day2", config.inbox, "hourly-a")
    wait_for(lambda: len(archived(config.archive)) == 1, 60, "hourly-a to be planned")
    (held / "users.csv").write_bytes(users)
    wait_for(lambda: len(archived(config.archive)) == 2, 60, "hourly-b to be decided")
    drops = {d.name: d for d in client.status().daemon.drops}
    assert drops["hourly-b"].status == "superseded"
    assert "older than hourly-a" in (drops["hourly-b"].reason or "")
    assert "first seen 2026-11-01 01:20:00 -05:00" in (drops["hourly-b"].reason or "")
    assert runs_in(client) == [(1, "planned")]
    client.close()
    assert daemon.stop() == 0


def test_drop_history_shows_each_time_with_its_offset(new_york: None, tmp_path) -> None:
    """An administrator reading 01:50 then 01:20 must see that the second came 30 minutes later."""
    with Database(tmp_path / "roster.duckdb") as db:
        history = DropHistory(db, "test")
        for name, seen in (("hourly-b", FIRST), ("hourly-a", LATER)):
            history.record(
                source="inbox", name=name, status="queued", reason=None, now=seen,
                key=order_key(name, seen), first_seen=seen, complete_at=seen,
            )  # fmt: skip
        lines = [drop.describe() for drop in history.recent()[0]]
    assert "first seen 2026-11-01 01:20:00 -05:00, complete 2026-11-01 01:20:00 -05:00" in lines[0]
    assert "first seen 2026-11-01 01:50:00 -04:00" in lines[1]


def test_times_recorded_before_the_history_kept_instants_read_in_the_servers_zone(
    new_york: None, tmp_path, monkeypatch
) -> None:
    """Migration 0020: a wall time of an older history is read in the local zone; in the hour
    repeated when the clocks fall back, as the earlier instant (as the daemon read it back)."""
    path = tmp_path / "roster.duckdb"
    with monkeypatch.context() as older:
        older.setattr(migrate_module, "available_migrations", lambda: BEFORE_0020)
        db = Database(path)
    for drop_id, wall in ((1, datetime(2026, 11, 1, 1, 50)), (2, datetime(2026, 7, 1, 12, 0))):
        db.execute(
            "INSERT INTO drops (drop_id, source, name, first_seen_at, export_at, decided_at, "
            "status) VALUES (?, 'inbox', ?, ?, ?, ?, 'planned')",
            [drop_id, f"drop-{drop_id}", wall, wall, wall],
        )
    db.close()
    with Database(path) as db:
        rows = db.rows("SELECT first_seen_at, export_at, decided_at FROM drops ORDER BY drop_id")
    assert rows == [
        (datetime(2026, 11, 1, 5, 50),) * 3,  # 01:50 EDT, the first 01:50 of that night
        (datetime(2026, 7, 1, 16, 0),) * 3,  # noon EDT
    ]
