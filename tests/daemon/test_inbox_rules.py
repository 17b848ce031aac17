"""The pure rules behind the daemon: when a drop is complete, when the daily sync runs, what the
archive keeps. Real files, a hand-moved clock, no sleeps."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.formats.drop import DropError, open_drop
from daemon.service import drop_archive, inbox
from daemon.service.inbox import (
    ROOT_DROP,
    InboxTracker,
    content_hash,
    expected_by_manifest,
    give_up_seconds,
    manifest_text,
    scan_inbox,
)
from daemon.service.schedule import crossed, next_daily

from .conftest import SAMPLE, encrypted_zip, zip_drop


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def by_name(tracker: InboxTracker) -> dict[str, object]:
    return {s.candidate.name: s for s in tracker.states()}


def test_a_folder_is_ready_only_after_its_files_stay_unchanged(tmp_path: Path) -> None:
    ticks = Ticks()
    tracker = InboxTracker(30, clock=ticks)
    drop = tmp_path / "day1"
    shutil.copytree(SAMPLE / "day1", drop)
    users = (drop / "users.csv").read_bytes()
    (drop / "users.csv").write_bytes(users[: len(users) // 2])  # half uploaded
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 29
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["day1"]
    assert not state.ready and state.wait == pytest.approx(1)

    ticks.now += 20
    (drop / "users.csv").write_bytes(users)  # it grew: the quiet period starts again
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 29.9
    tracker.observe(scan_inbox(tmp_path))
    assert not by_name(tracker)["day1"].ready
    ticks.now += 0.2
    tracker.observe(scan_inbox(tmp_path))
    assert by_name(tracker)["day1"].ready


def test_a_manifest_makes_the_drop_wait_for_every_file_it_lists(tmp_path: Path) -> None:
    ticks = Ticks()
    tracker = InboxTracker(1, clock=ticks)
    drop = tmp_path / "day2"
    shutil.copytree(SAMPLE / "day2", drop)
    (drop / "enrollments.csv").unlink()
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 5
    assert by_name(tracker)["day2"].reason.startswith("still being written")  # not looked again
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["day2"]
    assert not state.ready
    assert "enrollments.csv" in state.reason and "manifest.csv" in state.reason
    assert state.wait is None  # nothing to wait for but a change
    assert "enrollments.csv" in expected_by_manifest((SAMPLE / "day2/manifest.csv").read_text())


def quiet_drop_without_manifest(tmp_path: Path, marker: str | None = None):
    """day2 without its manifest, quiet for 30 s, from an inbox whose drops carry one."""
    ticks = Ticks()
    tracker = InboxTracker(30, clock=ticks, expect_manifest={"inbox"})
    shutil.copytree(SAMPLE / "day1", tmp_path / "day2", ignore=shutil.ignore_patterns("manifest*"))
    if marker:
        (tmp_path / "day2" / marker).touch()
    tracker.observe(scan_inbox(tmp_path, marker))
    ticks.now += 30
    tracker.observe(scan_inbox(tmp_path, marker))
    return tracker, ticks


def test_once_drops_carry_a_manifest_one_without_waits_for_it_until_the_give_up(
    tmp_path: Path,
) -> None:
    tracker, ticks = quiet_drop_without_manifest(tmp_path)
    state = by_name(tracker)["day2"]
    assert not state.ready and state.in_progress  # a newer drop waits behind it
    assert state.reason == (
        "waits for manifest.csv: the drops before it had one (synced without it if none comes in "
        "570 s)"
    )
    ticks.now += 570
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["day2"]
    assert state.ready and state.without_manifest
    assert state.reason.startswith("no manifest.csv came in 600 s, though the drops before it")


def test_a_ready_marker_says_a_drop_is_complete_without_the_manifest_it_would_wait_for(
    tmp_path: Path,
) -> None:
    tracker, _ = quiet_drop_without_manifest(tmp_path, marker="READY")
    state = by_name(tracker)["day2"]
    assert state.ready and not state.without_manifest and not state.reason


def test_a_manifest_without_its_header_line_makes_the_drop_wait_for_its_first_file_too() -> None:
    """The sync reads a first row that is a property as one (exporters that leave the header
    out): the drop waits for the file it names as for the others."""
    text = "file.enrollments,delta\r\nfile.users,bulk\r\n"
    assert expected_by_manifest(text) == ["enrollments.csv", "users.csv"]
    assert expected_by_manifest("propertyName,value\nfile.users,bulk\n") == ["users.csv"]


def test_a_manifest_whose_lines_end_in_a_lone_cr_lists_its_files_as_the_sync_reads_them() -> None:
    text = "propertyName,value\rfile.users,delta\rfile.enrollments,bulk\r"
    assert expected_by_manifest(text) == ["users.csv", "enrollments.csv"]


def test_a_manifest_in_a_folder_the_sync_does_not_read_is_not_the_drops_manifest(
    tmp_path: Path,
) -> None:
    """CSVs at the drop's top are read with the manifest at its top only: one kept in a
    sub-folder (the previous export's) does not end the wait for the drop's own."""
    tracker, ticks = quiet_drop_without_manifest(tmp_path)
    (tmp_path / "day2" / "previous").mkdir()
    shutil.copyfile(SAMPLE / "day1" / "manifest.csv", tmp_path / "day2/previous/manifest.csv")
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 30
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["day2"]
    assert not state.ready and not state.manifest
    assert state.reason.startswith("waits for manifest.csv: the drops before it had one")


def test_a_zip_must_be_whole(tmp_path: Path) -> None:
    ticks = Ticks()
    tracker = InboxTracker(1, clock=ticks)
    whole = zip_drop(SAMPLE / "day1", tmp_path / "whole.bin")
    (tmp_path / "export.zip").write_bytes(whole.read_bytes()[:-200])  # truncated upload
    whole.unlink()
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 2
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["export.zip"]
    assert not state.ready and "not a readable ZIP" in state.reason
    ticks.now += 600  # unchanged for long: handed over, to become a visible failed run
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["export.zip"]
    assert state.ready and "synced anyway" in state.reason

    zip_drop(SAMPLE / "day1", tmp_path / "export.zip")
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 1
    tracker.observe(scan_inbox(tmp_path))
    assert by_name(tracker)["export.zip"].ready and not by_name(tracker)["export.zip"].reason


def _sample_zip(target: Path, extra: dict[str, bytes] | None = None, folder: str = "") -> Path:
    """day1 as a ZIP, with `extra` entries after its files (names as given)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted((SAMPLE / "day1").iterdir()):
            archive.write(file, folder + file.name)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


def _damaged(target: Path) -> None:
    data = bytearray(_sample_zip(target).read_bytes())
    data[60] ^= 0xFF  # inside the first entry's compressed bytes; the directory is intact
    target.write_bytes(bytes(data))


def _newer_zip_version(target: Path) -> Path:
    """A ZIP whose first entry needs version 20.0 to extract (Python reads up to 6.3)."""
    data = bytearray(_sample_zip(target).read_bytes())
    data[data.find(b"PK\x01\x02") + 6] = 200
    target.write_bytes(bytes(data))
    return target


NEVER_READABLE = {
    "encrypted": (
        lambda t: encrypted_zip(SAMPLE / "day1", t),
        "is encrypted; send the drop unencrypted",
    ),
    "not a zip": (
        lambda t: t.write_text("users.csv,orgs.csv\n" * 20),
        "not a ZIP file (it does not begin as one)",
    ),
    "escaping path": (
        lambda t: _sample_zip(t, {"../x.csv": b"a"}),
        "entry '../x.csv' would escape",
    ),
    "absolute path": (
        lambda t: _sample_zip(t, {"/etc/x.csv": b"a"}),
        "entry '/etc/x.csv' would escape",
    ),
    "names differing in case": (
        lambda t: _sample_zip(t, {"USERS.CSV": (SAMPLE / "day1/users.csv").read_bytes()}),
        "holds two USERS.CSV",
    ),
    "a newer zip version": (_newer_zip_version, "zip file version 20.0"),
    "bomb": (
        lambda t: _sample_zip(t, {"users2.csv": b"0" * 20_000_000}),
        "this looks like a ZIP bomb",
    ),
}


@pytest.mark.parametrize("kind", NEVER_READABLE)
def test_a_zip_no_upload_can_fix_is_handed_to_the_sync_once_quiet(
    tmp_path: Path, kind: str
) -> None:
    """Its directory (written last) is there or it is no ZIP at all: waiting ten minutes for
    bytes that will never come only delays the failed run that says what is wrong."""
    make, said = NEVER_READABLE[kind]
    ticks = Ticks()
    tracker = InboxTracker(1, clock=ticks)
    make(tmp_path / "export.zip")
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 1
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["export.zip"]
    assert state.ready
    assert said in state.reason and "no upload can fix it" in state.reason


def test_a_zip_of_a_newer_version_is_refused_as_a_drop_not_raised(tmp_path: Path) -> None:
    """Raised, it stopped the daemon's pass over the queue on every tick: the drop stayed
    `planning`, and every drop queued after it waited."""
    with pytest.raises(DropError, match=r"zip file version 20\.0"):
        open_drop(_newer_zip_version(tmp_path / "export.zip"), tmp_path / "work")


def test_a_zip_with_damaged_entries_waits_for_a_change_until_the_give_up(tmp_path: Path) -> None:
    """What a ZIP rewritten in place looks like while its upload is stalled: new entries over the
    old ones, under the old directory. Handed over at once, the rewrite's end was lost (the file
    had moved to the queue, and its failed run was all that night had)."""
    ticks = Ticks()
    tracker = InboxTracker(1, clock=ticks)
    _damaged(tmp_path / "export.zip")
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 1
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["export.zip"]
    assert not state.ready
    assert "(an upload rewriting it in place that stopped?); waits for it to change" in state.reason
    ticks.now += give_up_seconds(1)
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["export.zip"]
    assert state.ready and state.reason.endswith("synced anyway")


def test_a_zip_cut_short_before_its_directory_keeps_waiting(tmp_path: Path) -> None:
    ticks = Ticks()
    tracker = InboxTracker(1, clock=ticks)
    whole = _sample_zip(tmp_path / "whole.bin").read_bytes()
    whole_path = tmp_path / "whole.bin"
    whole_path.unlink()
    (tmp_path / "export.zip").write_bytes(whole[: len(whole) * 9 // 10])  # an upload that stalled
    tracker.observe(scan_inbox(tmp_path))
    ticks.now += 60
    tracker.observe(scan_inbox(tmp_path))
    state = by_name(tracker)["export.zip"]
    assert not state.ready and state.reason.startswith("not a readable ZIP yet")


def test_the_export_date_of_a_zip_whose_manifest_cannot_be_read_is_unknown(tmp_path: Path) -> None:
    """Not an exception: the loop orders every complete drop on each pass, so one that raised
    would keep every later drop from being taken."""
    encrypted_zip(SAMPLE / "day2", tmp_path / "export.zip")
    (candidate,) = scan_inbox(tmp_path)
    assert manifest_text(candidate) is None


def test_hidden_and_temporary_names_are_not_drops_and_loose_csvs_are_one(tmp_path: Path) -> None:
    for name in (".day3", "upload.zip.partial", ".users.csv.partial", "notes.txt~", "x.tmp"):
        (tmp_path / name).write_text("x")
    for name in ("users.csv", "orgs.csv", "readme.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "day4").mkdir()
    (tmp_path / "day4" / ".users.csv.partial").write_text("x")
    (tmp_path / "day4" / "orgs.csv").write_text("x")
    found = {c.name: c for c in scan_inbox(tmp_path)}
    assert set(found) == {ROOT_DROP, "day4"}
    assert [f.rel for f in found[ROOT_DROP].files] == ["orgs.csv", "users.csv"]
    assert [f.rel for f in found["day4"].files] == ["orgs.csv"]


def test_content_hash_matches_the_runs_and_a_zip_hashes_like_its_folder(tmp_path: Path) -> None:
    folder_hash = content_hash(SAMPLE / "day1", tmp_path / "scratch")
    zipped = zip_drop(SAMPLE / "day1", tmp_path / "day1.zip")
    assert content_hash(zipped, tmp_path / "scratch") == folder_hash
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    assert open_drop(SAMPLE / "day1", work).content_hash() == folder_hash
    assert content_hash(SAMPLE / "day2", tmp_path / "scratch") != folder_hash
    (tmp_path / "empty").mkdir()
    assert content_hash(tmp_path / "empty", tmp_path / "scratch") is None
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_drop_that_cannot_be_hashed_for_an_unforeseen_reason_has_no_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its plan then fails and is recorded once, instead of the queue stopping at it."""

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a reader bug")

    monkeypatch.setattr(inbox, "open_drop", broken)
    assert content_hash(SAMPLE / "day1", tmp_path / "scratch") is None


def test_next_daily_time() -> None:
    utc = UTC
    assert next_daily(datetime(2026, 9, 14, 1, 59, tzinfo=utc), "02:00") == datetime(
        2026, 9, 14, 2, 0, tzinfo=utc
    )
    assert next_daily(datetime(2026, 9, 14, 2, 0, tzinfo=utc), "02:00") == datetime(
        2026, 9, 15, 2, 0, tzinfo=utc
    )
    assert crossed(
        datetime(2026, 9, 14, 1, 59, 59, tzinfo=utc),
        datetime(2026, 9, 14, 2, 0, tzinfo=utc),
        "02:00",
    )
    assert not crossed(
        datetime(2026, 9, 14, 2, 0, tzinfo=utc), datetime(2026, 9, 14, 23, 59, tzinfo=utc), "02:00"
    )
    # across a DST change the local wall time is kept (a fixed offset would be an hour off)
    paris = ZoneInfo("Europe/Paris")
    before = datetime(2026, 10, 24, 12, 0, tzinfo=paris)  # summer time; clocks go back on the 25th
    after = next_daily(before + timedelta(days=1), "02:30")
    assert (after.hour, after.minute, after.day) == (2, 30, 26)
    assert after.utcoffset() == timedelta(hours=1)


def test_archive_names_and_retention(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    now = datetime(2026, 9, 14, 2, 0, 5)
    for name in ("day1", "day2"):
        (tmp_path / name).mkdir()
    first = drop_archive.archive_drop(tmp_path / "day1", archive, "run-7", "day1", now)
    assert first == archive / "2026-09-14" / "020005-run-7-day1"
    second = drop_archive.archive_drop(tmp_path / "day2", archive, "run-7", "day1", now)
    assert second.name == "020005-run-7-day1.2"  # never overwrites
    for day in ("2026-08-14", "2026-08-15", "notes"):
        (archive / day).mkdir()
    removed = drop_archive.prune_archive(archive, 30, date(2026, 9, 14))
    assert [p.name for p in removed] == ["2026-08-14"]
    assert sorted(p.name for p in archive.iterdir()) == ["2026-08-15", "2026-09-14", "notes"]


def test_retention_keeps_a_day_holding_the_drop_of_a_run_still_open(tmp_path: Path) -> None:
    """Lowering drop_retention_days must not delete what a run under review reads."""
    archive = tmp_path / "archive"
    under_review = archive / "2026-08-01" / "020000-run-7-day1"
    decided = archive / "2026-08-02" / "020000-run-8-day2"
    for drop in (under_review, decided):
        drop.mkdir(parents=True)
        (drop / "users.csv").write_text("users")
    removed = drop_archive.prune_archive(
        archive, 7, date(2026, 9, 14), open_drops=[under_review, tmp_path / "elsewhere"]
    )
    assert [p.name for p in removed] == ["2026-08-02"]
    assert (under_review / "users.csv").read_text() == "users"


def test_a_crash_while_queueing_loses_nothing_and_leaves_no_half_drop(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    queue = drop_archive.queue_dir(inbox)
    gathering = queue / ".gathering-20260914-020000-001" / "inbox-root-x"
    gathering.mkdir(parents=True)
    (gathering / "users.csv").write_text("users")  # moved out of the inbox root, not yet queued
    copying = queue / ".incoming-20260914-020000-002" / "sftp-day1"
    copying.mkdir(parents=True)
    (copying / "users.csv").write_text("half a copy")  # the mirror still has the original
    (queue / "20260914-020000-003").mkdir()  # a slot whose drop never arrived
    whole = queue / "20260914-020000-004" / "day1"
    whole.mkdir(parents=True)
    notes = drop_archive.recover_queue(inbox)
    assert len(notes) == 2
    assert (inbox / "users.csv").read_text() == "users"
    assert sorted(p.name for p in queue.iterdir()) == ["20260914-020000-004"]
    assert drop_archive.queued(inbox) == [whole]


def _failing_on(name: str, real: Callable[..., object]) -> Callable[..., object]:
    """`real`, except that it fails as a full disk would for a source named `name`."""

    def call(source: object, *rest: object) -> object:
        if Path(str(source)).name == name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(source, *rest)

    return call


def test_loose_files_that_cannot_all_be_queued_all_stay_in_the_inbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Left behind, the files still in the root would be a drop of their own, planned without
    the ones taken away."""
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE / "day1", inbox)
    names = sorted(p.name for p in inbox.iterdir())
    monkeypatch.setattr(drop_archive.os, "rename", _failing_on("orgs.csv", os.rename))
    with pytest.raises(OSError):
        drop_archive.queue_loose_files(inbox, names, "inbox-root-x")
    monkeypatch.undo()
    assert sorted(p.name for p in inbox.iterdir() if p.name != ".processing") == names
    assert list(drop_archive.queue_dir(inbox).iterdir()) == []


def test_a_mirrored_drop_that_cannot_be_copied_leaves_nothing_in_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror, inbox = tmp_path / "mirror", tmp_path / "inbox"
    shutil.copytree(SAMPLE / "day1", mirror / "day1")
    (candidate,) = scan_inbox(mirror)
    real = drop_archive._link_or_copy
    monkeypatch.setattr(drop_archive, "_link_or_copy", _failing_on("orgs.csv", real))
    with pytest.raises(OSError):
        drop_archive.queue_snapshot(candidate, inbox, "sftp-day1")
    assert list(drop_archive.queue_dir(inbox).iterdir()) == []


def test_a_drop_that_cannot_be_queued_leaves_no_empty_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE / "day1", inbox / "day1")
    monkeypatch.setattr(drop_archive.os, "rename", _failing_on("day1", os.rename))
    with pytest.raises(OSError):
        drop_archive.queue_drop(inbox / "day1", "day1", inbox)
    monkeypatch.undo()
    assert list(drop_archive.queue_dir(inbox).iterdir()) == []
    assert (inbox / "day1" / "users.csv").is_file()
