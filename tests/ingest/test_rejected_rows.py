"""The ingest side of "a row in error never costs the record it names", for rows the reader rejects.

Each rejected row keeps its ERROR result and a row in `<entity>__rejected` with the values that
could be read reliably; when the row's key cannot be read, the file is refused instead."""

from __future__ import annotations

import shutil

import pytest

from daemon.ingest.load import MAX_RECORD_CHARS
from tests.ingest.reading import ingest_folder, line_text, rewrite_line


@pytest.fixture
def db(new_database):
    return new_database


@pytest.fixture
def folder(tiny, tmp_path):
    return tiny.write(tmp_path / "drops")


def _ingest(db, folder, tmp_path):
    return ingest_folder(db, folder, tmp_path / "work")


def test_a_clean_file_has_an_empty_rejected_table_with_every_staging_column(db, folder, tmp_path):
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.error is None
    assert outcome.rejected["users"] == []
    columns = [
        c
        for (c,) in db.rows(f"""SELECT column_name FROM duckdb_columns()
        WHERE table_name = 'run{outcome.run_id}_users__rejected' ORDER BY column_index""")
    ]
    staging = [
        c
        for (c,) in db.rows(f"""SELECT column_name FROM duckdb_columns()
        WHERE table_name = 'run{outcome.run_id}_users' ORDER BY column_index""")
    ]
    # but the row hash, which the people's staging keeps for planning (sync/unchanged.py)
    assert columns == [c for c in staging if c != "_h"] and columns[0] == "_line"


def test_entities_the_drop_lacks_have_empty_rejected_tables(db, folder, tmp_path):
    outcome = _ingest(db, folder, tmp_path)
    assert db.one(f'SELECT count(*) FROM "run{outcome.run_id}_guardians__rejected"') == 0


def test_a_row_one_value_short_is_rejected_with_its_key_and_references(db, folder, tmp_path):
    users = folder / "users.csv"
    line = rewrite_line(users, "stu-4,", line_text(users, "stu-4,").rsplit(",", 1)[0])
    outcome = _ingest(db, folder, tmp_path)
    row = outcome.only_rejected("users")
    assert row["_line"] == line and row["sourcedId"] == "stu-4"
    assert row["orgSourcedIds"] == "sch-a"
    assert row["role"] is None  # the lost value may be the role itself ("student" the username)
    assert "stu-4" not in outcome.staged_keys["users"]
    (issue,) = outcome.issues_at("users.csv", line)
    assert issue["severity"] == "ERROR" and issue["sourced_id"] == "stu-4"
    assert issue["rule"] == "column_count"


def test_a_value_lost_among_identifiers_leaves_them_all_unread(db, folder, tmp_path):
    enrollments = folder / "enrollments.csv"
    # enr-4a,,,cls-a1,sch-a,stu-4,student,,,  ->  schoolSourcedId lost: any of the three ids
    # (or the role) could be the one missing, so none of them is placed.
    line = rewrite_line(enrollments, "enr-4a,", "enr-4a,,,cls-a1,stu-4,student,,,")
    row = _ingest(db, folder, tmp_path).only_rejected("enrollments")
    assert row["_line"] == line and row["sourcedId"] == "enr-4a"
    assert row["classSourcedId"] is None and row["userSourcedId"] is None


def test_a_value_lost_at_the_end_keeps_every_identifier(db, folder, tmp_path):
    enrollments = folder / "enrollments.csv"
    line = rewrite_line(enrollments, "enr-4a,", "enr-4a,,,cls-a1,sch-a,stu-4,student,,")
    row = _ingest(db, folder, tmp_path).only_rejected("enrollments")
    assert row["_line"] == line
    assert (row["classSourcedId"], row["userSourcedId"], row["role"]) == (
        "cls-a1",
        "stu-4",
        "student",
    )


def test_five_thousand_extra_values_keep_the_key(db, folder, tmp_path):
    classes = folder / "classes.csv"
    text = line_text(classes, "cls-a2,") + "," + ",".join(["x"] * 5000)
    line = rewrite_line(classes, "cls-a2,", text)
    outcome = _ingest(db, folder, tmp_path)
    row = outcome.only_rejected("classes")
    assert row["_line"] == line and row["sourcedId"] == "cls-a2"
    assert row["classType"] == "scheduled"
    assert row["schoolSourcedId"] is None  # the extra values could sit before it
    assert outcome.issues_at("classes.csv", line)[0]["sourced_id"] == "cls-a2"


def test_an_unquoted_comma_in_a_name_keeps_the_values_before_it(db, folder, tmp_path):
    users = folder / "users.csv"
    line = rewrite_line(
        users, "stu-2,", line_text(users, "stu-2,").replace(",Ben,", ",Ben, Jr,", 1)
    )
    row = _ingest(db, folder, tmp_path).only_rejected("users")
    assert row["_line"] == line and row["sourcedId"] == "stu-2"
    assert row["orgSourcedIds"] == "sch-a" and row["role"] == "student"
    assert row["familyName"] is None  # the split could be in givenName or after it


def test_a_ten_megabyte_value_is_rejected_without_that_value(db, folder, tmp_path):
    users = folder / "users.csv"
    original = line_text(users, "stu-6,")
    line = rewrite_line(users, "stu-6,", original.replace(",Fay,", "," + "F" * 10_000_000 + ",", 1))
    outcome = _ingest(db, folder, tmp_path)
    row = outcome.only_rejected("users")
    assert row["_line"] == line and row["sourcedId"] == "stu-6"
    assert row["givenName"] is None and row["familyName"] == "Moreau"
    (issue,) = outcome.issues_at("users.csv", line)
    assert issue["rule"] == "value_too_long" and issue["column_name"] == "givenName"


def test_an_unclosed_quote_reports_every_line_it_swallows(db, folder, tmp_path):
    users = folder / "users.csv"
    lines = users.read_text().splitlines()
    opened = rewrite_line(users, "stu-3,", line_text(users, "stu-3,").replace(",Cleo,", ',"Cleo,'))
    outcome = _ingest(db, folder, tmp_path)
    swallowed = [line.split(",")[0] for line in lines[opened:]]
    rejected = outcome.rejected["users"]
    assert [r["sourcedId"] for r in rejected] == ["stu-3", *swallowed]
    assert [r["_line"] for r in rejected] == list(range(opened, len(lines) + 1))
    for r in rejected:
        (issue,) = outcome.issues_at("users.csv", r["_line"])
        assert issue["severity"] == "ERROR" and issue["sourced_id"] == r["sourcedId"]
    assert "never closed" in outcome.issues_at("users.csv", opened)[0]["message"]
    assert f"opened on line {opened}" in outcome.issues_at("users.csv", opened + 1)[0]["message"]
    assert outcome.staged_keys["users"] == [line.split(",")[0] for line in lines[1 : opened - 1]]


def test_a_quote_closed_by_a_stray_quote_rejects_only_the_lines_between(db, folder, tmp_path):
    users = folder / "users.csv"
    opened = rewrite_line(users, "stu-3,", line_text(users, "stu-3,").replace(",Cleo,", ',"Cleo,'))
    closed = rewrite_line(users, "stu-5,", line_text(users, "stu-5,").replace(",Eli,", ',E"li,'))
    outcome = _ingest(db, folder, tmp_path)
    assert [r["_line"] for r in outcome.rejected["users"]] == list(range(opened, closed + 1))
    assert [r["sourcedId"] for r in outcome.rejected["users"]] == ["stu-3", "stu-4", "stu-5"]
    assert "stu-6" in outcome.staged_keys["users"]


def test_a_row_whose_key_cannot_be_told_is_an_error_naming_its_line(db, folder, tmp_path):
    users = folder / "users.csv"
    line = rewrite_line(users, "stu-3,", '"stu-3,,,true,sch-a,student')
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.error is None
    opened = [i for i in outcome.issues if i["line"] == line and i["severity"] == "ERROR"]
    assert opened and all(i["sourced_id"] is None for i in opened), opened


def test_roles_rows_must_name_their_user(db, sample, tmp_path):

    drop = tmp_path / "drop12"
    shutil.copytree(sample / "oneroster12", drop)
    roles = drop / "roles.csv"
    first = roles.read_text().splitlines()[1]
    rewrite_line(roles, first.split(",")[0] + ",", first.rsplit(",", 1)[0])
    outcome = _ingest(db, drop, tmp_path)
    assert outcome.error is None, outcome.error
    row = outcome.only_rejected("roles")
    assert row["userSourcedId"] == first.split(",")[3]


# ---------------------------------------------- a file cut short: an upload that stopped mid-row
# docs/file-formats.md, "A file cut short": a file whose last row is short and has no line end
# was cut; nothing of that row counts (its key least of all), so the file speaks only for its
# other rows, whatever the types of its columns (enrollments.csv ends with dates, and its cut
# `enr-0` could be placed nowhere but in sourcedId).
_BULK_FILES = [
    ("day1", "users.csv"),
    ("day1", "classes.csv"),
    ("day1", "enrollments.csv"),
    ("day1", "orgs.csv"),
    ("day1", "academicSessions.csv"),
    ("day1", "courses.csv"),
    ("day1", "demographics.csv"),
    ("day1", "guardians.csv"),
    ("day1", "student_attributes.csv"),
    ("oneroster12", "roles.csv"),
]
_CUTS = {
    "in its first value": lambda row: row[:5],
    "halfway through the row": lambda row: row[: len(row) // 2],
}


def _cut_last_row(path, cut) -> int:
    """Cut the file inside its last row, as an upload that stopped there; returns its line."""
    data = path.read_bytes().rstrip(b"\r\n")
    start = data.rindex(b"\n") + 1
    path.write_bytes(data[:start] + cut(data[start:]))
    return data.count(b"\n") + 1


@pytest.mark.parametrize("cut", _CUTS.values(), ids=_CUTS.keys())
@pytest.mark.parametrize(("drop", "file"), _BULK_FILES, ids=[f for _, f in _BULK_FILES])
def test_a_file_cut_inside_its_last_row_is_read_as_changes_only(
    db, sample, tmp_path, drop, file, cut
):
    folder = tmp_path / "drop"
    shutil.copytree(sample / drop, folder)
    line = _cut_last_row(folder / file, cut)
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.error is None, outcome.error
    entity = file.removesuffix(".csv")
    assert outcome.untold[entity] is not None and outcome.untold[entity][0] == line
    row = outcome.only_rejected(entity)
    assert row["_line"] == line
    assert all(value is None for name, value in row.items() if name not in ("_line", "_rid"))


def _end_users_file_with(folder, text: str, then: bytes = b"") -> int:
    """users.csv ends with `text` in place of its last row, then the bytes `then`, with no line
    end; returns its line."""
    users = folder / "users.csv"
    lines = users.read_text().rstrip("\n").split("\n")
    users.write_bytes("\n".join([*lines[:-1], text]).encode() + then)
    return len(lines)


def test_a_file_cut_inside_a_quoted_value_is_read_as_changes_only(db, folder, tmp_path):
    line = _end_users_file_with(folder, 'tch-2,,,true,sch-b,teacher,omar.reyes,,"Om')
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.untold["users"] is not None and outcome.untold["users"][0] == line
    assert outcome.only_rejected("users")["sourcedId"] is None
    (issue,) = outcome.issues_at("users.csv", line)
    assert issue["rule"] == "file_cut" and issue["column_name"] == "givenName"


# A file cut inside a character: its last bytes begin a multi-byte UTF-8 character and end there.
_CUT_CHARACTERS = {
    "in a short row": ("tch-2,,,true,sch-b,teacher,omar.reyes,,R", "é", "givenName"),
    "in a quoted value": ('tch-2,,,true,sch-b,teacher,omar.reyes,,"R', "€", "givenName"),
    # every value there: only the character tells the cut (`P` would be read as a whole value)
    "in the last value of a whole row": (
        "tch-2,,,true,sch-b,teacher,omar.reyes,,Omar,Reyes,,,oreyes@example.org,,,,,P",
        "é",
        "password",
    ),
    "opening a new row": ("", "é", "sourcedId"),
}


@pytest.mark.parametrize(
    ("row", "character", "column"), _CUT_CHARACTERS.values(), ids=_CUT_CHARACTERS
)
def test_a_file_cut_inside_a_character_is_read_as_changes_only(
    db, tiny, tmp_path, row, character, column
):
    """The incomplete character belongs to the cut last row: the file is UTF-8 and was cut,
    not a file mixing encodings (it was refused so, never saying it was cut)."""
    tiny.row("users.csv", "stu-6")["familyName"] = "Moréau"
    folder = tiny.write(tmp_path / "drops")
    line = _end_users_file_with(folder, row, character.encode()[:-1])
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.error is None, outcome.error
    assert outcome.untold["users"] is not None and outcome.untold["users"][0] == line
    assert outcome.only_rejected("users")["sourcedId"] is None
    (issue,) = outcome.issues_at("users.csv", line)
    assert (issue["rule"], issue["column_name"]) == ("file_cut", column)
    assert "inside a character" in issue["message"]
    assert not [i for i in outcome.issues if i["rule"] == "encoding"]


def test_a_file_cut_in_a_line_longer_than_a_row_may_be_is_read_as_changes_only(
    db, folder, tmp_path
):
    """However long the row it ends in: past the 16 MB a row may hold, the line is not read to
    its end, yet no line end ever came. (It was read as a row too long, its key placed from the
    values before the limit, and the file read whole.)"""
    long_name = "O" + "m" * MAX_RECORD_CHARS
    line = _end_users_file_with(folder, f"tch-2,,,true,sch-b,teacher,omar.reyes,,{long_name}")
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.untold["users"] is not None and outcome.untold["users"][0] == line
    assert outcome.only_rejected("users")["sourcedId"] is None
    (issue,) = outcome.issues_at("users.csv", line)
    assert (issue["rule"], issue["column_name"]) == ("file_cut", "givenName")
    assert "longer than the 16 MB a row may hold" in issue["message"]


def test_a_file_cut_in_a_quoted_value_after_its_line_break_counts_no_line_of_it(
    db, folder, tmp_path
):
    """The line the cut lies on is read on its own (it lies in the quoted value), and is cut."""
    line = _end_users_file_with(folder, 'tch-2,,,true,sch-b,teacher,omar.reyes,,"Omar\nstu-')
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.untold["users"] is not None and outcome.untold["users"][0] == line
    rejected = outcome.rejected["users"]
    assert [(r["_line"], r["sourcedId"]) for r in rejected] == [(line, None), (line + 1, None)]


def test_a_file_cut_at_a_line_end_is_a_whole_shorter_file(db, folder, tmp_path):
    """Nothing in it is cut: the deletion threshold (and the ready marker) judge what it leaves
    out, as for any shorter export."""
    users = folder / "users.csv"
    users.write_text("\n".join(users.read_text().split("\n")[:-4]) + "\n")
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.untold["users"] is None and outcome.rejected["users"] == []


def test_a_last_row_of_full_width_without_a_line_end_is_read_as_sent(db, folder, tmp_path):
    """A cut inside the last value of a whole row cannot be told from that value: the row is
    read, and its value checked by its column (`2026-0` is no date: a WARNING, not used)."""
    enrollments = folder / "enrollments.csv"
    text = enrollments.read_text().rstrip("\n")
    enrollments.write_text(text + "2026-0")  # the last row's endDate, cut short
    outcome = _ingest(db, folder, tmp_path)
    assert outcome.untold["enrollments"] is None
    assert outcome.staged_keys["enrollments"][-1] == "enr-10a"
    last = text.count("\n") + 1
    (issue,) = outcome.issues_at("enrollments.csv", last)
    assert (issue["severity"], issue["column_name"]) == ("WARNING", "endDate")
