"""Sync runs: every status, the deletion threshold, idempotence, delta feeds, export round trip."""

from __future__ import annotations

import json

import pytest

from daemon.sync.runs import RunError


def test_a_new_run_is_planned_and_changes_nothing(sync, tiny):
    run = sync.plan(tiny)
    assert run.status == "planned"
    assert run.changes["students"]["create"] == 10
    assert sync.engine.db.one("SELECT count(*) FROM users") == 0
    assert sync.engine.db.directory_version() == 0


def test_applying_writes_every_planned_change_and_records_the_run(sync, tiny):
    run = sync.apply(tiny)
    assert run.status == "applied" and run.decided_by == "tester"
    db = sync.engine.db
    assert db.one("SELECT count(*) FROM users WHERE kind = 'student' AND status = 'active'") == 10
    assert db.one("SELECT count(*) FROM enrollments") == 19
    assert db.one("SELECT count(*) FROM guardian_links") == 10
    assert db.one("SELECT count(DISTINCT last_run) FROM users") == 1
    assert (
        db.one("SELECT count(*) FROM users WHERE source_file = 'users.csv' AND source_line > 1")
        == 22
    )


def test_every_change_keeps_the_file_and_line_it_came_from(sync, tiny):
    run = sync.plan(tiny)
    created = sync.changes(run, "students", "create")
    ava = next(c for c in created if c["sis_id"] == "stu-1")
    assert (ava["source_file"], ava["source_line"], ava["label"]) == ("users.csv", 2, "Ava Lopez")


def test_an_update_shows_each_changed_field_before_and_after(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-3")["familyName"] = "Nguyen-Tran"
    tiny.row("users.csv", "stu-3")["grades"] = "06"
    run = sync.plan(tiny)
    [change] = sync.changes(run, "students", "update")
    assert {(f["field"], f["old"], f["new"]) for f in change["fields"]} == {
        ("family_name", "Nguyen", "Nguyen-Tran"),
        ("grades", "05", "06"),
    }


def test_the_same_drop_twice_plans_zero_changes(sync, tiny, tiny_applied):
    run = sync.plan(tiny)
    assert run.total_changes() == 0 and run.status == "planned"


def test_a_rejected_run_changes_nothing(sync, tiny):
    run = sync.plan(tiny)
    rejected = sync.engine.reject_run(run.run_id, reason="wrong term")
    assert rejected.status == "rejected"
    assert sync.engine.db.one("SELECT count(*) FROM users") == 0
    with pytest.raises(RunError, match="is rejected; only planned or held"):
        sync.engine.apply_run(run.run_id)


def test_a_drop_that_cannot_load_is_failed(sync, tmp_path):
    (tmp_path / "empty").mkdir()
    run = sync.plan(tmp_path / "empty")
    assert run.status == "failed" and "holds no CSV files" in run.error


def test_a_plan_made_before_another_apply_is_superseded(sync, tiny):
    first = sync.plan(tiny)
    second = sync.plan(tiny)
    sync.engine.apply_run(second.run_id)
    assert sync.engine.get_run(first.run_id).status == "superseded"
    with pytest.raises(RunError, match="superseded"):
        sync.engine.apply_run(first.run_id)


def test_a_run_superseded_by_a_later_drop_applied_is_not_planned_again(sync, tiny, tiny_applied):
    """Its drop is an older night: planned again, it would archive stu-12, whom the later drop
    brought, and take back what that drop changed. Applying it says so (it said to replan it)."""
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-11", "identifier": "S11"}
    )
    older = sync.plan(tiny)
    tiny.rows("users.csv").append(
        {**tiny.row("users.csv", "stu-1"), "sourcedId": "stu-12", "identifier": "S12"}
    )
    later = sync.apply(tiny)
    said = rf"run {later.run_id}, planned from a later drop, was applied since"
    with pytest.raises(RunError, match=said):
        sync.engine.apply_run(older.run_id)
    assert sync.engine.get_run(older.run_id).later_drop_applied == later.run_id
    with pytest.raises(
        RunError, match=rf"run {later.run_id}, planned from a later drop, was applied since"
    ):
        sync.engine.replan_run(older.run_id)
    assert sync.user("stu-12")["status"] == "active"


def test_a_run_superseded_by_a_hand_edit_is_planned_again(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-1")["grades"] = "06"
    run = sync.plan(tiny)
    sync.engine.edit_contact("gdn-2", {"email": "new@example.net"})
    with pytest.raises(RunError, match=rf"roster-sync replan {run.run_id}"):
        sync.engine.apply_run(run.run_id)
    assert sync.engine.get_run(run.run_id).later_drop_applied is None
    again = sync.engine.replan_run(run.run_id)
    assert again.status == "planned" and again.changes["students"]["update"] == 1


def test_a_hand_edit_supersedes_open_plans(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-1")["grades"] = "06"
    run = sync.plan(tiny)
    sync.engine.edit_contact("gdn-2", {"email": "new@example.net"})
    assert sync.engine.get_run(run.run_id).status == "superseded"


def _leave(tiny, n: int) -> None:
    for i in range(1, n + 1):
        tiny.remove("users.csv", sourcedId=f"stu-{i}")
        tiny.remove("enrollments.csv", userSourcedId=f"stu-{i}")
        tiny.remove("demographics.csv", sourcedId=f"stu-{i}")


def test_archives_under_the_threshold_plan_normally(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "20")
    sync.apply(tiny)
    _leave(tiny, 1)
    run = sync.plan(tiny)
    assert run.status == "planned" and run.changes["students"]["archive"] == 1


def test_archives_at_the_threshold_plan_normally(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "20")
    sync.apply(tiny)
    _leave(tiny, 2)  # 2 of 10 students = 20%
    run = sync.plan(tiny)
    assert run.changes["students"]["archive"] == 2
    students = next(t for t in run.thresholds if t.kind == "students")
    assert (students.archives, students.limit, students.held) == (2, 2, False)


def test_archives_over_the_threshold_hold_the_run_with_counts(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "20")
    sync.apply(tiny)
    _leave(tiny, 3)
    run = sync.plan(tiny)
    assert run.status == "held"
    assert (
        "students: 3 of 10 active records would be archived (30.0%), over the limit of 20% (at most 2 records)"
        in run.hold_reasons
    )
    with pytest.raises(RunError, match="held; apply it with --override"):
        sync.engine.apply_run(run.run_id)


def test_an_override_applies_a_held_run_and_is_audited(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "20")
    sync.apply(tiny)
    _leave(tiny, 3)
    run = sync.plan(tiny)
    applied = sync.engine.apply_run(run.run_id, override=True, reason="end of year")
    assert applied.status == "applied" and applied.override_by == "tester"
    actor, action, details = sync.engine.db.rows(
        "SELECT actor, action, details FROM audit_log WHERE target_kind = 'run' AND target_id = ?",
        [run.run_id],
    )[0]
    assert (actor, action) == ("tester", "run.apply.override")
    assert json.loads(details)["reason"] == "end of year"
    assert sync.user("stu-1")["status"] == "archived"


def test_an_absolute_count_limit_also_holds(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "100")
    sync.engine.settings_set("deletion_threshold_count", "1")
    sync.apply(tiny)
    _leave(tiny, 2)
    assert sync.plan(tiny).status == "held"


def test_nothing_is_ever_deleted_records_leaving_the_feed_are_archived(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "50")
    sync.apply(tiny)
    _leave(tiny, 1)
    run = sync.plan(tiny)
    sync.engine.apply_run(run.run_id)
    db = sync.engine.db
    assert db.one("SELECT count(*) FROM users WHERE kind = 'student'") == 10
    ava = sync.user("stu-1")
    assert (ava["status"], ava["archived_run"]) == ("archived", run.run_id)
    assert (
        db.one(
            "SELECT count(*) FROM enrollments WHERE user_id = ? AND status = 'archived'",
            [ava["user_id"]],
        )
        == 2
    )
    assert (
        db.one(
            "SELECT count(*) FROM guardian_links WHERE student_id = ? AND status = 'archived'",
            [ava["user_id"]],
        )
        == 1
    )


def test_a_student_who_comes_back_is_unarchived(sync, tiny):
    sync.engine.settings_set("deletion_threshold", "50")
    full = tiny.copy()
    sync.apply(tiny)
    _leave(tiny, 1)
    sync.apply(tiny)
    run = sync.plan(full)
    assert run.changes["students"]["unarchive"] == 1


def _delta(tiny):
    tiny.manifest = {
        "manifest.version": "1.0",
        "oneroster.version": "1.1",
        "file.users": "delta",
        "file.enrollments": "delta",
        "file.classes": "absent",
        "file.orgs": "absent",
        "file.demographics": "absent",
    }
    for name in ("classes.csv", "orgs.csv", "demographics.csv"):
        tiny.files.pop(name)
    tiny.files["users.csv"], tiny.files["enrollments.csv"] = [], []
    return tiny


def test_delta_feed_creates_updates_and_archives_only_what_it_names(sync, tiny):
    base = tiny.copy()
    sync.apply(tiny)
    delta = _delta(base)
    new = dict(
        tiny.row("users.csv", "stu-1"),
        sourcedId="stu-11",
        identifier="S11",
        givenName="Kai",
        agentSourcedIds="",
        status="active",
        dateLastModified="2026-11-02T06:00:00Z",
    )
    changed = dict(
        tiny.row("users.csv", "stu-2"),
        email="ben@new.example.org",
        status="active",
        dateLastModified="2026-11-02T06:00:00Z",
    )
    gone = dict(
        tiny.row("users.csv", "stu-3"),
        status="tobedeleted",
        dateLastModified="2026-11-02T06:00:00Z",
    )
    delta.files["users.csv"] = [new, changed, gone]
    delta.files["enrollments.csv"] = [
        {
            "sourcedId": "enr-11a",
            "status": "active",
            "dateLastModified": "2026-11-02T06:00:00Z",
            "classSourcedId": "cls-a1",
            "schoolSourcedId": "sch-a",
            "userSourcedId": "stu-11",
            "role": "student",
            "primary": "",
            "beginDate": "",
            "endDate": "",
        }
    ]
    run = sync.plan(delta)
    assert run.rows.error == 0, sync.issues(run)
    assert run.changes["students"] == {"create": 1, "update": 1, "archive": 1, "unarchive": 0}
    assert run.changes["enrollments"]["create"] == 1
    assert run.changes["enrollments"]["archive"] == 2  # stu-3's, with the student
    assert run.changes["staff"]["archive"] == 0 and run.changes["classrooms"]["archive"] == 0


def test_export_then_sync_back_plans_zero_changes(sync, sample, tmp_path):
    sync.apply(sample / "day1")
    sync.apply(sample / "day2")
    summary = sync.engine.export(str(tmp_path / "export"))
    assert summary.files["users.csv"] > 500
    run = sync.plan(tmp_path / "export")
    assert run.rows.error == 0
    assert run.total_changes() == 0, run.changes


def _expected(sample, transition: str) -> dict:
    return json.loads((sample / "expected.json").read_text())["transitions"][transition]["counts"]


def _assert_counts(run, expected: dict) -> None:
    for kind, ops in expected.items():
        for op, n in ops.items():
            assert run.changes[kind][op] == n, (kind, op, run.changes[kind][op], n)


def test_sample_day1_then_day2_plan_exactly_what_the_generator_says(sync, sample):
    day1 = sync.plan(sample / "day1")
    _assert_counts(day1, _expected(sample, "day1"))
    sync.engine.apply_run(day1.run_id)
    day2 = sync.plan(sample / "day2")
    _assert_counts(day2, _expected(sample, "day2"))
    assert day2.status == "planned" and day2.rows.error == 0


def test_sample_delta_zip_plans_exactly_what_the_generator_says(sync, sample):
    sync.apply(sample / "day1")
    sync.apply(sample / "day2")
    day4 = sync.plan(sample / "day4.zip")
    assert day4.source_kind == "zip"
    _assert_counts(day4, _expected(sample, "day4"))


def test_sample_broken_drop_is_held_and_reports_its_bad_rows(sync, sample):
    sync.apply(sample / "day1")
    sync.apply(sample / "day2")
    truth = json.loads((sample / "expected.json").read_text())["day3_broken"]
    run = sync.plan(sample / "day3_broken")
    assert run.status == "held"
    assert run.changes["students"]["archive"] == truth["students_archived"]
    errors = {(i["file_name"], i["line"]) for i in sync.issues(run)}
    for bad in truth["bad_rows"]:
        assert (bad["file"], bad["line"]) in errors, bad


def test_listing_runs_returns_at_most_one_page_newest_first(sync, tiny, monkeypatch):
    from daemon.sync import queries

    monkeypatch.setattr(queries, "MAX_PAGE", 2)
    for _ in range(3):
        sync.plan(tiny)
    assert [r.run_id for r in sync.engine.list_runs(limit=1_000_000)] == [3, 2]


def test_a_page_of_runs_is_read_in_one_query_whatever_its_size(sync, tiny, tmp_path):
    from daemon.sync import queries

    (tmp_path / "empty").mkdir()
    for _ in range(3):
        sync.apply(tiny)
    sync.plan(tmp_path / "empty")  # failed: no files, no conflicts
    db = sync.engine.db
    statements: list[str] = []
    real = db.con

    class Counting:
        def execute(self, sql, *args):
            statements.append(sql)
            return real.execute(sql, *args)

    db.con = Counting()  # type: ignore[assignment]
    try:
        runs = queries.list_runs(db, 200)
    finally:
        db.con = real
    assert len(statements) == 1
    assert [r.run_id for r in runs] == [4, 3, 2, 1]
    failed, applied = runs[0], runs[-1]
    assert failed.status == "failed" and failed.files == [] and failed.conflicts == 0
    assert (failed.rows.success, failed.rows.warning, failed.rows.error) == (0, 0, 0)
    assert applied.rows.success == sum(f.success or 0 for f in applied.files) > 0
    assert [f.entity for f in applied.files] == sorted(
        (f.entity for f in applied.files), key=lambda e: (e is None, e or "")
    )


def test_a_planned_membership_is_labelled_by_its_person_and_class(sync, tiny):
    """As once created: the SIS id is its own column, not the label too."""
    created = sync.changes(sync.plan(tiny), "enrollments", "create")
    assert created
    for change in created:
        person, _, classroom = change["label"].partition(" in ")
        assert person.startswith(("stu-", "tch-")) and classroom, change
