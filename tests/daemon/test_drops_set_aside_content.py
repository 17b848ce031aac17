"""A drop a person set aside is never planned unless its files change: the decision keeps the
drop's content (as its run would record it), and the daemon plans no drop of that content,
however its files come back: dropped again, left in the queue by a failure (or a crash)
between the move and the write of where they went, set aside without the daemon and dropped
again after it started. Real daemons, the wall clock moved by hand; a failing write is
simulated where a crash is what is probed."""

from __future__ import annotations

import shutil

from daemon.db import Database
from daemon.service import drop_archive, inbox, main_loop
from daemon.service.drop_history import DropHistory

from . import test_drops_set_aside as model
from .conftest import SAMPLE, archived, copy_drop, runs_in, wait_for
from .test_manifest_wait import first_run_planned, line_of, start, without_manifest
from .test_sftp_late_manifest import drop_row

ME, REASON = model.ME, model.REASON
roster_sync, set_aside = model.roster_sync, model.set_aside
waiting_for_its_manifest = model.waiting_for_its_manifest  # the model's fixture, as it is


def contents_of(database, drop_id: int) -> list[str] | None:
    db = Database(database)
    try:
        return db.one("SELECT content_hashes FROM drops WHERE drop_id = ?", [drop_id])
    finally:
        db.close()


def test_a_drop_set_aside_keeps_its_content(waiting_for_its_manifest, capsys) -> None:
    daemon = waiting_for_its_manifest
    assert set_aside(daemon, capsys, "day2")[0] == 0
    wait_for(lambda: "skipped-day2" in archived(daemon.config.archive), what="day2 archived")
    assert daemon.stop() == 0
    assert contents_of(daemon.config.database, 2)


def test_the_same_files_dropped_again_after_a_set_aside_are_not_planned(
    waiting_for_its_manifest, capsys, tmp_path, ticks
) -> None:
    daemon = waiting_for_its_manifest
    assert set_aside(daemon, capsys, "day2")[0] == 0
    wait_for(lambda: "skipped-day2" in archived(daemon.config.archive), what="day2 archived")
    copy_drop(tmp_path / "day2-bare", daemon.config.inbox, "day2")  # the copy job runs again
    client = daemon.client()
    line_of(client, "day2: waits for manifest.csv")
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)  # taken without its manifest at the give-up
    wait_for(
        lambda: "set-aside-as-drop-2-day2" in archived(daemon.config.archive),
        what="the second copy decided",
    )
    assert runs_in(client) == [(1, "planned")]
    row = drop_row(client, "day2")
    assert (row.status, row.reason) == (
        "skipped",
        f"the same content as drop 2, which {ME} set aside; not planned (to plan it anyway: "
        "roster-sync run on its copy in the archive, ...-set-aside-as-drop-2-day2)",
    )
    client.close()


def test_a_queued_copy_left_by_a_failure_after_the_decision_is_not_planned(
    waiting_for_its_manifest, capsys, monkeypatch
) -> None:
    """The decision is written first; the move into the queue succeeds, then writing where
    the copy went fails and so does its archive (as a crash there would leave it): the copy
    is found in the queue with no decision of its own, and skipped by its content."""

    def failing_write(self, *args, **kwargs):
        raise OSError("disk full")

    real_archive = drop_archive.archive_drop
    failures = iter([True])

    def archive_failing_once(*args, **kwargs):
        if next(failures, False):
            raise OSError("disk full")
        return real_archive(*args, **kwargs)

    monkeypatch.setattr(DropHistory, "remember_content", failing_write)
    monkeypatch.setattr(drop_archive, "archive_drop", archive_failing_once)
    monkeypatch.setattr(main_loop, "ARCHIVE_RETRY", 0.0)
    daemon = waiting_for_its_manifest
    code, out, _ = set_aside(daemon, capsys, "day2")
    assert (code, out.startswith("day2 (drop 2) is set aside")) == (0, True)
    client = daemon.client()
    client.sync_now()  # a pass after the archive's retry delay
    wait_for(
        lambda: "set-aside-as-drop-2-day2" in archived(daemon.config.archive),
        60,
        "the copy left in the queue decided",
    )
    assert runs_in(client) == [(1, "planned")]
    client.close()


def test_a_failed_set_aside_moves_nothing(waiting_for_its_manifest, capsys, monkeypatch) -> None:
    real_record = DropHistory.record

    def failing_record(self, *args, **kwargs):
        if kwargs.get("set_aside_by"):
            raise OSError("disk full")
        return real_record(self, *args, **kwargs)

    monkeypatch.setattr(DropHistory, "record", failing_record)
    daemon = waiting_for_its_manifest
    code, _, err = set_aside(daemon, capsys, "day2")
    assert code == 1 and "day2 was not set aside" in err
    assert (daemon.config.inbox / "day2").is_dir()
    client = daemon.client()
    assert [w.name for w in client.drops().waiting] == ["day2"]
    client.close()


def test_a_drop_set_aside_without_the_daemon_is_remembered_by_its_content_once_it_starts(
    make_daemon_config, start_daemon, clock, ticks, tmp_path, capsys
) -> None:
    config, daemon, bare = model.day2_queued_while_stopped(
        make_daemon_config, start_daemon, clock, ticks, tmp_path
    )
    db = ["--db", str(config.database)]
    assert roster_sync(capsys, *db, "drops", "set-aside", "2", "--reason", REASON)[0] == 0
    assert contents_of(config.database, 2) is None  # nothing read without the daemon

    client = start_daemon(daemon.config_path, clock, ticks).client()
    wait_for(lambda: "skipped-day2" in archived(config.archive), what="day2 archived as skipped")
    copy_drop(bare, config.inbox, "day2")
    line_of(client, "day2: waits for manifest.csv")
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    wait_for(
        lambda: "set-aside-as-drop-2-day2" in archived(config.archive), what="day2 again decided"
    )
    assert runs_in(client) == [(1, "planned")]
    client.close()


def test_loose_files_set_aside_are_named_as_queued_and_not_planned_when_dropped_again(
    make_daemon_config, start_daemon, clock, ticks, tmp_path, capsys
) -> None:
    """The inbox root's loose files are queued under a name of the daemon's: the decision,
    written before they moved, is renamed to it."""
    config, daemon, client = start(make_daemon_config, start_daemon, clock, ticks)
    first_run_planned(config, client)
    bare = without_manifest(SAMPLE / "day2", tmp_path)

    def drop_loose() -> None:
        for file in bare.iterdir():
            shutil.copy2(file, config.inbox / file.name)

    drop_loose()
    line_of(client, "(inbox root): waits for manifest.csv")
    code, out, _ = set_aside(daemon, capsys, "(inbox root)")
    assert code == 0 and out.startswith("(inbox root) (drop 2) is set aside"), out
    wait_for(
        lambda: any(n.startswith("skipped-inbox-root-") for n in archived(config.archive)),
        what="the loose files archived",
    )
    assert not list(config.inbox.glob("*.csv"))
    [aside] = [d for d in client.status().daemon.drops if d.drop_id == 2]
    assert aside.name.startswith("inbox-root-") and aside.status == "skipped"

    drop_loose()
    line_of(client, "(inbox root): waits for manifest.csv")
    ticks.advance(inbox.ZIP_GIVE_UP_MIN)
    wait_for(
        lambda: any(n.startswith("set-aside-as-drop-2-") for n in archived(config.archive)),
        what="the loose files again decided",
    )
    assert runs_in(client) == [(1, "planned")]
    client.close()
