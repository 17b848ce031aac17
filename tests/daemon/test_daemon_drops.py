"""What the daemon hands to the sync from SFTP (issue 14): only complete drops, in the order they
were exported, each once. Against a real OpenSSH sshd on loopback.

No test waits for a quiet period in real time: the daemon's monotonic clock for quiet periods is
injected (`ticks`), and a test moves it on when the files have been seen as they should be. How
many times the daemon has looked at the server is counted from the sshd's own log (one login per
mirror), so "nothing happened over three polls" is observed, not slept.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from daemon.service import inbox
from daemon.service.config import load_config
from tests.sftp.sshd import SshdServer

from .conftest import (
    SAMPLE,
    ZONE,
    archived,
    cli,
    preset,
    runs_in,
    wait_for,
    zip_drop,
)

pytestmark = pytest.mark.sftp

EXPECTED = json.loads((SAMPLE / "expected.json").read_text())
FOREVER = 3600.0  # a quiet period that never passes unless a test moves the clock on
EXPORTED = 1_789_000_000  # remote mtimes (2026-09-10)


def sftp_settings(make_config, **extra: object) -> dict:
    """The [sftp] table for the test server, polled five times a second (the tests count
    mirrors, never seconds: a shorter poll only makes each wait for "n more mirrors" shorter)."""
    values = make_config(poll_seconds=0.2).model_dump(mode="json", exclude_none=True)
    values.update(extra)
    return values


def upload(put, folder: str, source: Path, mtime: int, skip: tuple[str, ...] = ()) -> None:
    for file in sorted(source.iterdir()):
        if file.name not in skip:
            put(f"{folder}/{file.name}", file.read_bytes(), mtime=mtime)


def logins(sshd: SshdServer) -> int:
    return sshd.log_file.read_text(errors="replace").count("Accepted password for")


def polls(sshd: SshdServer, n: int = 3) -> None:
    """Wait until the daemon has logged in `n` more times (so n-1 whole mirrors saw the server
    as it is now, and the daemon acted on them)."""
    target = logins(sshd) + n
    wait_for(lambda: logins(sshd) >= target, 60, f"{n} more mirrors")


def pending(client) -> list[str]:
    return client.status().daemon.pending_drops


def pending_line(client, start: str, what: str) -> str:
    """Wait for the status line of a waiting drop that begins with `start`."""
    return wait_for(
        lambda: next((line for line in pending(client) if line.startswith(start)), None),
        what=what,
    )


def file_rows(run, name: str) -> int | None:
    return next((f.rows for f in run.files if f.file_name == name), None)


def start_on_arrival(make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp, **cfg):
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp, **cfg)
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock, ticks)
    return config_path, config, daemon


# ------------------------------------------------------------------ 1. a stalled upload


def test_a_stalled_upload_is_mirrored_only_once_it_stays_unchanged(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    full = (SAMPLE / "day1" / "enrollments.csv").read_bytes()
    partial = full[: full.rfind(b"\n", 0, len(full) * 9 // 10) + 1]  # 90%, cut at a line end
    upload(put, "2026-09-14", SAMPLE / "day1", EXPORTED, skip=("enrollments.csv",))
    sftp = sftp_settings(make_config, remote_quiet_seconds=FOREVER)
    _, _, daemon = start_on_arrival(make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp)
    client = daemon.client()
    polls(sshd, 2)
    ticks.advance(FOREVER)  # the first files have long been there, unchanged
    wait_for(
        lambda: (
            "sftp/2026-09-14: waiting for enrollments.csv (listed in manifest.csv)"
            in pending(client)
        ),
        what="the first files mirrored",
    )
    put("2026-09-14/enrollments.csv", partial, mtime=EXPORTED + 5)  # ... and this one stalls
    polls(sshd, 3)
    assert runs_in(client) == []  # the partial file's size matched the listing: not enough
    assert any(
        line.startswith(
            f"sftp/2026-09-14: enrollments.csv is still changing on the server "
            f"({len(partial):,} bytes)"
        )
        for line in pending(client)
    ), pending(client)

    put("2026-09-14/enrollments.csv", full, mtime=EXPORTED + 30)  # the upload resumes and ends
    wait_for(
        lambda: any(f"({len(full):,} bytes)" in line for line in pending(client)),
        what="the whole file seen on the server",
    )
    assert runs_in(client) == []
    ticks.advance(FOREVER)  # ... and it stays unchanged for the remote quiet period
    wait_for(lambda: runs_in(client) == [(1, "planned")], 60, "the complete drop's run")
    run = client.get_run(1)
    assert file_rows(run, "enrollments.csv") == EXPECTED["drops"]["day1"]["rows"]["enrollments.csv"]
    assert run.changes["enrollments"]["archive"] == 0
    polls(sshd, 2)
    assert runs_in(client) == [(1, "planned")]
    client.close()
    assert daemon.stop() == 0


def test_with_a_ready_marker_a_drop_waits_for_it_however_long_a_file_stalls(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    full = (SAMPLE / "day1" / "enrollments.csv").read_bytes()
    partial = full[: full.rfind(b"\n", 0, len(full) * 9 // 10) + 1]
    upload(put, "2026-09-14", SAMPLE / "day1", EXPORTED, skip=("enrollments.csv",))
    put("2026-09-14/enrollments.csv", partial, mtime=EXPORTED + 5)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0, ready_marker="export.done")
    _, _, daemon = start_on_arrival(make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp)
    client = daemon.client()
    polls(sshd, 3)
    ticks.advance(FOREVER)  # every quiet period has passed: only the marker is missing
    polls(sshd, 2)
    assert runs_in(client) == []
    assert "sftp/2026-09-14: waiting for its ready marker export.done" in pending(client)

    put("2026-09-14/enrollments.csv", full, mtime=EXPORTED + 30)
    put("2026-09-14/export.done", b"", mtime=EXPORTED + 31)  # the SIS writes it last
    wait_for(lambda: runs_in(client) == [(1, "planned")], 60, "the run once the marker is there")
    run = client.get_run(1)
    assert file_rows(run, "enrollments.csv") == EXPECTED["drops"]["day1"]["rows"]["enrollments.csv"]
    client.close()
    assert daemon.stop() == 0


# ------------------------------------------------------------------ 2. the inbox's rules


def test_sftp_drops_wait_for_their_manifest_the_quiet_period_and_a_whole_zip(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    quiet = 30.0
    later = ("enrollments.csv", "demographics.csv")
    upload(put, "2026-09-14", SAMPLE / "day1", EXPORTED, skip=later)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    _, config, daemon = start_on_arrival(
        make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp, quiet_seconds=quiet
    )
    client = daemon.client()
    polls(sshd, 3)
    assert runs_in(client) == []  # the quiet period has not passed
    assert "sftp/2026-09-14: still being written (waiting for it to stay unchanged)" in pending(
        client
    )
    ticks.advance(quiet)
    wait_for(
        lambda: (
            "sftp/2026-09-14: waiting for demographics.csv, enrollments.csv (listed in "
            "manifest.csv)" in pending(client)
        ),
        what="the manifest check",
    )
    polls(sshd, 2)
    assert runs_in(client) == []

    for name in later:
        put(f"2026-09-14/{name}", (SAMPLE / "day1" / name).read_bytes(), mtime=EXPORTED + 60)
    wait_for(
        lambda: (
            "sftp/2026-09-14: still being written (waiting for it to stay unchanged)"
            in pending(client)
        ),
        what="the quiet period starting again",
    )
    polls(sshd, 2)
    assert runs_in(client) == []
    ticks.advance(quiet)
    wait_for(lambda: runs_in(client) == [(1, "planned")], 60, "the complete drop's run")
    run = client.get_run(1)
    for name in later:
        assert file_rows(run, name) == EXPECTED["drops"]["day1"]["rows"][name], name

    # a ZIP must open and pass its CRC check, whatever brought it
    whole = zip_drop(SAMPLE / "day2", tmp_path / "day2.zip").read_bytes()
    put("2026-09-15.zip", whole[: len(whole) * 6 // 10], mtime=EXPORTED + 100)
    polls(sshd, 2)
    ticks.advance(quiet)
    pending_line(client, "sftp/2026-09-15.zip: not a readable ZIP yet", "the ZIP check")
    polls(sshd, 2)
    assert runs_in(client) == [(1, "planned")]
    put("2026-09-15.zip", whole, mtime=EXPORTED + 200)
    polls(sshd, 2)
    ticks.advance(quiet)
    # the newer drop's run supersedes the older open one of the same source
    wait_for(lambda: runs_in(client) == [(1, "superseded"), (2, "planned")], 60, "the ZIP's run")
    wait_for(lambda: "run-2-sftp-2026-09-15.zip" in archived(config.archive))
    client.close()
    assert daemon.stop() == 0


def test_an_sftp_drop_without_the_manifest_its_predecessors_had_waits_for_it(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    quiet = 30.0
    upload(put, "2026-09-14", SAMPLE / "day1", EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    _, _config, daemon = start_on_arrival(
        make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp, quiet_seconds=quiet
    )
    client = daemon.client()
    polls(sshd, 2)
    ticks.advance(quiet)
    wait_for(lambda: runs_in(client) == [(1, "planned")], 60, "the first drop's run")

    upload(put, "2026-09-15", SAMPLE / "day2", EXPORTED + 100, skip=("manifest.csv",))
    polls(sshd, 2)
    ticks.advance(quiet)  # quiet: on main, planned now with every file read as bulk
    pending_line(
        client,
        "sftp/2026-09-15: waits for manifest.csv: the drops before it had one",
        "the wait for the manifest",
    )
    polls(sshd, 2)
    assert runs_in(client) == [(1, "planned")]

    put("2026-09-15/manifest.csv", (SAMPLE / "day2" / "manifest.csv").read_bytes(),
        mtime=EXPORTED + 200)  # fmt: skip
    polls(sshd, 2)
    ticks.advance(quiet)
    wait_for(lambda: runs_in(client) == [(1, "superseded"), (2, "planned")], 60, "day2's run")
    client.close()
    assert daemon.stop() == 0


def test_a_zip_that_failed_half_uploaded_is_taken_again_once_its_upload_ends(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """Its upload stalled past the give-up, so it became a failed run (nothing planned); when
    the upload ends, that night's export is planned, not lost for want of a new name."""
    quiet = 1.0
    whole = zip_drop(SAMPLE / "day1", tmp_path / "day1.zip").read_bytes()
    put("2026-09-15.zip", whole[: len(whole) // 2], mtime=EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    *_, daemon = start_on_arrival(
        make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp, quiet_seconds=quiet
    )
    client = daemon.client()
    polls(sshd, 2)
    ticks.advance(quiet)
    wait_for(
        lambda: any(line.startswith("sftp/2026-09-15.zip: not a readable ZIP yet")
                    for line in pending(client)),
        what="the ZIP check",
    )  # fmt: skip
    polls(sshd, 2)
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    wait_for(lambda: runs_in(client) == [(1, "failed")], 60, "the given-up ZIP's failed run")
    put("2026-09-15.zip", whole, mtime=EXPORTED + 60)  # the upload resumes and ends
    polls(sshd, 2)
    ticks.advance(quiet)
    wait_for(lambda: runs_in(client) == [(1, "failed"), (2, "planned")], 60, "the whole ZIP")
    assert client.get_run(2).changes["students"]["create"] == 300
    polls(sshd, 2)
    assert len(runs_in(client)) == 2
    client.close()
    assert daemon.stop() == 0


# ------------------------------------------------------------------ 3. export order


def _day2_naming(tmp_path: Path, given_name: str) -> Path:
    """day2, with student stu-1001's given name set to `given_name` (one export's one change)."""
    folder = tmp_path / given_name
    folder.mkdir()
    for file in (SAMPLE / "day2").iterdir():
        data = file.read_bytes()
        if file.name == "users.csv":
            data = re.sub(
                rb"(stu-1001,[^\r\n]*?,)Claire,", rb"\1" + given_name.encode() + b",", data
            )
            assert given_name.encode() in data
        (folder / file.name).write_bytes(data)
    return folder


def _upload_at_once(
    remote: Path, put, drops: list[tuple[str, Path, int]], marker: str | None = None
) -> None:
    """Upload each folder under a hidden name (its ready marker last), then rename them all into
    place together."""
    for name, source, mtime in drops:
        upload(put, f".up-{name}", source, mtime)
        if marker:
            put(f".up-{name}/{marker}", b"done\n", mtime=mtime)
    for name, _, _ in drops:
        os.rename(remote / f".up-{name}", remote / name)


def test_drops_are_planned_in_export_order_and_an_older_one_is_superseded(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    # with a ready marker: auto_apply then applies runs that archive (the day2 leavers) too
    marker = "export.done"
    upload(put, "2026-11-28", SAMPLE / "day1", EXPORTED)
    put(f"2026-11-28/{marker}", b"done\n", mtime=EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0, ready_marker=marker)
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp)
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, auto_apply=True)
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    wait_for(lambda: archived(config.archive) == ["run-1-sftp-2026-11-28"], 60, "the first drop")
    # three exports arrive at once; their files' modification times say the opposite order
    _upload_at_once(
        remote,
        put,
        [
            ("2026-11-29", _day2_naming(tmp_path, "Claire"), EXPORTED + 300),
            ("2026-11-30", _day2_naming(tmp_path, "Clarissa"), EXPORTED + 200),
            ("2026-12-01", _day2_naming(tmp_path, "Clara"), EXPORTED + 100),
        ],
        marker,
    )
    wait_for(lambda: len(archived(config.archive)) == 4, 120, "three more drops synced")
    assert archived(config.archive) == [
        "run-1-sftp-2026-11-28",
        "run-2-sftp-2026-11-29",
        "run-3-sftp-2026-11-30",
        "run-4-sftp-2026-12-01",
    ]
    assert runs_in(client) == [(1, "applied"), (2, "applied"), (3, "applied"), (4, "applied")]
    assert client.user_detail("stu-1001").given_name == "Clara"  # the newest export holds

    # an older export arriving late is never planned: it is superseded, and says why
    upload(put, "2026-11-27", SAMPLE / "day1", EXPORTED + 400)
    put(f"2026-11-27/{marker}", b"done\n", mtime=EXPORTED + 400)
    wait_for(
        lambda: any(d.name == "2026-11-27" for d in client.status().daemon.drops),
        what="the late drop's decision",
    )
    polls(sshd, 2)
    assert len(runs_in(client)) == 4
    late = next(d for d in client.status().daemon.drops if d.name == "2026-11-27")
    assert late.status == "superseded" and late.run_id is None
    assert "older than 2026-12-01" in late.reason
    assert late.ordered_by == "name"
    status = cli(config_path, "status")
    assert "sftp 2026-11-27: superseded" in status.stdout, status.stdout + status.stderr
    client.close()
    assert daemon.stop() == 0


def test_the_first_mirror_plans_only_the_newest_drop_and_says_so(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    upload(put, "2026-11-29", SAMPLE / "day1", EXPORTED + 200)  # newer files, older export
    upload(put, "2026-11-30", SAMPLE / "day2", EXPORTED + 100)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    config_path, config, daemon = start_on_arrival(
        make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp
    )
    client = daemon.client()
    wait_for(lambda: archived(config.archive) == ["run-1-sftp-2026-11-30"], 60, "the newest drop")
    polls(sshd, 2)
    assert runs_in(client) == [(1, "planned")]
    info = client.status().daemon
    assert info.drops_seen_at_first_mirror == 1
    seen = next(d for d in info.drops if d.name == "2026-11-29")
    assert seen.status == "seen" and "first mirror" in seen.reason
    status = cli(config_path, "status")
    assert (
        "First mirror: 1 older drop on the server recorded as seen, not planned" in status.stdout
    ), status.stdout + status.stderr
    client.close()
    assert daemon.stop() == 0


def test_the_older_drops_seen_at_the_first_mirror_are_not_downloaded(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """A server keeping a year of nightly folders: only the newest is copied and planned."""
    for day, age in (("2026-11-27", 300), ("2026-11-28", 200), ("2026-11-29", 100)):
        upload(put, day, SAMPLE / "day1", EXPORTED + age)
    upload(put, "2026-11-30", SAMPLE / "day2", EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=FOREVER)
    _, config, daemon = start_on_arrival(
        make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp
    )
    client = daemon.client()
    polls(sshd, 2)  # the first mirror lists everything, still changing for all it knows
    ticks.advance(FOREVER)
    wait_for(lambda: archived(config.archive) == ["run-1-sftp-2026-11-30"], 60, "the newest drop")
    polls(sshd, 2)
    assert sorted(p.name for p in config.mirror_dir.iterdir() if not p.name.startswith(".")) == [
        "2026-11-30"
    ]
    assert runs_in(client) == [(1, "planned")]
    client.close()
    assert daemon.stop() == 0


# ------------------------------------------------------------------ 4. a processed drop is history


def test_a_processed_drop_changed_on_the_server_is_reported_once_and_not_planned_again(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path,
    caplog,
) -> None:  # fmt: skip
    upload(put, "2026-09-14", SAMPLE / "day1", EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    _, config, daemon = start_on_arrival(
        make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp
    )
    client = daemon.client()
    wait_for(lambda: archived(config.archive) == ["run-1-sftp-2026-09-14"], 60, "run 1")
    caplog.set_level(logging.INFO, logger="roster_sync")
    caplog.clear()

    (remote / "2026-09-14" / "demographics.csv").unlink()
    polls(sshd, 4)
    assert runs_in(client) == [(1, "planned")]  # the reduced drop is not planned
    drop = next(d for d in client.status().daemon.drops if d.name == "2026-09-14")
    assert drop.run_id == 1
    assert "demographics.csv is gone from the server" in (drop.change_note or "")
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "is gone from the server; keeping" in m]) == 1, messages
    assert len([m for m in messages if "changed on the server after" in m]) == 1, messages

    put("2026-09-14/users.csv", b"sourcedId,givenName\nu1,Ada\n", mtime=EXPORTED + 99)
    polls(sshd, 3)
    assert runs_in(client) == [(1, "planned")]
    drop = next(d for d in client.status().daemon.drops if d.name == "2026-09-14")
    assert "users.csv changed" in (drop.change_note or "")
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "changed on the server after" in m]) == 2, messages
    client.close()
    assert daemon.stop() == 0


def test_loose_files_at_the_server_root_make_a_new_drop_each_time_they_are_rewritten(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    for file in sorted((SAMPLE / "day1").iterdir()):
        put(file.name, file.read_bytes(), mtime=EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    _, config, daemon = start_on_arrival(
        make_daemon_config, start_daemon, clock, ticks, tmp_path, sftp
    )
    client = daemon.client()
    wait_for(lambda: runs_in(client) == [(1, "planned")], 60, "run 1")
    (remote / "demographics.csv").unlink()  # gone: not a new export by itself
    polls(sshd, 3)
    assert runs_in(client) == [(1, "planned")]
    clock.set(clock() + timedelta(days=1))
    for file in sorted((SAMPLE / "day2").iterdir()):  # the next night's export, in place
        put(file.name, file.read_bytes(), mtime=EXPORTED + 86_400)
    # the next night's run; the older open run of the same source can no longer be approved
    wait_for(lambda: runs_in(client) == [(1, "superseded"), (2, "planned")], 60, "run 2")
    assert (
        file_rows(client.get_run(2), "users.csv") == EXPECTED["drops"]["day2"]["rows"]["users.csv"]
    )
    wait_for(lambda: len(archived(config.archive)) == 2)
    client.close()
    assert daemon.stop() == 0


def test_at_the_daily_start_time_the_server_is_polled_until_its_drops_have_settled(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """Daily sync only (the default): the start time's mirror sees the files for the first time,
    so none is settled yet; the daemon keeps polling until they are, then syncs the drop."""
    upload(put, "2026-09-14", SAMPLE / "day1", EXPORTED)
    sftp = sftp_settings(make_config, remote_quiet_seconds=FOREVER)
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp)
    clock.set(datetime(2026, 9, 14, 1, 59, tzinfo=ZONE))
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    before = logins(sshd)
    clock.wait_reads(3)
    assert logins(sshd) == before  # nothing is polled before the start time
    clock.set(datetime(2026, 9, 14, 2, 0, 1, tzinfo=ZONE))
    polls(sshd, 3)  # polled again and again: the drop due at 02:00 is not in yet
    assert runs_in(client) == []
    assert any("is still changing on the server" in line for line in pending(client))
    ticks.advance(FOREVER)
    wait_for(lambda: runs_in(client) == [(1, "planned")], 60, "the drop due at 02:00")
    settled = logins(sshd)
    clock.wait_reads(5)
    assert logins(sshd) == settled  # and then no more polling until tomorrow
    client.close()
    assert daemon.stop() == 0
