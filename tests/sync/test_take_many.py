"""Taking many conflicts at once ("take all" in the review) is set work: as many statements for
thousands of people as for two, with each person's result what taking their conflict alone
gives (sync/conflicts.py `_take`)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from daemon.db import Database
from daemon.sync.policies import UNARCHIVED_BY_HAND_NOT_IN_FEED
from tests.sync.test_revert import _second_day

GUARDIANS = [f"gdn-{i}" for i in range(1, 11)]


@contextmanager
def _statements(monkeypatch):
    """Counts the statements the database runs inside the block."""
    counted = [0]
    for name in ("execute", "rows", "one", "dicts"):
        real = getattr(Database, name)

        def counting(self, *args, _real=real, **kwargs):
            counted[0] += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Database, name, counting)
    yield counted
    monkeypatch.undo()


@pytest.fixture
def kept_archived(sync, tiny, tiny_applied):
    """The ten guardians archived by hand (their links with them), listed by the feed again: a
    run applied with a question about each, undecided. Returns its conflicts."""
    for guardian in GUARDIANS:
        sync.engine.archive_user(guardian)
    run = sync.apply(tiny)
    asked = sync.engine.conflicts(run.run_id).items
    assert len(asked) == len(GUARDIANS)
    return asked


def _take(sync, conflicts) -> None:
    sync.engine.resolve_conflicts([c.conflict_id for c in conflicts], "take")


def test_taking_eight_people_back_runs_the_statements_taking_two_does(
    sync, kept_archived, monkeypatch
):
    with _statements(monkeypatch) as two:
        _take(sync, kept_archived[:2])
    with _statements(monkeypatch) as eight:
        _take(sync, kept_archived[2:])
    assert eight[0] == two[0]


def test_taking_them_all_brings_each_back_with_the_links_their_archive_took(sync, kept_archived):
    _take(sync, kept_archived)
    db = sync.engine.db
    assert {sync.user(g)["status"] for g in GUARDIANS} == {"active"}
    assert db.one("SELECT count(*) FROM guardian_links WHERE status = 'active'") == 10
    assert all(n == 0 for _, n in sync.engine.check())


@pytest.fixture
def unarchived_three(sync, tiny, tiny_applied):
    """stu-8, stu-9 and stu-10 left out (archived by run 2), unarchived by hand, and still left
    out by run 3, applied with a question about each. Returns its conflicts."""
    _second_day(tiny)
    for student in ("stu-8", "stu-9"):
        tiny.remove("users.csv", sourcedId=student)
        tiny.remove("enrollments.csv", userSourcedId=student)
    sync.apply(tiny, override=True)
    for student in ("stu-8", "stu-9", "stu-10"):
        sync.engine.unarchive_user(student)
    run = sync.apply(tiny)
    asked = [
        c
        for c in sync.engine.conflicts(run.run_id).items
        if c.kind == UNARCHIVED_BY_HAND_NOT_IN_FEED
    ]
    assert len(asked) == 3
    return asked


def test_archiving_two_as_the_feed_says_runs_the_statements_archiving_one_does(
    sync, unarchived_three, monkeypatch
):
    with _statements(monkeypatch) as one:
        _take(sync, unarchived_three[:1])
    with _statements(monkeypatch) as two:
        _take(sync, unarchived_three[1:])
    assert two[0] == one[0]


def test_taking_them_all_archives_each_with_what_is_attached_to_them(sync, unarchived_three):
    run_id = unarchived_three[0].run_id
    _take(sync, unarchived_three)
    db = sync.engine.db
    for student in ("stu-8", "stu-9", "stu-10"):
        person = sync.user(student)
        assert (person["status"], person["archived_run"]) == ("archived", run_id)
        assert person["unarchived_by_hand_at"] is None
        assert (
            db.one(
                "SELECT count(*) FROM enrollments WHERE user_id = ? AND status = 'active'",
                [person["user_id"]],
            )
            == 0
        )
    assert all(n == 0 for _, n in sync.engine.check())
