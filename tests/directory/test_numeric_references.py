"""A record named on the command line: `#42` is a record id, anything else a SIS id (or a student
number), and plain digits whichever of the two exists. Most SIS ids are numbers, so digits that
are one record's id and another's SIS id are refused, naming both: an archive meant for the
guardian with SIS id 3 once archived user 3, a student."""

from __future__ import annotations

import pytest

from daemon.directory.errors import EditRefused


@pytest.fixture
def numeric(sync, tiny_applied):
    """The tiny district, its guardian gdn-2 known to the SIS as 3 (user 3 is someone else)."""
    db = sync.engine.db
    guardian = sync.user("gdn-2")["user_id"]
    assert guardian != 3 and db.one("SELECT count(*) FROM users WHERE user_id = 3") == 1
    db.execute("UPDATE users SET sis_id = '3' WHERE user_id = ?", [guardian])
    return sync, guardian


def _status(sync, user_id: int) -> str:
    return sync.engine.db.one("SELECT status FROM users WHERE user_id = ?", [user_id])


def test_digits_that_are_an_id_and_a_sis_id_are_refused_naming_both(numeric) -> None:
    sync, guardian = numeric
    with pytest.raises(
        EditRefused,
        match=rf"'3' is both the id of user #3 \(.+\) and the SIS id "
        rf"or student number of user #{guardian} \(.+\): write #3 or #{guardian}",
    ):
        sync.engine.archive_user("3")
    assert _status(sync, 3) == "active" and _status(sync, guardian) == "active"


def test_a_hash_names_the_record_id(numeric) -> None:
    sync, _guardian = numeric
    assert sync.engine.user_detail("#3").user_id == 3


def test_digits_no_record_has_as_id_are_a_sis_id(sync, tiny_applied) -> None:
    student = sync.user("stu-2")["user_id"]
    sync.engine.db.execute("UPDATE users SET sis_id = '900101' WHERE user_id = ?", [student])
    assert sync.engine.user_detail("900101").user_id == student


def test_digits_that_are_a_records_own_id_and_sis_id_name_it(sync, tiny_applied) -> None:
    sync.engine.db.execute("UPDATE users SET sis_id = '3' WHERE user_id = 3")
    assert sync.engine.user_detail("3").user_id == 3


def test_a_classroom_named_by_ambiguous_digits_is_refused(sync, tiny_applied) -> None:
    db = sync.engine.db
    first, other = db.rows("SELECT min(classroom_id), max(classroom_id) FROM classrooms")[0]
    db.execute("UPDATE classrooms SET sis_id = ? WHERE classroom_id = ?", [str(first), other])
    with pytest.raises(
        EditRefused,
        match=rf"'{first}' is both the id of classroom #{first} .* write #{first} or #{other}",
    ):
        sync.engine.rename_classroom(str(first), "Renamed")


def test_a_school_named_by_ambiguous_digits_is_refused(sync, tiny_applied) -> None:
    db = sync.engine.db
    other = db.one("SELECT max(school_id) FROM schools")
    assert other != 1
    db.execute("UPDATE school_sis_ids SET sis_id = '1' WHERE school_id = ?", [other])
    with pytest.raises(
        EditRefused, match=rf"'1' is both the id of school #1 .* write #1 or #{other}"
    ):
        sync.engine.create_classroom("Chess club", "1")
    assert db.one("SELECT count(*) FROM classrooms WHERE name = 'Chess club'") == 0


@pytest.fixture
def hash_4(sync, tiny, tiny_applied):
    """The tiny district, Annex (school 4) made by hand, and an org the SIS calls '#4' (Cedar)."""
    assert sync.engine.create_school("Annex") == 4
    tiny.rows("orgs.csv").append(
        {**tiny.row("orgs.csv", "sch-b"), "sourcedId": "#4", "name": "Cedar"}
    )
    sync.apply(tiny)
    cedar = sync.engine.db.one("SELECT school_id FROM school_sis_ids WHERE sis_id = '#4'")
    return sync, cedar


def test_a_hash_that_is_an_id_and_a_sis_id_is_refused_naming_both(hash_4) -> None:
    sync, cedar = hash_4
    with pytest.raises(
        EditRefused,
        match=rf"^'#4' is both the id of school #4 \(Annex\) and the SIS id of school #{cedar} "
        rf"\(Cedar\): write 4 or #{cedar}$",
    ):
        sync.engine.create_classroom("Chess club", "#4")
    assert sync.engine.db.one("SELECT count(*) FROM classrooms WHERE name = 'Chess club'") == 0


def test_a_sis_id_starting_with_a_hash_names_its_record(sync, tiny) -> None:
    tiny.rename_org("sch-b", "#north")
    sync.apply(tiny)
    north = sync.engine.db.one("SELECT school_id FROM school_sis_ids WHERE sis_id = '#north'")
    classroom = sync.engine.create_classroom("Chess club", "#north")
    assert (
        sync.engine.db.one("SELECT school_id FROM classrooms WHERE classroom_id = ?", [classroom])
        == north
    )
