"""A merge moves everything attached to the merged record to the survivor; undo puts it back."""

from __future__ import annotations

import pytest

from daemon.duplicates.errors import DuplicateError
from tests.duplicates.conftest import add_student_like, snapshot, user_id


@pytest.fixture
def hand_made(sync, tiny):
    """Before the first sync: a hand-made Cleo Nguyen with a guardian, a club and an attribute.
    Then the sync brings the real Cleo (stu-3)."""
    e = sync.engine
    e.settings_set("daily_sync_enabled", "false")
    e.create_school("Alder")
    e.add_school_sis_id("1", "sch-a")
    hand = e.create_user("student", "Cleo", "Nguyen", school="sch-a")
    aunt = e.create_user("guardian", "Mai", "Tran", mobile_phone="555-0999")
    e.link_guardian(str(aunt), str(hand), "relative")
    club = e.create_classroom("Chess club", "sch-a")
    e.add_classroom_member(str(club), str(hand), "student")
    e.db.execute(
        """INSERT INTO student_attributes (attribute_id, student_id, name, value, status, origin,
                                          created_at, updated_at)
           VALUES (1, ?, 'allergy', 'peanuts', 'active', 'hand', current_timestamp, current_timestamp)""",
        [hand],
    )
    sync.apply(tiny)
    return {"hand": hand, "aunt": aunt, "club": club, "synced": user_id(e, "stu-3")}


def test_the_sync_managed_record_survives_a_merge_with_a_hand_made_record(sync, hand_made):
    sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    row = sync.engine.db.dicts("SELECT * FROM users WHERE user_id = ?", [hand_made["hand"]])[0]
    assert (row["status"], row["merged_into"]) == ("merged", hand_made["synced"])
    assert (
        sync.engine.db.one("SELECT status FROM users WHERE user_id = ?", [hand_made["synced"]])
        == "active"
    )


def test_a_merge_moves_guardian_links_to_the_survivor(sync, hand_made):
    sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    guardians = sync.engine.db.rows(
        "SELECT guardian_id FROM guardian_links WHERE student_id = ? AND status = 'active' ORDER BY 1",
        [hand_made["synced"]],
    )
    assert (hand_made["aunt"],) in guardians
    assert (user_id(sync.engine, "gdn-3"),) in guardians


def test_a_merge_moves_hand_made_classroom_memberships(sync, hand_made):
    sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    assert sync.engine.db.rows(
        "SELECT user_id, status FROM enrollments WHERE classroom_id = ?", [hand_made["club"]]
    ) == [(hand_made["synced"], "active")]


def test_a_merge_moves_student_attributes(sync, hand_made):
    sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    assert sync.engine.db.rows(
        "SELECT student_id, value FROM student_attributes WHERE name = 'allergy'"
    ) == [(hand_made["synced"], "peanuts")]


def test_a_merge_keeps_the_history_of_both_records_on_the_survivor(sync, hand_made):
    from daemon.duplicates.history import person_history

    sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    history = person_history(sync.engine.db, hand_made["synced"])
    actions = {(h["record_id"], h["what"]) for h in history}
    assert (hand_made["hand"], "user.create") in actions  # the hand-made record's past
    assert (hand_made["synced"], "create") in actions  # the synced record's past
    assert (hand_made["synced"], "duplicates.merge") in actions
    assert (hand_made["hand"], "duplicates.merged_into") in actions


def test_a_membership_both_records_hold_stays_once_on_the_survivor(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    tiny.rows("enrollments.csv").append(
        {
            **tiny.rows("enrollments.csv")[-1],
            "sourcedId": "enr-3new",
            "classSourcedId": "cls-a1",
            "userSourcedId": "stu-3-new",
            "schoolSourcedId": "sch-a",
        }
    )
    sync.apply(tiny)
    survivor = user_id(sync.engine, "stu-3")
    sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3")
    counts = sync.engine.db.rows(
        """SELECT e.user_id, e.status, count(*) FROM enrollments e JOIN classrooms c USING (classroom_id)
           WHERE c.sis_id = 'cls-a1' AND user_id IN (?, ?) GROUP BY ALL ORDER BY ALL""",
        [survivor, user_id(sync.engine, "stu-3-new")],
    )
    assert counts == [(survivor, "active", 1), (user_id(sync.engine, "stu-3-new"), "archived", 1)]


def test_after_a_merge_two_new_rows_naming_one_membership_sync_one(sync, tiny):
    """After the merge, both students' rows enrol them in a new class: through the survivor
    they name one membership, which the smallest sourcedId takes; the other row is reported."""
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3")
    tiny.rows("classes.csv").append({**tiny.row("classes.csv", "cls-a1"), "sourcedId": "cls-new"})
    for sourced_id, student in (("enr-new-b", "stu-3-new"), ("enr-new-a", "stu-3")):
        tiny.rows("enrollments.csv").append(
            {
                **tiny.row("enrollments.csv", "enr-3a"),
                "sourcedId": sourced_id,
                "classSourcedId": "cls-new",
                "userSourcedId": student,
            }
        )
    run = sync.plan(tiny)
    created = sync.engine.db.rows(
        f"SELECT sis_id FROM run_{run.run_id}.plan_enrollments "
        "WHERE op = 'create' AND sis_id LIKE 'enr-new-%'"
    )
    assert created == [("enr-new-a",)]
    repeated = next(i for i in sync.issues(run) if i["sourced_id"] == "enr-new-b")
    assert "enr-new-a" in repeated["message"]


def test_undo_restores_the_exact_previous_state(sync, hand_made):
    before = snapshot(sync.engine.db)
    merge_id = sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    assert snapshot(sync.engine.db) != before
    sync.engine.duplicates_undo(merge_id)
    assert snapshot(sync.engine.db) == before


def test_undo_last_undoes_the_actors_most_recent_merge(sync, hand_made):
    before = snapshot(sync.engine.db)
    merge_id = sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    undone = sync.engine.duplicates_undo_last()
    assert undone is not None and undone.merge_id == merge_id and undone.exact
    assert snapshot(sync.engine.db) == before
    assert sync.engine.duplicates_undo_last() is None


def test_a_merge_and_its_undo_are_audited_with_the_actor(sync, hand_made):
    merge_id = sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    sync.engine.duplicates_undo(merge_id)
    actions = sync.engine.db.rows(
        "SELECT actor, action FROM audit_log WHERE action LIKE 'duplicates.%' ORDER BY audit_id"
    )
    assert ("tester", "duplicates.merge") in actions
    assert ("tester", "duplicates.undo") in actions


def test_a_merge_bumps_the_directory_version_and_supersedes_open_plans(sync, hand_made, tiny):
    version = sync.engine.db.directory_version()
    planned = sync.plan(tiny)
    sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3")
    assert sync.engine.db.directory_version() == version + 1
    assert sync.engine.get_run(planned.run_id).status == "superseded"


def test_the_candidate_of_a_merged_pair_is_marked_merged_and_reopens_on_undo(sync, hand_made):
    e = sync.engine
    e.link_guardian("gdn-3", str(hand_made["hand"]))  # the same family on both records
    e.archive_user(str(hand_made["hand"]))
    e.duplicates_scan()
    [candidate] = e.duplicates_list(kind="student").items
    merge_id = e.duplicates_merge(candidate_id=candidate.candidate_id)
    assert e.duplicates_list(status="merged").items[0].merge_id == merge_id
    e.duplicates_undo(merge_id)
    assert [c.candidate_id for c in e.duplicates_list().items] == [candidate.candidate_id]


def test_a_merge_of_two_synced_records_without_a_chosen_survivor_is_refused(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    with pytest.raises(DuplicateError, match="both records are sync-managed: choose the survivor"):
        sync.engine.duplicates_merge("stu-3", "stu-3-new")


def test_keeping_the_hand_made_record_over_the_synced_one_is_refused(sync, hand_made):
    with pytest.raises(DuplicateError, match="is the sync-managed record and must survive"):
        sync.engine.duplicates_merge(str(hand_made["hand"]), "stu-3", keep=str(hand_made["hand"]))


def test_merging_a_student_with_a_guardian_is_refused(sync, tiny):
    sync.apply(tiny)
    with pytest.raises(DuplicateError, match=r"is a student and .* a guardian"):
        sync.engine.duplicates_merge("stu-1", "gdn-1", keep="stu-1")


def test_a_merged_students_old_sis_id_in_a_later_feed_resolves_to_the_survivor(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    survivor = user_id(sync.engine, "stu-3")
    sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3")
    tiny.remove("users.csv", sourcedId="stu-3")  # the SIS now sends only the merged record's id
    tiny.remove("demographics.csv", sourcedId="stu-3")
    run = sync.apply(tiny)
    assert run.changes["students"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    rows = sync.engine.db.rows(
        "SELECT user_id, status FROM users WHERE sis_id IN ('stu-3', 'stu-3-new') ORDER BY 1"
    )
    assert rows == [(survivor, "active"), (user_id(sync.engine, "stu-3-new"), "merged")]


def test_enrollments_under_a_merged_students_old_sis_id_stay_on_the_survivor(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    survivor = user_id(sync.engine, "stu-3")
    sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3")
    tiny.remove("users.csv", sourcedId="stu-3")
    tiny.remove("demographics.csv", sourcedId="stu-3")
    for row in tiny.rows("enrollments.csv"):
        if row["userSourcedId"] == "stu-3":
            row["userSourcedId"] = "stu-3-new"
    run = sync.plan(tiny)
    assert run.changes["enrollments"]["archive"] == 0
    assert run.changes["students"]["create"] == 0
    sync.engine.apply_run(run.run_id)
    assert (
        sync.engine.db.one(
            "SELECT count(*) FROM enrollments WHERE user_id = ? AND status = 'active'", [survivor]
        )
        == 2
    )


def test_a_feed_naming_both_old_and_new_ids_creates_no_student(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3")
    run = sync.apply(tiny)
    assert run.changes["students"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    assert run.blocking_conflicts == 0
    assert open_student_count(sync.engine) == 0


def test_a_feed_naming_both_old_and_new_ids_duplicates_no_enrollment(sync, tiny):
    from tests.district import _enrollment

    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3")
    tiny.rows("enrollments.csv").append(_enrollment("enr-3c", "cls-b1", "stu-3", school="sch-b"))
    sync.apply(tiny)
    assert (
        sync.engine.db.one("SELECT count(*) - count(DISTINCT enrollment_id) FROM enrollments") == 0
    )


def test_the_tombstones_synced_enrollments_are_archived_when_the_sis_drops_them(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new", identifier="S3b")
    tiny.rows("enrollments.csv").append(
        {
            **tiny.rows("enrollments.csv")[-1],
            "sourcedId": "enr-3new",
            "classSourcedId": "cls-b1",
            "userSourcedId": "stu-3-new",
            "schoolSourcedId": "sch-b",
        }
    )
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3")
    tiny.remove("users.csv", sourcedId="stu-3-new")
    tiny.remove("demographics.csv", sourcedId="stu-3-new")
    tiny.remove("enrollments.csv", sourcedId="enr-3new")
    run = sync.apply(tiny)
    assert run.changes["enrollments"]["archive"] == 1
    assert run.changes["students"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}


def test_undo_is_refused_while_the_survivor_is_merged_into_another_record(sync, tiny):
    add_student_like(tiny, "stu-3", "stu-3-new")
    add_student_like(tiny, "stu-3", "stu-3-third")
    sync.apply(tiny)
    first = sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3-new")
    second = sync.engine.duplicates_merge("stu-3-new", "stu-3-third", keep="stu-3-third")
    third = user_id(sync.engine, "stu-3-third")
    assert sync.engine.db.rows(
        "SELECT merged_into FROM users WHERE sis_id IN ('stu-3', 'stu-3-new')"
    ) == [(third,), (third,)]  # the older tombstone follows to the final survivor
    with pytest.raises(DuplicateError, match=f"undo merge {second} first"):
        sync.engine.duplicates_undo(first)


def open_student_count(engine) -> int:
    return engine.duplicates_list(kind="student").total


def test_a_merge_of_a_guardian_entered_twice_moves_their_children(sync, tiny):
    from tests.district import _user

    tiny.rows("users.csv").append(
        _user(
            "gdn-1b", "parent", "Parent1", "Lopez", "sch-a", sms="555-0101", agentSourcedIds="stu-2"
        )
    )
    sync.apply(tiny)
    before = snapshot(sync.engine.db)
    merge_id = sync.engine.duplicates_merge("gdn-1", "gdn-1b", keep="gdn-1")
    children = sync.engine.db.rows(
        """SELECT s.sis_id FROM guardian_links l JOIN users s ON s.user_id = l.student_id
           WHERE l.guardian_id = ? AND l.status = 'active' ORDER BY 1""",
        [user_id(sync.engine, "gdn-1")],
    )
    assert children == [("stu-1",), ("stu-2",)]
    sync.engine.duplicates_undo(merge_id)
    assert snapshot(sync.engine.db) == before


def test_after_a_merge_the_row_holding_a_membership_keeps_it_on_either_path(
    sync, tiny, monkeypatch
):
    """Both records of a student were in one class; after the merge both rows still come, and
    name one membership through the survivor. The row that holds it keeps it, whether or not it
    takes the unchanged-row shortcut (found by an adversarial test: the full path gave it to the
    smallest sourcedId, flipping the membership's SIS id, while the shortcut kept it)."""
    from daemon.sync.unchanged import FULL_PATH_ENV

    add_student_like(tiny, "stu-3", "stu-3-new")
    holder = next(r for r in tiny.rows("enrollments.csv") if r["userSourcedId"] == "stu-3")
    tiny.rows("enrollments.csv").append(
        {**holder, "sourcedId": "enr-0dup", "userSourcedId": "stu-3-new"}
    )
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-3", "stu-3-new", keep="stu-3")

    def plan(full_path: bool) -> tuple:
        if full_path:
            monkeypatch.setenv(FULL_PATH_ENV, "1")
        run = sync.plan(tiny)
        monkeypatch.delenv(FULL_PATH_ENV, raising=False)
        said = (
            run.changes["enrollments"],
            [(i["line"], i["sourced_id"], i["message"]) for i in sync.issues(run, "WARNING")],
        )
        sync.engine.reject_run(run.run_id)
        return said

    full, shortcut = plan(True), plan(False)
    assert shortcut == full
    assert full[0]["update"] == 0
    [(_, sourced_id, message)] = [i for i in full[1] if i[1] in ("enr-0dup", holder["sourcedId"])]
    assert sourced_id == "enr-0dup" and holder["sourcedId"] in message
