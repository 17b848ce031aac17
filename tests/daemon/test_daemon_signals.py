"""A real `roster-sync daemon` process: SIGTERM during a sync, and kill -9 then a restart.

The drop for these is day1 plus 200,000 generated students, so planning it takes a few seconds
and the signal lands in the middle of it (the log order proves it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.service.config import DaemonConfig, load_config

from .conftest import REPO, SAMPLE, archived, copy_drop, make_big_drop, preset, runs_in, wait_for

BIG_EXTRA_STUDENTS = 200_000


class DaemonProcess:
    """`roster-sync --config FILE daemon` as a child process, its stderr collected line by line."""

    def __init__(self, config_path: Path, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_SYNC")}
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daemon.cli.main", "--config", str(config_path), "daemon"],
            cwd=REPO, env=full_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_log(self, text: str, timeout: float = 30) -> int:
        """Index of the first log line containing `text`."""

        def found() -> int | None:
            ended = self.proc.poll() is not None
            for i, line in enumerate(list(self.lines)):
                if text in line:
                    return i + 1
            if ended and not self._reader.is_alive():
                pytest.fail(f"the daemon ended without logging {text!r}:\n{self.log()}")
            return None

        return wait_for(found, timeout, f"log line {text!r}") - 1

    def log(self) -> str:
        return "\n".join(self.lines)

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def processes() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.kill()


@pytest.fixture(scope="module")
def big_drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_big_drop(tmp_path_factory.mktemp("big") / "big", BIG_EXTRA_STUDENTS)


def _runs(config: DaemonConfig) -> list[tuple]:
    db = Database(config.database)
    try:
        return db.rows("SELECT run_id, status, content_hash, error FROM runs ORDER BY run_id")
    finally:
        db.close()


def test_sigterm_during_a_sync_finishes_the_step_and_exits_cleanly(
    make_daemon_config, big_drop, processes
) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = DaemonProcess(config_path)
    processes.append(daemon)
    daemon.wait_log("listening on")
    copy_drop(big_drop, config.inbox, "big")
    planning = daemon.wait_log("planning big")
    copy_drop(SAMPLE / "day2", config.inbox, "later")  # must wait for the next start
    time.sleep(0.3)
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.log()
    stopping = daemon.wait_log("SIGTERM received; stopping after the current step")
    planned = daemon.wait_log("big: run 1 planned")
    assert planning < stopping < planned, daemon.log()  # the signal came mid-plan
    assert daemon.lines[-1].endswith("stopped")
    assert not config.socket.exists()
    runs = _runs(config)
    assert [(r[0], r[1]) for r in runs] == [(1, "planned")]
    assert archived(config.archive) == ["run-1-big"]
    # the other drop was not started: it is still waiting (in the inbox or the queue)
    waiting = [p.name for p in config.inbox.iterdir() if p.name != ".processing"]
    waiting += [p.name for p in (config.inbox / ".processing").glob("*/*")]
    assert waiting == ["later"]


def test_a_drop_whose_planning_was_killed_is_not_planned_again_after_a_restart(
    make_daemon_config, big_drop, processes, start_daemon, clock
) -> None:
    """A drop that kills the daemon while it is planned (a hostile file, memory running out)
    would do so after every restart if it were resumed: it is tried once, then waits for a new
    drop or an explicit `replan`."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = DaemonProcess(config_path)
    processes.append(daemon)
    daemon.wait_log("listening on")
    copy_drop(big_drop, config.inbox, "big")
    daemon.wait_log("planning big")
    time.sleep(0.3)
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.wait()
    assert [(r[0], r[1]) for r in _runs(config)] == [(1, "loading")]  # cut mid-plan
    assert config.socket.exists()  # stale: the next start replaces it

    restarted = start_daemon(config_path, clock)
    client = restarted.client()
    wait_for(lambda: archived(config.archive) == ["run-1-big"], 60, "the failed drop archived")
    assert runs_in(client) == [(1, "failed")]  # not planned again
    assert "interrupted" in client.get_run(1).error
    drop = next(d for d in client.status().daemon.drops if d.name == "big")
    assert drop.status == "failed" and drop.run_id == 1
    assert "not planned again by itself" in drop.reason and "replan 1" in drop.reason
    client.close()
    assert restarted.stop() == 0
    # a further restart finds nothing left to do
    again = start_daemon(config_path, clock)
    client = again.client()
    time.sleep(1.0)
    assert runs_in(client) == [(1, "failed")]
    # an administrator who fixed the cause plans it again, from where it was archived
    replanned = client.replan_run(1)
    assert (replanned.run_id, replanned.status) == (2, "planned")
    assert replanned.source.startswith(str(config.archive))
    client.close()
    again.stop()


def test_kill_after_planning_before_archiving_does_not_plan_twice(
    make_daemon_config, processes, start_daemon, clock
) -> None:
    """auto_apply on, and the process killed inside the apply that follows the plan: the run
    stays planned (the apply rolled back) and its drop is archived under it after the restart."""
    config_path = make_daemon_config()
    config = load_config(config_path)
    preset(config, sync_on_arrival=True, auto_apply=True)
    daemon = DaemonProcess(config_path, env={"ROSTER_SYNC_CRASH_AT": "before_commit"})
    processes.append(daemon)
    daemon.wait_log("listening on")
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    assert daemon.wait() == -signal.SIGKILL, daemon.log()
    runs = _runs(config)
    assert [(r[0], r[1]) for r in runs] == [(1, "planned")]
    assert archived(config.archive) == []

    restarted = start_daemon(config_path, clock)
    wait_for(lambda: archived(config.archive) == ["run-1-day1"], what="day1 archived under run 1")
    client = restarted.client()
    assert runs_in(client) == [(1, "planned")]
    client.close()
    restarted.stop()


def test_a_second_daemon_refuses_to_start_and_leaves_the_first_alone(
    make_daemon_config, processes, start_daemon, clock
) -> None:
    config_path = make_daemon_config()
    first = start_daemon(config_path, clock)
    second = DaemonProcess(config_path)
    processes.append(second)
    assert second.wait() == 1
    assert "is in use by " in second.log()
    assert f"(PID {os.getpid()}, user " in second.log()  # the first daemon runs in this process
    client = first.client()  # the first still answers on its socket
    assert client.list_runs() == []
    client.close()
    assert first.stop() == 0
