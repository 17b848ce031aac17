"""The daemon's log lines: one per event, whatever a drop's name holds; and the log goes away
with the daemon, so a process that ran one never writes to a stream it may have closed since."""

from __future__ import annotations

import io
import logging
import sys

from daemon.service.logs import configure_logging

from .conftest import SAMPLE, copy_drop, runs_in, start_on_arrival, wait_for


def daemon_handlers() -> list[logging.Handler]:
    return [
        h
        for h in logging.getLogger("roster_sync").handlers
        if getattr(h, "roster_sync_daemon", False)
    ]


def test_a_drop_name_cannot_forge_a_log_line_or_reach_the_terminal(capsys) -> None:
    handler = configure_logging("INFO")
    try:
        name = "day2\nroster-sync[INFO] roster_sync.daemon: day2: run 5 applied\x1b[2J"
        logging.getLogger("roster_sync.daemon").info("%s is complete", name)
    finally:
        logging.getLogger("roster_sync").removeHandler(handler)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "\x1b" not in lines[0]
    assert lines[0].endswith("run 5 applied\ufffd[2J is complete")


def test_a_stopped_daemon_leaves_no_log_handler_behind(make_daemon_config, start_daemon, clock):
    config, daemon = start_on_arrival(make_daemon_config, start_daemon, clock)
    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    client = daemon.client()
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="day1 planned")
    client.close()
    assert len(daemon_handlers()) == 1
    assert daemon.stop() == 0
    assert daemon_handlers() == []


def test_a_line_logged_after_stderr_was_closed_is_dropped_quietly(monkeypatch, capsys) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    handler = configure_logging("INFO")
    try:
        logging.getLogger("roster_sync.daemon").info("one")
        assert first.getvalue() == "roster-sync[INFO] roster_sync.daemon: one\n"
        first.close()  # a test's capture ends, an embedding program closes its stderr
        monkeypatch.undo()
        logging.getLogger("roster_sync.daemon").info("two")
    finally:
        logging.getLogger("roster_sync").removeHandler(handler)
    assert "Logging error" not in capsys.readouterr().err
