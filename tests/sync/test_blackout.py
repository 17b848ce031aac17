"""Blackout dates (issue 17, section 4): the setting, and a manual run on a blackout day."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from daemon.settings import SettingError
from daemon.sync.runs import RunError


def test_blackout_dates_are_ranges_or_days_kept_in_order(engine):
    engine.settings_set("blackout_dates", "2027-12-20..2028-01-02, 2027-06-15..2027-08-20")
    engine.settings_set(
        "blackout_dates", "2027-12-20..2028-01-02,2027-06-15..2027-08-20,2027-04-01"
    )
    shown = {r.key: r.value for r in engine.settings_show()}["blackout_dates"]
    assert shown == "2027-04-01,2027-06-15..2027-08-20,2027-12-20..2028-01-02"
    engine.settings_set("blackout_dates", "none")
    assert {r.key: r.value for r in engine.settings_show()}["blackout_dates"] == "none"


@pytest.mark.parametrize("value", ["summer", "2027-08-20..2027-06-15", "2027-06-15..later"])
def test_a_blackout_that_is_not_a_date_range_is_refused(engine, value):
    with pytest.raises(SettingError, match="blackout_dates"):
        engine.settings_set("blackout_dates", value)


def test_a_manual_run_on_a_blackout_day_needs_force_and_is_audited(sync, tiny):
    today = date.today()
    span = f"{today - timedelta(days=1)}..{today + timedelta(days=1)}"
    sync.engine.settings_set("blackout_dates", span)
    with pytest.raises(
        RunError, match=f"is in the blackout {span}: nothing is synced; pass --force"
    ):
        sync.engine.plan_source(str(tiny.write(sync.root)))
    assert sync.engine.db.one("SELECT count(*) FROM runs") == 0
    assert sync.engine.status().blackout == f"today ({today}) is in the blackout {span}"
    run = sync.engine.plan_source(str(tiny.write(sync.root)), None, True)
    assert run.status == "planned"
    details = sync.engine.db.one(
        "SELECT details FROM audit_log WHERE action = 'run.blackout.force'"
    )
    assert json.loads(details)["why"].endswith(span)


def test_outside_the_blackout_nothing_changes(sync, tiny):
    sync.engine.settings_set("blackout_dates", "2001-06-15..2001-08-20")
    assert sync.engine.status().blackout is None
    assert sync.plan(tiny).status == "planned"
