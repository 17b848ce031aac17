"""A row naming a record a person merged away does not speak for the survivor.

The SIS keeps its duplicate id for a while after a person merged the two records: it re-sends
it, or deletes it. The survivor is driven by its own SIS id; the duplicate's rows are held
with a WARNING naming the merge, and its tobedeleted archives nothing of the survivor.
"""

from __future__ import annotations

import pytest

from tests.conftest import Sync
from tests.district import TinyDistrict
from tests.duplicates.conftest import add_student_like, user_id

DELTA = {
    "file.users": "delta",
    "file.enrollments": "absent",
    "file.classes": "absent",
    "file.orgs": "absent",
    "file.demographics": "absent",
}


@pytest.fixture
def merged(sync: Sync, tiny: TinyDistrict) -> TinyDistrict:
    """stu-3 and its duplicate stu-3-dup (other e-mail and given name), merged into stu-3."""
    add_student_like(tiny, "stu-3", "stu-3-dup", givenName="Clea", email="clea@example.org")
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-3-dup", "stu-3", keep="stu-3")
    return tiny


def _dup_row(tiny: TinyDistrict, **changes: str) -> dict[str, str]:
    return dict(
        tiny.row("users.csv", "stu-3-dup"), dateLastModified="2026-11-02T06:00:00Z", **changes
    )


def _survivor(sync: Sync) -> dict:
    return sync.user("stu-3")


def _active_memberships(sync: Sync) -> int:
    uid = user_id(sync.engine, "stu-3")
    return int(
        sync.engine.db.one(
            """SELECT (SELECT count(*) FROM enrollments WHERE user_id = ? AND status = 'active')
                    + (SELECT count(*) FROM guardian_links WHERE student_id = ? AND status = 'active')""",
            [uid, uid],
        )
    )


def _merged_record_warnings(sync: Sync, run) -> list[str]:
    return [i["message"] for i in sync.issues(run, "WARNING") if i["rule"] == "merged_record"]


def test_a_delta_deleting_the_merged_id_keeps_the_survivor_and_its_memberships(sync, merged):
    memberships = _active_memberships(sync)
    delta = TinyDistrict({"users.csv": [_dup_row(merged, status="tobedeleted")]}, dict(DELTA))
    run = sync.apply(delta)
    assert run.changes["students"]["archive"] == 0, run.changes
    assert _survivor(sync)["status"] == "active"
    assert _active_memberships(sync) == memberships


def test_a_tobedeleted_for_the_merged_id_is_reported_naming_the_merge(sync, merged):
    delta = TinyDistrict({"users.csv": [_dup_row(merged, status="tobedeleted")]}, dict(DELTA))
    run = sync.plan(delta)
    (warning,) = _merged_record_warnings(sync, run)
    assert "merged into user" in warning and "(stu-3)" in warning and "merge 1" in warning
    assert "archives nothing" in warning


def test_a_whole_file_deleting_the_merged_id_keeps_the_survivor_it_still_lists(sync, merged):
    merged.row("users.csv", "stu-3-dup")["status"] = "tobedeleted"
    run = sync.apply(merged)
    assert run.changes["students"]["archive"] == 0, run.changes
    assert _survivor(sync)["status"] == "active"


def test_a_whole_file_without_the_merged_id_leaves_the_survivor_as_it_is(sync, merged):
    merged.remove("users.csv", sourcedId="stu-3-dup")
    merged.remove("demographics.csv", sourcedId="stu-3-dup")
    run = sync.plan(merged)
    assert run.total_changes() == 0, run.changes


def test_a_whole_file_with_only_the_merged_id_keeps_the_survivor_through_it(sync, merged):
    """The SIS kept the duplicate's id and dropped the survivor's: that id is its only voice."""
    merged.remove("users.csv", sourcedId="stu-3")
    merged.remove("demographics.csv", sourcedId="stu-3")
    sync.apply(merged)
    survivor = _survivor(sync)
    assert (survivor["status"], survivor["email"]) == ("active", "clea@example.org")
    assert _active_memberships(sync) > 0


@pytest.fixture
def only_the_merged_id_by_identifier(sync: Sync, tiny: TinyDistrict) -> TinyDistrict:
    """As `merged`, under student_id = identifier (the duplicate with an identifier of its
    own), and a whole users.csv that lists the duplicate's row and not the survivor's."""
    sync.engine.settings_set("student_id", "identifier")
    add_student_like(
        tiny, "stu-3", "stu-3-dup", givenName="Clea", email="clea@example.org", identifier="S3D"
    )
    sync.apply(tiny)
    sync.engine.duplicates_merge("stu-3-dup", "stu-3", keep="stu-3")
    tiny.remove("users.csv", sourcedId="stu-3")
    tiny.remove("demographics.csv", sourcedId="stu-3")
    return tiny


def test_by_identifier_a_survivor_driven_through_the_merged_id_keeps_its_own_keys(
    sync, only_the_merged_id_by_identifier
):
    """Given the duplicate's identifier, the survivor answered to it itself the next night, and
    took the duplicate's SIS id too: the same drop twice changed it again."""
    sync.apply(only_the_merged_id_by_identifier)
    survivor = _survivor(sync)
    assert (survivor["identifier"], survivor["email"]) == ("S3", "clea@example.org")


def test_by_identifier_the_same_night_twice_changes_nothing(sync, only_the_merged_id_by_identifier):
    sync.apply(only_the_merged_id_by_identifier)
    run = sync.plan(only_the_merged_id_by_identifier)
    assert run.total_changes() == 0, sync.changes(run)


def test_a_delta_row_of_the_merged_id_does_not_rewrite_the_survivor(sync, merged):
    before = _survivor(sync)
    delta = TinyDistrict(
        {"users.csv": [_dup_row(merged, status="active", email="new@example.org")]}, dict(DELTA)
    )
    run = sync.apply(delta)
    assert run.changes["students"]["update"] == 0, run.changes
    after = _survivor(sync)
    for field in ("given_name", "email", "identifier", "username", "birth_date"):
        assert after[field] == before[field], field


def test_a_held_row_of_the_merged_id_is_reported_naming_the_merge(sync, merged):
    delta = TinyDistrict(
        {"users.csv": [_dup_row(merged, status="active", email="new@example.org")]}, dict(DELTA)
    )
    run = sync.plan(delta)
    (warning,) = _merged_record_warnings(sync, run)
    assert "merge 1" in warning and "was not applied" in warning


def test_the_merged_ids_row_does_not_replace_the_survivors_row_in_error(sync, merged):
    """A whole file whose survivor row has an error: the survivor is kept, not rewritten."""
    before = _survivor(sync)
    merged.row("users.csv", "stu-3")["role"] = "not-a-role"
    merged.row("users.csv", "stu-3-dup")["email"] = "new@example.org"
    run = sync.apply(merged)
    assert run.changes["students"]["update"] == 0, run.changes
    assert _survivor(sync)["email"] == before["email"]


def test_a_merged_id_whose_row_is_in_error_holds_nothing_of_the_survivor(sync, merged):
    # the survivor named by its own id is not held for the merged id's broken row
    tiny = merged
    tiny.row("users.csv", "stu-3-dup")["role"] = "studnet"  # the merged id's row, in error
    tiny.row("enrollments.csv", "enr-3a")["beginDate"] = "2026-09-01"
    tiny.row("users.csv", "gdn-4")["agentSourcedIds"] = "stu-4,stu-3"
    run = sync.plan(tiny)
    assert run.changes["enrollments"]["update"] == 1
    assert run.changes["guardian_links"]["create"] == 1
    survivor_rows = [i for i in sync.issues(run) if i["sourced_id"] in ("enr-3a", "gdn-4")]
    assert survivor_rows == []
