"""A process killed with SIGKILL at any point of apply before the commit leaves the directory as
it was before; killed right after the commit, the run stays fully applied."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.directory.integrity import check_directory
from daemon.service.engine import Engine
from tests.directory_state import directory_fingerprint
from tests.district import TinyDistrict

CRASH_POINTS = (
    "before_transaction",
    "after_create_schools",
    "after_create_users",
    "after_users",
    "after_enrollments",
    "after_student_attributes",
    "before_status",
    "before_commit",
)


def _prepare(path: Path, drops: Path) -> int:
    """Day one applied; day two planned with creates, updates and archives of every kind."""
    tiny = TinyDistrict()
    db = Database(path)
    engine = Engine(db, "tester")
    engine.settings_set("deletion_threshold", "60")
    run = engine.plan_source(str(tiny.write(drops)))
    engine.apply_run(run.run_id)
    tiny.row("users.csv", "stu-2")["familyName"] = "Okafor-Bell"
    tiny.remove("users.csv", sourcedId="stu-1")
    tiny.remove("enrollments.csv", userSourcedId="stu-1")
    tiny.rows("users.csv").append(
        dict(
            tiny.row("users.csv", "stu-4"),
            sourcedId="stu-20",
            givenName="Zed",
            identifier="S20",
            agentSourcedIds="gdn-4",
        )
    )
    tiny.rows("enrollments.csv").append(
        {
            "sourcedId": "enr-20",
            "status": "",
            "dateLastModified": "",
            "classSourcedId": "cls-a1",
            "schoolSourcedId": "sch-a",
            "userSourcedId": "stu-20",
            "role": "student",
            "primary": "",
            "beginDate": "",
            "endDate": "",
        }
    )
    tiny.row("classes.csv", "cls-a2")["title"] = "Earth Science 5"
    run = engine.plan_source(str(tiny.write(drops)))
    assert run.status == "planned", run.hold_reasons
    db.close()
    return run.run_id


def _apply_in_child(path: Path, run_id: int, crash_at: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if crash_at:
        env["ROSTER_SYNC_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli.main", "--db", str(path), "apply", str(run_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, int]:
    """(a database `_prepare` left, day two's run): built once, each test kills on a copy."""
    root = tmp_path_factory.mktemp("prepared")
    return root / "roster.duckdb", _prepare(root / "roster.duckdb", root / "drops")


def _copy_of(prepared: tuple[Path, int], path: Path) -> int:
    """This test's own copy of the prepared database; returns the planned run."""
    shutil.copyfile(prepared[0], path)
    return prepared[1]


@pytest.fixture(scope="module")
def reference(prepared, tmp_path_factory) -> tuple:
    """The directory after an apply that was not interrupted."""
    path = tmp_path_factory.mktemp("reference") / "ref.duckdb"
    run_id = _copy_of(prepared, path)
    assert _apply_in_child(path, run_id, None).returncode == 0
    db = Database(path)
    try:
        return directory_fingerprint(db)
    finally:
        db.close()


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_kill_during_apply_leaves_the_directory_intact(tmp_path, crash_at, prepared, reference):
    path = tmp_path / "roster.duckdb"
    run_id = _copy_of(prepared, path)
    db = Database(path)
    before = directory_fingerprint(db)
    db.close()

    killed = _apply_in_child(path, run_id, crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    db = Database(path)
    try:
        assert directory_fingerprint(db) == before
        assert db.one("SELECT status FROM runs WHERE run_id = ?", [run_id]) == "planned"
    finally:
        db.close()
    # The same plan then applies fully, to exactly what an uninterrupted apply gives.
    assert _apply_in_child(path, run_id, None).returncode == 0
    db = Database(path)
    try:
        assert directory_fingerprint(db) == reference
        assert [name for name, bad in check_directory(db) if bad] == []
    finally:
        db.close()


def test_kill_right_after_the_commit_leaves_the_run_fully_applied(tmp_path, prepared, reference):
    path = tmp_path / "roster.duckdb"
    run_id = _copy_of(prepared, path)

    killed = _apply_in_child(path, run_id, "after_commit")
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    db = Database(path)
    try:
        assert directory_fingerprint(db) == reference
        assert [name for name, bad in check_directory(db) if bad] == []
        status, applied_version, timings = db.rows(
            "SELECT status, applied_version, timings_json FROM runs WHERE run_id = ?", [run_id]
        )[0]
        assert status == "applied" and applied_version == db.directory_version()
        # Only the bookkeeping after the commit is missing: the apply's timing.
        assert "apply" not in json.loads(timings)
    finally:
        db.close()
    # Applying it again is refused: the changes are never written twice.
    again = _apply_in_child(path, run_id, None)
    assert again.returncode == 1
    assert f"run {run_id} is applied; only planned or held runs can be applied" in again.stderr


def _cli(path: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if crash_at:
        env["ROSTER_SYNC_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli.main", "--db", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_run_killed_while_loading_is_failed_by_the_next_process(tmp_path: Path):
    path = tmp_path / "roster.duckdb"
    drop = TinyDistrict().write(tmp_path / "drops")
    killed = _cli(path, "run", str(drop), crash_at="after_load")
    assert killed.returncode == -signal.SIGKILL
    checked = _cli(path, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shown = _cli(path, "show", "1", "--json")
    run = json.loads(shown.stdout)
    assert run["status"] == "failed"
    assert run["error"].startswith("interrupted while loading")


def test_a_run_killed_while_loading_can_be_rejected(tmp_path: Path):
    path = tmp_path / "roster.duckdb"
    drop = TinyDistrict().write(tmp_path / "drops")
    _cli(path, "run", str(drop), crash_at="after_load")
    rejected = _cli(path, "reject", "1", "--reason", "a test kill")
    assert rejected.returncode == 0, rejected.stderr
    assert "REJECTED" in rejected.stdout
