"""Taking a revert's question that brings back a person or a classroom brings back what the
archive it comes back from took with it (sync/revert_values.py `take_reverts`, `taken_back`),
once every record of the decision is written: a membership whose person and class come back
together, archived with either; what a hand archive took; two reverts' questions about one
person at once; a take's own archive, taken back by a later revert."""

from __future__ import annotations

from tests.sync.test_school_and_its_classes_later import _applied_revert, _status
from tests.sync.test_school_still_named import _failed_checks


def _questions(sync, run_id):
    return {
        (c.record_kind, c.sis_id or c.label, c.field): c
        for c in sync.engine.conflicts(run_id, limit=500).items
    }


def _without(tiny, student=None, klass=None):
    out = tiny.copy()
    if student:
        out.remove("users.csv", sourcedId=student)
        out.remove("enrollments.csv", userSourcedId=student)
    if klass:
        out.remove("classes.csv", sourcedId=klass)
        out.remove("enrollments.csv", classSourcedId=klass)
    return out


def _enrollment(sync, sis_id):
    return sync.engine.db.one(
        "SELECT status || ':' || coalesce(CAST(archived_run AS VARCHAR), 'hand') "
        "FROM enrollments WHERE sis_id = ?",
        [sis_id],
    )


# ---------------------------------------- a student and a class taken back, archived apart


def _student_and_class_archived_apart(sync, tiny, first="class"):
    """Run T ends stu-1 and Science 5 (enr-1b with them); a night brings all back; run N ends
    Science 5 (enr-1b archived by N), run N2 ends stu-1 too. Reverting T asks about both."""
    target = sync.apply(_without(tiny, student="stu-1", klass="cls-a2"), override=True)
    sync.apply(tiny, override=True)
    assert _status(sync, "enrollments", "enr-1b") == "active"
    if first == "class":
        sync.apply(_without(tiny, klass="cls-a2"), override=True)
    else:
        sync.apply(_without(tiny, student="stu-1"), override=True)
    sync.apply(_without(tiny, student="stu-1", klass="cls-a2"), override=True)
    assert _status(sync, "classrooms", "cls-a2") == "archived"
    return target


def test_taking_a_student_and_class_together_brings_back_their_membership(sync, tiny, tiny_applied):
    """Their membership, archived with the class, comes back once both are back."""
    target = _student_and_class_archived_apart(sync, tiny)
    revert = _applied_revert(sync, target.run_id)
    assert revert.status == "applied", revert.error
    asked = _questions(sync, revert.run_id)
    person = asked[("users", "stu-1", "status")]
    klass = asked[("classrooms", "cls-a2", "status")]
    sync.engine.resolve_conflicts([person.conflict_id, klass.conflict_id], "take")
    assert _status(sync, "users", "stu-1") == "active"
    assert _status(sync, "classrooms", "cls-a2") == "active"
    assert _status(sync, "enrollments", "enr-1a") == "active"  # stu-1's homeroom: back
    assert _enrollment(sync, "enr-1b").startswith("active"), _enrollment(sync, "enr-1b")
    assert _failed_checks(sync) == []


def test_a_membership_neither_owner_s_take_brought_back_is_still_asked(sync, tiny, tiny_applied):
    """The student's archive took enr-1b, and the class's (later) did not: taken one by one,
    the student's question cannot bring it back (its class is archived) nor the class's (its
    archive did not take it), so its own question stays to take once both are back."""
    target = _student_and_class_archived_apart(sync, tiny, first="student")
    revert = _applied_revert(sync, target.run_id)
    asked = _questions(sync, revert.run_id)
    sync.engine.resolve_conflicts([asked[("users", "stu-1", "status")].conflict_id], "take")
    sync.engine.resolve_conflicts([asked[("classrooms", "cls-a2", "status")].conflict_id], "take")
    assert _enrollment(sync, "enr-1b") == "archived:4"
    membership = asked[("enrollments", "enr-1b", "status")]
    sync.engine.resolve_conflicts([membership.conflict_id], "take")
    assert _enrollment(sync, "enr-1b").startswith("active")
    assert _failed_checks(sync) == []


def test_taking_both_on_a_planned_revert_brings_back_their_membership(sync, tiny, tiny_applied):
    """The same two decisions recorded before the revert is applied."""
    target = _student_and_class_archived_apart(sync, tiny)
    revert = sync.engine.revert_run(target.run_id)
    asked = _questions(sync, revert.run_id)
    ids = [asked[("users", "stu-1", "status")].conflict_id,
           asked[("classrooms", "cls-a2", "status")].conflict_id]  # fmt: skip
    sync.engine.resolve_conflicts(ids, "take")
    applied = sync.engine.apply_run(revert.run_id, override=True, reason="reviewed")
    assert applied.status == "applied", applied.error
    assert _status(sync, "users", "stu-1") == "active"
    assert _status(sync, "classrooms", "cls-a2") == "active"
    assert _enrollment(sync, "enr-1b").startswith("active"), _enrollment(sync, "enr-1b")


# ------------------------------------------------------- a person archived by hand since


def test_taking_a_hand_archived_person_back_brings_back_their_memberships(sync, tiny, tiny_applied):
    """Run T ended stu-1; a night brought them back; a person archived them by hand (their
    memberships with them): taking stu-1's question brings them back with their memberships."""
    target = sync.apply(_without(tiny, student="stu-1"), override=True)
    sync.apply(tiny, override=True)
    sync.engine.archive_user("stu-1")
    assert _enrollment(sync, "enr-1a") == "archived:hand"
    revert = _applied_revert(sync, target.run_id)
    assert revert.status == "applied", revert.error
    asked = _questions(sync, revert.run_id)
    person = asked[("users", "stu-1", "status")]
    sync.engine.resolve_conflicts([person.conflict_id], "take")
    assert _status(sync, "users", "stu-1") == "active"
    assert _enrollment(sync, "enr-1a").startswith("active"), _enrollment(sync, "enr-1a")
    assert _failed_checks(sync) == []


# ------------------------------------------------ two reverts' questions, taken in one call


def test_taking_two_reverts_questions_about_one_person_at_once(sync, tiny, tiny_applied):
    """Two applied reverts each ask to bring stu-1 back; both are taken in one decision."""
    t1 = sync.apply(_without(tiny, student="stu-1"), override=True)
    sync.apply(tiny, override=True)
    t2 = sync.apply(_without(tiny, student="stu-1"), override=True)
    sync.apply(tiny, override=True)
    sync.apply(_without(tiny, student="stu-1"), override=True)
    r1 = _applied_revert(sync, t1.run_id)
    r2 = _applied_revert(sync, t2.run_id)
    q1 = _questions(sync, r1.run_id)[("users", "stu-1", "status")]
    q2 = _questions(sync, r2.run_id)[("users", "stu-1", "status")]
    sync.engine.resolve_conflicts([q1.conflict_id, q2.conflict_id], "take")
    assert _status(sync, "users", "stu-1") == "active"
    assert _status(sync, "enrollments", "enr-1a") == "active"
    assert _failed_checks(sync) == []


# ---------------------------------------------- a take's archive, taken back by a later revert


def test_undoing_the_undo_of_a_take_brings_the_memberships_back(sync, tiny, tiny_applied):
    """A taken question that archives a person archives their memberships by the same run, so
    taking them back, a revert later, brings the memberships back with them."""
    target = sync.apply(_without(tiny, student="stu-1"), override=True)
    sync.apply(tiny, override=True)
    sync.apply(_without(tiny, student="stu-1"), override=True)
    revert = _applied_revert(sync, target.run_id)
    taken = _questions(sync, revert.run_id)[("users", "stu-1", "status")]
    sync.engine.resolve_conflicts([taken.conflict_id], "take")
    assert _status(sync, "enrollments", "enr-1a") == "active"
    undo = _applied_revert(sync, revert.run_id)
    again = _questions(sync, undo.run_id)[("users", "stu-1", "status")]
    sync.engine.resolve_conflicts([again.conflict_id], "take")  # archives stu-1 again
    assert _status(sync, "users", "stu-1") == "archived"
    redo = _applied_revert(sync, undo.run_id)
    back = _questions(sync, redo.run_id)[("users", "stu-1", "status")]
    sync.engine.resolve_conflicts([back.conflict_id], "take")  # brings stu-1 back
    assert _status(sync, "users", "stu-1") == "active"
    assert _enrollment(sync, "enr-1a").startswith("active"), _enrollment(sync, "enr-1a")
    assert _failed_checks(sync) == []
