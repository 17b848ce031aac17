"""A hand reference '#N' (a person put at school N by hand, or a classroom's school shown as '#N'
when it has no SIS id) names school N. A revert that would restore one after a school came to
answer to '#N' as its SIS id renames it to school N's own SIS id, or asks, as plan and apply
do (directory/orgs.py), never moving the person to the school now answering to '#N'."""

from __future__ import annotations

import pytest

from daemon.sync.runs import RunError
from tests.sync.test_revert import _robotics_adopted


def _schools_of(db, user_id: int) -> list[str]:
    return [
        name
        for (name,) in db.rows(
            """SELECT s.name FROM user_schools us JOIN schools s USING (school_id)
               WHERE us.user_id = ? ORDER BY 1""",
            [user_id],
        )
    ]


def _hand_made_guardian_adopted(sync, tiny):
    """Sam, a guardian made by hand at Annex (school 4, no SIS id: orgs '#4'), kept over gdn-7
    (archived: the feed left them out) in a merge; the feed lists gdn-7 again, and that run
    (returned) adopts Sam through gdn-7's id and puts them at sch-b."""
    e = sync.engine
    gdn7 = tiny.row("users.csv", "gdn-7")
    tiny.remove("users.csv", sourcedId="gdn-7")
    sync.apply(tiny, override=True)
    annex = e.create_school("Annex")
    sam = e.create_user("guardian", "Sam", "Hand", school=f"#{annex}")
    e.duplicates_merge(f"#{sam}", "gdn-7", keep=f"#{sam}")
    tiny.rows("users.csv").append(gdn7)
    adopted = sync.apply(tiny)
    assert e.db.one("SELECT org_sis_ids FROM users WHERE user_id = ?", [sam]) == "sch-b"
    return annex, sam, adopted


def _cedar_answers_to(tiny, sis_id: str) -> None:
    tiny.rows("orgs.csv").append(
        {**tiny.row("orgs.csv", "sch-b"), "sourcedId": sis_id, "name": "Cedar"}
    )


def test_a_revert_that_would_move_a_person_to_a_school_now_answering_to_their_reference_is_refused(
    sync, tiny, tiny_applied
):
    annex, sam, adopted = _hand_made_guardian_adopted(sync, tiny)
    _cedar_answers_to(tiny, f"#{annex}")
    assert sync.apply(tiny).status == "applied"
    with pytest.raises(
        RunError,
        match=rf"run {adopted.run_id} cannot be reverted: it would put user {sam} back at '#4', "
        r"which named school 4 \(Annex\) and is the SIS id of school 5 \(Cedar\) now; give "
        r"school 4 a SIS id first \(roster-sync schools add-sis-id 4 SIS_ID\), then revert again$",
    ):
        sync.engine.revert_run(adopted.run_id)
    assert sync.engine.db.one("SELECT count(*) FROM runs WHERE reverted_run IS NOT NULL") == 0


def test_a_revert_names_the_school_of_a_taken_reference_by_its_own_sis_id(sync, tiny, tiny_applied):
    annex, sam, adopted = _hand_made_guardian_adopted(sync, tiny)
    _cedar_answers_to(tiny, f"#{annex}")
    sync.apply(tiny)
    sync.engine.add_school_sis_id(str(annex), "annex-1")  # "#4" is Cedar's SIS id too
    revert = sync.engine.revert_run(adopted.run_id)
    assert any("is restored as 'annex-1'" in n["message"] for n in revert.notes)
    sync.apply_planned(revert)
    db = sync.engine.db
    assert db.one("SELECT org_sis_ids FROM users WHERE user_id = ?", [sam]) == "annex-1"
    assert _schools_of(db, sam) == ["Annex"]


def test_a_classroom_goes_back_to_its_school_without_sis_id_when_another_answered_to_its_id_then(
    sync, tiny, tiny_applied
):
    """Cedar answered to '#4' before the run moved Robotics out of Annex (school 4, no SIS id):
    the change's '#4' named Annex, and the revert put Robotics in Cedar."""
    e = sync.engine
    annex = e.create_school("Annex")
    robotics = e.create_classroom("Robotics", f"#{annex}")
    _cedar_answers_to(tiny, f"#{annex}")
    sync.apply(tiny)
    e.set_classroom_sis_id(f"#{robotics}", "cls-robo")
    tiny.rows("classes.csv").append(
        {**tiny.row("classes.csv", "cls-a1"), "sourcedId": "cls-robo", "title": "Robotics"}
    )
    adopted = sync.apply(tiny)
    sync.apply_planned(e.revert_run(adopted.run_id))
    assert e.db.one("SELECT school_id FROM classrooms WHERE classroom_id = ?", [robotics]) == annex


def test_reverting_a_revert_moves_a_classroom_whose_school_got_a_sis_id_since(
    sync, tiny, tiny_applied
):
    """The revert put Robotics back in Annex, shown '#4'; Annex got a SIS id since, so Robotics'
    school read 'annex-1', not '#4': the revert of the revert took it for a change since."""
    e = sync.engine
    annex, robotics, adopted = _robotics_adopted(sync, tiny)
    first = sync.apply_planned(e.revert_run(adopted.run_id))
    e.add_school_sis_id(f"#{annex}", "annex-1")
    again = e.revert_run(first.run_id)
    assert again.conflicts == 0
    sync.apply_planned(again)
    school = e.db.one("SELECT school_id FROM classrooms WHERE classroom_id = ?", [robotics])
    assert school == e.db.one("SELECT school_id FROM schools WHERE sis_id = 'sch-a'")
