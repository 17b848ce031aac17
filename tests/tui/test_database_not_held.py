"""Embedded, the review UI never holds the database file: the CLI works on it while the UI is open,
and when something else holds the file, the message says what."""

from __future__ import annotations

import getpass
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.db import Database, DatabaseLocked
from daemon.db.lock_holder import lock_holder
from daemon.service.client import Locations
from roster_tui.__main__ import open_client
from roster_tui.embedded import PerCallEngine
from roster_tui.screens.run_detail import RunDetailScreen
from tests.tui.conftest import make_app, notices_of, press

REPO = Path(__file__).resolve().parents[2]


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli.main", "--db", str(db), *args],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip


@pytest.fixture
def holder(tmp_path: Path, demo_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another program with the database open read-write, as a long CLI command has it."""
    script = tmp_path / "hold_roster.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, time, duckdb
            con = duckdb.connect(sys.argv[1])
            print("holding", flush=True)
            time.sleep(60)
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(script), str(demo_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


async def test_the_cli_works_on_the_database_while_the_ui_is_open(demo_path: Path) -> None:
    with open_client(Locations(demo_path, None)) as client:
        app = make_app(client)
        async with app.run_test(size=(80, 24)) as pilot:
            await press(pilot, "down", "enter", "right_square_bracket")  # run 2's changes
            assert isinstance(app.screen, RunDetailScreen)
            listed = cli(demo_path, "runs")
            assert listed.returncode == 0, listed.stderr
            assert "planned" in listed.stdout
            applied = cli(demo_path, "apply", "2")  # a change, too
            assert applied.returncode == 0, applied.stderr
            await press(pilot, "ctrl+r")
            assert app.screen.run.status == "applied"  # the UI sees what the CLI did
    assert client.connections > 3  # opened for each call, not once


def test_a_locked_database_names_its_holder(holder: subprocess.Popen[str], demo_path: Path) -> None:
    with pytest.raises(DatabaseLocked) as caught:
        Database(demo_path)
    message = str(caught.value)
    assert f"{demo_path} is in use by hold_roster.py (PID {holder.pid}" in message
    assert f"user {getpass.getuser()}" in message
    assert "daemon" not in message  # no guess at who it might be


async def test_the_ui_says_who_holds_the_database(
    holder: subprocess.Popen[str], demo_path: Path
) -> None:
    client = PerCallEngine(demo_path, "admin", wait=0.3)
    app = make_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot)
        assert any(
            n.startswith("Database in use: ") and f"hold_roster.py (PID {holder.pid}" in n
            for n in notices_of(app)
        )


def test_the_holder_is_named_as_a_person_ran_it(tmp_path: Path) -> None:
    proc = tmp_path / "proc"

    def running(pid: int, *args: str) -> str:
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in args) + b"\0")
        return f'IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in {args[0]} (PID {pid}). See also https://duckdb.org/docs'

    daemon = running(
        7, "/usr/bin/python3.12", "-m", "daemon.cli.main", "--config", "/etc/rs.toml", "daemon"
    )
    assert lock_holder(daemon, proc).startswith("roster-sync daemon (PID 7")
    tui = running(8, "/usr/bin/python3", "/opt/rs/bin/roster-tui", "--db", "/x.duckdb")
    assert lock_holder(tui, proc).startswith("roster-tui (PID 8")
    cli_apply = running(
        9, "/opt/rs/bin/python", "/opt/rs/bin/roster-sync", "--db", "/x", "apply", "2"
    )
    assert lock_holder(cli_apply, proc).startswith("roster-sync apply (PID 9")
    gone = "Conflicting lock is held in /usr/bin/duckdb (PID 99) by user bob. See also"
    assert lock_holder(gone, proc) == "duckdb (PID 99, user bob)"  # the process has ended
    assert lock_holder("Could not set lock on file: Resource temporarily unavailable") is None


def test_a_mistyped_db_is_refused_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from roster_tui.__main__ import main

    missing = tmp_path / "srv" / "rooster.duckdb"
    assert main(["--db", str(missing)]) == 2
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_a_folder_named_as_the_database_is_said_to_be_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the CLI says it (it was "no database at" the folder)."""
    from roster_tui.__main__ import main

    assert main(["--db", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"roster-tui: {tmp_path} is a folder; name the database file in it "
        f"(for example {tmp_path / 'roster.duckdb'})\n"
    )
