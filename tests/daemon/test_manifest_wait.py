"""Once a place's drops carry a manifest.csv, a drop without one waits for it: an SIS that pauses
before uploading the manifest (which says some files are delta) must not have its files read as
bulk the moment they are quiet, archiving everyone the delta files leave out."""

from __future__ import annotations

import shutil
from pathlib import Path

from daemon.service import inbox
from daemon.service.config import load_config

from .conftest import QUIET, SAMPLE, archived, copy_drop, preset, runs_in, wait_for, zip_drop

DELTA_MANIFEST = (
    (SAMPLE / "day1" / "manifest.csv").read_text().replace("file.users,bulk", "file.users,delta")
)


def delta_drop(tmp_path: Path) -> Path:
    """day1 whose users.csv holds three changed people only, declared delta by its manifest."""
    drop = tmp_path / "delta"
    shutil.copytree(SAMPLE / "day1", drop)
    lines = (drop / "users.csv").read_text().splitlines(keepends=True)
    (drop / "users.csv").write_text("".join(lines[:4]))
    (drop / "manifest.csv").write_text(DELTA_MANIFEST)
    return drop


def three_left_out(tmp_path: Path) -> Path:
    """day1 without its manifest, and without three of its people: read as bulk, a run that
    archives them (under every threshold)."""
    drop = tmp_path / "three-left-out"
    shutil.copytree(SAMPLE / "day1", drop, ignore=shutil.ignore_patterns("manifest.csv"))
    lines = (drop / "users.csv").read_text().splitlines(keepends=True)
    (drop / "users.csv").write_text("".join(lines[:1] + lines[4:]))
    return drop


def without_manifest(drop: Path, tmp_path: Path) -> Path:
    """The drop's files as the SIS uploads them before its pause: all but the manifest."""
    bare = tmp_path / f"{drop.name}-bare"
    shutil.copytree(drop, bare, ignore=shutil.ignore_patterns("manifest.csv"))
    return bare


def start(make_daemon_config, start_daemon, clock, ticks, **settings):
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, **settings)
    daemon = start_daemon(config_path, clock, ticks)
    return config, daemon, daemon.client()


def pending(client) -> list[str]:
    return client.status().daemon.pending_drops


def line_of(client, start: str) -> str:
    """The daemon's status line that begins with `start`, once there is one."""
    return wait_for(
        lambda: next((line for line in pending(client) if line.startswith(start)), None),
        what=f"a status line '{start}...'",
    )


def quiet_until(ticks, predicate, what: str, timeout: float = 60.0):
    """Time passes (a quiet period per look, never the give-up) until `predicate()` holds."""

    def look():
        ticks.advance(QUIET)
        return predicate()

    return wait_for(look, timeout, what)


def quiet_period_passes(client, ticks, name: str, seconds: float = 3 * QUIET) -> None:
    """Once the daemon has seen the drop `name`, its files stay unchanged for `seconds`."""
    line_of(client, f"{name}: ")
    ticks.advance(seconds)


def first_run_planned(config, client) -> None:
    """day1, with its manifest, planned: the inbox's drops carry one from now on."""
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="day1 planned")
    wait_for(lambda: archived(config.archive) == ["run-1-day1"], what="day1 archived")


def drop_reason(client, name: str) -> str:
    """Why the latest decision about the drop `name` was taken, as `roster-sync status` says."""
    return next(str(d.reason) for d in client.status().daemon.drops if d.name == name)


def test_a_drop_without_the_manifest_its_predecessors_had_waits_for_it(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path, caplog
) -> None:
    config, _daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    first_run_planned(config, client)
    drop = delta_drop(tmp_path)
    copy_drop(without_manifest(drop, tmp_path), config.inbox, "day2")
    quiet_period_passes(client, ticks, "day2")  # on main, planned now: users.csv read as bulk
    line = line_of(client, "day2: waits for manifest.csv")
    assert line.startswith("day2: waits for manifest.csv: the drops before it had one (synced")
    assert "day2: waits for manifest.csv: the drops before it had one" in caplog.text
    assert runs_in(client) == [(1, "planned")]

    shutil.copyfile(drop / "manifest.csv", config.inbox / "day2" / "manifest.csv")
    quiet_until(ticks, lambda: runs_in(client)[-1] == (2, "planned"), "day2 planned")
    run = client.get_run(2)
    assert run.changes["students"].get("archive", 0) == 0  # users.csv read as delta


def test_a_drop_whose_manifest_never_comes_is_planned_at_the_give_up_and_left_for_review(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path
) -> None:
    config, _daemon, client = start(make_daemon_config, start_daemon, clock, ticks, auto_apply=True)
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    wait_for(lambda: runs_in(client) == [(1, "applied")], what="day1 applied")
    copy_drop(three_left_out(tmp_path), config.inbox, "day2")
    quiet_period_passes(client, ticks, "day2")
    line_of(client, "day2: waits for manifest.csv")
    assert runs_in(client) == [(1, "applied")]

    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    wait_for(lambda: len(runs_in(client)) == 2, what="day2 planned after the give-up")
    wait_for(lambda: drop_reason(client, "day2").startswith("waiting"), what="day2 decided")
    run = client.get_run(2)
    assert run.status == "planned"  # auto_apply leaves it: it archives, read as bulk
    assert run.notes[0]["message"].startswith(
        "planned without manifest.csv (the drops before it had one): every file was read as bulk"
    )
    assert "the drop came without the manifest.csv the drops before it had" in drop_reason(
        client, "day2"
    )


def test_drops_that_never_carried_a_manifest_are_taken_as_soon_as_they_are_quiet(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path
) -> None:
    config, _daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    copy_drop(without_manifest(SAMPLE / "day1", tmp_path), config.inbox, "day1")
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="day1 planned")
    copy_drop(without_manifest(SAMPLE / "day2", tmp_path), config.inbox, "day2")
    quiet_until(ticks, lambda: len(runs_in(client)) == 2, "day2 planned without waiting")


def test_a_zip_without_the_manifest_its_predecessors_had_waits_for_it(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path
) -> None:
    config, _daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    first_run_planned(config, client)
    bare = without_manifest(delta_drop(tmp_path), tmp_path)
    copy_drop(zip_drop(bare, tmp_path / "day2.zip"), config.inbox, "day2.zip")
    ticks.advance(3 * QUIET)
    wait_for(lambda: any(line.startswith("day2.zip: waits for manifest.csv")
                         for line in pending(client)))  # fmt: skip
    assert runs_in(client) == [(1, "planned")]


def test_a_manifest_coming_after_its_drop_was_planned_is_put_aside_and_its_run_says_so(
    make_daemon_config, start_daemon, clock, ticks, tmp_path: Path
) -> None:
    config, _daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    first_run_planned(config, client)
    drop = delta_drop(tmp_path)
    copy_drop(without_manifest(drop, tmp_path), config.inbox, "day2")
    quiet_period_passes(client, ticks, "day2", 3 * QUIET + inbox.ZIP_GIVE_UP_MIN)
    wait_for(lambda: len(runs_in(client)) == 2, what="day2 planned without its manifest")
    wait_for(lambda: len(archived(config.archive)) == 2, what="day2 archived")

    (config.inbox / "day2").mkdir()  # the SIS uploads the manifest into the same folder
    shutil.copyfile(drop / "manifest.csv", config.inbox / "day2" / "manifest.csv")
    quiet_period_passes(client, ticks, "day2")  # it may be the first file of a new day2
    line_of(client, "day2: manifest.csv alone, after day2 was taken: the first file of the next")
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    wait_for(lambda: "skipped-day2" in archived(config.archive), what="the manifest put aside")
    assert runs_in(client) == [(1, "superseded"), (2, "planned")]  # not a drop of its own
    notes = [note["message"] for note in client.get_run(2).notes]
    assert notes[0].startswith("planned without manifest.csv (the drops before it had one)")
    assert notes[1].startswith("manifest.csv came after this drop was planned, alone (day2)")
    assert drop_reason(client, "day2").startswith(
        "manifest.csv came alone after day2 (run 2) was taken without it; a manifest alone is "
        "not a drop"
    )
    assert not (config.inbox / "day2").exists()
