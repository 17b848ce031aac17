"""Attacks on the export order of queued SFTP drops (an older export is never planned after a
newer one, and a drop waiting on the server holds the newer ones behind it without losing any):
drops with no export date, three queued with the middle one waiting, a failed mirror, a folder a
mirror cannot list. Against a real sshd."""

from __future__ import annotations

from datetime import timedelta

import pytest

from daemon.service import inbox

from .conftest import SAMPLE, runs_in, wait_for
from .test_daemon_drops import EXPORTED, pending, polls, sftp_settings, upload
from .test_late_manifest import queue_without_planning
from .test_manifest_wait import delta_drop, quiet_until
from .test_sftp_late_manifest import (
    drop_row,
    first_drop_applied,
    planned_in_export_order,
    two_queued,
)

pytestmark = pytest.mark.sftp
DECIDED = ("planned", "superseded", "failed", "skipped")


def test_an_undated_queued_drop_uploaded_again_keeps_its_place_before_a_newer_undated_one(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """weekly-a and weekly-b carry no export date (ordered by when first seen); weekly-a is
    uploaded again an hour later, while both are queued: it is planned from the new upload, in
    its place, and weekly-b (the newer export) is planned after it, not superseded."""
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = delta_drop(tmp_path)
    upload(put, "weekly-a", drop, EXPORTED + 100, skip=("manifest.csv",))
    queue_without_planning(
        config_path, clock, ticks, "weekly-a", "sftp", newer=("weekly-b",),
        meanwhile=lambda: upload(put, "weekly-b", SAMPLE / "day2", EXPORTED + 150),
    )  # fmt: skip
    clock.set(clock() + timedelta(hours=1))
    upload(put, "weekly-a", drop, EXPORTED + 300)
    client = start_daemon(config_path, clock, ticks).client()
    quiet_until(ticks, lambda: drop_row(client, "weekly-b").status in DECIDED, "weekly-b")
    assert drop_row(client, "weekly-b").status == "planned"
    assert drop_row(client, "weekly-a").run_id == 2
    assert drop_row(client, "weekly-b").run_id == 3
    client.close()


def test_of_three_queued_the_middle_one_waiting_holds_the_newer_and_one_taken_meanwhile(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """2026-09-15, -16 and -17 queued; -16 is uploaded again lacking a file its manifest lists
    (a wait that ends at the give-up). The older -15 is planned at once; -17 waits behind -16,
    and so does -18, come and taken meanwhile; at the give-up all are planned in export order."""
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = delta_drop(tmp_path)
    upload(put, "2026-09-15", SAMPLE / "day2", EXPORTED + 100)
    upload(put, "2026-09-16", drop, EXPORTED + 110, skip=("manifest.csv",))
    upload(put, "2026-09-17", SAMPLE / "day1", EXPORTED + 120)
    queue_without_planning(
        config_path, clock, ticks, "2026-09-15", "sftp", newer=("2026-09-16", "2026-09-17")
    )
    (remote / "2026-09-16" / "demographics.csv").unlink()
    upload(put, "2026-09-16", drop, EXPORTED + 300, skip=("demographics.csv",))
    sftp = sftp_settings(make_config, remote_quiet_seconds=60.0)
    assert make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp) == config_path
    client = start_daemon(config_path, clock, ticks).client()
    wait_for(lambda: drop_row(client, "2026-09-15").run_id == 2, 60, "the oldest planned")
    upload(put, "2026-09-18", SAMPLE / "day2", EXPORTED + 400)
    polls(sshd, 2)
    ticks.advance(60.0)  # -18 settles on the server; -16 still lacks demographics.csv
    held = "queued; waits behind sftp-2026-09-16, queued before it (an older export)"
    quiet_until(
        ticks, lambda: {f"sftp-2026-09-17: {held}", f"sftp-2026-09-18: {held}"}
        <= {line.split(", which waits for")[0] for line in pending(client)}, "both held",
    )  # fmt: skip
    assert len(runs_in(client)) == 2
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    quiet_until(ticks, lambda: drop_row(client, "2026-09-18").run_id is not None, "all planned")
    assert [drop_row(client, f"2026-09-1{day}").run_id for day in (5, 6, 7, 8)] == [2, 3, 4, 5]
    client.close()


def _a_new_upload_arriving_past_the_give_up(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
):
    """Two queued (`two_queued`); then a new upload of the older 2026-09-15 whose users.csv is
    still being written past the give-up (a big file written slowly), on a server whose files
    settle after 60 s: the newer drop waits behind it. Returns a client of the daemon."""
    config_path = two_queued(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = tmp_path / "delta"  # made by delta_drop in two_queued
    users = (drop / "users.csv").read_bytes()
    sftp = sftp_settings(make_config, remote_quiet_seconds=60.0)
    assert make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp) == config_path
    put("2026-09-15/manifest.csv", (drop / "manifest.csv").read_bytes(), mtime=EXPORTED + 300)
    put("2026-09-15/users.csv", users, mtime=EXPORTED + 300)
    client = start_daemon(config_path, clock, ticks).client()
    wait_for(
        lambda: any("waits behind sftp-2026-09-15" in line for line in pending(client)), 60, "held"
    )
    for n in range(1, 26):  # users.csv still being written, past the give-up
        ticks.advance(30.0)
        put("2026-09-15/users.csv", users, mtime=EXPORTED + 300 + n)
        polls(sshd, 2)
    return client


def test_a_failed_mirror_does_not_end_the_wait_for_a_new_upload_still_arriving(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """A new upload of the queued 2026-09-15 that stays on its way past the give-up is still
    awaited when one mirror fails: the server was not looked at, so nothing says the upload
    stopped. The queued copy is not planned (nor the newer drop behind it); once the upload
    settles, it is planned, then the newer one."""
    client = _a_new_upload_arriving_past_the_give_up(
        make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
    )
    away = remote.rename(remote.with_name(f"{remote.name}-away"))  # the next mirror fails
    wait_for(
        lambda: (client.status().daemon.last_mirror_result or "").startswith("failed"),
        60,
        "a failed mirror",
    )
    polls(sshd, 2)
    assert runs_in(client) == [(1, "applied")]  # on main: the queued copy planned, and -16
    away.rename(remote)
    polls(sshd, 2)
    ticks.advance(60.0)
    planned_in_export_order(client, ticks)
    assert drop_row(client, "2026-09-15").change_note is None
    client.close()


def test_a_mirror_that_cannot_list_the_folder_of_a_new_upload_does_not_end_its_wait(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """The same upload still arriving, and mirrors that list the server but not its folder
    2026-09-15 (its permissions changed; or it is renamed while a mirror walks the server,
    after the server's top was listed): that folder was not looked at, so nothing says the
    upload stopped. The queued copy is not planned (nor the newer drop behind it), and the
    status says why it waits; once the folder is readable and the upload settles, it is
    planned, then the newer one."""
    client = _a_new_upload_arriving_past_the_give_up(
        make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
    )
    (remote / "2026-09-15").chmod(0)  # the next mirrors cannot list it
    wait_for(
        lambda: "failed (2026-09-15/)" in (client.status().daemon.last_mirror_result or ""),
        60,
        "a mirror that could not list 2026-09-15",
    )
    polls(sshd, 2)
    assert runs_in(client) == [(1, "applied")]  # on main: the queued copy planned, and -16
    assert any(
        line.startswith(
            "sftp-2026-09-16: queued; waits behind sftp-2026-09-15, queued before it (an older "
            "export), which waits for a new upload of it: the last mirror could not list "
            "2026-09-15/ (Permission denied); waiting for the next one; not listed since "
        )
        for line in pending(client)
    ), pending(client)
    (remote / "2026-09-15").chmod(0o755)
    polls(sshd, 2)
    ticks.advance(60.0)
    planned_in_export_order(client, ticks)
    assert drop_row(client, "2026-09-15").change_note is None
    client.close()
