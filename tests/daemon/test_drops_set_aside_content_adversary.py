"""Adversarial probes of "a drop set aside is never planned again while its files are the same"
(the model: test_drops_set_aside_content.py). Each fault found is an xfail(strict) saying what
was seen; the rest are behaviours that held. Real daemons on a thread of this process, a real
sshd, the wall clock moved by hand; a hash that cannot be read is simulated where a file
removed as it is read is what is probed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from daemon.service import inbox, main_loop
from daemon.service.config import load_config
from daemon.service.drop_history import UNDECIDED

from . import test_drops_set_aside as model
from . import test_sftp_late_manifest as late
from .conftest import SAMPLE, archived, copy_drop, preset, runs_in, wait_for
from .test_daemon_drops import EXPORTED, polls, sftp_settings, upload
from .test_manifest_wait import delta_drop, line_of
from .test_sftp_late_manifest import drop_row, first_drop_applied

ME, REASON = model.ME, model.REASON
roster_sync, set_aside = model.roster_sync, model.set_aside
# the neighbours' fixtures, as they are
waiting_for_its_manifest = model.waiting_for_its_manifest
manifest_comes_while_queued = late.manifest_comes_while_queued


def archived_path(archive: Path, name: str) -> Path:
    """The archived copy whose name (without its HHMMSS- prefix) is `name`."""
    return next(p for day in archive.iterdir() for p in day.iterdir() if p.name.endswith(name))


def day2_set_aside(daemon, capsys) -> None:
    assert set_aside(daemon, capsys, "day2")[0] == 0
    wait_for(lambda: "skipped-day2" in archived(daemon.config.archive), what="day2 archived")


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)
    return target


def taken_at_the_give_up(daemon, name: str, ticks) -> None:
    """`name`, dropped into the inbox without its manifest, waits for it; then it is taken."""
    client = daemon.client()
    line_of(client, f"{name}: waits for manifest.csv")
    client.close()
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)


# ------------------------------------------------------------------ the same content, otherwise


def test_the_same_files_under_another_name_are_not_planned(
    waiting_for_its_manifest, capsys, tmp_path, ticks
) -> None:
    daemon = waiting_for_its_manifest
    day2_set_aside(daemon, capsys)
    copy_drop(tmp_path / "day2-bare", daemon.config.inbox, "day2-resent")
    taken_at_the_give_up(daemon, "day2-resent", ticks)
    wait_for(
        lambda: "set-aside-as-drop-2-day2-resent" in archived(daemon.config.archive),
        what="the resent copy decided",
    )
    client = daemon.client()
    assert runs_in(client) == [(1, "planned")]
    client.close()


def test_the_same_files_zipped_are_not_planned(
    waiting_for_its_manifest, capsys, tmp_path, ticks
) -> None:
    """The content is the CSVs', in a folder or a ZIP alike: the same export, zipped by the
    SIS's copy job this time, is the drop the person set aside."""
    daemon = waiting_for_its_manifest
    day2_set_aside(daemon, capsys)
    bare = zipped(tmp_path / "day2-bare", tmp_path / "day2.zip")
    copy_drop(bare, daemon.config.inbox, "day2.zip")
    taken_at_the_give_up(daemon, "day2.zip", ticks)
    wait_for(
        lambda: "set-aside-as-drop-2-day2.zip" in archived(daemon.config.archive),
        what="the zipped copy decided",
    )
    client = daemon.client()
    assert runs_in(client) == [(1, "planned")]
    client.close()


# ------------------------------------------------------------------ what the administrator sees


@pytest.fixture
def day2_set_aside_and_resent(waiting_for_its_manifest, capsys, tmp_path, ticks):
    """day2 set aside; the same files dropped again, taken at the give-up, skipped for it."""
    daemon = waiting_for_its_manifest
    day2_set_aside(daemon, capsys)
    copy_drop(tmp_path / "day2-bare", daemon.config.inbox, "day2")
    taken_at_the_give_up(daemon, "day2", ticks)
    wait_for(
        lambda: "set-aside-as-drop-2-day2" in archived(daemon.config.archive),
        what="the copy decided",
    )
    return daemon


def resent_copy_line(daemon, capsys) -> str:
    code, out, _ = roster_sync(capsys, "--config", str(daemon.config_path), "drops")
    assert code == 0
    return next(line for line in out.splitlines() if line.startswith("     3  "))


def test_the_copy_skipped_for_a_set_aside_says_which_drop_and_who(
    day2_set_aside_and_resent, capsys
) -> None:
    line = resent_copy_line(day2_set_aside_and_resent, capsys)
    assert line.startswith(
        f"     3  inbox day2: skipped; the same content as drop 2, which {ME} set aside; "
        "not planned"
    ), line


def test_the_copy_skipped_for_a_set_aside_says_how_to_plan_it_anyway(
    day2_set_aside_and_resent, capsys
) -> None:
    line = resent_copy_line(day2_set_aside_and_resent, capsys)
    assert "roster-sync run" in line, line


# ------------------------------------------------------------------ planned by hand


def test_the_archived_copy_is_planned_by_hand_without_the_daemon(
    day2_set_aside_and_resent, capsys
) -> None:
    daemon = day2_set_aside_and_resent
    assert daemon.stop() == 0
    copy = archived_path(daemon.config.archive, "skipped-day2")
    code, out, err = roster_sync(capsys, "--db", str(daemon.config.database), "run", str(copy))
    assert (code, err) == (0, ""), out
    assert out.startswith("Run 2"), out


def test_the_archived_copy_is_planned_by_hand_through_the_daemon(
    day2_set_aside_and_resent, capsys
) -> None:
    daemon = day2_set_aside_and_resent
    copy = archived_path(daemon.config.archive, "set-aside-as-drop-2-day2")
    code, out, err = roster_sync(capsys, "--config", str(daemon.config_path), "run", str(copy))
    assert (code, err) == (0, ""), out
    assert out.startswith("Run 2"), out
    client = daemon.client()
    assert runs_in(client) == [(1, "planned"), (2, "planned")]
    client.close()


def test_a_content_planned_by_hand_after_its_set_aside_is_planned_when_it_comes_back(
    waiting_for_its_manifest, capsys, tmp_path, ticks
) -> None:
    daemon = waiting_for_its_manifest
    day2_set_aside(daemon, capsys)
    copy = archived_path(daemon.config.archive, "skipped-day2")
    assert roster_sync(capsys, "--config", str(daemon.config_path), "run", str(copy))[0] == 0
    client = daemon.client()
    copy_drop(SAMPLE / "day1", daemon.config.inbox, "day1-resent")  # back to day1
    wait_for(lambda: len(runs_in(client)) == 3, what="day1 planned again as run 3")
    copy_drop(tmp_path / "day2-bare", daemon.config.inbox, "day2")  # and to day2
    taken_at_the_give_up(daemon, "day2", ticks)
    wait_for(lambda: len(archived(daemon.config.archive)) == 4, what="day2's files decided")
    assert [r for r, _ in runs_in(client)] == [1, 2, 3, 4]
    client.close()


# ------------------------------------------------------------------ a content that cannot be read


@pytest.fixture
def waiting_for_the_daily_sync(make_daemon_config, start_daemon, clock, ticks):
    """A daemon that syncs at 02:00 only (not on arrival): what is dropped waits for it."""
    config_path = make_daemon_config()
    preset(load_config(config_path), sync_on_arrival=False, sync_start_time="02:00")
    return start_daemon(config_path, clock, ticks)


def broken_zip(tmp_path: Path) -> Path:
    """A ZIP cut short by the SIS's copy job: no reader opens it, however often it is sent."""
    whole = zipped(SAMPLE / "day1", tmp_path / "whole.zip").read_bytes()
    broken = tmp_path / "export.zip"
    broken.write_bytes(whole[: len(whole) // 2])
    return broken


def test_an_unreadable_zip_set_aside_then_dropped_again_is_not_planned(
    waiting_for_the_daily_sync, capsys, tmp_path, ticks
) -> None:
    daemon = waiting_for_the_daily_sync
    client = daemon.client()
    broken = broken_zip(tmp_path)
    copy_drop(broken, daemon.config.inbox, "export.zip")
    line_of(client, "export.zip: ")
    assert set_aside(daemon, capsys, "export.zip")[0] == 0
    wait_for(lambda: "skipped-export.zip" in archived(daemon.config.archive), what="archived")
    copy_drop(broken, daemon.config.inbox, "export.zip")  # the copy job runs again
    line_of(client, "export.zip: ")
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)  # taken as it is
    client.sync_now()
    wait_for(lambda: len(archived(daemon.config.archive)) == 2, what="the copy decided")
    assert runs_in(client) == []
    client.close()


# ------------------------------------------------------------------ from the SFTP server


@pytest.fixture
def sftp_drop_waiting_for_its_manifest(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
):  # fmt: skip
    """day1 (2026-09-14) applied; the delta 2026-09-15 comes without its manifest and waits
    for it: nothing newer was planned, so a new upload of it is never superseded."""
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    upload(put, "2026-09-15", delta_drop(tmp_path), EXPORTED + 100, skip=("manifest.csv",))
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    line_of(client, "sftp/2026-09-15: waits for manifest.csv")
    client.close()
    return daemon


def uploaded_again_and_taken(daemon, put, sshd, ticks, tmp_path) -> None:
    """The SIS uploads the same files again (new times on the server); taken at the give-up."""
    upload(put, "2026-09-15", tmp_path / "delta", EXPORTED + 200, skip=("manifest.csv",))
    polls(sshd, 2)
    client = daemon.client()
    line_of(client, "sftp/2026-09-15: waits for manifest.csv")
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    wait_for(
        lambda: any("sftp-2026-09-15" in n for n in archived(daemon.config.archive)[1:]),
        60,
        "the new upload decided",
    )
    client.close()


def test_a_waiting_sftp_drop_set_aside_then_uploaded_again_unchanged_is_not_planned(
    sftp_drop_waiting_for_its_manifest, capsys, put, sshd, ticks, tmp_path
) -> None:
    daemon = sftp_drop_waiting_for_its_manifest
    assert set_aside(daemon, capsys, "sftp/2026-09-15")[0] == 0
    uploaded_again_and_taken(daemon, put, sshd, ticks, tmp_path)
    client = daemon.client()
    assert runs_in(client) == [(1, "applied")]
    assert drop_row(client, "2026-09-15").reason.startswith(
        f"the same content as drop 2, which {ME} set aside; not planned"
    )
    client.close()


def test_a_waiting_sftp_drop_whose_content_could_not_be_read_when_set_aside_stays_set_aside(
    sftp_drop_waiting_for_its_manifest, capsys, put, sshd, ticks, tmp_path, monkeypatch
) -> None:
    daemon = sftp_drop_waiting_for_its_manifest
    real_hash = main_loop.content_hashes
    unreadable_once = iter([True])

    def hash_failing_once(path, scratch):
        return [] if next(unreadable_once, False) else real_hash(path, scratch)

    monkeypatch.setattr(main_loop, "content_hashes", hash_failing_once)
    assert set_aside(daemon, capsys, "sftp/2026-09-15")[0] == 0
    uploaded_again_and_taken(daemon, put, sshd, ticks, tmp_path)
    client = daemon.client()
    assert runs_in(client) == [(1, "applied")]
    client.close()


def upload_loose(put, source: Path, mtime: int) -> None:
    """The drop's files, but its manifest, at the top of the server's tree."""
    for file in sorted(source.iterdir()):
        if file.name != "manifest.csv":
            put(file.name, file.read_bytes(), mtime=mtime)


def test_loose_files_at_the_sftp_root_set_aside_then_uploaded_again_are_not_planned(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path, capsys
) -> None:
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = delta_drop(tmp_path)
    upload_loose(put, drop, EXPORTED + 100)
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    line_of(client, "sftp/(loose files): waits for manifest.csv")
    assert set_aside(daemon, capsys, "sftp/(loose files)")[0] == 0
    upload_loose(put, drop, EXPORTED + 200)  # the SIS uploads the same files again
    polls(sshd, 2)
    line_of(client, "sftp/(loose files): waits for manifest.csv")
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    row = wait_for(
        lambda: (
            (r := drop_row(client, "(loose files)")).drop_id == 3
            and r.status not in UNDECIDED
            and r
        ),
        60,
        "the new upload decided",
    )
    assert row.status == "skipped"
    assert row.reason.startswith(f"the same content as drop 2, which {ME} set aside; not planned")
    assert runs_in(client) == [(1, "applied")]
    client.close()


def test_a_queued_sftp_drop_set_aside_as_its_manifest_comes_is_not_planned_when_uploaded_again(
    manifest_comes_while_queued, make_daemon_config, make_config, sshd, put, start_daemon,
    clock, ticks, tmp_path, capsys,
) -> None:  # fmt: skip
    config_path = manifest_comes_while_queued
    sftp = sftp_settings(make_config, remote_quiet_seconds=60.0)
    assert make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp) == config_path
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    line_of(client, "sftp/2026-09-15: manifest.csv is still changing")
    code, out, _ = set_aside(daemon, capsys, "sftp-2026-09-15")
    assert code == 0 and out.startswith("sftp-2026-09-15 (drop 2) is set aside"), out
    upload(put, "2026-09-15", tmp_path / "delta", EXPORTED + 300)  # the same files, again
    polls(sshd, 2)
    ticks.advance(60.0)  # they settle on the server
    polls(sshd, 2)
    wait_for(
        lambda: (
            drop_row(client, "2026-09-15").drop_id == 3
            and drop_row(client, "2026-09-15").status not in UNDECIDED
        ),
        60,
        "the new upload decided",
    )
    assert runs_in(client) == [(1, "applied")]
    client.close()
