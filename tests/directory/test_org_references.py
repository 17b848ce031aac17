"""A user's orgs name schools by SIS id, or by '#<school id>' for a school a person chose by
hand. A SIS may send an org whose sourcedId starts with '#': its SIS id reading always wins."""

from __future__ import annotations

import json

import pytest

from daemon.directory.errors import EditRefused
from daemon.directory.orgs import direct_schools, schools_in_orgs
from daemon.sync.runs import RunError


def _schools_of(db, where: str, *params) -> list[str]:
    return [
        name
        for (name,) in db.rows(
            f"""SELECT s.name FROM user_schools us JOIN schools s USING (school_id)
                JOIN users u USING (user_id) WHERE {where} ORDER BY 1""",
            list(params),
        )
    ]


def test_a_sis_org_named_like_a_school_id_is_that_sis_school_only(sync, tiny):
    tiny.rename_org("sch-b", "#2")
    sync.apply(tiny)
    db = sync.engine.db
    assert db.one("SELECT name FROM schools WHERE school_id = 2") == "Alder School"
    assert _schools_of(db, "u.sis_id = ?", "stu-7") == ["Birch School"]


def test_a_person_made_by_hand_is_at_the_school_chosen_when_its_id_is_another_sis_id(sync, tiny):
    tiny.rename_org("sch-b", "#2")
    sync.apply(tiny)
    db = sync.engine.db
    staff = sync.engine.create_user("staff", "Sam", "Hand", school="sch-a")
    assert _schools_of(db, "u.user_id = ?", staff) == ["Alder School"]


def test_a_school_whose_hand_reference_is_another_schools_sis_id_cannot_be_chosen_by_hand(
    sync, tiny
):
    tiny.rename_org("sch-b", "#4")
    sync.apply(tiny)
    hand_made = sync.engine.create_school("Cedar Annex")
    assert hand_made == 4
    with pytest.raises(EditRefused, match="'#4' is the SIS id of school 3; give school 4 a SIS id"):
        sync.engine.create_user("staff", "Sam", "Hand", school="4")


def test_the_view_reads_orgs_by_the_rule_the_code_spells(sync, tiny):
    """user_direct_schools (a migration's SQL) and directory/orgs.py agree, entry by entry."""
    tiny.rename_org("sch-b", "#2")
    sync.apply(tiny)
    db = sync.engine.db
    for sis_id, orgs in [
        ("stu-1", "#2"),
        ("stu-2", "#3"),
        ("stu-3", "#2,#3,sch-a"),
        ("stu-4", "#abc"),
        ("stu-5", "#99999999999999999999"),
        ("stu-6", "# 2"),
    ]:
        db.execute("UPDATE users SET org_sis_ids = ? WHERE sis_id = ?", [orgs, sis_id])
    orgs = "(SELECT user_id, trim(unnest(string_split(org_sis_ids, ','))) AS org FROM users)"
    in_code = db.rows(f"SELECT * FROM ({direct_schools(orgs)}) ORDER BY ALL")
    assert db.rows("SELECT * FROM user_direct_schools ORDER BY ALL") == in_code
    assert [s for u, s in in_code if u == sync.user("stu-3")["user_id"]] == [2, 3]


def test_the_schools_a_person_is_in_read_the_orgs_as_the_view_does_the_district_included(
    sync, tiny
):
    """schools_in_orgs, which the rules keeping a school while someone is in it share, reads
    each entry as user_direct_schools does, and names the district too (something still in it)."""
    tiny.rename_org("sch-b", "#2")
    sync.apply(tiny)
    db = sync.engine.db
    district = db.one("SELECT sis_id FROM schools WHERE org_type = 'district'")
    for sis_id, orgs in [("stu-1", "#2"), ("stu-2", f"#3,sch-a, #3,{district}"), ("stu-3", "#abc")]:
        db.execute("UPDATE users SET org_sis_ids = ? WHERE sis_id = ?", [orgs, sis_id])
    people = "SELECT user_id AS who, org_sis_ids FROM users"
    in_orgs = db.rows(f"SELECT * FROM ({schools_in_orgs(people)}) ORDER BY ALL")
    direct = db.rows("SELECT * FROM user_direct_schools ORDER BY ALL")
    district_id = db.one("SELECT school_id FROM schools WHERE org_type = 'district'")
    assert [r for r in in_orgs if r[1] != district_id] == direct
    assert [s for u, s in in_orgs if u == sync.user("stu-2")["user_id"]] == sorted(
        [2, 3, district_id]
    )


# A hand reference keeps naming the school a person chose when a school comes to answer to it.


def _hand_made_at_annex(sync, tiny):
    """The tiny district, a hand-made school Annex (school 4, no SIS id) and a staff member
    put there by hand: their orgs say '#4'."""
    sync.apply(tiny)
    annex = sync.engine.create_school("Annex")
    staff = sync.engine.create_user("staff", "Sam", "Hand", school=f"#{annex}")
    assert sync.engine.db.one("SELECT org_sis_ids FROM users WHERE user_id = ?", [staff]) == "#4"
    return annex, staff


def _org_hash_4(tiny):
    tiny.rows("orgs.csv").append(
        {**tiny.row("orgs.csv", "sch-b"), "sourcedId": "#4", "name": "Cedar"}
    )


def test_a_new_school_answering_to_a_hand_reference_to_a_school_without_sis_id_is_refused(
    sync, tiny
):
    _, staff = _hand_made_at_annex(sync, tiny)
    _org_hash_4(tiny)
    run = sync.plan(tiny)
    assert any("Cedar" in n["message"] and "cannot be applied" in n["message"] for n in run.notes)
    with pytest.raises(RunError, match=r"'#4', which is how 1 person \(user \d+\) chosen by hand"):
        sync.engine.apply_run(run.run_id)
    assert _schools_of(sync.engine.db, "u.user_id = ?", staff) == ["Annex"]
    assert sync.engine.db.one("SELECT count(*) FROM schools WHERE name = 'Cedar'") == 0


def test_a_new_school_answering_to_a_hand_reference_has_the_people_named_by_their_schools_sis_id(
    sync, tiny
):
    annex, staff = _hand_made_at_annex(sync, tiny)
    sync.engine.add_school_sis_id(f"#{annex}", "annex-1")
    _org_hash_4(tiny)
    run = sync.apply(tiny)
    assert run.status == "applied", run.error
    db = sync.engine.db
    assert db.one("SELECT org_sis_ids FROM users WHERE user_id = ?", [staff]) == "annex-1"
    assert _schools_of(db, "u.user_id = ?", staff) == ["Annex"]
    details = db.one("SELECT details FROM audit_log WHERE action = 'user.orgs.rename'")
    assert json.loads(details) == {
        "from": "#4",
        "to": "annex-1",
        "users": [staff],
        "run": run.run_id,
    }
    assert all(n == 0 for _, n in sync.engine.check())


def test_a_sis_id_added_by_hand_cannot_take_a_hand_reference_to_another_school(sync, tiny):
    _, staff = _hand_made_at_annex(sync, tiny)
    with pytest.raises(EditRefused, match="school 2 would answer to SIS id '#4', which is how"):
        sync.engine.add_school_sis_id("sch-a", "#4")
    assert _schools_of(sync.engine.db, "u.user_id = ?", staff) == ["Annex"]
