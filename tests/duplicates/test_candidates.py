"""Each kind of duplicate is proposed; twins, siblings and pairs of archived records are not."""

from __future__ import annotations

import json

from tests.duplicates.conftest import add_student_like, open_pairs, pair, user_id


def test_a_typo_in_the_family_name_is_proposed(sync, tiny):
    add_student_like(
        tiny,
        "stu-4",
        "stu-40",
        familyName="Pattel",
        identifier="S40",
        email="dev.p@students.example.org",
    )
    sync.apply(tiny)
    assert pair(sync.engine, "stu-4", "stu-40") in open_pairs(sync.engine, "student")


def test_a_nickname_is_proposed(sync, tiny):
    tiny.row("users.csv", "stu-2")["givenName"] = "Benjamin"
    add_student_like(tiny, "stu-2", "stu-20", givenName="Ben", identifier="S20", email="")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert candidate.evidence_detail["given_name"] == "nickname"
    assert pair(sync.engine, "stu-2", "stu-20") == {candidate.left.user_id, candidate.right.user_id}


def test_swapped_given_and_family_names_are_proposed(sync, tiny):
    add_student_like(
        tiny,
        "stu-10",
        "stu-100",
        givenName="Wu",
        familyName="Jia",
        identifier="S100",
        email="",
        agentSourcedIds="",
    )
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert candidate.evidence_detail["given_name"] == "swapped"
    assert candidate.evidence_detail["family_name"] == "swapped"


def test_a_hyphenated_surname_is_proposed(sync, tiny):
    add_student_like(tiny, "stu-1", "stu-11", familyName="Lopez-Garcia", identifier="S11", email="")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert candidate.evidence_detail["family_name"] == "partial"
    assert pair(sync.engine, "stu-1", "stu-11") == {candidate.left.user_id, candidate.right.user_id}


def test_a_re_issued_sis_id_is_proposed(sync, tiny):
    """The SIS issued the child a new sourcedId; the student number stayed."""
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert candidate.evidence_detail["student_number"] == "exact"
    assert candidate.score > 0.99


def test_a_birth_date_with_day_and_month_swapped_is_proposed(sync, tiny):
    # stu-5 was born 2015-07-15: no swap possible past the 12th, so pick stu-2 (2015-03-12).
    add_student_like(tiny, "stu-2", "stu-22", birthDate="2015-12-03", identifier="S22", email="")
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="student").items
    assert candidate.evidence_detail["birth_date"] == "day_month_swapped"
    assert candidate.evidence["birth_date"] == "partial"


def test_a_hand_made_archived_record_of_a_synced_student_is_proposed(sync, tiny):
    e = sync.engine
    e.settings_set("daily_sync_enabled", "false")
    e.create_school("Alder (hand-made)")
    e.add_school_sis_id("1", "sch-a")
    hand = e.create_user("student", "Cleo", "Nguyen", school="sch-a")
    guardian = e.create_user("guardian", "Parent3", "Nguyen", mobile_phone="555-0103")
    e.link_guardian(str(guardian), str(hand))
    sync.apply(tiny)
    e.archive_user(str(hand))
    e.duplicates_scan()
    [candidate] = e.duplicates_list(kind="student").items
    assert {candidate.left.user_id, candidate.right.user_id} == {hand, user_id(e, "stu-3")}
    assert candidate.evidence["guardians"] == "agree"  # the same phone, two guardian records
    assert candidate.survivor_id == user_id(e, "stu-3")


def test_guardians_entered_twice_are_proposed(sync, tiny):
    from tests.district import _user

    tiny.rows("users.csv").append(
        _user(
            "gdn-1b",
            "parent",
            "Parent1",
            "Lopez",
            "sch-a",
            sms="(555) 01-01",
            agentSourcedIds="stu-1",
        )
    )
    sync.apply(tiny)
    [candidate] = sync.engine.duplicates_list(kind="guardian").items
    assert pair(sync.engine, "gdn-1", "gdn-1b") == {candidate.left.user_id, candidate.right.user_id}
    assert candidate.evidence["phone"] == "agree"
    assert candidate.evidence["students"] == "agree"


def test_twins_are_not_proposed(sync, tiny):
    """Same family name, birth date, school, grade and guardians; different given names."""
    add_student_like(
        tiny, "stu-1", "stu-12", givenName="Mia", identifier="S12", email="mia@students.example.org"
    )
    tiny.row("users.csv", "gdn-1")["agentSourcedIds"] = "stu-1,stu-12"
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_twins_are_not_proposed_even_when_one_has_no_student_number_or_email(sync, tiny):
    add_student_like(tiny, "stu-1", "stu-12", givenName="Noa", identifier="", email="")
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_siblings_are_not_proposed(sync, tiny):
    add_student_like(
        tiny,
        "stu-1",
        "stu-13",
        givenName="Leo",
        identifier="S13",
        email="",
        grades="07",
        birthDate="2013-06-02",
    )
    sync.apply(tiny)
    assert open_pairs(sync.engine, "student") == set()


def test_a_pair_of_two_archived_records_is_not_proposed(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    sync.engine.archive_user("stu-3")
    sync.engine.archive_user("stu-3-new")
    sync.engine.duplicates_scan()
    assert open_pairs(sync.engine) == set()


def test_each_candidate_stores_its_score_points_and_evidence(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    row = sync.engine.db.dicts("SELECT * FROM duplicate_candidates")[0]
    assert 0 < row["score"] <= 1
    assert row["points"] == sum(row["field_points"].values())
    assert row["evidence"]["given_name"] == "exact"
    assert row["left_id"] < row["right_id"]
    json.dumps(sync.engine.duplicates_list().items[0].model_dump(mode="json"))


def test_a_rescan_keeps_the_candidate_id_of_a_pair_found_again(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    first = sync.engine.duplicates_list().items[0].candidate_id
    result = sync.engine.duplicates_scan()
    assert result.new == 0
    assert sync.engine.duplicates_list().items[0].candidate_id == first


def test_scanning_changes_no_directory_version(sync, tiny):
    sync.apply(tiny)
    version = sync.engine.db.directory_version()
    sync.engine.duplicates_scan()
    assert sync.engine.db.directory_version() == version


def test_sample_day1_proposes_the_known_pairs_and_not_the_twins_or_siblings(sync, sample):
    expected = json.loads((sample / "expected.json").read_text())["duplicates"]
    sync.apply(sample / "day1")
    found = open_pairs(sync.engine, "student")
    wanted = {pair(sync.engine, a, b) for a, b, _kind in expected["pairs"]}
    assert found == wanted
    for a, b, _kind in expected["not_duplicates"]:
        assert pair(sync.engine, a, b) not in found
