"""The socket under a careless or hostile local user (issue 13, item 18).

Any member of the socket's group can connect. A peer without a role is told why and closed at
once, an idle connection is closed, a Unix user may hold only so many connections, and a busy
daemon is reported as busy: the CLI never falls back to opening the database behind it.

The server is the real ApiServer on a real socket over a real DuckDB file; a role-less peer is a
forked child that became `nobody` (the socket's group is then nobody's group).
"""

from __future__ import annotations

import json
import os
import pwd
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from daemon.cli.main import main
from daemon.db import Database
from daemon.service import client as client_module
from daemon.service import server as server_module
from daemon.service.client import ApiError, DaemonBusy, Locations, SocketClient, connect
from daemon.service.config import RolesConfig
from daemon.service.engine import Engine
from daemon.service.server import ApiServer

from .conftest import wait_for, write_config

NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path / "roster.duckdb")
    yield db
    db.close()


@pytest.fixture
def serve(short_dir: Path, database: Database) -> Iterator:
    """Start an ApiServer on `short_dir/rs.sock` with the given limits."""
    servers: list[ApiServer] = []

    @contextmanager
    def engine_for(user: str) -> Iterator[Engine]:
        db = database.for_thread()
        try:
            yield Engine(db, user)
        finally:
            db.close()

    def _serve(**limits) -> ApiServer:
        server = ApiServer(
            short_dir / "rs.sock", RolesConfig(), engine_for, threading.Lock(), "nogroup", **limits
        )
        server.start()
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.stop()


def as_nobody(work) -> object:  # type: ignore[no-untyped-def]
    """Run `work()` in a forked child that became `nobody`; returns what it returned (JSON)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest, no threads; only sockets, then out
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            result = work()
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_peer_without_a_role_is_told_why_and_closed_at_once(serve, short_dir):
    server = serve()
    path = str(short_dir / "rs.sock")

    def knock() -> list:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(path)
            line = sock.makefile("rb").readline()  # sent before any request
            closed = sock.recv(1) == b""
        return [json.loads(line)["error"], closed]

    error, closed = as_nobody(knock)
    assert closed
    assert error["type"] == "PermissionDenied"
    assert error["message"] == (
        "nobody may not use Roster Sync: it needs the role viewer at least (you have: no role); "
        "ask for it in the daemon's [roles] config"
    )
    assert server.open_connections() == 0


def test_a_thousand_idle_role_less_connections_cost_the_daemon_nothing(serve, short_dir, caplog):
    caplog.set_level("WARNING", logger="roster_sync")
    server = serve()
    path = str(short_dir / "rs.sock")
    before = open_fds()

    def flood() -> int:
        held = []
        for _ in range(1000):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(path)
            held.append(sock)
        closed = 0
        for sock in held:  # every one was answered and closed by the daemon
            sock.settimeout(5)
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
            closed += data.count(b"\n") == 1
        return closed

    assert as_nobody(flood) == 1000
    wait_for(lambda: server.open_connections() == 0, 10, "the connections to close")
    assert caplog.text.count("refused connections from nobody: no role") == 1  # not 1000 lines
    assert open_fds() <= before + 2
    client = SocketClient(short_dir / "rs.sock").connect()  # an admin is still served
    try:
        assert client.status().open_runs == 0
    finally:
        client.close()


def test_an_idle_connection_is_closed_and_the_client_connects_again(serve, short_dir):
    server = serve(idle_seconds=0.3)
    client = SocketClient(short_dir / "rs.sock").connect()
    try:
        assert client.list_runs() == []
        assert server.open_connections() == 1
        wait_for(lambda: server.open_connections() == 0, 5, "the idle connection to close")
        assert client.list_runs() == []  # connected again, silently
    finally:
        client.close()


def test_a_user_may_hold_only_so_many_connections(serve, short_dir):
    server = serve(per_user=3)
    clients = [SocketClient(short_dir / "rs.sock").connect() for _ in range(3)]
    try:
        for c in clients:
            c.list_runs()
        extra = SocketClient(short_dir / "rs.sock").connect()
        with pytest.raises(ApiError) as refused:
            extra.list_runs()
        assert refused.value.type == "DaemonUnavailable"
        assert str(refused.value).startswith(
            "the daemon is busy: root already has 3 connections open (the limit per user)"
        )
        clients.pop().close()
        wait_for(lambda: server.open_connections() == 2, 5, "a connection to close")
        extra = SocketClient(short_dir / "rs.sock").connect()
        assert extra.list_runs() == []
        extra.close()
    finally:
        for c in clients:
            c.close()


def _config(tmp_path: Path, short_dir: Path) -> Path:
    return write_config(
        tmp_path / "roster-sync.toml",
        {
            "database": str(tmp_path / "elsewhere" / "roster.duckdb"),
            "inbox": str(tmp_path / "inbox"),
            "archive": str(tmp_path / "archive"),
            "socket": str(short_dir / "rs.sock"),
        },
    )


def test_the_cli_says_the_daemon_is_busy_when_it_turns_a_connection_away(
    serve, short_dir, tmp_path, capsys
):
    serve(per_user=1)
    holder = SocketClient(short_dir / "rs.sock").connect()
    try:
        holder.list_runs()
        code = main(["--config", str(_config(tmp_path, short_dir)), "runs"])
    finally:
        holder.close()
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("roster-sync: the daemon is busy: root already has 1 connection open")
    assert not (tmp_path / "elsewhere").exists()  # never the database instead


def test_a_socket_that_takes_no_connection_is_busy_not_a_reason_to_open_the_database(
    short_dir, tmp_path, capsys, monkeypatch
):
    """A daemon out of file descriptors accepts nothing: its backlog fills up."""
    monkeypatch.setattr(client_module, "CONNECT_SECONDS", 0.5)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(short_dir / "rs.sock"))
    listener.listen(0)
    waiting = []
    try:
        while True:  # fill the backlog, as a thousand idle peers would
            sock = socket.socket(socket.AF_UNIX)
            sock.setblocking(False)
            try:
                sock.connect(str(short_dir / "rs.sock"))
            except BlockingIOError:
                sock.close()
                break
            waiting.append(sock)
        started = time.monotonic()
        code = main(["--config", str(_config(tmp_path, short_dir)), "runs"])
        with (
            pytest.raises(DaemonBusy),
            connect(Locations(tmp_path / "db.duckdb", short_dir / "rs.sock")),
        ):
            pass
    finally:
        for sock in waiting:
            sock.close()
        listener.close()
    err = capsys.readouterr().err
    assert code == 1 and time.monotonic() - started < 10
    assert err == (
        f"roster-sync: the daemon at {short_dir / 'rs.sock'} is busy and did not take the "
        "connection; try again in a moment\n"
    )
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "db.duckdb").exists()


def test_the_limits_are_the_ones_the_readme_states():
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert server_module.IDLE_SECONDS == 60 and "closed after a minute" in readme
    assert server_module.PER_USER == 16 and "at most 16 connections" in readme


def test_a_socket_left_by_a_stopped_daemon_means_no_daemon(short_dir, tmp_path, capsys):
    """Nobody listens (connection refused): the CLI opens the database itself, as it should."""
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(short_dir / "rs.sock"))
    stale.close()  # the file stays, nobody listens
    config = _config(tmp_path, short_dir)
    code = main(["--config", str(config), "settings", "set", "auto_apply", "false"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "elsewhere" / "roster.duckdb").is_file()


def test_the_review_ui_titles_a_busy_daemon_as_unavailable(serve, short_dir):
    from roster_tui.gateway import describe_error

    assert describe_error(DaemonBusy("the daemon at x is busy"))[0] == "Daemon unavailable"
    serve(per_user=1)
    holder = SocketClient(short_dir / "rs.sock").connect()
    holder.list_runs()  # the holder's connection is counted before the extra one arrives
    extra = SocketClient(short_dir / "rs.sock").connect()
    try:
        with pytest.raises(ApiError) as refused:
            extra.list_runs()
    finally:
        holder.close()
        extra.close()
    title, message = describe_error(refused.value)
    assert title == "Daemon unavailable" and message.startswith("the daemon is busy")
