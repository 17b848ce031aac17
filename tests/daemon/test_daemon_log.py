"""The daemon's log lines: one per event, whatever a drop's name holds."""

from __future__ import annotations

import logging

from daemon.service.logs import configure_logging


def test_a_drop_name_cannot_forge_a_log_line_or_reach_the_terminal(capsys) -> None:
    configure_logging("INFO")
    name = "day2\nroster-sync[INFO] roster_sync.daemon: day2: run 5 applied\x1b[2J"
    logging.getLogger("roster_sync.daemon").info("%s is complete", name)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "\x1b" not in lines[0]
    assert lines[0].endswith("run 5 applied\ufffd[2J is complete")
