"""Classes re-keyed by the SIS: an LMS keeps a teacher's course by the class's sourcedId, so a
class archived and created again under a new id is a new, empty course there. The run says so
before it is applied, and holds when most of the classes it would archive come back so."""

from __future__ import annotations

import pytest

from daemon.sync.runs import RunError

MORE = ("Art 5", "Music 5", "Spanish 5", "Drama 5")


def _more_classes(tiny) -> None:
    """Four more scheduled classes at Alder School, each with its teacher (seven in all)."""
    template = tiny.row("classes.csv", "cls-a2")
    enrolment = tiny.row("enrollments.csv", "enr-t2")
    for n, title in enumerate(MORE, start=3):
        cid = f"cls-a{n}"
        tiny.rows("classes.csv").append(
            {**template, "sourcedId": cid, "title": title, "classCode": cid.upper()}
        )
        tiny.rows("enrollments.csv").append(
            {**enrolment, "sourcedId": f"enr-t{n}x", "classSourcedId": cid}
        )


def _rekey(tiny, *class_ids: str) -> None:
    """The SIS gives these classes new sourcedIds (their codes, titles and terms as they were)."""
    for old in class_ids:
        new = old.replace("cls-", "c27-")
        tiny.row("classes.csv", old)["sourcedId"] = new
        for r in tiny.rows("enrollments.csv"):
            if r["classSourcedId"] == old:
                r["classSourcedId"] = new


def _one_archived_one_created(run) -> bool:
    return run.changes["classrooms"]["archive"] == 1 and run.changes["classrooms"]["create"] == 1


def _class_notes(run) -> list[str]:
    return [n["message"] for n in run.notes if n["kind"] == "classes"]


def test_a_class_re_keyed_is_named_in_the_runs_notes(sync, tiny, tiny_applied):
    _rekey(tiny, "cls-a2")
    run = sync.plan(tiny)
    assert not any("re-keyed" in r for r in run.hold_reasons)
    assert _class_notes(run) == [
        "1 class this run archives comes back under a new id in the same school with the same "
        "title and terms (cls-a2 -> c27-a2): if the SIS re-keyed it, an LMS takes it for a new, "
        "empty course; ask the SIS to keep its ids before applying"
    ]


def test_most_classes_re_keyed_hold_the_run_with_its_own_reason(sync, tiny):
    _more_classes(tiny)
    sync.apply(tiny)
    _rekey(tiny, "cls-a2", "cls-a3", "cls-a4", "cls-a5", "cls-a6")
    run = sync.plan(tiny)
    assert run.status == "held"
    [reason] = [r for r in run.hold_reasons if "re-keyed" in r]
    assert reason.startswith(
        "the SIS appears to have re-keyed 5 classes: 5 of the 5 classes this run would archive"
    )
    assert "(cls-a2 -> c27-a2, cls-a3 -> c27-a3, cls-a4 -> c27-a4 and 2 more)" in reason
    assert not _class_notes(run)
    assert sync.engine.db.one("SELECT count(*) FROM classrooms WHERE sis_id LIKE 'c27-%'") == 0


def test_a_held_re_key_applies_with_an_override_and_its_reason(sync, tiny):
    _more_classes(tiny)
    sync.apply(tiny)
    _rekey(tiny, "cls-a2", "cls-a3", "cls-a4", "cls-a5", "cls-a6")
    run = sync.plan(tiny)
    with pytest.raises(RunError, match="needs a reason"):
        sync.engine.apply_run(run.run_id, override=True)
    run = sync.engine.apply_run(run.run_id, True, "new SIS: class ids changed on purpose", False)
    assert run.status == "applied"
    db = sync.engine.db
    assert db.one("SELECT status FROM classrooms WHERE sis_id = 'c27-a2'") == "active"
    assert db.one("SELECT status FROM classrooms WHERE sis_id = 'cls-a2'") == "archived"


def test_a_new_years_classes_in_new_terms_are_no_re_key(sync, tiny, tiny_applied):
    _rekey(tiny, "cls-a2")
    tiny.row("classes.csv", "c27-a2")["termSourcedIds"] = "term-2"
    run = sync.plan(tiny)
    assert _one_archived_one_created(run) and not _class_notes(run)


def test_a_class_under_another_class_code_is_another_class(sync, tiny, tiny_applied):
    _rekey(tiny, "cls-a2")
    tiny.row("classes.csv", "c27-a2")["classCode"] = "SCI-5-2"
    run = sync.plan(tiny)
    assert _one_archived_one_created(run) and not _class_notes(run)


def test_two_sections_ending_and_one_beginning_pair_once(sync, tiny):
    """Two archived sections of one title, one of them without a class code, and one new class
    with the other's code: one pair, the section of the same code."""
    _more_classes(tiny)
    tiny.row("classes.csv", "cls-a3")["title"] = "Science 5"
    tiny.row("classes.csv", "cls-a3")["classCode"] = ""
    sync.apply(tiny)
    _rekey(tiny, "cls-a2")
    tiny.rows("classes.csv").remove(tiny.row("classes.csv", "cls-a3"))
    tiny.rows("enrollments.csv")[:] = [
        r for r in tiny.rows("enrollments.csv") if r["classSourcedId"] != "cls-a3"
    ]
    run = sync.plan(tiny)
    [note] = _class_notes(run)
    assert note.startswith("1 class this run archives comes back under a new id")
    assert "(cls-a2 -> c27-a2)" in note


def _sections(tiny, title: str, ids: list[str], code: str = "") -> None:
    """Sections of one title at Alder School, each with its teacher."""
    template = tiny.row("classes.csv", "cls-a2")
    enrolment = tiny.row("enrollments.csv", "enr-t2")
    for cid in ids:
        tiny.rows("classes.csv").append(
            {**template, "sourcedId": cid, "title": title, "classCode": code}
        )
        tiny.rows("enrollments.csv").append(
            {**enrolment, "sourcedId": f"enr-{cid}", "classSourcedId": cid}
        )


def _drop_classes(tiny, ids) -> None:
    for cid in ids:
        tiny.remove("classes.csv", sourcedId=cid)
        tiny.remove("enrollments.csv", classSourcedId=cid)


def test_six_sections_merged_into_one_are_not_six_classes_re_keyed(sync, tiny):
    old = [f"sh-{n}" for n in range(1, 7)]
    _sections(tiny, "Study Hall", old)
    sync.apply(tiny)
    _drop_classes(tiny, old)
    _sections(tiny, "Study Hall", ["sh-new"])
    run = sync.plan(tiny)
    assert not any("re-keyed" in r for r in run.hold_reasons)
    [note] = _class_notes(run)
    assert note.startswith("1 class this run archives comes back") and "(sh-1 -> sh-new)" in note


def test_terms_listed_in_another_order_are_the_same_terms(sync, tiny):
    for r in tiny.rows("classes.csv"):
        r["termSourcedIds"] = "term-1,term-2"
    sync.apply(tiny)
    _rekey(tiny, "cls-a2")
    tiny.row("classes.csv", "c27-a2")["termSourcedIds"] = "term-2, term-1"
    run = sync.plan(tiny)
    assert len(_class_notes(run)) == 1


def test_a_re_key_in_a_changes_only_classes_file_is_named(sync, tiny, tiny_applied):
    tiny.manifest["file.classes"] = "delta"
    tiny.manifest["file.enrollments"] = "delta"
    old = dict(tiny.row("classes.csv", "cls-a2"))
    when = "2026-12-01T06:00:00.000Z"
    new = {**old, "sourcedId": "c27-a2", "status": "active", "dateLastModified": when}
    gone = {**old, "status": "tobedeleted", "dateLastModified": when}
    tiny.files["classes.csv"] = [gone, new]
    tiny.files["enrollments.csv"] = []
    run = sync.plan(tiny)
    assert len(_class_notes(run)) == 1


def test_the_night_after_a_reverted_re_key_says_it_re_keys_again(sync, tiny):
    _more_classes(tiny)
    sync.apply(tiny)
    _rekey(tiny, "cls-a2", "cls-a3", "cls-a4", "cls-a5", "cls-a6")
    applied = sync.apply(tiny, override=True)
    assert applied.status == "applied"
    planned = sync.engine.revert_run(applied.run_id)
    revert = sync.engine.apply_run(planned.run_id, True, "the re-key was a mistake", False)
    assert revert.status == "applied"
    db = sync.engine.db
    assert db.one("SELECT status FROM classrooms WHERE sis_id = 'cls-a2'") == "active"
    # the SIS sends the new ids again the next night
    run = sync.plan(tiny)
    assert any(r.startswith("the SIS appears to have re-keyed 5 classes") for r in run.hold_reasons)


def test_a_class_code_in_another_case_is_the_same_class_code(sync, tiny, tiny_applied):
    _rekey(tiny, "cls-a2")
    tiny.row("classes.csv", "c27-a2")["classCode"] = "cls-a2"
    run = sync.plan(tiny)
    assert len(_class_notes(run)) == 1
