"""manage_guardians false, then true again: the links left active under students the sync
archived meanwhile are archived by the next run, whatever files it brings.

While the sync does not manage guardians it archives no link, not even under a student it
archives (the links are the district's, and `check` says nothing of them). Once it manages them
again, `check` holds such a link against the directory: a whole users.csv archived it as no
longer in the feed, but a district sending changes only kept it, and `check` failing, for good.
"""

from __future__ import annotations

import pytest

from tests.district import TinyDistrict


@pytest.fixture
def managed_again(sync, tiny):
    """stu-1 left the district while the sync did not manage guardians; it manages them again."""
    sync.engine.settings_set("deletion_threshold", "100")
    sync.apply(tiny)
    sync.engine.settings_set("manage_guardians", "false")
    gone = tiny.copy()
    gone.remove("users.csv", sourcedId="stu-1")
    gone.remove("enrollments.csv", userSourcedId="stu-1")
    gone.remove("demographics.csv", sourcedId="stu-1")
    sync.apply(gone)
    sync.engine.settings_set("manage_guardians", "true")
    return sync


def _changes_only_night(tiny: TinyDistrict) -> TinyDistrict:
    """users.csv as changes only, one student renamed; nothing else."""
    night = tiny.copy()
    row = dict(tiny.row("users.csv", "stu-3"), givenName="Cleo-Ann")
    row.update(status="active", dateLastModified="2026-12-01T06:00:00.000Z")
    night.files = {"users.csv": [row]}
    night.manifest = {"file.users": "delta"} | {
        f"file.{name}": "absent" for name in ("orgs", "classes", "enrollments", "demographics")
    }
    return night


def test_a_changes_only_night_archives_the_link_left_under_an_archived_student(managed_again, tiny):
    managed_again.apply(_changes_only_night(tiny))
    assert [name for name, n in managed_again.engine.check() if n] == []


def test_the_links_archive_says_its_student_is_archived(managed_again, tiny):
    run = managed_again.plan(_changes_only_night(tiny))
    [change] = managed_again.changes(run, "guardian_links", "archive")
    assert (change["label"], change["note"]) == ("gdn-1 for stu-1", "its student is archived")


def test_a_student_the_feed_brings_back_keeps_the_link(managed_again, tiny):
    run = managed_again.plan(tiny)
    assert run.changes["students"]["unarchive"] == 1
    assert run.changes["guardian_links"]["archive"] == 0
