"""Ids a source makes itself (a hub's drop lists the files in `source.derivedIds`): the directory
keeps the SIS's ids; the ids a SIS gives are followed as always (daemon/sync/derived_ids.py)."""

from __future__ import annotations

from tests.district import TinyDistrict


def made_up_enrollment_ids(tiny: TinyDistrict) -> TinyDistrict:
    """The district as a hub without enrollment ids sends it: CLASS:PERSON, declared as such."""
    hub = tiny.copy()
    for row in hub.rows("enrollments.csv"):
        row["sourcedId"] = f"{row['classSourcedId']}:{row['userSourcedId']}"
    hub.manifest["source.derivedIds"] = "enrollments"
    return hub


def test_an_enrollment_the_sis_gives_a_new_id_is_one_update_of_that_id(sync, tiny, tiny_applied):
    tiny.row("enrollments.csv", "enr-2a")["sourcedId"] = "enr-2a-v2"
    run = sync.plan(tiny)
    assert run.total_changes() == 1
    [change] = sync.changes(run, "enrollments", "update")
    assert change["fields"] == [{"field": "sis_id", "old": "enr-2a", "new": "enr-2a-v2"}]


def test_memberships_named_by_made_up_ids_keep_their_sis_ids(sync, tiny, tiny_applied):
    run = sync.plan(made_up_enrollment_ids(tiny))
    assert run.total_changes() == 0, run.changes
    sync.engine.apply_run(run.run_id, scan_duplicates=False)
    ids = {sis_id for (sis_id,) in sync.engine.db.rows("SELECT sis_id FROM enrollments")}
    assert "enr-2a" in ids and not any(":" in i for i in ids)


def test_a_new_membership_gets_the_made_up_id_and_the_sis_id_when_the_sis_sends_it(sync, tiny):
    sis = tiny.copy()
    tiny.remove("enrollments.csv", sourcedId="enr-3b")
    sync.apply(tiny)
    run = sync.apply(made_up_enrollment_ids(sis))
    assert run.changes["enrollments"]["create"] == 1 and run.total_changes() == 1
    [(made_up,)] = sync.engine.db.rows("SELECT sis_id FROM enrollments WHERE sis_id LIKE '%:%'")
    assert made_up == "cls-a2:stu-3"
    # Back on the SIS's files: the membership takes the SIS's real id, once.
    back = sync.plan(sis)
    [change] = sync.changes(back, "enrollments", "update")
    assert back.total_changes() == 1
    assert change["fields"] == [{"field": "sis_id", "old": "cls-a2:stu-3", "new": "enr-3b"}]
