"""Where the daemon's socket goes, and a start that fails after the socket is bound (api review
1 and 5).

A stale socket of a killed daemon is replaced; anything else at the socket's path is never
removed (a config whose `socket` names the database must not cost the database). A daemon that
cannot serve says why in one line and exits, leaving nothing bound or locked behind it.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from daemon.errors import RosterSyncError
from daemon.service.config import ConfigError, RolesConfig, load_config
from daemon.service.server import ApiServer

from .conftest import cli


def test_a_socket_that_names_the_database_is_refused_with_the_config(make_daemon_config) -> None:
    config_path = make_daemon_config()
    database = load_config(config_path).database
    make_daemon_config(socket=str(database))
    with pytest.raises(ConfigError, match="'socket' names the database"):
        load_config(config_path)


def test_a_socket_inside_the_inbox_is_refused_with_the_config(make_daemon_config) -> None:
    config_path = make_daemon_config()
    inbox = load_config(config_path).inbox
    make_daemon_config(socket=str(inbox / "rs.sock"))
    with pytest.raises(ConfigError, match="is inside the inbox folder"):
        load_config(config_path)


def test_the_daemon_never_removes_a_file_at_its_socket_path(make_daemon_config, tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("the administrator's notes\n")
    config_path = make_daemon_config(socket=str(notes))
    started = cli(config_path, "daemon", timeout=30)
    assert started.returncode == 1
    assert f"socket path {notes} exists and is not a socket" in started.stderr
    assert notes.read_text() == "the administrator's notes\n"


def test_a_missing_socket_group_stops_the_daemon_at_once(make_daemon_config) -> None:
    config_path = make_daemon_config(socket_group="rs-t-no-such-group")
    config = load_config(config_path)
    started = cli(config_path, "daemon", timeout=30)
    assert started.returncode == 1
    assert "socket_group 'rs-t-no-such-group' is not a group on this system" in started.stderr
    assert not config.socket.exists()
    assert cli(config_path, "status", timeout=30).returncode in (0, 1)  # answers, never hangs


def test_a_socket_that_cannot_be_given_to_its_group_leaves_nothing_bound(
    short_dir: Path, monkeypatch
) -> None:
    """chown fails after the socket is bound (the daemon's user is not in the group): start says
    so, and stopping does not wait for a server loop that never ran."""

    def refuse(*_args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    path = short_dir / "rs.sock"
    server = ApiServer(path, RolesConfig(), lambda _user: None, threading.Lock(), "root")  # type: ignore[arg-type,return-value]
    outcome: list[BaseException] = []

    def start_then_stop() -> None:
        try:
            server.start()
        except BaseException as exc:
            outcome.append(exc)
        server.stop()

    worker = threading.Thread(target=start_then_stop, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "stopping the server hung"
    assert len(outcome) == 1 and isinstance(outcome[0], RosterSyncError)
    assert "cannot give the socket" in str(outcome[0])
    assert not path.exists()


def test_a_stale_socket_is_still_replaced(short_dir: Path) -> None:
    path = short_dir / "rs.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    server = ApiServer(path, RolesConfig(), lambda _user: None, threading.Lock())  # type: ignore[arg-type,return-value]
    server.start()
    try:
        probe = socket.socket(socket.AF_UNIX)
        probe.connect(str(path))
        probe.close()
    finally:
        server.stop()
    assert not path.exists()
