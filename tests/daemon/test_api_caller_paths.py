"""The daemon acts only on paths its caller could use itself (api review 6).

The daemon reads drops and writes exports with its own rights, which are wider than those of
the people it serves. An administrator who may not enter a folder must not get the daemon to
plan a drop from it, or to write an export into it. root may do anything; embedded, the command
runs with the person's own rights anyway.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import SAMPLE, cli


@pytest.fixture
def admin_cli(unix_users, make_daemon_config, start_daemon, clock):
    """A daemon with the role tests' admin user as rostering_admin (`.admin`), and
    `roster-sync` as that user."""
    config_path = make_daemon_config(
        socket_group=unix_users.socket_group,
        roles={"rostering_admin": [f"@{unix_users.admin_group}"]},
    )
    config_path.chmod(0o644)
    daemon = start_daemon(config_path, clock)

    def run(*args: str) -> subprocess.CompletedProcess:
        return cli(config_path, *args, user=unix_users.user("admin"))

    run.daemon = daemon  # type: ignore[attr-defined]
    run.admin = unix_users.user("admin")  # type: ignore[attr-defined]
    return run


def _closed_folder(short_dir: Path) -> Path:
    """A folder only root may enter."""
    closed = short_dir / "root-only"
    closed.mkdir(mode=0o700)
    return closed


def test_a_drop_the_caller_cannot_read_is_refused(admin_cli, short_dir) -> None:
    drop = _closed_folder(short_dir) / "day1"
    shutil.copytree(SAMPLE / "day1", drop)
    refused = admin_cli("run", str(drop))
    assert refused.returncode == 1
    assert refused.stderr == (
        f"roster-sync: you ({admin_cli.admin}) cannot read {drop}; the daemon acts only on paths you "
        "could read yourself\n"
    )
    client = admin_cli.daemon.client()
    assert client.list_runs() == []
    client.close()


def test_a_drop_linking_to_a_file_the_caller_cannot_reach_is_refused(admin_cli, short_dir) -> None:
    hidden = _closed_folder(short_dir) / "users.csv"
    shutil.copyfile(SAMPLE / "day1" / "users.csv", hidden)
    hidden.chmod(0o644)  # readable itself, but inside a folder the caller may not enter
    drop = short_dir / "day1"
    shutil.copytree(SAMPLE / "day1", drop)
    (drop / "users.csv").unlink()
    (drop / "users.csv").symlink_to(hidden)
    refused = admin_cli("run", str(drop))
    assert refused.returncode == 1
    assert f"you ({admin_cli.admin}) cannot read {drop}" in refused.stderr


def test_an_export_where_the_caller_cannot_write_is_refused(admin_cli, short_dir) -> None:
    target = _closed_folder(short_dir) / "export"
    refused = admin_cli("export", str(target))
    assert refused.returncode == 1
    assert refused.stderr == (
        f"roster-sync: you ({admin_cli.admin}) cannot write into {target}; the daemon acts only on paths "
        "you could write yourself\n"
    )
    assert not target.exists()


def test_what_the_caller_may_use_works_as_before(admin_cli, short_dir) -> None:
    drop = short_dir / "day1"
    shutil.copytree(SAMPLE / "day1", drop)  # readable by everyone, as copied
    planned = admin_cli("run", str(drop), "--apply", "--json")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["status"] == "applied"
    mine = short_dir / "mine"
    mine.mkdir()
    shutil.chown(mine, user=admin_cli.admin)
    exported = admin_cli("export", str(mine / "export"))
    assert exported.returncode == 0, exported.stderr
    assert (mine / "export" / "manifest.csv").is_file()
