"""Conflicts decided 'take' are counted on their run, and an immediate take is a deliberate one.

Day one applied, then gdn-3136 activated by hand: day two's new phone for that active account is
a conflict (#1) the sync does not settle alone.
"""

from __future__ import annotations

import json

import pytest

from daemon.db import Database
from daemon.service.client import ApiError, SocketClient
from daemon.service.engine import Engine
from tests.conftest import SAMPLE

DAY2 = str(SAMPLE / "day2")


@pytest.fixture
def conflict(both) -> int:
    """Run 2 planned from day two, with the active account's phone as conflict #1."""
    assert both("users", "activate", "gdn-3136").code == 0
    assert json.loads(both("run", DAY2, "--json").out)["conflicts"] == 1
    return 1


def phone_of(both, sis_id: str) -> str | None:
    return json.loads(both("users", "show", sis_id, "--json").out)["mobile_phone"]


def test_show_counts_the_feed_values_taken(both, conflict):
    both("conflicts", "resolve", str(conflict), "take")
    shown = both("show", "2")
    assert "  Conflicts: 1 (0 blocking, 1 feed value taken) (see: " in shown.out


def test_show_says_nothing_of_taken_values_while_none_was_taken(both, conflict):
    both("conflicts", "resolve", str(conflict), "keep")
    assert "taken" not in both("show", "2").out


def test_a_run_counts_its_conflicts_per_decision(both, conflict):
    both("conflicts", "resolve", str(conflict), "take")
    run = json.loads(both("show", "2", "--json").out)
    assert run["conflict_decisions"] == {"take": 1, "keep": 0, "ignore": 0}


def test_take_from_the_cli_on_an_applied_run_still_changes_the_directory_at_once(both, conflict):
    both("apply", "2")
    before = phone_of(both, "gdn-3136")
    taken = both("conflicts", "resolve", str(conflict), "take")
    assert (taken.code, taken.out) == (0, "1 conflict decided: take\n")
    assert phone_of(both, "gdn-3136") not in (None, before)


def _resolve(both, *args, **kwargs):
    """The engine's operation as a program calls it: over the socket, or in process."""
    if both.daemon is not None:
        client = SocketClient(both.daemon.config.socket).connect()
        try:
            return client.resolve_conflicts(*args, **kwargs)
        finally:
            client.close()
    with Database(both.database) as db:
        return Engine(db, "script").resolve_conflicts(*args, **kwargs)


def test_a_take_not_confirmed_on_an_applied_run_is_refused_and_decides_nothing(both, conflict):
    both("apply", "2")
    before = phone_of(both, "gdn-3136")
    with pytest.raises((ApiError, ValueError)) as refused:
        _resolve(both, [conflict], "take", take_now=False)
    assert str(refused.value) == (
        "conflict #1: run 2 is applied, so taking the feed's value changes the directory at "
        "once; nothing was decided (decide again to be asked first)"
    )
    if isinstance(refused.value, ApiError):
        assert refused.value.type == "TakeNotConfirmed" and not refused.value.internal
    assert phone_of(both, "gdn-3136") == before
    assert json.loads(both("conflicts", "2", "--json").out)[0]["decision"] is None


def test_a_take_not_confirmed_on_a_planned_run_is_decided(both, conflict):
    assert _resolve(both, [conflict], "take", take_now=False) == 1
    assert json.loads(both("conflicts", "2", "--json").out)[0]["decision"] == "take"
