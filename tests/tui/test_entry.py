"""How the app is reached: the daemon's socket (same calls as the engine) and `roster-tui`'s flags."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.service.client import DEFAULT_SOCKET, Locations, SocketClient, connect
from daemon.service.config import RolesConfig
from daemon.service.engine import Engine
from daemon.service.server import ApiServer
from roster_tui.__main__ import build_parser, locations, main, plain_terminal
from roster_tui.gateway import Gateway, describe_error
from roster_tui.screens.runs import RunsScreen
from tests.tui.conftest import make_app, notices_of, press


@pytest.fixture
def daemon_socket(demo_path: Path) -> Iterator[Path]:
    """The daemon's API server in this process, on the demo database (we are its own user)."""
    folder = Path(tempfile.mkdtemp(prefix="rs-sock-", dir="/tmp"))  # socket paths must be short
    db = Database(demo_path)

    @contextmanager
    def engine_for(user: str) -> Iterator[Engine]:
        yield Engine(db, user)

    server = ApiServer(folder / "api.sock", RolesConfig(), engine_for, threading.Lock())
    server.start()
    try:
        yield folder / "api.sock"
    finally:
        server.stop()
        db.close()
        shutil.rmtree(folder, ignore_errors=True)


async def test_the_app_talks_to_the_daemon_through_its_socket(
    daemon_socket: Path, tmp_path: Path
) -> None:
    with connect(Locations(tmp_path / "unused.duckdb", daemon_socket)) as client:
        assert isinstance(client, SocketClient)
        app = make_app(client)
        async with app.run_test(size=(80, 24)) as pilot:
            await press(pilot, "down", "a", "enter")
            assert isinstance(app.screen, RunsScreen)
            assert app.screen.current.status == "applied"
            assert app.screen.runs[0].status == "superseded"
            await press(pilot, "up", "o")  # run 3 is superseded now: no override offered
            assert isinstance(app.screen, RunsScreen)
            await press(pilot, "5")
            await pilot.press(*"Haile-Adeyemi")
            await press(pilot)
            table = app.screen.query_one("#directory")
            assert [row["sis_id"] for row in table.items] == ["stu-1114"]
        assert Gateway(client).remote
        assert "daemon" in Gateway(client).where
    assert not (tmp_path / "unused.duckdb").exists()  # never opened: the daemon has it


async def test_a_daemon_error_arrives_as_a_notice(daemon_socket: Path, tmp_path: Path) -> None:
    with connect(Locations(tmp_path / "unused.duckdb", daemon_socket)) as client:
        app = make_app(client)
        async with app.run_test(size=(80, 24)) as pilot:
            # the settings screen, then deletion_threshold (the sixth from the end)
            await press(pilot, "6", "end", *["up"] * 5, "enter")
            await pilot.press(*"abc")
            await press(pilot, "enter")
            problem = str(app.screen.query_one("#problem").content)
            assert "Setting not changed" in problem and "0-100" in problem
            await press(pilot, "escape", "1", "down", "x", "enter")
            await press(pilot, "x")  # rejected runs cannot be rejected again: not offered
            assert not [n for n in notices_of(app) if "Unexpected" in n]


def test_error_wording() -> None:
    from daemon.service.client import ApiError, DaemonUnavailable

    assert describe_error(ApiError("PermissionDenied", "alice may not apply run")) == (
        "Permission denied",
        "alice may not apply run",
    )
    title, _ = describe_error(ApiError("RunError", "run 2 was planned ...; it is superseded"))
    assert title == "Run superseded"
    assert describe_error(DaemonUnavailable("cannot reach the daemon"))[0] == "Daemon unavailable"
    assert describe_error(ZeroDivisionError("division by zero")) == (
        "Unexpected error",
        "ZeroDivisionError: division by zero",
    )


def test_flags_and_where_the_data_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)
    monkeypatch.delenv("ROSTER_SYNC_DB", raising=False)
    args = build_parser().parse_args(["--db", str(tmp_path / "x.duckdb")])
    # the default socket, only if its daemon serves that very file
    assert locations(args) == Locations(tmp_path / "x.duckdb", DEFAULT_SOCKET, True)
    config = tmp_path / "daemon.toml"
    config.write_text(
        'database = "data/roster.duckdb"\ninbox = "inbox"\narchive = "archive"\n'
        'socket = "run/api.sock"\n'
    )
    args = argparse.Namespace(db=None, config=str(config), socket=None)
    assert locations(args) == Locations(
        (tmp_path / "data" / "roster.duckdb").resolve(), (tmp_path / "run" / "api.sock").resolve()
    )
    assert build_parser().parse_args(["--demo", "--ansi"]).ansi is True
    assert build_parser().parse_args(["--no-ansi"]).ansi is False


def test_plain_terminals_get_the_sixteen_colour_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert plain_terminal()
    monkeypatch.setenv("TERM", "xterm-256color")
    assert not plain_terminal()
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    assert plain_terminal()


def test_a_bad_config_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "missing.toml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("roster-tui: ") and "no such config file" in err
    assert "Traceback" not in err
