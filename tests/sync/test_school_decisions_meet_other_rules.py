"""Decisions after the night, where the school rule meets other rules (found by a second
adversarial read): manage_guardians = false, a revert's questions about memberships, what the
run summary and the withheld list say, archives an approval adds, ordinary nights under the
new invariants."""

from __future__ import annotations

import pytest

from daemon.sync.conflicts import ConflictError
from tests.sync.test_school_and_its_classes_later import _applied_revert, _status
from tests.sync.test_school_decided_later import WHEN, _delta
from tests.sync.test_school_still_named import _failed_checks


def _link_status(sync, student: str, guardian: str) -> str:
    return sync.engine.db.one(
        """SELECT l.status FROM guardian_links l JOIN users s ON s.user_id = l.student_id
           JOIN users g ON g.user_id = l.guardian_id WHERE s.sis_id = ? AND g.sis_id = ?""",
        [student, guardian],
    )


# ------------------------------------------------- approval and manage_guardians = false


def test_approval_leaves_links_alone_under_manage_guardians_false(sync, tiny, tiny_applied):
    """manage_guardians = false: the sync archives no link, not even with its student; an
    approval of a withheld student archive must not archive the student's links either."""
    sync.engine.settings_set("manage_guardians", "false")
    sync.engine.settings_set("archive_mode", "additions_only")
    left = tiny.copy()
    left.remove("users.csv", sourcedId="stu-9")
    left.remove("enrollments.csv", userSourcedId="stu-9")
    run = sync.apply(left)
    assert run.withheld.get("students") == 1
    assert _link_status(sync, "stu-9", "gdn-9") == "active"
    sync.engine.settings_set("archive_mode", "normal")
    sync.engine.decide_withheld(run.run_id, "approve", "stu-9 left")
    assert _status(sync, "users", "stu-9") == "archived"
    # a night with manage_guardians = false leaves the link (test_manage_guardians_again.py)
    assert _link_status(sync, "stu-9", "gdn-9") == "active"


# ------------------------------------- a revert's question on a membership of an archived class


def _without_science(tiny):
    out = tiny.copy()
    out.remove("classes.csv", sourcedId="cls-a2")
    out.remove("enrollments.csv", classSourcedId="cls-a2")
    return out


@pytest.fixture
def science_closed_twice(sync, tiny, tiny_applied):
    """Run 2 ends Science 5 with its memberships, run 3 brings it back, run 4 ends it again."""
    closed = sync.apply(_without_science(tiny), override=True)
    sync.apply(tiny, override=True)
    sync.apply(_without_science(tiny), override=True)
    return closed


def _questions(sync, run_id):
    return {
        (c.record_kind, c.sis_id or c.label, c.field): c
        for c in sync.engine.conflicts(run_id, limit=500).items
    }


def test_a_membership_of_a_class_the_revert_leaves_archived_is_not_taken_without_it(
    sync, science_closed_twice
):
    """Alone it would be an active membership in an archived class: refused in plain words,
    naming the class's own question."""
    revert = sync.engine.revert_run(science_closed_twice.run_id)
    asked = _questions(sync, revert.run_id)
    membership = asked[("enrollments", "enr-1b", "status")]
    klass = asked[("classrooms", "cls-a2", "status")]
    with pytest.raises(ConflictError) as refused:
        sync.engine.resolve_conflicts([membership.conflict_id], "take")
    assert str(refused.value) == (
        f"conflict {membership.conflict_id}: {membership.label} cannot come back while its "
        f"class Science 5 (cls-a2) stays archived; nothing was taken (take its question too "
        f"(conflict {klass.conflict_id}), or keep)"
    )


def test_a_membership_is_taken_with_its_class(sync, science_closed_twice):
    revert = sync.engine.revert_run(science_closed_twice.run_id)
    asked = _questions(sync, revert.run_id)
    taken = [asked[("enrollments", "enr-1b", "status")], asked[("classrooms", "cls-a2", "status")]]
    sync.engine.resolve_conflicts([c.conflict_id for c in taken], "take")
    applied = sync.engine.apply_run(revert.run_id, override=True, reason="reviewed")
    assert applied.status == "applied", applied.error
    assert _status(sync, "enrollments", "enr-1b") == "active"
    assert _failed_checks(sync) == []


def test_taking_the_class_s_question_brings_back_its_memberships(sync, science_closed_twice):
    revert = sync.engine.revert_run(science_closed_twice.run_id)
    klass = _questions(sync, revert.run_id)[("classrooms", "cls-a2", "status")]
    sync.engine.resolve_conflicts([klass.conflict_id], "take")
    applied = sync.engine.apply_run(revert.run_id, override=True, reason="reviewed")
    assert applied.status == "applied", applied.error
    assert _status(sync, "classrooms", "cls-a2") == "active"
    assert _status(sync, "enrollments", "enr-1b") == "active"
    assert _failed_checks(sync) == []


# ------------------------------------------------------- what the TUI says of an approval


def test_the_tui_run_summary_does_not_say_a_school_kept_for_its_class_changed(
    sync, tiny, tiny_applied
):
    """A school kept for a class in it did not change: the summary does not say it did."""
    from datetime import datetime

    from roster_tui.widgets.run_summary import _withheld as summary
    from tests.sync.test_school_still_named import _without_school_b

    sync.engine.settings_set("threshold_action", "withhold_archives")
    run = sync.apply(_without_school_b(tiny))
    sync.engine.rename_classroom("cls-b1", "Homeroom 5B (Annex)")
    decided = sync.engine.decide_withheld(run.run_id, "approve", "Birch closed")
    assert decided.withheld_outcome.get("kept")
    assert "changed since" not in summary(decided, datetime.now()).plain


# ------------------------------------------- cascaded additions: listed once, undone by a revert


@pytest.fixture
def family_withheld(sync, tiny, tiny_applied):
    """Summer: stu-9 and gdn-9 leave; a later changes-only night links gdn-9 to a new student
    stu-11 and enrolls stu-9 in Science 5; both archives wait."""
    sync.engine.settings_set("archive_mode", "additions_only")
    left = tiny.copy()
    for who in ("stu-9", "gdn-9"):
        left.remove("users.csv", sourcedId=who)
    left.remove("enrollments.csv", userSourcedId="stu-9")
    run = sync.apply(left)
    sync.engine.settings_set("archive_mode", "normal")
    new = {**tiny.row("users.csv", "stu-4"), "sourcedId": "stu-11", "identifier": "S11",
           "username": "kai.patel", "agentSourcedIds": "gdn-9", **WHEN}  # fmt: skip
    sync.apply(_delta({"users.csv": [new]}, users="delta"))
    enrolled = {**tiny.row("enrollments.csv", "enr-1b"), "sourcedId": "enr-9b",
                "userSourcedId": "stu-9", **WHEN}  # fmt: skip
    sync.apply(_delta({"enrollments.csv": [enrolled]}, enrollments="delta"))
    return run


def test_approval_lists_each_archive_once(sync, family_withheld):
    """Every archive an approval does is listed once, with unique seqs."""
    sync.engine.decide_withheld(family_withheld.run_id, "approve", "they left")
    rows = sync.engine.db.rows(
        "SELECT table_name, record_id, seq FROM withheld_archives WHERE run_id = ?",
        [family_withheld.run_id],
    )
    assert len({(t, r) for t, r, _ in rows}) == len(rows)
    assert len({s for _, _, s in rows}) == len(rows)
    assert _status(sync, "enrollments", "enr-9b") == "archived"
    assert _link_status(sync, "stu-11", "gdn-9") == "archived"
    assert _failed_checks(sync) == []


def test_a_revert_of_the_approved_run_brings_back_what_the_approval_took(sync, family_withheld):
    """Reverting the run undoes its approval: the person and what the approval took with them."""
    sync.engine.decide_withheld(family_withheld.run_id, "approve", "they left")
    _applied_revert(sync, family_withheld.run_id)
    assert _status(sync, "users", "stu-9") == "active"
    assert _status(sync, "enrollments", "enr-9b") == "active"
    assert _link_status(sync, "stu-11", "gdn-9") == "active"
    assert _failed_checks(sync) == []


def test_the_cli_listing_names_each_cascaded_archive(sync, family_withheld):
    """`roster-sync withheld RUN` names an approval's added archives as the run's own."""
    from daemon.cli import render

    run = sync.engine.decide_withheld(family_withheld.run_id, "approve", "they left")
    page = sync.engine.withheld_page(family_withheld.run_id, limit=500)
    assert [w.record_id for w in page.items if not w.label] == []  # each named as the run's
    assert "enr-9b stu-9 in cls-a2" in render.withheld_listing(run, page)


# ------------------------------------------------------------ ordinary nights, new invariant


def test_homeroom_only_with_a_membership_row_in_error_applies(sync, tiny, tiny_applied):
    """homeroom_only leaves Science 5 out while one of its membership rows is in error."""
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    tiny.row("enrollments.csv", "enr-1b")["userSourcedId"] = ""
    run = sync.plan(tiny)
    assert run.status in ("planned", "held"), run.error
    applied = sync.engine.apply_run(run.run_id, override=True, reason="r")
    assert applied.status == "applied", applied.error
    assert _status(sync, "classrooms", "cls-a2") == "archived"
    assert _failed_checks(sync) == []


def test_approving_a_class_a_later_night_ended_holds(sync, tiny, tiny_applied):
    """Science 5 withheld, then ended by a later night; the approval after it."""
    sync.engine.settings_set("threshold_action", "withhold_archives")
    run = sync.apply(_without_science(tiny))
    sync.engine.settings_set("threshold_action", "hold_run")
    other = sync.apply(_without_science(tiny), override=True)
    assert other.status == "applied", other.error
    sync.engine.decide_withheld(run.run_id, "approve", "Science ended")
    assert _failed_checks(sync) == []
