"""Adversarial probes of `roster-sync drops set-aside DROP --reason TEXT` (the model:
test_drops_set_aside.py). Each fault found is an xfail(strict) saying what was seen; the rest
are behaviours that held. Real daemons on a thread of this process, a real sshd, the wall clock
moved by hand; a slow plan or a failing write is simulated where a crash is what is probed."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from daemon.service import main_loop, set_aside
from daemon.service.config import load_config
from daemon.service.drop_history import DropHistory

from . import test_drops_set_aside as model
from .conftest import SAMPLE, ZONE, archived, cli, copy_drop, preset, runs_in, wait_for
from .test_daemon_drops import polls
from .test_manifest_wait import first_run_planned, line_of, start, without_manifest
from .test_sftp_late_manifest import drop_row
from .test_socket_roles import _roles

REASON = model.REASON
roster_sync = model.roster_sync
set_aside_through_daemon = model.set_aside
# the model's fixtures, reused as they are
queued_behind_an_unlisted_folder = model.queued_behind_an_unlisted_folder
waiting_for_its_manifest = model.waiting_for_its_manifest

SUMMER = "2027-06-15..2027-08-20"


def waiting_names(client) -> list[str]:
    return [w.name for w in client.drops().waiting]


# ------------------------------------------------------------------ naming the drop


def test_a_superscript_digit_as_the_drop_is_refused_in_one_line(
    waiting_for_its_manifest, capsys
) -> None:
    code, out, err = set_aside_through_daemon(waiting_for_its_manifest, capsys, "²")
    assert (code, out) == (1, "")
    assert err.startswith("roster-sync: no drop '²' among those the daemon holds or decided")


def test_an_id_too_large_for_any_drop_is_refused_in_one_line(
    waiting_for_its_manifest, capsys
) -> None:
    code, out, err = set_aside_through_daemon(
        waiting_for_its_manifest, capsys, "99999999999999999999"
    )
    assert (code, out) == (1, "")
    assert err.startswith("roster-sync: no drop '99999999999999999999' among those")


def test_an_unknown_id_is_refused_in_one_line(waiting_for_its_manifest, capsys) -> None:
    code, out, err = set_aside_through_daemon(waiting_for_its_manifest, capsys, "#12")
    assert (code, out) == (1, "")
    assert err == (
        "roster-sync: no drop '#12' among those the daemon holds or decided; roster-sync drops "
        "lists them, with their ids\n"
    )


def test_a_drop_named_with_spaces_and_unicode_is_set_aside_by_its_name(
    make_daemon_config, start_daemon, clock, ticks, tmp_path, capsys
) -> None:
    config, daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    first_run_planned(config, client)
    name = "Rentrée 2026 #12"
    copy_drop(without_manifest(SAMPLE / "day2", tmp_path), config.inbox, name)
    line_of(client, f"{name}: waits for manifest.csv")
    code, out, _ = set_aside_through_daemon(daemon, capsys, name)
    assert code == 0, out
    assert out.startswith(f"{name} (drop 2) is set aside")
    wait_for(  # the archive's folder name is made safe: Rentr_e_2026_12
        lambda: "skipped-Rentr_e_2026_12" in archived(config.archive), what="archived as skipped"
    )
    assert runs_in(client) == [(1, "planned")]
    client.close()


def test_a_drop_decided_long_ago_is_refused_by_its_id(waiting_for_its_manifest, capsys) -> None:
    code, out, err = set_aside_through_daemon(waiting_for_its_manifest, capsys, "1")
    assert (code, out) == (1, "")
    assert err == (
        "roster-sync: drop 1 (day1) was planned as run 1, which waits for review: reject that "
        "run instead (roster-sync reject 1 --reason TEXT)\n"
    )


# ------------------------------------------------------------------ the loop busy meanwhile


@pytest.fixture
def two_drops_synced_slowly(make_daemon_config, start_daemon, clock, ticks, monkeypatch):
    """day1 and day2 wait for the daily sync (no sync on arrival); checking day1's content takes
    3 s (a large drop on a loaded machine), and the socket waits 0.5 s for the loop's answer
    (ANSWER_SECONDS, 10 s in the product) before saying the loop does it at its next pass."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=False, sync_start_time="02:00")
    real_hash = main_loop.content_hashes

    def slow_hash(path, scratch):
        if path.name == "day1":
            time.sleep(3.0)
        return real_hash(path, scratch)

    monkeypatch.setattr(main_loop, "content_hashes", slow_hash)
    monkeypatch.setattr(set_aside, "ANSWER_SECONDS", 0.5)
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    copy_drop(SAMPLE / "day2", config.inbox, "day2")
    wait_for(lambda: waiting_names(client) == ["day1", "day2"], what="both waiting")
    ticks.advance(5.0)
    client.close()
    return daemon


def test_a_drop_the_person_was_told_is_set_aside_at_the_next_pass_is_not_planned(
    two_drops_synced_slowly, capsys
) -> None:
    daemon = two_drops_synced_slowly
    client = daemon.client()
    client.sync_now()
    wait_for(lambda: (client.status().daemon.busy or "").startswith("checking day1"), 20, "busy")
    code, out, _ = set_aside_through_daemon(daemon, capsys, "day2")
    assert code == 0
    assert out.startswith(
        "the daemon is busy (checking day1); it sets day2 aside before it takes the next drop"
    )
    wait_for(lambda: "run-1-day1" in archived(daemon.config.archive), 30, "day1 planned")
    wait_for(lambda: client.status().daemon.busy is None, 30, "the pass over")
    client.sync_now()  # another pass
    wait_for(lambda: len(archived(daemon.config.archive)) == 2, 30, "day2 decided")
    assert len(runs_in(client)) == 1  # day1 alone: day2 was not planned
    assert drop_row(client, "day2").status == "skipped"
    client.close()


def test_a_set_aside_promised_for_the_next_pass_is_done_when_the_daemon_stops_first(
    two_drops_synced_slowly, capsys
) -> None:
    daemon = two_drops_synced_slowly
    client = daemon.client()
    client.sync_now()
    wait_for(lambda: (client.status().daemon.busy or "").startswith("checking day1"), 20, "busy")
    code, out, _ = set_aside_through_daemon(daemon, capsys, "day2")
    assert code == 0 and out.startswith("the daemon is busy (checking day1)")
    client.close()
    assert daemon.stop() == 0  # asked while day1 is checked: it stops before taking day2
    [(actor, details)] = model.audit_rows(daemon.config.database, "drop.skipped")
    assert (actor, details["name"]) == (model.ME, "day2")
    assert "skipped-day2" in archived(daemon.config.archive)


def test_a_drop_being_planned_is_refused_naming_reject(two_drops_synced_slowly, capsys) -> None:
    daemon = two_drops_synced_slowly
    client = daemon.client()
    client.sync_now()
    wait_for(lambda: (client.status().daemon.busy or "").startswith("checking day1"), 20, "busy")
    code, out, err = set_aside_through_daemon(daemon, capsys, "day1")
    assert (code, out) == (1, "")
    assert "is being planned now; once it is, reject its run instead" in err
    wait_for(lambda: len(runs_in(client)) == 2, 30, "both planned")
    client.close()


# ------------------------------------------------------------------ a failure half way


def test_a_set_aside_that_fails_to_be_recorded_leaves_the_drop_unplanned(
    waiting_for_its_manifest, capsys, monkeypatch
) -> None:
    real_record = DropHistory.record

    def failing_record(self, *args, **kwargs):
        if kwargs.get("set_aside_by"):
            raise OSError("disk full")  # as a crash between the move and the write would
        return real_record(self, *args, **kwargs)

    monkeypatch.setattr(DropHistory, "record", failing_record)
    daemon = waiting_for_its_manifest
    code, _, err = set_aside_through_daemon(daemon, capsys, "day2")
    assert code == 1 and "day2 was not set aside" in err
    client = daemon.client()
    client.sync_now()
    wait_for(lambda: len(archived(daemon.config.archive)) >= 1, what="a pass")
    client.sync_now()
    wait_for(lambda: client.status().daemon.busy is None, what="a pass")
    assert len(runs_in(client)) == 1  # day1 alone: day2 was not planned
    client.close()


# ------------------------------------------------------------------ a blackout day


@pytest.fixture
def blackout_with_day1_waiting(make_daemon_config, start_daemon, clock):
    clock.set(datetime(2027, 6, 16, 1, 58, tzinfo=ZONE))
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_start_time="02:00", sync_on_arrival=True, blackout_dates=SUMMER)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: waiting_names(client) == ["day1"], what="day1 waiting for the blackout")
    client.close()
    return daemon


def test_a_drop_set_aside_on_a_blackout_day_is_no_longer_listed_as_waiting(
    blackout_with_day1_waiting, capsys, clock
) -> None:
    daemon = blackout_with_day1_waiting
    code, out, _ = set_aside_through_daemon(daemon, capsys, "day1")
    assert code == 0 and out.startswith("day1 (drop 1) is set aside")
    clock.wait_reads(3)
    client = daemon.client()
    assert waiting_names(client) == []
    client.close()


def test_a_drop_set_aside_on_a_blackout_day_is_not_planned_once_it_ends(
    blackout_with_day1_waiting, capsys, clock
) -> None:
    daemon = blackout_with_day1_waiting
    assert set_aside_through_daemon(daemon, capsys, "day1")[0] == 0
    # archived at once, in June: looked for before the clock moves on and the archive's
    # retention prunes June's folder
    assert "skipped-day1" in archived(daemon.config.archive)
    clock.set(datetime(2027, 8, 21, 2, 0, 1, tzinfo=ZONE))
    clock.wait_reads(3)  # the daily sync's passes
    client = daemon.client()
    assert runs_in(client) == []
    assert waiting_names(client) == []
    client.close()


def test_an_inbox_drop_set_aside_then_dropped_again_with_the_same_files_is_not_planned(
    blackout_with_day1_waiting, capsys, clock
) -> None:
    daemon = blackout_with_day1_waiting
    assert set_aside_through_daemon(daemon, capsys, "day1")[0] == 0
    wait_for(lambda: not (daemon.config.inbox / "day1").exists(), what="day1 out of the inbox")
    copy_drop(SAMPLE / "day1", daemon.config.inbox, "day1")  # the SIS's copy job runs again
    clock.set(datetime(2027, 8, 21, 2, 0, 1, tzinfo=ZONE))
    wait_for(  # (the first copy, archived in June, is pruned by then)
        lambda: "set-aside-as-drop-1-day1" in archived(daemon.config.archive),
        what="the second copy decided",
    )
    client = daemon.client()
    assert runs_in(client) == []
    assert drop_row(client, "day1").reason.startswith(
        "the same content as drop 1, which root set aside; not planned (to plan it anyway: "
    )
    client.close()


def test_an_inbox_drop_set_aside_then_dropped_again_with_other_files_is_planned(
    blackout_with_day1_waiting, capsys, clock
) -> None:
    daemon = blackout_with_day1_waiting
    assert set_aside_through_daemon(daemon, capsys, "day1")[0] == 0
    wait_for(lambda: not (daemon.config.inbox / "day1").exists(), what="day1 out of the inbox")
    copy_drop(SAMPLE / "day2", daemon.config.inbox, "day1")  # a corrected export, same name
    clock.set(datetime(2027, 8, 21, 2, 0, 1, tzinfo=ZONE))
    client = daemon.client()
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="the new drop planned")
    client.close()


# ------------------------------------------------------------------ SFTP, and a restart


def test_a_queued_sftp_drop_set_aside_stays_set_aside_after_a_restart(
    queued_behind_an_unlisted_folder, capsys, sshd, remote, ticks, start_daemon, clock
) -> None:
    daemon = queued_behind_an_unlisted_folder
    assert set_aside_through_daemon(daemon, capsys, "sftp-2026-09-15")[0] == 0
    client = daemon.client()
    wait_for(lambda: drop_row(client, "2026-09-16").run_id == 2, 60, "2026-09-16 planned")
    client.close()
    assert daemon.stop() == 0
    (remote / "2026-09-15").chmod(0o755)  # listed again, unchanged, by a new daemon
    client = start_daemon(daemon.config_path, clock, ticks).client()
    polls(sshd, 3)
    ticks.advance(60.0)
    polls(sshd, 2)
    assert [r for r, _ in runs_in(client)] == [1, 2]
    assert drop_row(client, "2026-09-15").status == "skipped"
    client.close()


def test_the_same_set_aside_twice_without_the_daemon_is_refused(
    waiting_for_its_manifest, capsys
) -> None:
    daemon = waiting_for_its_manifest
    assert set_aside_through_daemon(daemon, capsys, "day2")[0] == 0
    assert daemon.stop() == 0
    db = ["--db", str(daemon.config.database)]
    code, out, err = roster_sync(capsys, *db, "drops", "set-aside", "day2", "--reason", "again")
    assert (code, out) == (1, "")
    assert err.startswith("roster-sync: drop 2 (day2) was set aside already (set aside by ")


# ------------------------------------------------------------------ roles


def test_a_viewer_may_not_set_a_drop_aside(
    unix_users, make_daemon_config, start_daemon, clock, ticks, tmp_path
) -> None:
    config_path = make_daemon_config(socket_group=unix_users.socket_group, roles=_roles(unix_users))
    config_path.chmod(0o644)
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock, ticks)
    client = daemon.client()
    first_run_planned(config, client)
    copy_drop(without_manifest(SAMPLE / "day2", tmp_path), config.inbox, "day2")
    line_of(client, "day2: waits for manifest.csv")
    viewer = unix_users.user("viewer")
    refused = cli(config_path, "drops", "set-aside", "day2", "--reason", REASON, user=viewer)
    assert refused.returncode != 0 and refused.stdout == ""
    assert "needs the role rostering_admin" in refused.stderr
    listed = cli(config_path, "drops", user=viewer)
    assert listed.returncode == 0 and "day2: waits for manifest.csv" in listed.stdout
    assert waiting_names(client) == ["day2"]
    client.close()
