"""An SFTP folder drop whose manifest.csv comes after the folder was taken: while the drop is
queued, the manifest joins it (its delta files are read as delta); once it was planned, the
manifest is set aside and that run says it read every file as bulk. A queued drop uploaded again
whole, with its manifest, is planned from what the server holds once it settles. The SFTP drops
queued after one that waits so wait behind it (an older export is never planned after a newer
one). Against a real sshd."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.db import Database
from daemon.service import inbox
from daemon.service.config import load_config
from daemon.service.drop_history import DropHistory

from .conftest import QUIET, SAMPLE, preset, runs_in, wait_for, zip_drop
from .test_daemon_drops import EXPORTED, pending, polls, sftp_settings, upload
from .test_late_manifest import queue_without_planning
from .test_manifest_wait import delta_drop, quiet_until

pytestmark = pytest.mark.sftp


def first_drop_applied(make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path):
    """day1, with its manifest, from the server's folder 2026-09-14, applied by auto_apply: the
    server's drops carry a manifest from now on."""
    upload(put, "2026-09-14", SAMPLE / "day1", EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp)
    preset(load_config(config_path), sync_on_arrival=True, auto_apply=True)
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    wait_for(lambda: runs_in(client) == [(1, "applied")], 60, "the first drop applied")
    client.close()
    assert daemon.stop() == 0
    return config_path


@pytest.fixture
def manifest_comes_while_queued(
    make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
) -> Path:
    """The delta drop 2026-09-15 is taken without its manifest and left queued by a stop; then
    its manifest.csv comes into its folder on the server (the daemon is not running)."""
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = delta_drop(tmp_path)
    upload(put, "2026-09-15", drop, EXPORTED + 100, skip=("manifest.csv",))
    queue_without_planning(config_path, clock, ticks, "2026-09-15", "sftp")
    put("2026-09-15/manifest.csv", (drop / "manifest.csv").read_bytes(), mtime=EXPORTED + 200)
    return config_path


@pytest.fixture(params=["folder", "zip"])
def uploaded_again_while_queued(
    request, make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
) -> tuple[Path, str]:
    """The delta drop 2026-09-15 (a folder, or a ZIP) is taken without its manifest and left
    queued by a stop; then the SIS uploads it again whole, with its manifest.csv: the same
    files, new mtimes (the ZIP: replaced by one that carries the manifest)."""
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = delta_drop(tmp_path)
    if request.param == "folder":
        name = "2026-09-15"
        upload(put, name, drop, EXPORTED + 100, skip=("manifest.csv",))
        queue_without_planning(config_path, clock, ticks, name, "sftp")
        upload(put, name, drop, EXPORTED + 300)
    else:
        name = "2026-09-15.zip"
        without = tmp_path / "without-manifest"
        without.mkdir()
        for file in drop.iterdir():
            if file.name != "manifest.csv":
                (without / file.name).write_bytes(file.read_bytes())
        put(name, zip_drop(without, tmp_path / "without.zip").read_bytes(), mtime=EXPORTED + 100)
        queue_without_planning(config_path, clock, ticks, name, "sftp")
        put(name, zip_drop(drop, tmp_path / "with.zip").read_bytes(), mtime=EXPORTED + 300)
    return config_path, name


def joined_and_applied(client, ticks) -> None:
    """Run 2 read users.csv as delta: it archives nobody, so auto_apply applied it (read as bulk,
    it archives 297 students and is held)."""
    quiet_until(ticks, lambda: len(runs_in(client)) == 2, "2026-09-15 planned")
    wait_for(lambda: runs_in(client) == [(1, "applied"), (2, "applied")], what="run 2 applied")
    assert client.get_run(2).changes["students"].get("archive", 0) == 0


def test_a_manifest_coming_while_an_sftp_folder_drop_is_queued_joins_it(
    manifest_comes_while_queued, sshd, start_daemon, clock, ticks
) -> None:
    config_path = manifest_comes_while_queued
    client = start_daemon(config_path, clock, ticks).client()
    joined_and_applied(client, ticks)
    row = next(d for d in client.status().daemon.drops if d.name == "2026-09-15")
    assert row.change_note is None  # not "changed on the server after it was queued"
    polls(sshd, 2)
    assert len(runs_in(client)) == 2
    client.close()


def test_a_daemon_that_polls_at_the_start_time_only_looks_at_the_server_before_a_queued_drop(
    manifest_comes_while_queued, start_daemon, clock, ticks
) -> None:
    config_path = manifest_comes_while_queued
    preset(load_config(config_path), sync_on_arrival=False)  # polled at the start time only
    client = start_daemon(config_path, clock, ticks).client()
    joined_and_applied(client, ticks)
    client.close()


@pytest.mark.parametrize("on_arrival", [True, False], ids=["on-arrival", "daily"])
def test_a_queued_sftp_folder_drop_waits_while_its_manifest_is_still_changing_on_the_server(
    manifest_comes_while_queued, make_daemon_config, make_config, sshd, start_daemon, clock, ticks,
    tmp_path, on_arrival,
) -> None:  # fmt: skip
    """Polled at the daily start time only, the server is polled on while the drop waits (not
    until the next night's start time)."""
    config_path = manifest_comes_while_queued
    remote_quiet = 60.0  # the server's files are mirrored once they list alike this long
    sftp = sftp_settings(make_config, remote_quiet_seconds=remote_quiet)
    assert make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp) == config_path
    preset(load_config(config_path), sync_on_arrival=on_arrival)
    client = start_daemon(config_path, clock, ticks).client()
    wait_for(
        lambda: any(line.startswith("sftp/2026-09-15: manifest.csv is still changing")
                    for line in client.status().daemon.pending_drops),
        60, "the manifest's wait",
    )  # fmt: skip
    polls(sshd, 2)
    assert runs_in(client) == [(1, "applied")]  # on main: planned, users.csv read as bulk
    ticks.advance(remote_quiet)
    joined_and_applied(client, ticks)
    client.close()


def test_a_manifest_coming_after_an_sftp_folder_drop_was_planned_is_set_aside_and_its_run_says_so(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path, caplog
) -> None:
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    client = start_daemon(config_path, clock, ticks).client()
    drop = delta_drop(tmp_path)
    upload(put, "2026-09-15", drop, EXPORTED + 100, skip=("manifest.csv",))
    polls(sshd, 2)
    ticks.advance(3 * QUIET + inbox.ZIP_GIVE_UP_MIN)
    wait_for(lambda: len(runs_in(client)) == 2, 60, "2026-09-15 planned without its manifest")

    put("2026-09-15/manifest.csv", (drop / "manifest.csv").read_bytes(), mtime=EXPORTED + 200)
    quiet_until(ticks, lambda: drop_row(client, "2026-09-15").status == "skipped", "set aside")
    assert drop_row(client, "2026-09-15").reason.startswith(
        "manifest.csv came alone after 2026-09-15 (run 2) was taken without it; a manifest alone "
        "is not a drop"
    )
    notes = [note["message"] for note in client.get_run(2).notes]
    assert notes[1].startswith("manifest.csv came after this drop was planned, alone")
    polls(sshd, 2)
    assert len(runs_in(client)) == 2
    assert drop_row(client, "2026-09-15").change_note is None
    assert "changed on the server after" not in caplog.text
    client.close()


def test_a_queued_sftp_drop_uploaded_again_with_its_manifest_is_planned_from_the_new_upload(
    uploaded_again_while_queued, sshd, start_daemon, clock, ticks, caplog
) -> None:
    config_path, name = uploaded_again_while_queued
    client = start_daemon(config_path, clock, ticks).client()
    joined_and_applied(client, ticks)  # on main: planned from the stale copy, read as bulk
    assert drop_row(client, name).change_note is None
    assert f"sftp/{name} changed on the server while it was queued" in caplog.text
    assert "changed on the server after it was queued" not in caplog.text
    polls(sshd, 2)
    assert len(runs_in(client)) == 2
    client.close()


def test_a_daemon_that_polls_at_the_start_time_only_plans_a_queued_drop_uploaded_again_at_once(
    uploaded_again_while_queued, start_daemon, clock, ticks
) -> None:
    """As the queued drop would have been: not at the next night's start time."""
    config_path, _name = uploaded_again_while_queued
    preset(load_config(config_path), sync_on_arrival=False)  # polled at the start time only
    client = start_daemon(config_path, clock, ticks).client()
    joined_and_applied(client, ticks)
    client.close()


def test_a_queued_sftp_drop_uploaded_again_waits_until_the_upload_settles(
    uploaded_again_while_queued, make_daemon_config, make_config, sshd, start_daemon, clock,
    ticks, tmp_path,
) -> None:  # fmt: skip
    config_path, name = uploaded_again_while_queued
    remote_quiet = 60.0  # the server's files are mirrored once they list alike this long
    sftp = sftp_settings(make_config, remote_quiet_seconds=remote_quiet)
    assert make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp) == config_path
    client = start_daemon(config_path, clock, ticks).client()
    pending_line = f"sftp/{name}: "
    wait_for(
        lambda: any(line.startswith(pending_line) and "still changing" in line
                    for line in client.status().daemon.pending_drops),
        60, "the upload's settling",
    )  # fmt: skip
    polls(sshd, 2)
    assert runs_in(client) == [(1, "applied")]
    ticks.advance(remote_quiet)
    joined_and_applied(client, ticks)
    client.close()


def drop_row(client, name: str):
    return next(d for d in client.status().daemon.drops if d.name == name)


def two_queued(make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path) -> Path:
    """2026-09-15 (delta, taken without its manifest) and the newer 2026-09-16 are queued
    together by a daemon stopped as it took them (a restart after a while down)."""
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    upload(put, "2026-09-15", delta_drop(tmp_path), EXPORTED + 100, skip=("manifest.csv",))
    upload(put, "2026-09-16", SAMPLE / "day2", EXPORTED + 150)
    queue_without_planning(config_path, clock, ticks, "2026-09-15", "sftp", newer=("2026-09-16",))
    return config_path


@pytest.fixture(params=["manifest come late", "uploaded again"])
def older_of_two_queued_waits(
    request, make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
) -> Path:
    """Two queued (`two_queued`); then the older one's manifest comes late, or the older one is
    uploaded again whole, on a server whose files settle after 60 s."""
    config_path = two_queued(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = tmp_path / "delta"  # made by delta_drop in two_queued
    if request.param == "manifest come late":
        put("2026-09-15/manifest.csv", (drop / "manifest.csv").read_bytes(), mtime=EXPORTED + 200)
    else:
        upload(put, "2026-09-15", drop, EXPORTED + 300)
    sftp = sftp_settings(make_config, remote_quiet_seconds=60.0)
    assert make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp) == config_path
    return config_path


def test_a_newer_queued_sftp_drop_waits_behind_an_older_one_waiting_on_the_server(
    older_of_two_queued_waits, sshd, start_daemon, clock, ticks
) -> None:
    client = start_daemon(older_of_two_queued_waits, clock, ticks).client()
    line = wait_for(
        lambda: next((line for line in pending(client) if line.startswith("sftp-2026-09-16")
                      and "waits behind" in line), None),
        60, "the newer drop's wait",
    )  # fmt: skip
    assert line.startswith(
        "sftp-2026-09-16: queued; waits behind sftp-2026-09-15, queued before it (an older "
        "export), which waits for "
    )
    assert "is still changing on the server" in line
    polls(sshd, 2)
    assert runs_in(client) == [(1, "applied")]  # on main: 2026-09-16 planned as run 2
    ticks.advance(60.0)
    planned_in_export_order(client, ticks)
    client.close()


def planned_in_export_order(client, ticks) -> None:
    """Both queued drops planned, the older export first."""
    quiet_until(ticks, lambda: drop_row(client, "2026-09-16").run_id is not None, "both planned")
    assert drop_row(client, "2026-09-15").run_id == 2
    assert drop_row(client, "2026-09-16").run_id == 3


@pytest.fixture(params=["new upload lacking a listed file", "late manifest unreadable"])
def older_waits_for_ever(
    request, make_daemon_config, make_config, put, remote, start_daemon, clock, ticks, tmp_path
) -> tuple[Path, str, str]:
    """Two queued (`two_queued`); then a wait of the older one that does not end by itself: it
    is uploaded again with a manifest listing a file that never comes, or its manifest comes
    late, unreadable there. Returns the config, what the older one waits for, and why."""
    config_path = two_queued(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = tmp_path / "delta"  # made by delta_drop in two_queued
    if request.param == "new upload lacking a listed file":
        (remote / "2026-09-15" / "demographics.csv").unlink()
        upload(put, "2026-09-15", drop, EXPORTED + 300, skip=("demographics.csv",))
        return (
            config_path, "a new upload of it", "waiting for demographics.csv (listed in manifest.csv)"
        )  # fmt: skip
    put("2026-09-15/manifest.csv", (drop / "manifest.csv").read_bytes(), EXPORTED + 200).chmod(0)
    return (
        config_path, "its manifest.csv, come after it was queued",
        "could not be mirrored: 2026-09-15/manifest.csv: Permission denied",
    )  # fmt: skip


def test_a_wait_that_does_not_end_by_itself_holds_the_newer_drops_until_the_give_up(
    older_waits_for_ever, sshd, start_daemon, clock, ticks, caplog
) -> None:
    """The older drop is planned from the copy queued at the give-up, then the newer one."""
    config_path, what, why = older_waits_for_ever
    client = start_daemon(config_path, clock, ticks).client()
    held = (
        "sftp-2026-09-16: queued; waits behind sftp-2026-09-15, queued before it (an older "
        f"export), which waits for {what}: {why}; planned from the copy queued if this does not "
        "end in "
    )
    quiet_until(ticks, lambda: any(line.startswith(held) for line in pending(client)), "held")
    polls(sshd, 2)
    assert runs_in(client) == [(1, "applied")]
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    planned_in_export_order(client, ticks)
    assert (
        f"sftp/2026-09-15: gave up waiting for {what} ({why}), unchanged for 600 s; it is planned "
        "from the copy queued"
    ) in caplog.text
    client.close()


def test_a_queued_sftp_drop_older_than_one_planned_meanwhile_is_superseded_not_planned(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path, caplog
) -> None:
    """Whatever path left it queued behind a newer drop that was planned (here: a history
    written so), the older export is never planned."""
    config_path = two_queued(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    db = Database(load_config(config_path).database)
    try:
        history = DropHistory(db, "test")
        newer = history.latest_by_name("sftp")["2026-09-16"]
        history.update(newer.drop_id, "planned", None, clock())
    finally:
        db.close()
    client = start_daemon(config_path, clock, ticks).client()
    wait_for(lambda: drop_row(client, "2026-09-15").status == "superseded", 60, "superseded")
    assert drop_row(client, "2026-09-15").reason.startswith(
        "older than 2026-09-16, which was already taken (exported 2026-09-16 00:00"
    )
    assert "2026-09-15 is superseded, not planned (exported 2026-09-15 00:00" in caplog.text
    polls(sshd, 2)
    assert runs_in(client) == [(1, "applied")]
    client.close()
