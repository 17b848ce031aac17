"""A user's orgs name schools by SIS id, or by '#<school id>' for a school a person chose by
hand. A SIS may send an org whose sourcedId starts with '#': its SIS id reading always wins."""

from __future__ import annotations

import pytest

from daemon.directory.errors import EditRefused
from daemon.directory.orgs import direct_schools


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
        sync.engine.create_user("staff", "Sam", "Hand", school="#4")


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
