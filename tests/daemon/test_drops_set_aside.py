"""`roster-sync drops set-aside DROP --reason TEXT`: a person sets aside a drop the daemon holds.
The decision is recorded (skipped, by whom and why, audited as `drop.skipped`), a queued copy goes
to the archive as skipped, and the drops queued after it go on; a drop decided already, an
unknown one or an empty reason is refused in one line. Through the daemon (the loop does it
between two of its steps) and without it (recorded in the database; the daemon archives the
queued copy when it starts). Real daemons, a real sshd, the wall clock moved by hand."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from daemon.cli.main import main
from daemon.db import Database

from .conftest import SAMPLE, archived, copy_drop, runs_in, wait_for
from .test_daemon_drops import EXPORTED, pending_line, polls, sftp_settings, upload
from .test_late_manifest import queue_without_planning
from .test_manifest_wait import first_run_planned, line_of, start, without_manifest
from .test_sftp_late_manifest import drop_row, two_queued
from .test_sftp_unlisted_folder import unlist_the_queued_folder

ME = getpass.getuser()
REASON = "the SIS resent this night as 2026-09-16; this export is incomplete"


def roster_sync(capsys, *args: str) -> tuple[int, str, str]:
    """`roster-sync ARGS` in this process, as a person types it."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def set_aside(daemon, capsys, drop: str, reason: str = REASON) -> tuple[int, str, str]:
    """`roster-sync drops set-aside DROP --reason REASON` through the daemon."""
    return roster_sync(
        capsys, "--config", str(daemon.config_path), "drops", "set-aside", drop, "--reason", reason
    )


def audit_rows(database: Path, action: str) -> list[tuple[str, dict]]:
    """(actor, details) of the audit rows `action`, oldest first (the daemon stopped)."""
    db = Database(database)
    try:
        rows = db.rows(
            "SELECT actor, details FROM audit_log WHERE action = ? ORDER BY audit_id", [action]
        )
    finally:
        db.close()
    return [(actor, json.loads(details)) for actor, details in rows]


# ------------------------------------------------------------------ a queued SFTP drop


@pytest.fixture
def queued_behind_an_unlisted_folder(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path
):  # fmt: skip
    """Two queued (`two_queued`); the manifest of the older 2026-09-15 comes late (still
    changing on a server whose files settle after 60 s), so 2026-09-16 waits behind it; then
    the folder's permissions change on the server for good. Returns the daemon."""
    config_path = two_queued(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    sftp = sftp_settings(make_config, remote_quiet_seconds=60.0)
    assert make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp) == config_path
    drop = tmp_path / "delta"  # made by delta_drop in two_queued
    put("2026-09-15/manifest.csv", (drop / "manifest.csv").read_bytes(), mtime=EXPORTED + 300)
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    unlist_the_queued_folder(client, remote)
    client.close()
    yield daemon
    (remote / "2026-09-15").chmod(0o755)  # the server's tree is removed after the test


def test_the_waiting_drop_names_the_command_that_sets_it_aside(
    queued_behind_an_unlisted_folder,
) -> None:
    client = queued_behind_an_unlisted_folder.client()
    line = pending_line(client, "sftp-2026-09-15: queued", "the held drop")
    assert line.endswith(
        "fix the folder's permissions on the server, or set the drop aside (roster-sync drops "
        "set-aside sftp-2026-09-15 --reason TEXT: it is not planned, and the drops queued after "
        "it go on)"
    ), line
    waiting = client.drops().waiting
    assert [(w.name, w.drop_id, w.queued) for w in waiting] == [
        ("sftp-2026-09-15", 2, True), ("sftp-2026-09-16", 3, True),
        ("sftp/2026-09-15", None, False),  # its manifest, come late, that it waits for
    ]  # fmt: skip
    client.close()


def test_setting_aside_a_queued_drop_whose_folder_cannot_be_listed_lets_the_next_be_planned(
    queued_behind_an_unlisted_folder, capsys, sshd, remote, ticks
) -> None:
    daemon = queued_behind_an_unlisted_folder
    code, out, err = set_aside(daemon, capsys, "sftp-2026-09-15")
    assert (code, err) == (0, "")
    assert out == (
        "sftp-2026-09-15 (drop 2) is set aside: recorded as skipped, with your reason; its "
        "queued copy goes to the archive as skipped, and the drops queued after it go on\n"
    )
    client = daemon.client()
    wait_for(lambda: drop_row(client, "2026-09-16").run_id == 2, 60, "2026-09-16 planned")
    row = drop_row(client, "2026-09-15")
    assert (row.status, row.reason) == ("skipped", f"set aside by {ME}: {REASON}")
    assert "skipped-sftp-2026-09-15" in archived(daemon.config.archive)

    (remote / "2026-09-15").chmod(0o755)  # listed again, unchanged: still set aside
    polls(sshd, 3)
    ticks.advance(60.0)
    polls(sshd, 2)
    assert [r for r, _ in runs_in(client)] == [1, 2]
    assert drop_row(client, "2026-09-15").status == "skipped"
    client.close()


def test_a_drop_set_aside_whose_files_change_on_the_server_is_a_new_upload_decided_afresh(
    queued_behind_an_unlisted_folder, capsys, sshd, remote, put, ticks, tmp_path
) -> None:
    """Uploaded again once 2026-09-16 was planned, it is an older export: superseded."""
    daemon = queued_behind_an_unlisted_folder
    assert set_aside(daemon, capsys, "sftp-2026-09-15")[0] == 0
    client = daemon.client()
    wait_for(lambda: drop_row(client, "2026-09-16").run_id == 2, 60, "2026-09-16 planned")
    (remote / "2026-09-15").chmod(0o755)
    upload(put, "2026-09-15", tmp_path / "delta", EXPORTED + 400)
    polls(sshd, 2)
    ticks.advance(60.0)  # the new upload settles
    row = wait_for(
        lambda: (r := drop_row(client, "2026-09-15")).status == "superseded" and r,
        60, "the new upload decided",
    )  # fmt: skip
    assert row.reason.startswith("older than 2026-09-16 (run 2), which was already taken")
    assert [r for r, _ in runs_in(client)] == [1, 2]
    client.close()


# ------------------------------------------------------------------ an inbox drop


@pytest.fixture
def waiting_for_its_manifest(make_daemon_config, start_daemon, clock, ticks, tmp_path):
    """day1 (with its manifest) planned as run 1; day2 comes without one and waits for it."""
    config, daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    first_run_planned(config, client)
    copy_drop(without_manifest(SAMPLE / "day2", tmp_path), config.inbox, "day2")
    line_of(client, "day2: waits for manifest.csv")
    client.close()
    return daemon


def test_setting_aside_an_inbox_drop_waiting_for_its_manifest_archives_it_unplanned(
    waiting_for_its_manifest, capsys
) -> None:
    daemon = waiting_for_its_manifest
    code, out, _ = set_aside(daemon, capsys, "day2")
    assert code == 0
    assert out.startswith("day2 (drop 2) is set aside: recorded as skipped, with your reason;")
    client = daemon.client()
    wait_for(
        lambda: "skipped-day2" in archived(daemon.config.archive), what="day2 archived as skipped"
    )
    assert not (daemon.config.inbox / "day2").exists()
    assert client.drops().waiting == []
    assert runs_in(client) == [(1, "planned")]
    client.close()


def test_a_drop_set_aside_is_audited_as_skipped_by_the_person_with_their_reason(
    waiting_for_its_manifest, capsys
) -> None:
    daemon = waiting_for_its_manifest
    assert set_aside(daemon, capsys, "day2")[0] == 0
    assert daemon.stop() == 0
    [(actor, details)] = audit_rows(daemon.config.database, "drop.skipped")
    assert actor == ME
    assert details["name"] == "day2"
    assert details["set_aside_by"] == ME
    assert details["reason"] == f"set aside by {ME}: {REASON}"


def test_the_same_drop_set_aside_twice_is_refused_the_second_time(
    waiting_for_its_manifest, capsys
) -> None:
    daemon = waiting_for_its_manifest
    assert set_aside(daemon, capsys, "day2")[0] == 0
    assert set_aside(daemon, capsys, "day2", "again") == (
        1, "", f"roster-sync: drop 2 (day2) was set aside already (set aside by {ME}: {REASON})\n"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("drop", "reason", "refusal"),
    [
        (
            "day1", REASON,
            "drop 1 (day1) was planned as run 1, which waits for review: reject that run instead "
            "(roster-sync reject 1 --reason TEXT)",
        ),
        (
            "day9", REASON,
            "no drop 'day9' among those the daemon holds or decided; roster-sync drops lists "
            "them, with their ids",
        ),
        (
            "day2", "  ",
            "a reason is required to set a drop aside: roster-sync drops set-aside DROP --reason "
            "TEXT (it is kept, audited and shown)",
        ),
    ],
    ids=["planned already", "unknown", "empty reason"],
)  # fmt: skip
def test_a_drop_that_cannot_be_set_aside_is_refused_in_one_line(
    waiting_for_its_manifest, capsys, drop, reason, refusal
) -> None:
    daemon = waiting_for_its_manifest
    assert set_aside(daemon, capsys, drop, reason) == (1, "", f"roster-sync: {refusal}\n")
    client = daemon.client()
    assert [w.name for w in client.drops().waiting] == ["day2"]
    client.close()


# ------------------------------------------------------------------ without the daemon


def day2_queued_while_stopped(make_daemon_config, start_daemon, clock, ticks, tmp_path):
    """day1 planned as run 1 by a daemon since stopped; day2 (without its manifest) queued by
    one stopped as it took it: planned at the next start. Returns the config, the stopped
    daemon and day2's files."""
    config, daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    first_run_planned(config, client)
    client.close()
    daemon.stop()
    bare = without_manifest(SAMPLE / "day2", tmp_path)
    copy_drop(bare, config.inbox, "day2")
    queue_without_planning(daemon.config_path, clock, ticks, "day2")
    return config, daemon, bare


def test_without_the_daemon_a_queued_drop_is_set_aside_in_the_database_and_archived_at_start(
    make_daemon_config, start_daemon, clock, ticks, tmp_path, capsys
) -> None:
    config, daemon, _ = day2_queued_while_stopped(
        make_daemon_config, start_daemon, clock, ticks, tmp_path
    )
    db = ["--db", str(config.database)]

    code, out, _ = roster_sync(capsys, *db, "drops")
    assert code == 0
    assert out.startswith(
        "Waiting: 1 drop\n"
        "     2  day2: queued; the daemon is not running: it plans it when it starts, in export "
        "order\n"
    )
    code, out, _ = roster_sync(capsys, *db, "drops", "set-aside", "2", "--reason", REASON)
    assert (code, out) == (
        0,
        "day2 (drop 2) is set aside: recorded as skipped, with your reason; the daemon is not "
        "running: it moves the queued copy to the archive when it starts, and plans the drops "
        "queued after it\n",
    )
    assert audit_rows(config.database, "drop.skipped")[0][0] == ME

    client = start_daemon(daemon.config_path, clock, ticks).client()
    wait_for(lambda: "skipped-day2" in archived(config.archive), what="day2 archived as skipped")
    assert runs_in(client) == [(1, "planned")]
    client.close()
