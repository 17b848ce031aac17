"""What a hold withholds (issue 17, section 3) and additions-only runs (section 4).

With `threshold_action = withhold_archives` a run over the deletion threshold applies its
creates, updates and unarchives; its archives (and the memberships and links they take with
them) wait as one decision, approved or dropped with a reason once the run is applied.
"""

from __future__ import annotations

import json

import pytest

from daemon.sync.withheld import WithheldError


def _active(sync, sis_id: str) -> bool:
    return sync.user(sis_id)["status"] == "active"


def _leave_school_b(tiny) -> None:
    """Students 7-10 (school B) leave the feed: 40% of the students, over the 10% threshold."""
    for i in range(7, 11):
        tiny.remove("users.csv", sourcedId=f"stu-{i}")
        tiny.remove("enrollments.csv", userSourcedId=f"stu-{i}")


@pytest.fixture
def withholding(sync, tiny):
    sync.engine.settings_set("threshold_action", "withhold_archives")
    sync.apply(tiny)
    return sync


def test_a_run_over_the_threshold_is_held_whole_by_default(sync, tiny, tiny_applied):
    _leave_school_b(tiny)
    run = sync.plan(tiny)
    assert run.status == "held" and run.changes["students"]["archive"] == 4
    assert run.withheld == {}


def test_withheld_archives_leave_the_rest_of_the_run_to_apply(withholding, tiny):
    _leave_school_b(tiny)
    tiny.row("users.csv", "stu-1")["familyName"] = "Lopez-Diaz"
    run = withholding.plan(tiny)
    assert run.status == "planned" and run.hold_reasons == []
    assert run.changes["students"] == {"create": 0, "update": 1, "archive": 0, "unarchive": 0}
    assert run.withheld["students"] == 4 and run.withheld["enrollments"] == 4
    assert run.withheld_why == "threshold" and run.withheld_waiting

    run = withholding.engine.apply_run(run.run_id, scan_duplicates=False)
    assert withholding.user("stu-1")["family_name"] == "Lopez-Diaz"
    assert all(_active(withholding, f"stu-{i}") for i in range(7, 11))
    assert run.withheld_waiting and run.withheld_decision is None


def test_approved_withheld_archives_are_archived_and_audited(withholding, tiny):
    _leave_school_b(tiny)
    run = withholding.apply(tiny)
    run = withholding.engine.decide_withheld(run.run_id, "approve", "school B closed")
    assert not any(_active(withholding, f"stu-{i}") for i in range(7, 11))
    assert withholding.user("stu-7")["archived_run"] == run.run_id
    db = withholding.engine.db
    assert db.one("SELECT count(*) FROM enrollments WHERE status = 'archived'") == 4
    assert run.withheld_decision == "approved" and run.withheld_reason == "school B closed"
    assert run.withheld_outcome == {"archived": sum(run.withheld.values())}
    action, details = db.rows(
        "SELECT action, details FROM audit_log WHERE action LIKE 'run.withheld%'"
    )[0]
    assert action == "run.withheld.approve"
    assert json.loads(details)["reason"] == "school B closed"
    assert withholding.engine.check() == [(name, 0) for name, _ in withholding.engine.check()]


def test_dropped_withheld_archives_change_nothing_and_are_decided_once(withholding, tiny):
    _leave_school_b(tiny)
    run = withholding.apply(tiny)
    version = withholding.engine.db.directory_version()
    run = withholding.engine.decide_withheld(run.run_id, "drop", "they are on a trip")
    assert all(_active(withholding, f"stu-{i}") for i in range(7, 11))
    assert withholding.engine.db.directory_version() == version
    assert run.withheld_decision == "dropped" and not run.withheld_waiting
    with pytest.raises(WithheldError, match="already dropped"):
        withholding.engine.decide_withheld(run.run_id, "approve", "changed my mind")


def test_reverting_a_run_drops_the_archives_it_withheld(withholding, tiny):
    _leave_school_b(tiny)
    run = withholding.apply(tiny)
    revert = withholding.engine.revert_run(run.run_id)
    withholding.engine.apply_run(revert.run_id, scan_duplicates=False)
    run = withholding.engine.get_run(run.run_id)
    assert run.withheld_decision == "dropped" and not run.withheld_waiting
    assert run.withheld_reason == f"run {run.run_id} was reverted by run {revert.run_id}"
    with pytest.raises(WithheldError, match="already dropped"):
        withholding.engine.decide_withheld(run.run_id, "approve", "school B closed")
    assert all(_active(withholding, f"stu-{i}") for i in range(7, 11))


def test_withheld_archives_are_decided_only_after_the_run_applies_and_with_a_reason(
    withholding, tiny
):
    _leave_school_b(tiny)
    run = withholding.plan(tiny)
    with pytest.raises(WithheldError, match="wait until the rest of it is applied"):
        withholding.engine.decide_withheld(run.run_id, "approve", "now")
    withholding.engine.apply_run(run.run_id, scan_duplicates=False)
    with pytest.raises(WithheldError, match="needs a reason"):
        withholding.engine.decide_withheld(run.run_id, "approve", "  ")
    with pytest.raises(WithheldError, match="withheld no archives"):
        withholding.engine.decide_withheld(1, "approve", "why not")


def test_approving_later_keeps_what_came_back_or_changed_since(withholding, tiny):
    _leave_school_b(tiny)
    first = withholding.apply(tiny)
    # A later drop has stu-7 again; stu-8's contact details are edited by hand.
    later = tiny.copy()
    back = [r for r in tiny.__class__().files["users.csv"] if r["sourcedId"] == "stu-7"]
    later.rows("users.csv").extend(back)
    withholding.apply(later)
    withholding.engine.edit_contact("stu-8", {"email": "stu8@example.org"})

    run = withholding.engine.decide_withheld(first.run_id, "approve", "end of year")
    assert _active(withholding, "stu-7") and _active(withholding, "stu-8")
    assert not _active(withholding, "stu-9") and not _active(withholding, "stu-10")
    notes = {
        w.sis_id: w.outcome_note
        for w in withholding.engine.withheld_page(first.run_id).items
        if w.kind == "students"
    }
    assert notes["stu-7"].startswith("in the feed of run")
    assert notes["stu-8"] == "edited by hand since"
    assert notes["stu-9"] is None
    assert run.withheld_outcome["kept"] >= 2


def test_additions_only_never_archives_and_shows_what_it_would_have(sync, tiny):
    sync.engine.settings_set("archive_mode", "additions_only")
    sync.apply(tiny)
    tiny.remove("users.csv", sourcedId="stu-3")
    tiny.row("users.csv", "stu-1")["familyName"] = "Lopez-Diaz"
    run = sync.apply(tiny)
    assert run.status == "applied" and run.withheld_why == "additions_only"
    assert run.withheld["students"] == 1 and _active(sync, "stu-3")
    assert sync.user("stu-1")["family_name"] == "Lopez-Diaz"
    [w] = [w for w in sync.engine.withheld_page(run.run_id).items if w.kind == "students"]
    assert (w.sis_id, w.note) == ("stu-3", "no longer in the feed")
