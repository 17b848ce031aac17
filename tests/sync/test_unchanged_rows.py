"""Nightly runs skip resolving enrollments that did not change, without missing what did."""

from __future__ import annotations


def test_enrollments_remember_the_feed_row_they_were_synced_from(sync, tiny_applied):
    missing = sync.engine.db.one(
        "SELECT count(*) FROM enrollments WHERE source_hash IS NULL OR synced_hash IS NULL"
    )
    assert missing == 0


def test_an_enrollment_changed_outside_the_sync_is_compared_again(sync, tiny, tiny_applied):
    sync.engine.db.execute("UPDATE enrollments SET role = 'aide' WHERE sis_id = 'enr-2a'")
    run = sync.plan(tiny)
    [change] = sync.changes(run, "enrollments", "update")
    assert change["sis_id"] == "enr-2a"
    assert change["fields"] == [{"field": "role", "old": "aide", "new": "student"}]


def test_enrollments_without_a_remembered_row_are_refreshed_silently(sync, tiny, tiny_applied):
    sync.engine.db.execute("UPDATE enrollments SET source_hash = NULL, synced_hash = NULL")
    run = sync.plan(tiny)
    assert run.total_changes() == 0
    sync.engine.apply_run(run.run_id, scan_duplicates=False)
    assert sync.engine.db.one("SELECT count(*) FROM enrollments WHERE source_hash IS NULL") == 0


def test_a_setting_that_shapes_enrollments_sends_every_row_through_the_full_path(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "100")
    sync.apply(tiny)
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    run = sync.plan(tiny)
    assert run.changes["classrooms"]["archive"] == 1
    assert run.changes["enrollments"]["archive"] == 7  # Science 5: a teacher and six students


def test_users_remember_the_feed_row_they_were_synced_from(sync, tiny_applied):
    missing = sync.engine.db.one(
        "SELECT count(*) FROM users WHERE source_hash IS NULL OR synced_hash IS NULL"
    )
    assert missing == 0


def test_the_same_drop_again_leaves_every_user_as_it_is(sync, tiny, tiny_applied):
    run = sync.plan(tiny)
    assert run.total_changes() == 0
    refreshed = sync.engine.db.one(f"SELECT count(*) FROM run_{run.run_id}.plan_users")
    assert refreshed == 0  # not even a remembered hash to rewrite


def test_a_user_changed_outside_the_sync_is_compared_again(sync, tiny, tiny_applied):
    sync.engine.db.execute("UPDATE users SET given_name = 'Jo' WHERE sis_id = 'stu-1'")
    run = sync.plan(tiny)
    [change] = sync.changes(run, "students", "update")
    assert change["sis_id"] == "stu-1"
    assert [f["field"] for f in change["fields"]] == ["given_name"]


def test_a_hand_edited_contact_is_still_protected_on_an_unchanged_row(sync, tiny, tiny_applied):
    sync.engine.edit_contact("stu-1", {"email": "kept@example.org"})
    run = sync.plan(tiny)
    assert run.total_changes() == 0
    [conflict] = sync.engine.db.dicts(
        "SELECT * FROM conflicts WHERE run_id = ? AND kind = 'contact_protected'", [run.run_id]
    )
    assert conflict["directory_value"] == "kept@example.org"


def test_users_without_a_remembered_row_are_refreshed_silently(sync, tiny, tiny_applied):
    sync.engine.db.execute("UPDATE users SET source_hash = NULL, synced_hash = NULL")
    run = sync.plan(tiny)
    assert run.total_changes() == 0
    sync.engine.apply_run(run.run_id, scan_duplicates=False)
    assert sync.engine.db.one("SELECT count(*) FROM users WHERE source_hash IS NULL") == 0


def test_a_setting_that_shapes_users_sends_every_person_through_the_full_path(
    sync, tiny, tiny_applied
):
    sync.engine.settings_set("manage_guardians", "false")
    run = sync.plan(tiny)
    # Guardians are left alone (never archived), and everyone else is compared again.
    assert run.total_changes() == 0
    rows = sync.engine.db.one(f"SELECT count(*) FROM run_{run.run_id}.plan_users")
    assert rows == sync.engine.db.one("SELECT count(*) FROM users WHERE kind <> 'guardian'")


def test_a_contact_kept_for_an_active_account_is_applied_once_the_account_is_not(
    sync, tiny, tiny_applied
):
    # The record keeps its own e-mail while the account is active (found by an adversarial
    # test: the record remembered the row as its source, so after deactivation the unchanged
    # row took the shortcut and the feed's e-mail was never applied).
    sync.engine.set_account_active("gdn-1", True)
    tiny.row("users.csv", "gdn-1")["email"] = "new-parent1@example.net"
    sync.apply(tiny)
    assert sync.user("gdn-1")["email"] == "parent1@example.net"
    sync.engine.set_account_active("gdn-1", False)
    run = sync.plan(tiny)
    [change] = sync.changes(run, "guardians", "update")
    assert change["sis_id"] == "gdn-1"
    assert change["fields"] == [
        {"field": "email", "old": "parent1@example.net", "new": "new-parent1@example.net"}
    ]
