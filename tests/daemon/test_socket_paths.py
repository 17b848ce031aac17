"""A path typed to the CLI means what it means where the person typed it (issue 13, item 6).

The daemon runs in its own working directory (here /); `roster-sync run day1` typed in the
sample_data folder plans that folder, and `export out` writes next to the person, not the daemon.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from daemon.service.client import daemon_running
from daemon.service.config import load_config

from .conftest import SAMPLE, wait_for


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_SYNC")}


def _cli(config_path, cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli.main", *args, "--config", str(config_path)],
        cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_relative_paths_are_the_callers_not_the_daemons(make_daemon_config, tmp_path) -> None:
    config_path = make_daemon_config()
    config = load_config(config_path)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli.main", "daemon", "--config", str(config_path)],
        cwd="/", env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: daemon_running(config.socket) or daemon.poll() is not None, 30, "daemon")
        assert daemon.poll() is None, "the daemon did not start"

        planned = _cli(config_path, SAMPLE, "run", "day1", "--json")
        assert planned.returncode == 0, planned.stderr
        run = json.loads(planned.stdout)
        assert run["source"] == str(SAMPLE / "day1") and run["status"] == "planned"
        applied = _cli(config_path, SAMPLE, "apply", str(run["run_id"]))
        assert applied.returncode == 0, applied.stderr

        work = tmp_path / "work"
        work.mkdir()
        exported = _cli(config_path, work, "export", "out")
        assert exported.returncode == 0, exported.stderr
        assert (work / "out" / "manifest.csv").is_file()
        assert "Written to out as OneRoster 1.1 (with manifest.csv)." in exported.stdout  # as typed
    finally:
        daemon.terminate()
        daemon.wait(30)
