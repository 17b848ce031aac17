"""Each sync setting in every position, against the same tiny district."""

from __future__ import annotations

import pytest

from daemon.directory.records import EditRefused
from daemon.settings import SettingError
from daemon.sync.runs import RunSuperseded


def test_settings_show_lists_every_setting_with_its_meaning(engine):
    rows = {r.key: r for r in engine.settings_show()}
    assert rows["student_id"].value == "sourcedId"
    assert rows["guardian_roles"].value == "parent,guardian"
    assert all(r.meaning and r.allowed for r in rows.values())


def test_a_bad_setting_value_is_refused_with_the_allowed_values(engine):
    with pytest.raises(SettingError, match="allowed: sourcedId, identifier"):
        engine.settings_set("student_id", "email")


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_threshold_that_is_no_number_is_refused_as_such(engine, value):
    """'nan' was refused as "should be less than or equal to 100"."""
    with pytest.raises(SettingError, match=r"\(Input should be a finite number\)"):
        engine.settings_set("deletion_threshold", value)


def test_an_extension_role_mapped_twice_is_refused(engine):
    """The later mapping won silently (terms are read without case)."""
    with pytest.raises(SettingError, match=r"maps ext:aide twice \(teacher, student\)"):
        engine.settings_set("ext_roles", "ext:aide=teacher,EXT:Aide=student")


def test_every_setting_change_is_audited(engine):
    engine.settings_set("auto_apply", "true")
    actor, details = engine.db.rows(
        "SELECT actor, details FROM audit_log WHERE action = 'settings.set'"
    )[0]
    assert actor == "tester" and '"old": false' in details and '"new": true' in details


def test_a_setting_change_supersedes_the_open_plans(sync, tiny, tiny_applied):
    """A plan's holds were decided under the settings it was made with."""
    sync.engine.settings_set("deletion_threshold", "100")
    tiny.rows("users.csv")[:] = tiny.rows("users.csv")[:3]  # a truncated export
    run = sync.plan(tiny)
    assert run.status == "planned"
    sync.engine.settings_set("deletion_threshold", "10")
    with pytest.raises(RunSuperseded, match="the sync settings changed after it was planned"):
        sync.engine.apply_run(run.run_id)


def test_a_setting_change_shows_the_open_plans_superseded_at_once(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-1")["givenName"] = "Renamed"
    run = sync.plan(tiny)
    sync.engine.settings_set("deletion_threshold", "50")
    assert sync.engine.get_run(run.run_id).status == "superseded"


def test_setting_a_value_it_already_has_keeps_the_open_plans(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-1")["givenName"] = "Renamed"
    run = sync.plan(tiny)
    sync.engine.settings_set("auto_apply", "false")
    assert sync.engine.apply_run(run.run_id).status == "applied"


@pytest.mark.parametrize(
    "key, value",
    [
        ("sync_start_time", "03:30"),
        ("daily_sync_enabled", "false"),
        ("sync_on_arrival", "true"),
        ("auto_apply", "true"),
        ("drop_retention_days", "60"),
        ("blackout_dates", "2031-07-01..2031-08-15"),
    ],
)
def test_a_setting_no_plan_depends_on_keeps_the_open_plans(sync, tiny, key, value, tiny_applied):
    """When the daemon syncs, or what it does with a new plan, shapes no plan already made: a
    run under review was superseded by setting the sync's start time."""
    tiny.row("users.csv", "stu-1")["givenName"] = "Renamed"
    run = sync.plan(tiny)
    sync.engine.settings_set(key, value)
    assert sync.engine.get_run(run.run_id).status == "planned"


# --------------------------------------------------------------------------- student_id
def _reissue_sourced_ids(tiny):
    for row in tiny.rows("users.csv"):
        if row["role"] == "student":
            old = row["sourcedId"]
            row["sourcedId"] = "new-" + old
            for e in tiny.rows("enrollments.csv"):
                if e["userSourcedId"] == old:
                    e["userSourcedId"] = row["sourcedId"]
            for g in tiny.rows("users.csv"):
                g["agentSourcedIds"] = (
                    g["agentSourcedIds"].replace(old, row["sourcedId"])
                    if g["role"] == "parent"
                    else g["agentSourcedIds"]
                )
            for d in tiny.rows("demographics.csv"):
                if d["sourcedId"] == old:
                    d["sourcedId"] = row["sourcedId"]


def test_student_id_sourced_id_treats_a_reissued_id_as_a_new_student(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "100")
    sync.apply(tiny)
    _reissue_sourced_ids(tiny)
    run = sync.plan(tiny)
    assert run.changes["students"]["create"] == 10 and run.changes["students"]["archive"] == 10


def test_student_id_identifier_rekeys_students_without_archiving_them(sync, tiny, tiny_applied):
    sync.engine.settings_set("student_id", "identifier")
    _reissue_sourced_ids(tiny)
    run = sync.plan(tiny)
    assert run.changes["students"] == {"create": 0, "update": 10, "archive": 0, "unarchive": 0}
    change = sync.changes(run, "students", "update")[0]
    assert [f["field"] for f in change["fields"]] == ["sis_id"]
    assert (
        run.changes["enrollments"]["create"] == 0 and run.changes["guardian_links"]["create"] == 0
    )


def test_student_id_identifier_refuses_students_without_a_number(sync, tiny):
    sync.engine.settings_set("student_id", "identifier")
    tiny.row("users.csv", "stu-4")["identifier"] = ""
    run = sync.plan(tiny)
    assert run.changes["students"]["create"] == 9
    assert any(i["rule"] == "student_key" and i["sourced_id"] == "stu-4" for i in sync.issues(run))


# --------------------------------------------------------------------------- archived_students
def test_archived_students_unarchive_brings_a_hand_archived_student_back(sync, tiny, tiny_applied):
    sync.engine.archive_user("stu-5")
    run = sync.plan(tiny)
    assert run.changes["students"]["unarchive"] == 1 and run.conflicts == 0


def test_archived_students_keep_archived_reports_a_conflict(sync, tiny, tiny_applied):
    sync.engine.archive_user("stu-5")
    sync.engine.settings_set("archived_students", "keep_archived")
    run = sync.plan(tiny)
    assert run.changes["students"]["unarchive"] == 0
    [conflict] = sync.engine.conflicts(run.run_id).items
    assert conflict.kind == "archived_student_in_feed" and "archived by hand" in conflict.message
    sync.engine.apply_run(run.run_id)
    assert sync.user("stu-5")["status"] == "archived"


# --------------------------------------------------------------------------- phone_credential_column
@pytest.mark.parametrize(
    "column, mobile, home", [("sms", "555-0101", "555-0201"), ("phone", "555-0201", "555-0101")]
)
def test_phone_credential_column_decides_which_number_is_the_mobile(
    sync, tiny, column, mobile, home
):
    sync.engine.settings_set("phone_credential_column", column)
    sync.apply(tiny)
    parent = sync.user("gdn-1")
    assert (parent["mobile_phone"], parent["home_phone"]) == (mobile, home)


# --------------------------------------------------------------------------- daily sync
def test_daily_sync_enabled_refuses_students_made_by_hand(engine):
    with pytest.raises(EditRefused, match="while the daily sync is enabled"):
        engine.create_user("student", "Hand", "Made")


def test_daily_sync_disabled_allows_students_made_by_hand(engine):
    engine.settings_set("daily_sync_enabled", "false")
    user_id = engine.create_user("student", "Hand", "Made")
    assert engine.db.one("SELECT origin FROM users WHERE user_id = ?", [user_id]) == "hand"


@pytest.mark.parametrize("value, stored", [("2:30", "02:30"), ("23:59", "23:59")])
def test_sync_start_time_accepts_a_time_of_day(engine, value, stored):
    engine.settings_set("sync_start_time", value)
    assert next(r.value for r in engine.settings_show() if r.key == "sync_start_time") == stored


@pytest.mark.parametrize("value", ["24:00", "noon", "7"])
def test_sync_start_time_refuses_anything_else(engine, value):
    with pytest.raises(SettingError, match="HH:MM"):
        engine.settings_set("sync_start_time", value)


@pytest.mark.parametrize("value", ["true", "false"])
def test_sync_on_arrival_is_stored(engine, value):
    engine.settings_set("sync_on_arrival", value)
    assert next(r.value for r in engine.settings_show() if r.key == "sync_on_arrival") == value


# --------------------------------------------------------------------------- guardians
def test_manage_guardians_on_syncs_guardians_and_links(sync, tiny):
    run = sync.plan(tiny)
    assert (
        run.changes["guardians"]["create"] == 10 and run.changes["guardian_links"]["create"] == 10
    )


def test_manage_guardians_off_creates_changes_and_archives_no_guardian(sync, tiny, tiny_applied):
    sync.engine.settings_set("manage_guardians", "false")
    tiny.row("users.csv", "gdn-3")["email"] = "changed@example.net"
    tiny.remove("users.csv", sourcedId="gdn-4")
    tiny.rows("users.csv").append(dict(tiny.row("users.csv", "gdn-5"), sourcedId="gdn-99"))
    run = sync.plan(tiny)
    assert run.changes["guardians"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    assert run.changes["guardian_links"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}


def _add_relative(tiny):
    tiny.rows("users.csv").append(
        dict(
            tiny.row("users.csv", "gdn-1"),
            sourcedId="rel-1",
            role="relative",
            givenName="Aunt",
            agentSourcedIds="stu-1",
        )
    )


def test_guardian_roles_default_leaves_relatives_out(sync, tiny):
    _add_relative(tiny)
    run = sync.plan(tiny)
    assert (
        run.changes["guardians"]["create"] == 10 and run.changes["guardian_links"]["create"] == 10
    )


def test_guardian_roles_with_relative_syncs_emergency_contacts(sync, tiny):
    sync.engine.settings_set("guardian_roles", "parent,guardian,relative")
    _add_relative(tiny)
    run = sync.plan(tiny)
    assert (
        run.changes["guardians"]["create"] == 11 and run.changes["guardian_links"]["create"] == 11
    )


def test_guardian_roles_narrowed_archives_the_relatives_saying_why(sync, tiny):
    """It said "no longer in the feed" of a person whose row is there."""
    sync.engine.settings_set("guardian_roles", "parent,guardian,relative")
    _add_relative(tiny)
    sync.apply(tiny)
    sync.engine.settings_set("guardian_roles", "parent,guardian")
    run = sync.plan(tiny)
    [change] = sync.changes(run, "guardians", "archive")
    assert (change["sis_id"], change["note"], change["source_line"]) == (
        "rel-1",
        "guardian_roles = parent,guardian leaves out its role relative",
        24,
    )


# --------------------------------------------------------------------------- classrooms
def _archive_class_then_return(sync, tiny):
    full = tiny.copy()
    sync.engine.settings_set("deletion_threshold", "100")
    sync.apply(tiny)
    tiny.remove("classes.csv", sourcedId="cls-a2")
    tiny.remove("enrollments.csv", classSourcedId="cls-a2")
    sync.apply(tiny)
    return sync.plan(full)


def test_unarchive_reappearing_classrooms_on_brings_the_classroom_back(sync, tiny):
    run = _archive_class_then_return(sync, tiny)
    assert run.changes["classrooms"]["unarchive"] == 1


def test_unarchive_reappearing_classrooms_off_keeps_it_archived_and_says_so(sync, tiny):
    sync.engine.settings_set("unarchive_reappearing_classrooms", "false")
    run = _archive_class_then_return(sync, tiny)
    assert run.changes["classrooms"]["unarchive"] == 0
    assert any("stay archived" in n["message"] for n in run.notes)


def test_classroom_filter_all_syncs_every_class(sync, tiny):
    assert sync.plan(tiny).changes["classrooms"]["create"] == 3


def test_classroom_filter_homeroom_only_skips_scheduled_classes_and_their_enrollments(sync, tiny):
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    run = sync.plan(tiny)
    assert run.changes["classrooms"]["create"] == 2
    assert run.changes["enrollments"]["create"] == 19 - 7
    assert run.rows.warning == 0
    assert any("homeroom_only" in n["message"] for n in run.notes)


# --------------------------------------------------------------------------- contacts
def test_update_active_users_contacts_off_turns_differences_into_conflicts(
    sync, tiny, tiny_applied
):
    sync.engine.set_account_active("gdn-2")
    tiny.row("users.csv", "gdn-2")["email"] = "sis@example.net"
    run = sync.plan(tiny)
    assert run.changes["guardians"]["update"] == 0
    [conflict] = sync.engine.conflicts(run.run_id).items
    assert (conflict.kind, conflict.field, conflict.feed_value, conflict.directory_value) == (
        "contact_protected",
        "email",
        "sis@example.net",
        "parent2@example.net",
    )


def test_update_active_users_contacts_on_overwrites_and_says_hand_edits_do_not_persist(
    sync, tiny, tiny_applied
):
    sync.engine.edit_contact("gdn-2", {"email": "fixed@example.net"})
    sync.engine.settings_set("update_active_users_contacts", "true")
    run = sync.plan(tiny)
    assert run.changes["guardians"]["update"] == 1 and run.conflicts == 0
    assert any("hand edits do not persist" in n["message"] for n in run.notes)


# --------------------------------------------------------------------------- language
def _with_language(tiny, value="es"):
    for row in tiny.rows("users.csv"):
        row["metadata.language"] = value if row["role"] == "parent" else ""


def test_update_language_on_follows_the_feed_and_refuses_hand_edits(sync, tiny):
    _with_language(tiny)
    sync.apply(tiny)
    assert sync.user("gdn-1")["language"] == "es"
    with pytest.raises(EditRefused, match="follows the SIS feed"):
        sync.engine.edit_contact("gdn-1", {"language": "fr"})


def test_update_language_off_never_touches_language(sync, tiny):
    sync.engine.settings_set("update_language", "false")
    _with_language(tiny)
    sync.apply(tiny)
    assert sync.user("gdn-1")["language"] is None
    sync.engine.edit_contact("gdn-1", {"language": "fr"})
    _with_language(tiny, "vi")
    assert sync.plan(tiny).total_changes() == 0


# --------------------------------------------------------------------------- schools
def test_school_matching_create_missing_creates_feed_schools(sync, tiny):
    assert sync.plan(tiny).changes["schools"]["create"] == 3


def test_school_matching_match_only_skips_rows_of_unmatched_schools_once_per_school(sync, tiny):
    sync.engine.settings_set("school_matching", "match_only")
    school = sync.engine.create_school("Alder (hand-made)")
    sync.engine.add_school_sis_id(str(school), "sch-a")
    run = sync.plan(tiny)
    assert run.changes["schools"]["create"] == 0
    assert run.changes["students"]["create"] == 6  # Birch's four are skipped
    conflicts = [c for c in sync.engine.conflicts(run.run_id).items if c.kind == "unmatched_school"]
    assert [c.sis_id for c in conflicts] == ["sch-b"]


# --------------------------------------------------------------------------- auto_apply
def test_auto_apply_off_leaves_runs_for_review(sync, tiny):
    assert sync.plan(tiny).status == "planned"


def test_auto_apply_on_applies_runs_with_nothing_held(sync, tiny):
    sync.engine.settings_set("auto_apply", "true")
    run = sync.plan(tiny)
    assert run.status == "applied" and run.decided_by == "auto_apply"


def test_auto_apply_never_applies_a_held_run(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "5")
    sync.apply(tiny)
    sync.engine.settings_set("auto_apply", "true")
    tiny.remove("users.csv", sourcedId="stu-1")
    assert sync.plan(tiny).status == "held"


def test_auto_apply_never_applies_a_run_with_a_blocking_conflict(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "100")  # nothing is held
    sync.apply(tiny)
    sync.engine.settings_set("student_id", "identifier")
    sync.engine.settings_set("auto_apply", "true")
    # two directory students answer to the feed's identifier S1: a blocking conflict
    sync.engine.db.execute("UPDATE users SET identifier = 'S1' WHERE sis_id = 'stu-2'")
    tiny.row("users.csv", "stu-3")["grades"] = "06"
    run = sync.plan(tiny)
    assert run.blocking_conflicts == 1 and run.changes["students"]["update"] == 1
    assert (run.status, run.decided_by) == ("planned", None)
    assert sync.user("stu-3")["grades"] == "05"


def test_a_plan_records_the_settings_that_shaped_it(sync, tiny):
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    run = sync.plan(tiny)
    assert run.settings["classroom_filter"] == "homeroom_only"
    from daemon.cli.render import run_summary

    assert "classroom_filter = homeroom_only" in run_summary(run)
