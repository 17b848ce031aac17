"""The pure rules behind issue 14: a remote file's quiet period, the ready marker, which SFTP drops
are complete, the export order and what is too old. Real files, hand-moved clocks, no server."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from daemon.service import drop_archive
from daemon.service.drop_history import describe_change
from daemon.service.drop_order import (
    BY_FIRST_SEEN,
    BY_MANIFEST,
    BY_NAME,
    Taken,
    date_in_manifest,
    date_in_name,
    late_reason,
    newest_first_mirror,
    order_key,
)
from daemon.service.inbox import (
    SFTP_ROOT_DROP,
    FileSig,
    InboxTracker,
    RemoteView,
    SteadyFiles,
    evaluate,
    keep_unlisted,
    marker_problem,
    mirror_candidates,
    remote_unit,
    scan_inbox,
)

from .conftest import QUIET, SAMPLE, zip_drop

SEEN = datetime(2026, 12, 2, 9, 30)


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ the remote quiet period


def test_a_remote_file_settles_only_when_two_polls_quiet_seconds_apart_list_it_the_same() -> None:
    ticks = Ticks()
    steady = SteadyFiles(60, ticks)
    assert steady.look("d/enrollments.csv", 900, 1000) == 60  # first sight proves nothing
    ticks.now += 59
    assert steady.look("d/enrollments.csv", 900, 1000) == pytest.approx(1)
    ticks.now += 30
    assert steady.look("d/enrollments.csv", 1000, 1000) == 60  # it grew: start again
    ticks.now += 60
    assert steady.look("d/enrollments.csv", 1000, 1000) == 0
    ticks.now += 1
    assert steady.look("d/enrollments.csv", 1000, 1001) == 60  # touched: start again


def test_time_passing_without_a_poll_settles_nothing_and_a_file_that_returns_starts_again() -> None:
    ticks = Ticks()
    steady = SteadyFiles(60, ticks)
    steady.look("a.csv", 1, 1)
    ticks.now += 3600
    steady.keep_only([])  # a poll that no longer lists it
    assert steady.look("a.csv", 1, 1) == 60
    assert SteadyFiles(0, ticks).look("a.csv", 1, 1) == 0  # no quiet period: at once


# ------------------------------------------------------------------ the ready marker


def _sig(rel: str, mtime: int) -> FileSig:
    return FileSig(rel, 10, mtime * 1_000_000_000)


def test_the_ready_marker_must_be_there_and_written_last() -> None:
    files = [_sig("users.csv", 100), _sig("enrollments.csv", 101)]
    assert marker_problem(files, None) is None
    assert marker_problem(files, "export.done") == "waiting for its ready marker export.done"
    assert marker_problem([*files, _sig("export.done", 101)], "export.done") is None
    stale = marker_problem([*files, _sig("export.done", 100)], "export.done")
    assert stale == "waiting for a new ready marker: enrollments.csv changed after export.done"
    # the manifest itself can be the marker, when the SIS writes it last
    assert marker_problem([*files, _sig("manifest.csv", 102)], "manifest.csv") is None


def test_an_inbox_folder_waits_for_its_marker_like_a_mirrored_one(tmp_path: Path) -> None:
    ticks = Ticks()
    tracker = InboxTracker(1, clock=ticks)
    shutil.copytree(SAMPLE / "day1", tmp_path / "day1")
    tracker.observe(scan_inbox(tmp_path, marker="export.done"))
    ticks.now += 2
    tracker.observe(scan_inbox(tmp_path, marker="export.done"))
    (state,) = tracker.states()
    assert not state.ready and state.reason == "waiting for its ready marker export.done"
    (tmp_path / "day1" / "export.done").write_text("")
    tracker.observe(scan_inbox(tmp_path, marker="export.done"))
    ticks.now += 2
    tracker.observe(scan_inbox(tmp_path, marker="export.done"))
    assert tracker.states()[0].ready


# ------------------------------------------------------------------ SFTP drops as candidates


def _mirror(tmp_path: Path) -> tuple[Path, RemoteView]:
    """A mirror folder holding day1 as a folder, day2 as a ZIP and two loose CSVs, and the
    listing of the server it came from (mtimes as the mirror stamps them)."""
    mirror = tmp_path / "mirror"
    shutil.copytree(SAMPLE / "day1", mirror / "2026-11-29")
    zip_drop(SAMPLE / "day2", mirror / "2026-11-30.zip")
    (mirror / "users.csv").write_text("x")
    (mirror / "readme.txt").write_text("not a drop")
    listing = {}
    for path in sorted(p for p in mirror.rglob("*") if p.is_file()):
        os.utime(path, (1_780_000_000, 1_780_000_000))
        listing[path.relative_to(mirror).as_posix()] = (path.stat().st_size, 1_780_000_000)
    return mirror, RemoteView(listing)


def test_the_servers_drops_are_its_folders_zips_and_loose_csvs(tmp_path: Path) -> None:
    mirror, view = _mirror(tmp_path)
    assert remote_unit("2026-11-29/users.csv") == "2026-11-29"
    assert remote_unit("2026-11-30.zip") == "2026-11-30.zip"
    assert remote_unit("users.csv") == "" and remote_unit("readme.txt") is None
    assert remote_unit("export.done", marker="export.done") == ""
    found = {
        c.name: c for c in mirror_candidates(mirror, view, ["2026-11-29", "2026-11-30.zip", ""])
    }
    assert set(found) == {"2026-11-29", "2026-11-30.zip", SFTP_ROOT_DROP}
    assert {c.source for c in found.values()} == {"sftp"}
    assert (
        found["2026-11-29"].kind == "folder" and found["2026-11-29"].path == mirror / "2026-11-29"
    )
    assert len(found["2026-11-29"].files) == 10 and not found["2026-11-29"].held
    assert found["2026-11-30.zip"].kind == "zip"
    assert [f.rel for f in found[SFTP_ROOT_DROP].files] == ["users.csv"]
    assert found[SFTP_ROOT_DROP].label == "sftp/(loose files)"


def test_an_sftp_drop_is_held_while_the_server_side_is_not_settled(tmp_path: Path) -> None:
    mirror, view = _mirror(tmp_path)
    del view.listing["2026-11-29/demographics.csv"]  # gone from the server: not part of it
    view.waiting["2026-11-29/enrollments.csv"] = 42.0
    (drop,) = mirror_candidates(mirror, view, ["2026-11-29"])
    assert "demographics.csv" not in {f.rel for f in drop.files}
    assert "enrollments.csv" not in {f.rel for f in drop.files}
    assert drop.arriving
    assert drop.held.startswith("enrollments.csv is still changing on the server (")

    view.waiting.clear()
    view.failed["2026-11-29/users.csv"] = "Permission denied"
    (drop,) = mirror_candidates(mirror, view, ["2026-11-29"])
    assert drop.held == "could not be mirrored: 2026-11-29/users.csv: Permission denied"
    assert not drop.arriving

    view.problem = "gave up after 5 failed attempt(s)"
    (drop,) = mirror_candidates(mirror, view, ["2026-11-29"])
    assert drop.held.startswith("the last mirror failed (gave up after 5")


def test_a_folder_the_mirror_could_not_list_keeps_its_drop_as_last_seen_and_unseen(
    tmp_path: Path,
) -> None:
    """A mirror lists the server's top but not the folder 2026-11-29 (a permission changed, a
    rename while it walked): the drop is not gone from the server, and what was still changing
    there is not known to have stopped; it waits, unseen, for a mirror that lists it."""
    mirror, before = _mirror(tmp_path)
    before.waiting["2026-11-29/users.csv"] = 42.0
    listed = {rel: sig for rel, sig in before.listing.items() if "/" not in rel}
    failed = {"2026-11-29/": "Permission denied"}
    view = keep_unlisted(RemoteView(listed, {}, failed, unlisted=("2026-11-29/",)), before)
    assert view.listing == before.listing and view.waiting == before.waiting
    (drop,) = mirror_candidates(mirror, view, ["2026-11-29"])
    assert "users.csv" not in {f.rel for f in drop.files}  # still the files seen before
    assert drop.unseen and not drop.arriving
    assert drop.held == (
        "the last mirror could not list 2026-11-29/ (Permission denied); waiting for the next one"
    )


def test_a_folder_no_mirror_could_list_is_a_drop_that_waits_with_no_file_known(
    tmp_path: Path,
) -> None:
    """2026-12-01 has refused the mirror since the first listing: nothing of it is known, yet it
    is a drop that waits, saying why, rather than none at all (nobody would hear of it)."""
    mirror, view = _mirror(tmp_path)
    failed = {"2026-12-01/": "Permission denied"}
    view = keep_unlisted(RemoteView(view.listing, {}, failed, unlisted=("2026-12-01/",)), None)
    (drop,) = mirror_candidates(mirror, view, ["2026-12-01"])
    assert (drop.kind, drop.files, drop.unlisted) == ("folder", (), "2026-12-01/")
    assert drop.unseen and drop.held is not None
    state = evaluate(drop, 0.0, 0.0, 0.0, QUIET, lambda _: None)  # its first look
    assert not state.ready and state.reason == drop.held  # not "still being written"


def test_a_mirrored_drop_goes_through_the_inbox_rules(tmp_path: Path) -> None:
    """The manifest check and the quiet period decide for SFTP drops too (one place)."""
    ticks = Ticks()
    tracker = InboxTracker(5, clock=ticks)
    mirror, view = _mirror(tmp_path)
    del view.listing["2026-11-29/enrollments.csv"]  # not on the server yet
    tracker.observe(mirror_candidates(mirror, view, ["2026-11-29"]))
    ticks.now += 5
    tracker.observe(mirror_candidates(mirror, view, ["2026-11-29"]))
    (state,) = tracker.states()
    assert state.reason == "waiting for enrollments.csv (listed in manifest.csv)"


def test_a_queued_snapshot_holds_exactly_the_files_judged_complete(tmp_path: Path) -> None:
    mirror, view = _mirror(tmp_path)
    inbox = tmp_path / "inbox"
    del view.listing["2026-11-29/guardians.csv"]
    found = {
        c.name: c for c in mirror_candidates(mirror, view, ["2026-11-29", "2026-11-30.zip", ""])
    }
    folder = drop_archive.queue_snapshot(found["2026-11-29"], inbox, "sftp-2026-11-29")
    zipped = drop_archive.queue_snapshot(found["2026-11-30.zip"], inbox, "sftp-2026-11-30.zip")
    loose = drop_archive.queue_snapshot(found[SFTP_ROOT_DROP], inbox, "sftp")
    assert len(list(folder.iterdir())) == 9 and not (folder / "guardians.csv").exists()
    assert zipped.read_bytes() == (mirror / "2026-11-30.zip").read_bytes()
    assert [p.name for p in loose.iterdir()] == ["users.csv"]
    assert drop_archive.queued(inbox) == [folder, zipped, loose]


def test_a_drop_uploaded_again_and_again_while_queued_keeps_its_place_in_the_queue(
    tmp_path: Path,
) -> None:
    """Each new upload takes the slot right after the copy it replaces (archived once read):
    past nine of them, still a slot of the queue, still before the drop queued after it."""
    mirror, view = _mirror(tmp_path)
    inbox = tmp_path / "inbox"
    found = {c.name: c for c in mirror_candidates(mirror, view, ["2026-11-29", "2026-11-30.zip"])}
    current = drop_archive.queue_snapshot(found["2026-11-29"], inbox, "sftp-2026-11-29")
    newer = drop_archive.queue_snapshot(found["2026-11-30.zip"], inbox, "sftp-2026-11-30.zip")
    for _ in range(11):
        again = drop_archive.queue_snapshot(
            found["2026-11-29"], inbox, "sftp-2026-11-29", after=current.parent.name
        )
        assert drop_archive.queued(inbox) == [current, again, newer]
        shutil.rmtree(current.parent)  # the replaced copy, archived as superseded
        current = again
    assert drop_archive.queued(inbox) == [current, newer]


def test_a_drop_queued_after_the_clocks_went_back_is_queued_after_those_queued_before(
    tmp_path: Path,
) -> None:
    """Slots are named by the local wall time: queued at 01:50 EDT, then (the clocks fell back)
        at 01:10 EST, the later drop must still sort last (the queue is planned in that order), after
    a new upload's slot too."""
    mirror, view = _mirror(tmp_path)
    inbox = tmp_path / "inbox"
    found = {c.name: c for c in mirror_candidates(mirror, view, ["2026-11-29", "2026-11-30.zip"])}
    older = drop_archive.queue_snapshot(found["2026-11-29"], inbox, "sftp-2026-11-29")
    an_hour_ahead = f"{datetime.now() + timedelta(hours=1):%Y%m%d-%H%M%S}-0021"  # uploaded again
    older = older.parent.rename(older.parent.with_name(an_hour_ahead)) / older.name
    newer = drop_archive.queue_snapshot(found["2026-11-30.zip"], inbox, "sftp-2026-11-30.zip")
    assert drop_archive.queued(inbox) == [older, newer]


# ------------------------------------------------------------------ export order


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2026-11-29", datetime(2026, 11, 29)),
        ("maplewood_2026-11-29T0215.zip", datetime(2026, 11, 29, 2, 15)),
        ("export-2026-11-29_02-15-30", datetime(2026, 11, 29, 2, 15, 30)),
        ("20261129", datetime(2026, 11, 29)),
        ("oneroster-20261129T021500.ZIP", datetime(2026, 11, 29, 2, 15)),
        ("district-10004321-2026-11-29", datetime(2026, 11, 29)),  # an id is not a date
        ("2026-02-30", None),  # not a date
        ("export-12345678", None),
        ("day1", None),
        ("v2026-11-29x", datetime(2026, 11, 29)),
        ("120261129", None),  # part of a longer number
    ],
)
def test_the_export_date_in_a_name(name: str, expected: datetime | None) -> None:
    assert date_in_name(name) == expected


def test_the_export_date_in_a_manifest() -> None:
    head = "propertyName,value\nmanifest.version,1.0\n"
    assert date_in_manifest(head + "source.exportDate,2026-11-29\n") == datetime(2026, 11, 29)
    assert date_in_manifest(head + "export.timestamp,2026-11-29T02:15:00\n") == datetime(
        2026, 11, 29, 2, 15
    )
    assert date_in_manifest(head + "date,tomorrow\nexport.date,2026-11-30\n") == datetime(
        2026, 11, 30
    )
    assert date_in_manifest(head + "file.users,bulk\n") is None
    assert date_in_manifest(None) is None


def test_the_export_date_in_a_manifest_written_a_b_style() -> None:
    """As the drop's reader reads manifest.csv: a space after each comma, values quoted."""
    text = '"propertyName", "value"\n"source.exportDate", "2026-11-29"\n'
    assert date_in_manifest(text) == datetime(2026, 11, 29)


def test_a_drop_is_ordered_by_its_name_else_its_manifest_else_when_first_seen() -> None:
    manifest = "propertyName,value\nsource.exportDate,2026-11-28\n"
    by_name = order_key("2026-11-29", SEEN, manifest)
    by_manifest = order_key("nightly", SEEN, manifest)
    by_seen = order_key("nightly", SEEN, None)
    assert (by_name.ordered_by, by_name.export_at) == (BY_NAME, datetime(2026, 11, 29))
    assert (by_manifest.ordered_by, by_manifest.export_at) == (BY_MANIFEST, datetime(2026, 11, 28))
    assert (by_seen.ordered_by, by_seen.export_at) == (BY_FIRST_SEEN, SEEN)
    assert sorted([by_seen, by_name, by_manifest]) == [by_manifest, by_name, by_seen]
    assert "date in its name" in by_name.describe()


def test_a_drop_older_than_the_newest_taken_is_late_and_an_equal_one_is_not() -> None:
    newest = Taken("2026-12-01", order_key("2026-12-01", SEEN), 4)
    late = late_reason(order_key("2026-11-30", SEEN), newest)
    assert late is not None and late.startswith("older than 2026-12-01 (run 4)")
    assert late_reason(order_key("2026-12-02", SEEN), newest) is None
    assert late_reason(order_key("district_2026-12-01.zip", SEEN), newest) is None  # same night
    assert late_reason(order_key("2026-11-30", SEEN), None) is None  # nothing taken yet


def test_the_first_mirror_keeps_the_newest_drop() -> None:
    keys = {
        "2026-11-29": order_key("2026-11-29", datetime(2026, 12, 1)),
        "2026-11-30": order_key("2026-11-30", datetime(2026, 11, 30)),
        "": order_key(SFTP_ROOT_DROP, datetime(2026, 11, 1)),
    }
    assert newest_first_mirror(keys) == "2026-11-30"
    assert newest_first_mirror({}) is None


def test_a_change_to_a_drop_taken_before_is_described_file_by_file() -> None:
    before = {"d/users.csv": (10, 1), "d/demographics.csv": (5, 1), "d/classes.csv": (3, 1)}
    now = {"d/users.csv": (11, 2), "d/classes.csv": (3, 1), "d/extra.csv": (1, 1)}
    assert describe_change(before, now) == (
        "demographics.csv is gone from the server; users.csv changed; extra.csv is new"
    )
    assert describe_change(before, {}) == "all its files are gone from the server"
