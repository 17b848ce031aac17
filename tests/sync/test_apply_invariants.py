"""Apply verifies the directory's invariants over what it wrote before it commits, and planning
refuses a plan that would do two things to one record: a bug elsewhere fails a run loudly
instead of breaking the directory."""

from __future__ import annotations

import pytest

from daemon.directory.integrity import check_directory
from daemon.sync import diff
from daemon.sync.runs import RunError
from tests.conftest import Sync
from tests.directory_state import directory_fingerprint
from tests.properties.districts import property_engine


@pytest.fixture
def planned(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-2")["familyName"] = "Okafor-Bell"
    return sync.plan(tiny)


def _forge_enrollment_into_nowhere(db, run_id: int) -> None:
    """A create whose classroom does not exist, as a planning bug would write it."""
    db.execute(
        f"""INSERT INTO run_{run_id}.plan_enrollments BY NAME
            SELECT 'create' AS op, 999001 AS id, 424242 AS classroom_id, user_id, 'student' AS role,
                   'enr-forged' AS sis_id, 'enrollments.csv' AS _file, 99 AS _line
            FROM users WHERE sis_id = 'stu-1'"""
    )


def test_apply_refuses_a_plan_that_would_leave_a_dangling_enrollment(sync, planned):
    db = sync.engine.db
    before = directory_fingerprint(db)
    _forge_enrollment_into_nowhere(db, planned.run_id)
    with pytest.raises(
        RunError, match=r"enrollments name existing classrooms and people: 1 row \(ids 999001\)"
    ):
        sync.engine.apply_run(planned.run_id)
    assert directory_fingerprint(db) == before
    assert sync.engine.get_run(planned.run_id).status == "failed"


def test_the_check_command_and_apply_share_the_invariants(sync, planned):
    db = sync.engine.db
    db.execute(
        "INSERT INTO enrollments (enrollment_id, classroom_id, user_id, role, status, origin) "
        "VALUES (999002, 424242, 1, 'student', 'active', 'hand')"
    )
    failed = dict(check_directory(db))
    assert failed["enrollments name existing classrooms and people"] == 1


def test_planning_refuses_to_change_one_record_twice(sync, tiny, monkeypatch, tiny_applied):
    original = diff.plan_table

    def plan_twice(ctx, table):
        original(ctx, table)
        if table.name == "users":
            plan = ctx.keep("plan_users")
            ctx.db.execute(
                f"INSERT INTO {plan} SELECT * REPLACE ('archive' AS op) FROM {plan} LIMIT 1"
            )

    monkeypatch.setattr("daemon.sync.plan.plan_table", plan_twice)
    tiny.row("users.csv", "stu-2")["familyName"] = "Okafor-Bell"
    run = sync.plan(tiny)
    assert run.status == "failed"
    assert "would change a record twice (users " in run.error


def test_apply_refuses_a_plan_that_names_a_record_twice(sync, planned):
    db = sync.engine.db
    before = directory_fingerprint(db)
    db.execute(
        f"""INSERT INTO run_{planned.run_id}.plan_users
            SELECT * FROM run_{planned.run_id}.plan_users WHERE op = 'update'"""
    )
    with pytest.raises(RunError, match=r"its plan of users names 1 record\(s\) more than once"):
        sync.engine.apply_run(planned.run_id)
    assert directory_fingerprint(db) == before
    assert sync.engine.get_run(planned.run_id).status == "failed"


def test_updates_and_archives_keep_what_the_plan_does_not_carry(sync, tiny, tiny_applied):
    """Apply writes a changed record as a new row (sync/apply.py): every column the plan does
    not speak for must come through as it was."""
    db = sync.engine.db
    db.execute(
        "UPDATE users SET account_active = true, contacts_edited = true "
        "WHERE sis_id IN ('stu-2', 'stu-3')"
    )
    kept = ("user_id", "account_active", "contacts_edited", "created_run", "created_at")
    before = {s: {c: sync.user(s)[c] for c in kept} for s in ("stu-2", "stu-3")}
    tiny.row("users.csv", "stu-2")["familyName"] = "Okafor-Bell"
    tiny.remove("users.csv", sourcedId="stu-3")
    sync.apply(tiny, override=True)  # one student in ten archived: held by the threshold
    updated, archived = sync.user("stu-2"), sync.user("stu-3")
    assert (updated["family_name"], updated["status"]) == ("Okafor-Bell", "active")
    assert archived["status"] == "archived"
    assert {c: updated[c] for c in kept} == before["stu-2"]
    assert {c: archived[c] for c in kept} == before["stu-3"]
    assert db.one("SELECT count(*) FROM users WHERE sis_id IN ('stu-2', 'stu-3')") == 2


def _three_nights(sync, tiny) -> set[str]:
    """Creates; an archive; an update, an unarchive, a refresh (a record that remembers another
    feed row than the one it matches) and an archive that stays. The ops its plans held."""
    ops: set[str] = set()

    def apply(drop) -> None:
        run = sync.apply(drop, override=True)
        ops.update(c["op"] for c in sync.changes(run))
        ops.update(
            r[0]
            for r in sync.engine.db.rows(f"SELECT DISTINCT op FROM run_{run.run_id}.plan_users")
        )

    apply(tiny)
    night2 = tiny.copy()
    night2.remove("users.csv", sourcedId="stu-3")
    apply(night2)
    tiny.row("users.csv", "stu-2")["familyName"] = "Okafor-Bell"
    tiny.remove("users.csv", sourcedId="stu-5")
    sync.engine.db.execute("UPDATE users SET source_hash = 0, raw_hash = 0 WHERE sis_id = 'stu-4'")
    apply(tiny)
    return ops


def test_a_plan_written_in_place_or_as_new_rows_gives_the_same_directory(
    engine, tmp_path, tiny, monkeypatch
):
    """Apply writes a large share of a table in place and a small one as new rows
    (sync/apply.py): the directory is the same either way."""
    rewritten = Sync(engine, tmp_path / "rewritten")
    ops = _three_nights(rewritten, tiny.copy())
    assert {"create", "archive", "update", "unarchive", "refresh"} <= ops
    monkeypatch.setattr("daemon.sync.apply._few", lambda *_: False)
    with property_engine(tmp_path / "in-place.duckdb") as other:
        other.settings_set("deletion_threshold", "10")  # as a new database's
        in_place = Sync(other, tmp_path / "in-place")
        assert _three_nights(in_place, tiny.copy()) == ops
        # every table alike (the directory versions differ: settings were set on this one)
        assert directory_fingerprint(other.db)[:-1] == directory_fingerprint(engine.db)[:-1]
