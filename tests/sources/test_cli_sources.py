"""`roster-sync sources`, `sources test NAME` and `pull NAME`, embedded and through the daemon.

The source is a OneRoster REST hub on loopback; the config names it as a district would
(`[sources.classlink]` with a secret file). Embedded, the CLI reads the config itself (no daemon
answers on its socket); through the daemon, the daemon pulls with its own config.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.cli.main import main
from tests.daemon.conftest import DaemonThread, wait_for, write_config
from tests.hubs import oneroster
from tests.hubs.oneroster import OneRosterHub


class SourcesCli:
    def __init__(self, mode: str, folder: Path, hub: OneRosterHub, secret: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        self.mode, self.folder, self.hub, self.capsys = mode, folder, hub, capsys
        folder.mkdir(parents=True, exist_ok=True)
        self.socket_dir = Path(tempfile.mkdtemp(prefix="rss-", dir="/tmp"))
        self.config = write_config(
            folder / "roster-sync.toml",
            {
                "database": str(folder / "roster.duckdb"),
                "inbox": str(folder / "inbox"),
                "archive": str(folder / "archive"),
                "socket": str(self.socket_dir / "rs.sock"),
                "quiet_seconds": 0.2,
                "sources.classlink": {
                    "kind": "oneroster-rest",
                    "base_url": hub.base_url,
                    "auth": "oauth1",
                    "client_id": oneroster.CLIENT_ID,
                    "client_secret_file": str(secret),
                    "page_size": 5,
                    "retries": 1,
                },
            },
        )
        self.daemon: DaemonThread | None = None
        if mode == "daemon":
            self.daemon = DaemonThread(self.config, None).start()
            _log_to(folder / "daemon.log")
            capsys.readouterr()

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def _log_to(path: Path) -> None:
    """The daemon logs to stderr; here to a file, so a command's stderr is only its own."""
    for handler in logging.getLogger("roster_sync").handlers:
        if getattr(handler, "roster_sync_daemon", False):
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(open(path, "a", encoding="utf-8"))  # noqa: SIM115


@pytest.fixture(params=["embedded", "daemon"])
def cli(request, tmp_path, hub, secret_file, capsys) -> Iterator[SourcesCli]:  # type: ignore[no-untyped-def]
    runner = SourcesCli(request.param, tmp_path / request.param, hub, secret_file, capsys)
    yield runner
    runner.stop()


def test_sources_lists_each_source_and_its_last_pull(cli: SourcesCli) -> None:
    code, out, _ = cli("sources")
    assert code == 0
    assert "classlink" in out and "never" in out and cli.hub.base_url in out
    assert cli("pull", "classlink")[0] == 0
    code, out, _ = cli("sources", "--json")
    [listed] = json.loads(out)
    assert listed["name"] == "classlink" and listed["last_status"] == "planned"
    assert listed["last_records"] == 3 + 1 + 1 + 22 + 3 + 19 + 10  # every collection
    assert oneroster.CLIENT_SECRET not in out


def test_sources_test_counts_records_and_changes_nothing(cli: SourcesCli) -> None:
    code, out, err = cli("sources", "test", "classlink")
    assert code == 0, err
    assert "reached and authenticated" in out
    assert "users                     22" in out and "Nothing was changed." in out
    code, out, _ = cli("runs", "--json")
    assert json.loads(out) == []


def test_pull_plans_a_run_and_prints_it_as_run_does(cli: SourcesCli) -> None:
    code, out, err = cli("pull", "classlink", "--json")
    assert code == 0, err
    run = json.loads(out)
    assert run["status"] == "planned" and run["source_kind"] == "rest"
    assert run["source_name"] == "classlink" and run["fetch"]["resources"]["users"]["pages"] == 6
    assert run["changes"]["students"]["create"] == 10
    code, out, _ = cli("show", str(run["run_id"]))
    assert "fetched: OneRoster REST classlink: orgs 3 (1 page)" in out
    assert "users 22 (6 pages)" in out  # 5, then 4 more a page: each overlaps by one


def test_pull_apply_applies_and_a_second_pull_plans_nothing(cli: SourcesCli) -> None:
    code, out, err = cli("pull", "classlink", "--apply", "--json")
    assert code == 0 and json.loads(out)["status"] == "applied", err
    code, out, _ = cli("pull", "classlink")
    assert code == 0 and "No changes: the directory already matches this drop." in out


def test_a_failed_pull_exits_1_with_the_reason_in_one_line(cli: SourcesCli) -> None:
    cli.hub.fault("/classes", "status", status=502, times=5)
    code, out, err = cli("pull", "classlink")
    assert code == 1
    assert "FAILED" in out and "classes: " in out
    assert err.splitlines()[-1].startswith("roster-sync: run 1 failed: classes: ")


def test_an_unknown_source_is_a_mistake_not_a_run(cli: SourcesCli) -> None:
    code, out, err = cli("pull", "clever")
    assert (code, out) == (1, "")
    assert err == (
        "roster-sync: there is no source 'clever' in the daemon's config ([sources.clever]); "
        "configured: classlink\n"
    )


def test_a_newer_pull_supersedes_the_older_open_one(cli: SourcesCli) -> None:
    assert cli("pull", "classlink")[0] == 0
    assert cli("pull", "classlink")[0] == 0
    _, out, _ = cli("runs", "--json")
    assert [(r["run_id"], r["status"]) for r in json.loads(out)] == [
        (2, "planned"), (1, "superseded"),
    ]  # fmt: skip


def test_sync_now_makes_the_daemon_pull_every_source(
    tmp_path: Path, hub: OneRosterHub, secret_file: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    cli = SourcesCli("daemon", tmp_path / "d", hub, secret_file, capsys)
    try:
        code, out, _ = cli("sync-now")
        assert code == 0 and "and pulls classlink" in out
        wait_for(
            lambda: [r for r in json.loads(cli("runs", "--json")[1]) if r["status"] != "loading"],
            60,
            "the pulled run",
        )
        [run] = json.loads(cli("runs", "--json")[1])
        assert run["source_name"] == "classlink" and run["status"] == "planned"
    finally:
        cli.stop()
