"""The re-keyed rollover (issue 17, section 4): a feed whose students are the same people under
new ids is held with its own reason instead of archiving the district and creating it again."""

from __future__ import annotations

import pytest

from daemon.sync.runs import RunError


def _rekey(tiny, students: range) -> None:
    """The SIS gives these students new sourcedIds (and student numbers) at the rollover."""
    for i in students:
        old, new = f"stu-{i}", f"s27-{i}"
        row = tiny.row("users.csv", old)
        row["sourcedId"], row["identifier"] = new, f"N{i}"
        for r in tiny.rows("users.csv"):
            if r["agentSourcedIds"] == old:
                r["agentSourcedIds"] = new
        for r in tiny.rows("enrollments.csv"):
            if r["userSourcedId"] == old:
                r["userSourcedId"] = new
        tiny.row("demographics.csv", old)["sourcedId"] = new


def test_a_re_keyed_rollover_is_held_with_its_own_reason(sync, tiny, tiny_applied):
    _rekey(tiny, range(1, 11))
    run = sync.plan(tiny)
    assert run.status == "held"
    [reason] = [r for r in run.hold_reasons if "re-keyed" in r]
    assert reason.startswith("the SIS appears to have re-keyed 10 students: 10 of the 10 students")
    assert "stu-1 -> s27-1" in reason and "duplicates screen" in reason
    assert sync.engine.db.one("SELECT count(*) FROM users WHERE sis_id LIKE 's27-%'") == 0


def test_the_rollover_hold_is_held_even_when_archives_are_withheld(sync, tiny):
    sync.engine.settings_set("threshold_action", "withhold_archives")
    sync.apply(tiny)
    _rekey(tiny, range(1, 11))
    run = sync.plan(tiny)
    assert run.status == "held" and run.withheld["students"] == 10
    assert any("re-keyed 10 students" in r for r in run.hold_reasons)


def test_an_override_with_a_reason_applies_it_all_the_same(sync, tiny, tiny_applied):
    _rekey(tiny, range(1, 11))
    run = sync.plan(tiny)
    with pytest.raises(RunError, match="needs a reason"):
        sync.engine.apply_run(run.run_id, override=True)
    run = sync.engine.apply_run(run.run_id, True, "new SIS, ids changed on purpose", False)
    assert run.status == "applied" and run.override_reason == "new SIS, ids changed on purpose"
    assert sync.user("s27-1")["status"] == "active" and sync.user("stu-1")["status"] == "archived"


def test_ordinary_churn_is_no_rollover(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "50")
    sync.apply(tiny)
    _rekey(tiny, range(1, 3))  # two families leave and enrol again: under the minimum
    run = sync.plan(tiny)
    assert run.status == "planned" and not any("re-keyed" in r for r in run.hold_reasons)
