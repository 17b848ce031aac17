"""A record's history shows an archive a run withheld and a person approved later: who approved
it, when, which run withheld it and the reason given (sync/withheld.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def approved(sync, tiny):
    """stu-7..10 leave the feed over the threshold; the run withholds, a person approves."""
    sync.engine.settings_set("threshold_action", "withhold_archives")
    sync.apply(tiny)
    for i in range(7, 11):
        tiny.remove("users.csv", sourcedId=f"stu-{i}")
        tiny.remove("enrollments.csv", userSourcedId=f"stu-{i}")
    run = sync.apply(tiny)
    sync.engine.decide_withheld(run.run_id, "approve", "they moved to another district")
    return run


def test_the_history_of_a_record_archived_by_an_approved_decision_shows_it(sync, approved):
    history = sync.engine.user_detail("stu-7").history
    [archive] = [h for h in history if h.what == "archive"]
    assert archive.who == "tester"
    assert f"withheld by run {approved.run_id}" in archive.detail
    assert "they moved to another district" in archive.detail
