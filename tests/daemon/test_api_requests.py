"""Requests the API cannot take are one-line answers, never faults (api review 7 and 8).

A caller may send anything down the socket: parameters are checked against the operation's
signature and types before it runs, a name that is not an operation is never written into the
log, and a caller who triggers faults cannot flood the journal with tracebacks.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

from daemon.db import Database
from daemon.service.config import load_config

USER = "stu-1001"


def _ask(path: Path, *lines: bytes) -> list[dict[str, Any]]:
    """Raw request lines on one connection, and the daemon's answers."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        stream = sock.makefile("rwb")
        answers = []
        for line in lines:
            stream.write(line + b"\n")
            stream.flush()
            answers.append(json.loads(stream.readline()))
        return answers


def _request(method: str, **params: Any) -> bytes:
    return json.dumps({"method": method, "params": params}).encode()


def _daemon(make_daemon_config, start_daemon, clock, caplog):
    caplog.set_level(logging.DEBUG, logger="roster_sync")
    config_path = make_daemon_config()
    return start_daemon(config_path, clock), load_config(config_path).socket


def test_an_unknown_parameter_is_a_one_line_bad_request_not_a_fault(
    make_daemon_config, start_daemon, clock, caplog
) -> None:
    daemon, path = _daemon(make_daemon_config, start_daemon, clock, caplog)
    (answer,) = _ask(path, _request("list_runs", x=1))
    daemon.stop()
    assert answer["ok"] is False
    assert answer["error"]["type"] == "BadRequest" and not answer["error"]["internal"]
    assert answer["error"]["message"] == "list_runs has no parameter 'x' (it takes: limit)"
    assert "ERROR" not in caplog.text and "Traceback" not in caplog.text


def test_a_value_of_the_wrong_type_is_refused_before_the_operation_runs(
    make_daemon_config, start_daemon, clock, caplog
) -> None:
    daemon, path = _daemon(make_daemon_config, start_daemon, clock, caplog)
    (answer,) = _ask(path, _request("archive_unsynced", dry_run=None))
    daemon.stop()
    assert answer["error"]["type"] == "BadRequest"
    assert answer["error"]["message"] == (
        "archive_unsynced: 'dry_run': Input should be a valid boolean"
    )
    assert "archive_unsynced by root (" not in caplog.text  # never ran


def test_the_word_false_means_false(make_daemon_config, start_daemon, clock, caplog) -> None:
    """Before parameters were checked, "false" was a true value to Python: the account was
    switched off by DuckDB, yet the audit log said it was switched on."""
    daemon, path = _daemon(make_daemon_config, start_daemon, clock, caplog)
    client = daemon.client()
    user = client.create_user("guardian", "Ada", "Lovelace", "ada@example.org")
    client.set_account_active(str(user), True)
    (answer,) = _ask(path, _request("set_account_active", user=str(user), active="false"))
    client.close()
    daemon.stop()
    assert answer["ok"] is True, answer
    with Database(daemon.config.database) as db:
        last = db.one("SELECT action FROM audit_log ORDER BY audit_id DESC LIMIT 1")
    assert last == "user.deactivate"


def test_a_method_name_is_never_written_into_the_log(
    make_daemon_config, start_daemon, clock, caplog
) -> None:
    forged = "x\nroster-sync[INFO] roster_sync.api: apply_run by alice (run_id)"
    daemon, path = _daemon(make_daemon_config, start_daemon, clock, caplog)
    (answer,) = _ask(path, _request(forged))
    daemon.stop()
    assert answer["error"]["type"] == "BadRequest"
    assert "\n" not in answer["error"]["message"]
    assert answer["error"]["message"].endswith("is not an operation of the Roster Sync API")
    assert "alice" not in caplog.text


def test_a_line_that_is_not_json_gets_one_line_back(
    make_daemon_config, start_daemon, clock, caplog
) -> None:
    daemon, path = _daemon(make_daemon_config, start_daemon, clock, caplog)
    not_json, not_utf8 = _ask(path, b"{not json", b'{"method": "status\xff"}')
    daemon.stop()
    for answer in (not_json, not_utf8):
        assert answer["error"] == {
            "type": "BadRequest",
            "message": "not a valid request: send one JSON object per line, in UTF-8",
            "internal": False,
            "title": "Not a valid request",
        }


def test_a_caller_cannot_flood_the_log_with_tracebacks(
    make_daemon_config, start_daemon, clock, caplog, monkeypatch
) -> None:
    from daemon.service.engine import Engine

    def broken(self, limit=200):
        raise ValueError("a fault")

    monkeypatch.setattr(Engine, "list_runs", broken)
    daemon, path = _daemon(make_daemon_config, start_daemon, clock, caplog)
    answers = _ask(path, *[_request("list_runs")] * 20)
    daemon.stop()
    assert all(a["error"]["internal"] for a in answers)
    assert caplog.text.count("list_runs by root failed with ValueError") == 1
