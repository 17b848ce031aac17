"""Overriding a hold takes a reason, which is kept and shown (issue 13, items 2 and 4).

The engine refuses an override without one, whoever calls it: the CLI, the TUI, a script on the
socket. `show` then says who overrode, when and why.
"""

from __future__ import annotations

import json
import shutil

import pytest

from daemon.audit import current_actor
from daemon.db import Database
from daemon.service.client import ApiError, SocketClient
from daemon.sync.runs import RunError
from tests.cli.test_mistakes import one_line
from tests.conftest import SAMPLE
from tests.directory_state import directory_fingerprint


@pytest.fixture
def held(both) -> int:
    """Day one applied; the broken day three held (run 2)."""
    assert json.loads(both("show", "2", "--json").out)["status"] == "held"
    return 2


def fingerprint(both) -> tuple:
    if both.daemon is not None:
        client = SocketClient(both.daemon.config.socket).connect()
        try:
            return (client.status().directory_version,)
        finally:
            client.close()
    with Database(both.database) as db:
        return (db.directory_version(), *directory_fingerprint(db))


@pytest.mark.template("held_template")
@pytest.mark.parametrize("reason", [None, "", "   ", "\t\n"], ids=["none", "empty", "blank", "ws"])
def test_an_override_without_a_reason_is_refused_and_changes_nothing(both, held, reason):
    before = fingerprint(both)
    args = ["apply", str(held), "--override"] + ([] if reason is None else ["--reason", reason])
    refused = both(*args)
    assert (refused.code, refused.out) == (1, "")
    assert one_line(refused.err) == (
        f"run {held} is held: overriding it needs a reason, which the audit log keeps "
        "(--reason TEXT)"
    )
    assert fingerprint(both) == before
    assert json.loads(both("show", str(held), "--json").out)["status"] == "held"


def test_the_engine_itself_refuses_an_override_without_a_reason(engine):
    run = engine.plan_source(str(SAMPLE / "day1"))
    engine.apply_run(run.run_id, scan_duplicates=False)
    held = engine.plan_source(str(SAMPLE / "day3_broken"))
    assert held.status == "held"
    with pytest.raises(RunError, match="needs a reason"):
        engine.apply_run(held.run_id, override=True, reason="  ")
    assert engine.get_run(held.run_id).status == "held"


@pytest.mark.template("held_template")
def test_the_daemon_refuses_an_override_without_a_reason_over_its_socket(both, held):
    if both.daemon is None:
        pytest.skip("about the socket")
    client = SocketClient(both.daemon.config.socket).connect()
    try:
        with pytest.raises(ApiError, match="needs a reason") as refused:
            client.call("apply_run", run_id=held, override=True, reason="")
        assert refused.value.type == "RunError" and not refused.value.internal
        assert client.get_run(held).status == "held"
    finally:
        client.close()


@pytest.mark.template("held_template")
def test_an_override_with_a_reason_is_applied_audited_and_shown(both, held):
    applied = both(
        "apply", str(held), "--override", "--reason", "  mid-year school split ", "--json"
    )
    assert applied.code == 0, applied.err
    run = json.loads(applied.out)
    assert run["status"] == "applied"
    assert run["override_by"] == current_actor()
    assert run["override_reason"] == "mid-year school split"

    shown = both("show", str(held))
    decided = run["decided_at"][:16].replace("T", " ")
    assert (
        f"  Hold overridden by {current_actor()} at {decided}: mid-year school split"
        in shown.out.splitlines()
    )
    assert json.loads(both("show", str(held), "--json").out)["override_reason"] == (
        "mid-year school split"
    )


def test_the_audit_log_keeps_the_reason(cli, db_path, held_template):
    shutil.copyfile(held_template, db_path)  # day 1 applied, day 3 held (run 2)
    assert cli("apply", "2", "--override", "--reason", "end of year")[0] == 0
    with Database(db_path) as db:
        [(details,)] = db.rows(
            "SELECT details FROM audit_log WHERE action = 'run.apply.override' AND target_id = 2"
        )
    assert json.loads(details) == {"reason": "end of year", "held": True}


def test_a_run_applied_without_a_hold_shows_no_override(both):
    both("run", str(SAMPLE / "day2"))
    applied = both("apply", "2", "--json")
    run = json.loads(applied.out)
    assert run["override_by"] is None and run["override_reason"] is None
    assert "overridden" not in both("show", "2").out
