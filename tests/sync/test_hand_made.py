"""Hand-made records and edits live with the sync; each conflict kind asks a person."""

from __future__ import annotations

import pytest

from daemon.directory.records import EditRefused
from daemon.sync.conflicts import ConflictError


@pytest.fixture
def synced(sync, tiny_applied):
    return sync


def test_hand_made_guardians_are_never_archived_by_the_sync(synced, tiny):
    gid = synced.engine.create_user("guardian", "Hand", "Made", email="hand@example.net")
    synced.engine.link_guardian(str(gid), "stu-1")
    run = synced.apply(tiny)
    assert run.total_changes() == 0
    assert synced.engine.db.one("SELECT status FROM users WHERE user_id = ?", [gid]) == "active"
    assert (
        synced.engine.db.one(
            "SELECT count(*) FROM guardian_links WHERE guardian_id = ? AND status = 'active'", [gid]
        )
        == 1
    )


def test_a_staff_member_made_by_hand_is_marked_as_made_by_hand(synced):
    uid = synced.engine.create_user("staff", "Hand", "Made", school="sch-a")
    made = synced.engine.db.dicts("SELECT * FROM users WHERE user_id = ?", [uid])[0]
    assert (made["kind"], made["role"], made["origin"], made["status"], made["sis_id"]) == (
        "staff",
        "teacher",
        "hand",
        "active",
        None,
    )


def test_hand_made_staff_are_never_archived_by_the_sync(synced, tiny):
    synced.engine.settings_set("deletion_threshold", "100")
    uid = synced.engine.create_user("staff", "Hand", "Made", school="sch-a")
    tiny.remove("users.csv", sourcedId="tch-2")  # the same drop does archive a synced teacher
    tiny.remove("enrollments.csv", userSourcedId="tch-2")
    run = synced.apply(tiny)
    assert run.changes["staff"]["archive"] == 1
    assert synced.user("tch-2")["status"] == "archived"
    assert synced.engine.db.one("SELECT status FROM users WHERE user_id = ?", [uid]) == "active"


def test_hand_made_classrooms_are_never_archived_by_the_sync(synced, tiny):
    synced.engine.settings_set("deletion_threshold", "100")
    cid = synced.engine.create_classroom("Chess club", "sch-a")
    synced.engine.add_classroom_member(str(cid), "stu-1", "student")
    tiny.remove("classes.csv", sourcedId="cls-a2")  # the same drop does archive a synced class
    tiny.remove("enrollments.csv", classSourcedId="cls-a2")
    run = synced.apply(tiny)
    assert run.changes["classrooms"]["archive"] == 1
    status = "SELECT status FROM classrooms WHERE {} = ?"
    assert synced.engine.db.one(status.format("sis_id"), ["cls-a2"]) == "archived"
    assert synced.engine.db.one(status.format("classroom_id"), [cid]) == "active"
    assert (
        synced.engine.db.one(
            "SELECT count(*) FROM enrollments WHERE classroom_id = ? AND status = 'active'", [cid]
        )
        == 1
    )


def test_a_guardian_whose_orgs_name_only_the_district_belongs_to_its_students_schools(synced, tiny):
    tiny.row("users.csv", "gdn-7")["orgSourcedIds"] = "dist-1"
    synced.apply(tiny)
    gid = synced.user("gdn-7")["user_id"]
    schools = synced.engine.db.rows(
        "SELECT s.name FROM user_schools JOIN schools s USING (school_id) WHERE user_id = ?", [gid]
    )
    assert schools == [("Birch School",)]


def test_a_hand_made_classroom_with_a_sis_id_is_adopted_by_the_sync(sync, tiny):
    sync.engine.create_school("Alder")
    sync.engine.add_school_sis_id("1", "sch-a")
    cid = sync.engine.create_classroom("Science (temp)", "sch-a")
    sync.engine.set_classroom_sis_id(str(cid), "cls-a2")
    run = sync.plan(tiny)
    assert run.changes["classrooms"] == {"create": 2, "update": 1, "archive": 0, "unarchive": 0}
    [adopted] = sync.changes(run, "classrooms", "update")
    assert ("origin", "hand", "sync") in {
        (f["field"], f["old"], f["new"]) for f in adopted["fields"]
    }


def test_a_synced_classroom_takes_no_sis_id_by_hand(synced, tiny):
    """A SIS id typed over the feed's made the next night archive the classroom and create it
    anew (its co-teachers and hand-kept name archived with it)."""
    cid = synced.engine.db.one("SELECT classroom_id FROM classrooms WHERE sis_id = 'cls-a2'")
    with pytest.raises(
        EditRefused, match=rf"classroom #{cid} \(.+\) is managed by the sync as cls-a2"
    ):
        synced.engine.set_classroom_sis_id("cls-a2", "cls-a2-typo")
    assert synced.plan(tiny).changes["classrooms"] == {
        "create": 0, "update": 0, "archive": 0, "unarchive": 0
    }  # fmt: skip


def test_a_renamed_synced_classroom_keeps_its_name_and_the_plan_says_so(synced, tiny):
    synced.engine.rename_classroom("cls-a2", "Science 5 (Ms Quinn)")
    tiny.row("classes.csv", "cls-a2")["title"] = "Science Five"
    run = synced.plan(tiny)
    assert run.changes["classrooms"]["update"] == 0
    assert any(
        "'Science 5 (Ms Quinn)' keeps its hand-made name; the feed calls it 'Science Five'"
        in n["message"]
        for n in run.notes
    )


def test_a_co_teacher_added_by_hand_stays_through_syncs(synced, tiny):
    synced.engine.add_classroom_member("cls-a1", "tch-2", "teacher")
    run = synced.apply(tiny)
    assert run.changes["enrollments"]["archive"] == 0
    assert (
        synced.engine.db.one(
            "SELECT count(*) FROM enrollments WHERE origin = 'hand' AND status = 'active'"
        )
        == 1
    )


def _origin_and_status(synced, table: str, where: str, *sis_ids: str) -> tuple[str, str]:
    ids = [synced.user(s)["user_id"] for s in sis_ids]
    [row] = synced.engine.db.rows(f"SELECT origin, status FROM {table} WHERE {where}", ids)
    return row


LINK_OF = "guardian_id = ? AND student_id = ?"


def test_a_link_made_by_hand_stays_hand_made_when_the_feed_lists_it_too(synced, tiny):
    """The feed's row for the pair changes nothing: the link is the person's, not the sync's."""
    synced.engine.link_guardian("gdn-2", "stu-1")
    tiny.row("users.csv", "stu-1")["agentSourcedIds"] = "gdn-1,gdn-2"
    run = synced.apply(tiny)
    assert run.changes["guardian_links"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    assert _origin_and_status(synced, "guardian_links", LINK_OF, "gdn-2", "stu-1") == (
        "hand",
        "active",
    )


def test_a_link_made_by_hand_is_not_archived_once_the_feed_stops_listing_it(synced, tiny):
    """It was 'taken over' while the feed listed it, and archived when the SIS stopped: the
    sync lost a link a person made."""
    synced.engine.link_guardian("gdn-2", "stu-1")
    listed = tiny.copy()
    listed.row("users.csv", "stu-1")["agentSourcedIds"] = "gdn-1,gdn-2"
    synced.apply(listed)
    run = synced.apply(tiny)
    assert run.changes["guardian_links"]["archive"] == 0
    assert _origin_and_status(synced, "guardian_links", LINK_OF, "gdn-2", "stu-1") == (
        "hand",
        "active",
    )


def test_a_co_teacher_made_by_hand_is_not_archived_once_the_feed_stops_listing_them(synced, tiny):
    synced.engine.add_classroom_member("cls-a1", "tch-2", "teacher")
    listed = tiny.copy()
    listed.rows("enrollments.csv").append(
        dict(tiny.row("enrollments.csv", "enr-t1"), sourcedId="enr-t9", userSourcedId="tch-2")
    )
    synced.apply(listed)
    run = synced.apply(tiny)
    assert run.changes["enrollments"]["archive"] == 0
    classroom = synced.engine.db.one("SELECT classroom_id FROM classrooms WHERE sis_id = 'cls-a1'")
    assert synced.engine.db.rows(
        "SELECT origin, status FROM enrollments WHERE classroom_id = ? AND user_id = ?",
        [classroom, synced.user("tch-2")["user_id"]],
    ) == [("hand", "active")]


def test_a_synced_student_may_join_a_hand_made_classroom(synced):
    cid = synced.engine.create_classroom("Chess club", "sch-a")
    synced.engine.add_classroom_member(str(cid), "stu-1", "student")
    with pytest.raises(EditRefused, match="through the SIS feed"):
        synced.engine.add_classroom_member("cls-b1", "stu-1", "student")


def test_a_school_with_two_sis_ids_takes_both_feed_schools(synced, tiny):
    synced.engine.add_school_sis_id("sch-a", "sch-a-annex")
    tiny.rows("orgs.csv").append(
        dict(tiny.row("orgs.csv", "sch-a"), sourcedId="sch-a-annex", name="Alder Annex")
    )
    tiny.row("users.csv", "stu-2")["orgSourcedIds"] = "sch-a-annex"
    run = synced.plan(tiny)
    assert run.changes["schools"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}


def test_a_contact_edited_by_hand_is_protected_and_marked(synced, tiny):
    synced.engine.edit_contact("gdn-3", {"mobile_phone": "555-0999"})
    assert synced.user("gdn-3")["contacts_edited"] is True
    run = synced.plan(tiny)
    [conflict] = synced.engine.conflicts(run.run_id).items
    assert (conflict.field, conflict.directory_value, conflict.feed_value) == (
        "mobile_phone",
        "555-0999",
        "555-0103",
    )
    assert "edited by hand" in conflict.message


def test_contacts_typed_for_a_hand_made_person_survive_the_sync_taking_them_over(synced, tiny):
    """A hand-made guardian kept over an archived synced one is reached by the sync through the
    merged record's SIS id: the contacts a person typed stay, each difference is a question,
    on that night and on the nights after."""
    gid = synced.engine.create_user(
        "guardian", "Parent2", "Okafor", email="home@example.net", mobile_phone="555-0999"
    )
    synced.engine.archive_user("gdn-2")
    synced.engine.duplicates_merge(str(gid), "gdn-2", keep=str(gid))
    for _night in range(2):
        run = synced.apply(tiny)
        assert synced.engine.db.rows(
            "SELECT origin, email, mobile_phone FROM users WHERE user_id = ?", [gid]
        ) == [("sync", "home@example.net", "555-0999")]
    conflicts = synced.engine.conflicts(run.run_id).items
    assert {(c.field, c.feed_value, c.directory_value) for c in conflicts} >= {
        ("email", "parent2@example.net", "home@example.net"),
        ("mobile_phone", "555-0102", "555-0999"),
    }


# ------------------------------------------------------------------------------- conflicts
def _protected_conflict(synced, tiny):
    synced.engine.set_account_active("gdn-2")
    tiny.row("users.csv", "gdn-2")["email"] = "sis@example.net"
    run = synced.plan(tiny)
    return run, synced.engine.conflicts(run.run_id).items[0]


def test_taking_the_feed_value_before_apply_writes_it_at_apply(synced, tiny):
    run, conflict = _protected_conflict(synced, tiny)
    synced.engine.resolve_conflicts([conflict.conflict_id], "take")
    synced.engine.apply_run(run.run_id)
    assert synced.user("gdn-2")["email"] == "sis@example.net"


def test_keeping_the_directory_value_is_not_asked_again(synced, tiny):
    run, conflict = _protected_conflict(synced, tiny)
    synced.engine.resolve_conflicts([conflict.conflict_id], "keep")
    synced.engine.apply_run(run.run_id)
    again = synced.plan(tiny)
    assert again.conflicts == 0 and again.total_changes() == 0
    assert synced.user("gdn-2")["email"] == "parent2@example.net"


def test_ignoring_leaves_the_directory_and_records_who_decided(synced, tiny):
    run, conflict = _protected_conflict(synced, tiny)
    synced.engine.resolve_conflicts([conflict.conflict_id], "ignore")
    decided = synced.engine.conflicts(run.run_id).items[0]
    assert (decided.decision, decided.decided_by) == ("ignore", "tester")


def test_taking_after_apply_changes_the_directory_at_once(synced, tiny):
    synced.engine.settings_set("archived_students", "keep_archived")
    synced.engine.archive_user("stu-4")
    run = synced.apply(tiny)
    conflict = synced.engine.conflicts(run.run_id).items[0]
    assert conflict.kind == "archived_student_in_feed"
    synced.engine.resolve_conflicts([conflict.conflict_id], "take")
    assert synced.user("stu-4")["status"] == "active"


def test_taking_a_student_back_brings_back_what_their_hand_archive_took(synced, tiny):
    """As `users unarchive` does: the student came back with no classes and no guardians, and
    the link made by hand never came back (no feed row names it)."""
    e = synced.engine
    e.settings_set("archived_students", "keep_archived")
    hand = e.create_user("guardian", "Aunt", "Moreau")
    e.link_guardian(str(hand), "stu-4")
    e.archive_user("stu-4")
    run = synced.apply(tiny)
    [conflict] = e.conflicts(run.run_id).items
    e.resolve_conflicts([conflict.conflict_id], "take")
    stu4 = synced.user("stu-4")["user_id"]
    assert e.db.rows(
        "SELECT DISTINCT status FROM guardian_links WHERE student_id = ? "
        "UNION SELECT DISTINCT status FROM enrollments WHERE user_id = ?",
        [stu4, stu4],
    ) == [("active",)]
    assert synced.plan(tiny).total_changes() == 0
    assert all(n == 0 for _, n in e.check())


def test_a_sis_id_claimed_by_two_records_is_a_blocking_conflict(synced, tiny):
    synced.engine.settings_set("student_id", "identifier")
    synced.engine.db.execute("UPDATE users SET identifier = 'S1' WHERE sis_id = 'stu-2'")
    tiny.row("users.csv", "stu-1")["grades"] = "06"
    run = synced.plan(tiny)
    claimed = [
        c for c in synced.engine.conflicts(run.run_id).items if c.kind == "sis_id_claimed_twice"
    ]
    assert claimed and claimed[0].blocking and claimed[0].feed_value == "S1"
    assert run.blocking_conflicts == 1
    with pytest.raises(ConflictError, match="no feed value to take"):
        synced.engine.resolve_conflicts([claimed[0].conflict_id], "take")


def _classroom_claimed_twice(synced):
    """A hand-made copy of Science 5 carrying its SIS id (the API refuses this; old data may not)."""
    cid = synced.engine.create_classroom("Science 5 (copy)", "sch-a")
    synced.engine.db.execute(
        "UPDATE classrooms SET sis_id = 'cls-a2' WHERE classroom_id = ?", [cid]
    )


def test_a_classroom_sis_id_claimed_by_two_classrooms_is_a_blocking_conflict(synced, tiny):
    _classroom_claimed_twice(synced)
    run = synced.plan(tiny)
    [claimed] = synced.engine.conflicts(run.run_id).items
    assert (claimed.kind, claimed.record_kind, claimed.sis_id, claimed.blocking) == (
        "sis_id_claimed_twice",
        "classrooms",
        "cls-a2",
        True,
    )
    assert (claimed.source_file, claimed.source_line) == ("classes.csv", 3)
    assert "claimed by more than one directory classroom" in claimed.message
    assert run.blocking_conflicts == 1


def test_a_classroom_whose_sis_id_is_claimed_twice_is_skipped_not_archived(synced, tiny):
    _classroom_claimed_twice(synced)
    run = synced.plan(tiny)
    assert run.changes["classrooms"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    assert run.changes["enrollments"]["archive"] == 0


def test_a_feed_link_to_a_student_outside_the_sync_is_a_conflict(synced, tiny):
    synced.engine.settings_set("archived_students", "keep_archived")
    synced.engine.archive_user("stu-6")
    tiny.rows("users.csv").append(
        dict(tiny.row("users.csv", "gdn-5"), sourcedId="gdn-60", agentSourcedIds="stu-6")
    )
    run = synced.plan(tiny)
    kinds = {c.kind for c in synced.engine.conflicts(run.run_id).items}
    assert "link_outside_sync" in kinds


def test_a_decided_conflict_of_an_applied_run_cannot_be_decided_again(synced, tiny):
    run, conflict = _protected_conflict(synced, tiny)
    synced.engine.apply_run(run.run_id)
    synced.engine.resolve_conflicts([conflict.conflict_id], "keep")
    with pytest.raises(ConflictError, match="already decided"):
        synced.engine.resolve_conflicts([conflict.conflict_id], "take")


def test_an_ignored_classroom_claimed_twice_is_not_asked_again(synced, tiny):
    _classroom_claimed_twice(synced)
    run = synced.plan(tiny)
    [claimed] = synced.engine.conflicts(run.run_id).items
    synced.engine.resolve_conflicts([claimed.conflict_id], "ignore")
    again = synced.plan(tiny)
    assert again.conflicts == 0 and again.blocking_conflicts == 0
