"""A person archived by hand and left out of a delta users.csv stays archived, and so does what
their archive took with them: a whole enrollments.csv or a student's agentSourcedIds naming
them does not bring a membership or a link back under an archived person (that broke the
directory's invariants, so apply refused the run every night). Found by
tests/properties/test_sync_properties.py (archive_person, then delta_users)."""

from __future__ import annotations


def _delta_users_without(tiny, left_out: str) -> None:
    """users.csv as changes only: everyone who names `left_out` as an agent, not them."""
    tiny.manifest["file.users"] = "delta"
    users = [
        u
        for u in tiny.rows("users.csv")
        if left_out in u["agentSourcedIds"].split(",") or u["sourcedId"] == "tch-1"
    ]
    for row in users:
        row.update(status="active", dateLastModified="2026-12-01T06:00:00.000Z")
    tiny.files["users.csv"] = users


def test_memberships_of_a_person_archived_by_hand_stay_archived(sync, tiny, tiny_applied):
    sync.engine.archive_user("stu-1")
    _delta_users_without(tiny, "stu-1")
    sync.apply(tiny)

    active = sync.engine.db.one(
        """SELECT count(*) FROM enrollments e JOIN users u USING (user_id)
           WHERE u.sis_id = 'stu-1' AND e.status = 'active'"""
    )
    assert active == 0


def test_the_rows_naming_them_say_the_person_is_archived(sync, tiny, tiny_applied):
    sync.engine.archive_user("stu-1")
    _delta_users_without(tiny, "stu-1")
    run = sync.plan(tiny)

    assert sync.said(run, "WARNING", "enrollments.csv", "not_synced") == {
        "user 'stu-1' is archived, and no users.csv row of this drop brings them back, so this "
        "enrollment was not synced"
    }


def test_links_of_a_guardian_archived_by_hand_stay_archived(sync, tiny, tiny_applied):
    guardian = sync.engine.db.one(
        """SELECT g.sis_id FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
           WHERE l.status = 'active' ORDER BY l.link_id LIMIT 1"""
    )
    sync.engine.archive_user(guardian)
    _delta_users_without(tiny, guardian)
    sync.apply(tiny)

    active = sync.engine.db.one(
        """SELECT count(*) FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
           WHERE g.sis_id = ? AND l.status = 'active'""",
        [guardian],
    )
    assert active == 0
