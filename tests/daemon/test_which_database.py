"""A database named by --db or ROSTER_SYNC_DB is the one a command works on: the daemon of the
default socket answers only when it serves that very file (a run meant for a test copy was once
planned on the district's directory because a daemon listened there)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from daemon.cli.main import main
from daemon.db import Database
from daemon.service.client import DEFAULT_SOCKET, Locations, daemon_running, locate
from daemon.service.config import load_config

from .conftest import SAMPLE, runs_in, wait_for


@pytest.fixture
def district_daemon(make_daemon_config, start_daemon, monkeypatch):
    """The district's daemon, listening on what this process takes for the default socket."""
    daemon = start_daemon(make_daemon_config())
    monkeypatch.setattr("daemon.service.client.DEFAULT_SOCKET", daemon.config.socket)
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)
    return daemon


def _daemon_runs(daemon) -> list[tuple[int, str]]:
    client = daemon.client()
    try:
        return runs_in(client)
    finally:
        client.close()


def _runs_in_file(path) -> list[tuple[int, str]]:
    db = Database(path, create=False)
    try:
        return [(int(i), s) for i, s in db.rows("SELECT run_id, status FROM runs ORDER BY 1")]
    finally:
        db.close()


def test_a_database_named_by_the_environment_is_not_the_daemons(
    district_daemon, tmp_path, monkeypatch
) -> None:
    copy = tmp_path / "test-copy.duckdb"
    monkeypatch.setenv("ROSTER_SYNC_DB", str(copy))
    assert main(["run", str(SAMPLE / "day1")]) == 0
    assert _daemon_runs(district_daemon) == []  # the district's directory is untouched
    district_daemon.stop()  # lets go of its database; the copy was never the daemon's
    assert _runs_in_file(copy) == [(1, "planned")]


def test_a_database_named_by_db_is_not_the_daemons(district_daemon, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ROSTER_SYNC_DB", raising=False)
    copy = tmp_path / "test-copy.duckdb"
    assert main(["--db", str(copy), "run", str(SAMPLE / "day1")]) == 0
    assert _daemon_runs(district_daemon) == []
    assert _runs_in_file(copy) == [(1, "planned")]


def test_the_daemons_own_database_named_goes_through_the_daemon(
    district_daemon, monkeypatch, capsys
) -> None:
    """Named without its config, the daemon's database is still reached through the daemon
    (opening it directly would find it locked by the daemon)."""
    monkeypatch.setenv("ROSTER_SYNC_DB", str(district_daemon.config.database))
    assert main(["run", str(SAMPLE / "day1")]) == 0, capsys.readouterr().err
    assert _daemon_runs(district_daemon) == [(1, "planned")]


def test_an_empty_db_is_a_mistake_not_the_default_database(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("ROSTER_SYNC_DB", raising=False)
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)
    assert main(["--db", "", "run", str(SAMPLE / "day1")]) == 1
    assert capsys.readouterr().err == "roster-sync: --db is empty: give the database file's path\n"
    assert not (tmp_path / "data").exists()


def test_the_daemons_database_opened_directly_says_to_pass_its_config(make_daemon_config) -> None:
    """A daemon on another socket than the default one cannot be found from --db alone."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_SYNC")}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli.main", "daemon", "--config", str(config_path)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: daemon_running(config.socket) or daemon.poll() is not None, 30, "daemon")
        assert daemon.poll() is None, "the daemon did not start"
        listed = subprocess.run(
            [sys.executable, "-m", "daemon.cli.main", "--db", str(config.database), "runs"],
            env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert listed.returncode == 1
        assert listed.stderr.startswith(f"roster-sync: {config.database} is in use by ")
        assert listed.stderr.endswith(
            "which serves it: pass the daemon's config (--config FILE, or ROSTER_SYNC_CONFIG) "
            "to go through it\n"
        )
    finally:
        daemon.terminate()
        daemon.wait(30)


def test_a_config_names_its_database_before_the_environment(
    make_daemon_config, tmp_path, monkeypatch
) -> None:
    """The order is --db, then the config, then ROSTER_SYNC_DB (as before the fix above)."""
    config = load_config(make_daemon_config())
    monkeypatch.setenv("ROSTER_SYNC_DB", str(tmp_path / "other.duckdb"))
    assert locate(None, config) == Locations(config.database, config.socket)
    assert locate(None, None) == Locations(tmp_path / "other.duckdb", DEFAULT_SOCKET, True)
