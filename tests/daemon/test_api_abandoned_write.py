"""A write the person gave up on is never done behind their back (api review 3).

`roster-sync apply 1` waits while the daemon is busy with another write; the person presses
Ctrl-C. Embedded, that rolls the apply back; through the daemon, a write still waiting for the
write lock is dropped when its caller hangs up, and the CLI says the daemon may have done it
(a write that had started finishes, all or nothing).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.service import main_loop

from .conftest import REPO, SAMPLE, wait_for


@pytest.fixture
def daemons(monkeypatch) -> list[main_loop.Daemon]:
    """The Daemon objects started by this test, so it can hold their write lock."""
    made: list[main_loop.Daemon] = []

    class Recorded(main_loop.Daemon):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(main_loop, "Daemon", Recorded)
    return made


def _waiting_for_the_write_lock() -> bool:
    """Whether a request of the API waits for the write lock (its innermost Python frame)."""
    return any(
        f.f_code.co_filename.endswith("server.py") and f.f_code.co_name in ("_call", "_lock_for")
        for f in sys._current_frames().values()
    )


def _interrupted_apply(config_path: Path, daemon: main_loop.Daemon) -> subprocess.CompletedProcess:
    """`apply 1` while another write holds the daemon's write lock, then Ctrl-C."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_SYNC")}
    with daemon.write_lock:
        apply = subprocess.Popen(
            [sys.executable, "-m", "daemon.cli.main", "--config", str(config_path), "apply", "1"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for(_waiting_for_the_write_lock, 30, "the apply to wait for the write lock")
        apply.send_signal(signal.SIGINT)
        out, err = apply.communicate(timeout=30)
        wait_for(lambda: not _waiting_for_the_write_lock(), 10, "the daemon to drop the apply")
    return subprocess.CompletedProcess(apply.args, apply.returncode, out, err)


def test_an_apply_cancelled_while_it_waited_is_never_done(
    make_daemon_config, start_daemon, clock, daemons, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="roster_sync")
    config_path = make_daemon_config()
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    assert client.plan_source(str(SAMPLE / "day1")).status == "planned"

    interrupted = _interrupted_apply(config_path, daemons[0])
    assert interrupted.returncode == 130, interrupted.stderr
    assert "apply_run by root abandoned by the caller before it started" in caplog.text
    assert client.get_run(1).status == "planned"
    client.close()


def test_the_cli_says_a_cancelled_write_may_still_be_done(
    make_daemon_config, start_daemon, clock, daemons
) -> None:
    config_path = make_daemon_config()
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    client.plan_source(str(SAMPLE / "day1"))
    client.close()

    interrupted = _interrupted_apply(config_path, daemons[0])
    assert interrupted.stderr == (
        "roster-sync: interrupted; the daemon may still have done it: check with "
        "roster-sync show 1\n"
    )
