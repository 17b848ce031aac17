"""A record the feed names but this run cannot process keeps everything attached to it.

A row in error, or a row whose key more than one directory record claims, is skipped; the
record it speaks for, its enrollments and its guardian links stay as they are (a bad row
never archives anything).
"""

from __future__ import annotations

import pytest

from tests.district import guardian_of
from tests.ingest.reading import rewrite_line

NOTHING = {"create": 0, "update": 0, "archive": 0, "unarchive": 0}


@pytest.fixture
def synced(sync, tiny_applied):
    return sync


def _links_of(sync, sis_id: str) -> list[str]:
    return [
        r[0]
        for r in sync.engine.db.rows(
            "SELECT l.status FROM guardian_links l JOIN users s ON s.user_id = l.student_id "
            "WHERE s.sis_id = ?",
            [sis_id],
        )
    ]


def _change_enrollment_and_keep_the_link_only_on_the_student_side(tiny):
    tiny.row("enrollments.csv", "enr-1a")["beginDate"] = "2026-09-01"
    tiny.row("users.csv", "gdn-1")["agentSourcedIds"] = ""


def test_a_student_row_in_error_keeps_the_students_enrollments_and_links(synced, tiny):
    tiny.row("users.csv", "stu-1")["givenName"] = ""
    _change_enrollment_and_keep_the_link_only_on_the_student_side(tiny)
    run = synced.apply(tiny)
    assert run.changes["students"]["archive"] == 0
    assert run.changes["enrollments"]["archive"] == 0
    assert run.changes["guardian_links"]["archive"] == 0
    assert _links_of(synced, "stu-1") == ["active"]
    assert synced.user("stu-1")["status"] == "active"


@pytest.mark.parametrize("blank", ["\u200b", "\t"], ids=["zero-width", "tab"])
def test_a_student_row_whose_name_shows_nothing_keeps_the_students_name(synced, tiny, blank):
    stored = synced.user("stu-1")["family_name"]
    tiny.row("users.csv", "stu-1")["familyName"] = blank
    run = synced.apply(tiny)
    assert run.rows.error == 1
    assert run.changes["students"] == NOTHING
    assert synced.user("stu-1")["family_name"] == stored


def test_a_student_claimed_by_two_records_keeps_its_enrollments_and_links(synced, tiny):
    synced.engine.settings_set("student_id", "identifier")
    synced.engine.db.execute("UPDATE users SET identifier = 'S1' WHERE sis_id = 'stu-2'")
    _change_enrollment_and_keep_the_link_only_on_the_student_side(tiny)
    run = synced.plan(tiny)
    assert run.blocking_conflicts == 1  # the claim itself still asks a person
    assert run.changes["enrollments"]["archive"] == 0
    assert run.changes["guardian_links"]["archive"] == 0


def test_a_guardian_row_in_error_keeps_the_guardians_links(synced, tiny):
    tiny.row("users.csv", "gdn-2")["familyName"] = ""
    tiny.row("users.csv", "stu-2")["agentSourcedIds"] = ""  # the link now rests on gdn-2's row
    run = synced.apply(tiny)
    assert run.changes["guardians"]["archive"] == 0
    assert run.changes["guardian_links"]["archive"] == 0
    assert _links_of(synced, "stu-2") == ["active"]


# What an id may not hold, one of each kind (value_rules.INVISIBLE_IN_ID_RANGES): with any of
# them the row is in error and names the record its id looks like. Missing one, a look-alike
# row created a second student and archived the real one, with its enrollments and links.
INVISIBLE_MARKS = {
    "nul": "\x00",
    "tab": "\t",
    "nbsp": "\u00a0",
    "zero-width": "\u200b",
    "soft hyphen": "\u00ad",
    "grapheme joiner": "\u034f",
    "arabic letter mark": "\u061c",
    "hangul filler": "\u3164",
    "variation selector": "\ufe0f",
    "tag": "\U000e0041",
}


@pytest.mark.parametrize("mark", INVISIBLE_MARKS.values(), ids=INVISIBLE_MARKS.keys())
def test_a_student_row_whose_id_holds_an_invisible_character_keeps_the_student(synced, tiny, mark):
    tiny.row("users.csv", "stu-1")["sourcedId"] = "stu-1" + mark
    _change_enrollment_and_keep_the_link_only_on_the_student_side(tiny)
    run = synced.apply(tiny)
    assert run.changes["students"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    assert run.changes["enrollments"]["archive"] == 0
    assert run.changes["guardian_links"]["archive"] == 0


def test_a_student_row_whose_id_holds_a_nul_keeps_the_student_on_the_careful_reader(synced, tiny):
    """The careful reader (a file with a quoted line break) hands NUL on as the fast one does."""
    tiny.row("users.csv", "stu-1")["sourcedId"] = "stu-1\x00"
    tiny.row("users.csv", "stu-9")["middleName"] = "a\nb"
    run = synced.plan(tiny)
    assert run.changes["students"]["archive"] == 0
    assert run.changes["enrollments"]["archive"] == 0
    assert [i["rule"] for i in synced.issues(run, "ERROR")] == ["invisible_character"]


def test_a_class_row_whose_id_holds_an_invisible_character_keeps_the_class(synced, tiny):
    tiny.row("classes.csv", "cls-a1")["sourcedId"] = "cls-a1\u200b"
    run = synced.apply(tiny)
    assert run.changes["classrooms"]["archive"] == 0
    assert run.changes["enrollments"]["archive"] == 0


def test_a_demographics_row_in_error_keeps_the_students_birth_date(synced, tiny):
    row = tiny.row("demographics.csv", "stu-1")
    born = row["birthDate"]
    row["status"] = "gone"  # not in the vocabulary: the row is in error
    run = synced.apply(tiny)
    assert run.changes["students"]["update"] == 0
    assert synced.user("stu-1")["birth_date"] == born


def test_a_student_row_without_its_key_keeps_the_student(synced, tiny):
    synced.engine.settings_set("student_id", "identifier")
    tiny.row("users.csv", "stu-1")["identifier"] = ""
    _change_enrollment_and_keep_the_link_only_on_the_student_side(tiny)
    run = synced.plan(tiny)
    assert run.changes["students"]["archive"] == 0
    assert run.changes["enrollments"]["archive"] == 0
    assert run.changes["guardian_links"]["archive"] == 0


def test_an_attribute_row_in_error_keeps_the_attribute(sync, tiny):
    attribute = {"studentSourcedId": "stu-1", "name": "bus_route", "value": "12"}
    tiny.rows("student_attributes.csv").append({**attribute, "status": "", "dateLastModified": ""})
    sync.apply(tiny)
    tiny.rows("student_attributes.csv")[0]["value"] = "x" * 5000  # over the 4096 limit
    run = sync.plan(tiny)
    assert run.rows.error == 1
    assert run.changes["student_attributes"] == {
        "create": 0,
        "update": 0,
        "archive": 0,
        "unarchive": 0,
    }


def _guardian_row(student: str) -> dict[str, str]:
    return {
        "sourcedId": "gdn-x",
        "studentSourcedId": student,
        "relationship": "parent",
        "givenName": "Pat",
        "familyName": "Doe",
    }


def _link_status(sync, guardian: str, student: str) -> str:
    return sync.engine.db.one(
        "SELECT l.status FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id "
        "JOIN users s ON s.user_id = l.student_id WHERE g.sis_id = ? AND s.sis_id = ?",
        [guardian, student],
    )


@pytest.fixture
def two_children(sync, tiny):
    """gdn-x, described only in guardians.csv, is the parent of stu-1 and stu-2."""
    tiny.files["guardians.csv"] = [_guardian_row("stu-1"), _guardian_row("stu-2")]
    sync.apply(tiny)
    assert _link_status(sync, "gdn-x", "stu-2") == "active"
    return sync


def test_a_guardians_file_row_in_error_keeps_only_its_own_pair(two_children, tiny):
    tiny.files["guardians.csv"] = [dict(_guardian_row("stu-1"), familyName="")]  # stu-2's gone
    run = two_children.apply(tiny)
    assert run.rows.error == 1
    assert _link_status(two_children, "gdn-x", "stu-1") == "active"
    assert _link_status(two_children, "gdn-x", "stu-2") == "archived"
    assert two_children.user("gdn-x")["status"] == "active"


def test_a_guardians_file_row_whose_id_holds_a_nul_keeps_its_pair(two_children, tiny):
    tiny.files["guardians.csv"][1]["sourcedId"] = "gdn-x\x00"
    run = two_children.apply(tiny)
    assert run.changes["guardian_links"] == NOTHING
    assert _link_status(two_children, "gdn-x", "stu-2") == "active"
    assert [i["rule"] for i in two_children.issues(run, "ERROR")] == ["invisible_character"]


def test_a_row_whose_key_cannot_be_told_archives_nothing_absent_from_its_file(synced, tiny):
    """Any student absent from users.csv may be the one the unreadable row names."""
    tiny.remove("users.csv", sourcedId="stu-9")
    tiny.row("users.csv", "stu-1")["familyName"] = "Renamed"
    drop = tiny.write(synced.root)
    rewrite_line(drop / "users.csv", "stu-3,", "stu-3,Cleo")  # two values: which row is it?
    run = synced.plan(drop)
    assert run.status == "planned", run.error
    assert run.changes["students"] == {"create": 0, "update": 1, "archive": 0, "unarchive": 0}
    assert run.changes["enrollments"]["archive"] == 0
    assert any("read as changes only" in n["message"] for n in run.notes)


def _attributes(tiny) -> None:
    for student, name in (("stu-1", "bus_route"), ("stu-2", "bus_route"), ("stu-3", "locker")):
        tiny.rows("student_attributes.csv").append(
            {"studentSourcedId": student, "name": name, "value": "12"}
        )


def _cut_last_row(path) -> int:
    """Cut the file inside its last row (its first 5 bytes kept); returns the row's line."""
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[: data.rindex(b"\n") + 6])
    return data.count(b"\n") + 1


# Each file, a record it leaves out tonight (archived, were the file whole) and that kind.
_LEFT_OUT = [
    ("enrollments.csv", {"sourcedId": "enr-1b"}, "enrollments"),
    ("users.csv", {"sourcedId": "stu-9"}, "students"),
    ("classes.csv", {"sourcedId": "cls-a2"}, "classrooms"),
    ("student_attributes.csv", {"studentSourcedId": "stu-1"}, "student_attributes"),
]


@pytest.mark.parametrize(("file", "left_out", "kind"), _LEFT_OUT, ids=[f for f, *_ in _LEFT_OUT])
def test_a_file_cut_inside_its_last_row_archives_nothing_absent_from_it(
    sync, tiny, file, left_out, kind
):
    """An upload that stopped mid-row: the rows after the cut are missing, so the file is no
    whole truth tonight (enrollments.csv ends with dates, so its cut `enr-1` could be placed
    nowhere but in sourcedId: once read as a sure key, and 62 memberships were archived)."""
    _attributes(tiny)
    sync.apply(tiny)
    tiny.remove(file, **left_out)
    drop = tiny.write(sync.root)
    _cut_last_row(drop / file)
    run = sync.plan(drop)
    assert run.status == "planned", run.error
    assert run.changes[kind]["archive"] == 0
    (cut,) = [i for i in sync.issues(run) if i["rule"] == "file_cut"]
    assert cut["file_name"] == file and cut["severity"] == "ERROR"
    assert any("read as changes only" in n["message"] for n in run.notes)


def _changes_only_notes(run) -> list[str]:
    return [n["message"] for n in run.notes if "read as changes only" in n["message"]]


def test_the_note_for_a_cut_file_asks_for_the_whole_file_again(synced, tiny):
    """A cut file has no row to fix: the rows after the cut are missing."""
    drop = tiny.write(synced.root)
    line = _cut_last_row(drop / "users.csv")
    (note,) = _changes_only_notes(synced.plan(drop))
    assert note.startswith(f"users.csv line {line}: the file ends in the middle of this row")
    assert "send the whole file again" in note and "fix the row" not in note


def test_a_file_with_an_unreadable_row_and_cut_short_says_each_with_its_remedy(synced, tiny):
    drop = tiny.write(synced.root)
    broken = rewrite_line(drop / "users.csv", "stu-3,", "stu-3,Cleo")
    cut = _cut_last_row(drop / "users.csv")
    unreadable, cut_short = _changes_only_notes(synced.plan(drop))
    assert unreadable.startswith(f"users.csv line {broken} cannot be read")
    assert "fix the row" in unreadable
    assert cut_short.startswith(f"users.csv line {cut}: the file ends in the middle")
    assert "send the whole file again" in cut_short


def _users_cut_in_the_row_of(drop, sis_id: str) -> None:
    """users.csv cut just after `sis_id` (no line end): that row and every row after it are
    missing."""
    users = drop / "users.csv"
    data = users.read_bytes()
    users.write_bytes(data[: data.index(f"\n{sis_id},".encode()) + 1 + len(sis_id)])


def _users_as_changes_up_to(tiny, sis_id: str) -> None:
    """users.csv declared delta, carrying the rows before `sis_id`'s."""
    tiny.manifest["file.users"] = "delta"
    users = tiny.rows("users.csv")
    rows = users[: users.index(tiny.row("users.csv", sis_id))]
    for row in rows:
        row.update(status="active", dateLastModified="2026-12-01T06:00:00.000Z")
    tiny.files["users.csv"] = rows


@pytest.mark.parametrize("night", ["cut", "declared delta"])
def test_rows_may_name_the_directorys_users_on_a_night_users_csv_is_changes_only(sync, tiny, night):
    """A delta file speaks only for its rows: the people it does not name stay as they are,
    and rows may name them, as they may on a night users.csv is cut short and so read as
    changes only. (There, each enrollment, guardians.csv and attribute row naming someone
    after the cut was an ERROR, 'not a user in users.csv', and was not synced.)"""
    tiny.files["guardians.csv"] = [guardian_of("stu-8")]
    tiny.files["student_attributes.csv"] = [
        {"studentSourcedId": "stu-9", "name": "bus_route", "value": "12"}
    ]
    sync.apply(tiny)
    tiny.row("enrollments.csv", "enr-t3")["primary"] = "true"  # a change the row must bring
    if night == "declared delta":
        _users_as_changes_up_to(tiny, "stu-6")
    drop = tiny.write(sync.root)
    if night == "cut":
        _users_cut_in_the_row_of(drop, "stu-6")
    run = sync.plan(drop)
    assert run.status == "planned", run.error
    assert [i for i in sync.issues(run) if i["rule"] == "dangling_reference"] == []
    assert run.changes["enrollments"] == {**NOTHING, "update": 1}
    assert run.changes["guardian_links"] == run.changes["student_attributes"] == NOTHING


# ------------------------------------------- a row naming a held record is said so, and waits
# docs/file-formats.md: a record whose row has an error is not in the feed; every row naming it
# gets a WARNING and is not synced, and what is attached to it stays as it is. (A record that
# already existed was reached through it all the same, and its memberships changed silently.)


def _warning_for(sync, run, file_name: str, sourced_id: str) -> dict:
    return next(
        i for i in sync.issues(run) if i["file_name"] == file_name and i["sourced_id"] == sourced_id
    )


def test_a_changed_enrollment_of_a_student_in_error_is_not_synced(synced, tiny):
    tiny.row("users.csv", "stu-1")["givenName"] = ""
    tiny.row("enrollments.csv", "enr-1a")["beginDate"] = "2026-09-01"
    run = synced.plan(tiny)
    assert run.changes["enrollments"] == NOTHING
    warning = _warning_for(synced, run, "enrollments.csv", "enr-1a")
    assert (warning["severity"], warning["column_name"]) == ("WARNING", "userSourcedId")
    assert (
        "user 'stu-1' has an error (users.csv line 2), so this enrollment was not synced"
        in (warning["message"])
    )


def test_a_new_enrollment_of_a_student_in_error_is_not_made(synced, tiny):
    tiny.row("users.csv", "stu-1")["givenName"] = ""
    tiny.rows("enrollments.csv").append(
        dict(tiny.row("enrollments.csv", "enr-7a"), sourcedId="enr-1c", userSourcedId="stu-1")
    )
    run = synced.plan(tiny)
    assert run.changes["enrollments"] == NOTHING
    assert (
        "so this enrollment was not synced"
        in (_warning_for(synced, run, "enrollments.csv", "enr-1c")["message"])
    )


def test_the_unchanged_enrollments_of_a_student_in_error_say_so_too(synced, tiny):
    # the unchanged-row shortcut must not take a row the full path reports
    tiny.row("users.csv", "stu-1")["givenName"] = ""
    run = synced.plan(tiny)
    assert {
        i["sourced_id"]
        for i in synced.issues(run, "WARNING")
        if i["file_name"] == "enrollments.csv"
    } == {"enr-1a", "enr-1b"}


def test_a_link_to_a_student_in_error_is_not_made_as_its_warning_says(synced, tiny):
    tiny.row("users.csv", "stu-1")["givenName"] = ""
    tiny.row("users.csv", "gdn-2")["agentSourcedIds"] = "stu-2,stu-1"
    run = synced.plan(tiny)
    assert run.changes["guardian_links"] == NOTHING
    assert (
        "agent 'stu-1' has an error (users.csv line 2), so that link was not made"
        in (_warning_for(synced, run, "users.csv", "gdn-2")["message"])
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [("value", "14"), ("status", "tobedeleted")],
    ids=["changed", "tobedeleted"],
)
def test_an_attribute_of_a_student_in_error_is_kept_as_it_is(sync, tiny, column, value):
    tiny.files["student_attributes.csv"] = [
        {"studentSourcedId": "stu-1", "name": "bus_route", "value": "12", "status": "",
         "dateLastModified": ""}
    ]  # fmt: skip
    sync.apply(tiny)
    tiny.row("users.csv", "stu-1")["givenName"] = ""
    tiny.rows("student_attributes.csv")[0][column] = value
    run = sync.plan(tiny)
    assert run.changes["student_attributes"] == NOTHING
    assert (
        "so this attribute was not synced"
        in (_warning_for(sync, run, "student_attributes.csv", "stu-1")["message"])
    )


def test_a_tobedeleted_enrollment_of_a_student_without_its_key_is_kept_and_says_so(synced, tiny):
    synced.engine.settings_set("student_id", "identifier")
    tiny.row("users.csv", "stu-1")["identifier"] = ""
    tiny.row("enrollments.csv", "enr-1a")["status"] = "tobedeleted"
    run = synced.plan(tiny)
    assert run.changes["enrollments"] == NOTHING
    assert "has no identifier" in _warning_for(synced, run, "enrollments.csv", "enr-1a")["message"]
