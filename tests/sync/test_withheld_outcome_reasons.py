"""An archive an approval does says why, when that is not what the night withheld it for: a
guardian link withheld with its student goes, once the student is kept, because its guardian
is archived. The run's record of the decision (CLI, TUI, audit) must not give a reason that
no longer holds."""

from __future__ import annotations


def _outcomes(sync, run_id: int) -> dict[str, tuple[str | None, str | None, str | None]]:
    return {
        w.sis_id or w.label: (w.note, w.outcome, w.outcome_note)
        for w in sync.engine.withheld_page(run_id).items
    }


def _family_left(sync, tiny) -> int:
    """stu-7 and their parent gdn-7 leave in the summer; their archives (and the link between
    them, with the student) are withheld."""
    sync.engine.settings_set("archive_mode", "additions_only")
    tiny.remove("users.csv", sourcedId="stu-7")
    tiny.remove("users.csv", sourcedId="gdn-7")
    tiny.remove("enrollments.csv", userSourcedId="stu-7")
    tiny.remove("demographics.csv", sourcedId="stu-7")
    run = sync.apply(tiny)
    assert run.withheld["students"] == 1 and run.withheld["guardians"] == 1
    sync.engine.settings_set("archive_mode", "normal")
    return run.run_id


def test_a_link_withheld_with_its_kept_student_says_it_went_with_its_guardian(
    sync, tiny, tiny_applied
):
    run_id = _family_left(sync, tiny)
    link = "gdn-7 for stu-7"
    assert _outcomes(sync, run_id)[link] == ("its student is archived", None, None)
    sync.engine.edit_contact("stu-7", {"email": "stu7@example.org"})  # kept: edited by hand
    sync.engine.decide_withheld(run_id, "approve", "they left in June")
    outcomes = _outcomes(sync, run_id)
    assert outcomes["stu-7"][1:] == ("kept", "edited by hand since")
    assert outcomes[link] == ("its student is archived", "archived", "its guardian is archived")


def test_an_archive_for_the_reason_it_was_withheld_adds_no_second_reason(sync, tiny, tiny_applied):
    run_id = _family_left(sync, tiny)
    sync.engine.decide_withheld(run_id, "approve", "they left in June")
    assert _outcomes(sync, run_id)["gdn-7 for stu-7"] == (
        "its student is archived",
        "archived",
        None,
    )


def test_a_membership_whose_person_and_class_both_go_keeps_the_nights_reason(
    sync, tiny, tiny_applied
):
    sync.engine.settings_set("archive_mode", "additions_only")
    tiny.remove("users.csv", sourcedId="stu-1")
    tiny.remove("demographics.csv", sourcedId="stu-1")
    tiny.remove("classes.csv", sourcedId="cls-a2")
    tiny.remove("enrollments.csv", userSourcedId="stu-1")
    tiny.remove("enrollments.csv", classSourcedId="cls-a2")
    run = sync.apply(tiny)
    sync.engine.settings_set("archive_mode", "normal")
    sync.engine.decide_withheld(run.run_id, "approve", "end of term")
    after = _outcomes(sync, run.run_id)
    for label, (note, outcome, outcome_note) in after.items():
        if outcome == "archived":
            assert outcome_note is None, (label, note, outcome_note)
