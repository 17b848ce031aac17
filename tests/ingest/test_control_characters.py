"""A value holding a control character is a row ERROR naming file, line, column and character.

An escape sequence from a drop, shown on an administrator's terminal, recolours it, moves the
cursor, retitles the window or writes the clipboard (OSC 52): such a value is never stored, and
the record its row names is kept as it is. TAB, LF and CR are ordinary text and pass. Only files
whose bytes hold a control character pay for the check (daemon/formats/drop.py counts them)."""

from __future__ import annotations

import re
import unicodedata
from types import SimpleNamespace

import duckdb
import pytest

from daemon.db import sql_literal
from daemon.formats import drop as drop_module
from daemon.formats.controls import (
    CONTROL_CHARACTER_PATTERN,
    control_name,
    count_control_bytes,
)
from daemon.formats.drop import DropFile, hash_file
from daemon.ingest import load
from daemon.ingest.validate import _may_hold_invisible
from daemon.ingest.value_rules import INVISIBLE_IN_ID_PATTERN
from tests.ingest.reading import ingest_folder

HOSTILE = "Cl\x1b[31mRED\x1b[0maire\x1b]0;PWNED\x07"
ESC_MESSAGE = "givenName contains a control character (ESC, U+001B)"


@pytest.fixture
def db(new_database):
    return new_database


def _controls(issues: list[dict]) -> list[dict]:
    return [i for i in issues if i["rule"] == "control_character"]


def test_an_escape_in_a_name_is_an_error_and_the_record_keeps_its_name(sync, tiny, tiny_applied):
    tiny.row("users.csv", "stu-2")["givenName"] = HOSTILE
    run = sync.plan(tiny)
    [issue] = _controls(sync.issues(run))
    assert issue["severity"] == "ERROR"
    assert issue["column_name"] == "givenName"
    assert issue["sourced_id"] == "stu-2"
    assert issue["message"] == f"users.csv line 3: {ESC_MESSAGE}"
    assert run.rows.error == 1
    sync.apply_planned(run)
    assert sync.user("stu-2")["given_name"] == "Ben"
    assert "\x1b" not in str(sync.engine.db.rows("SELECT * FROM users"))


def test_a_new_record_with_an_escape_is_not_created(sync, tiny):
    tiny.row("users.csv", "stu-2")["givenName"] = HOSTILE
    sync.apply(tiny)
    assert sync.engine.db.one("SELECT count(*) FROM users WHERE sis_id = 'stu-2'") == 0
    assert sync.engine.db.one("SELECT count(*) FROM users WHERE given_name LIKE '%RED%'") == 0


@pytest.mark.parametrize(
    "character", ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b"]
)
def test_every_control_is_named(character, db, tiny, tmp_path):
    tiny.row("users.csv", "stu-4")["middleName"] = f"a{character}b"
    outcome = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    [issue] = _controls(outcome.issues)
    assert issue["column_name"] == "middleName"
    assert issue["message"].endswith(
        f"middleName contains a control character ({control_name(character)})"
    )


def test_a_column_no_rule_reads_is_checked_too(db, tiny, tmp_path):
    """Unknown columns are kept, and screens may show them: they get the rule as well."""
    for row in tiny.rows("users.csv"):
        row["locker"] = "12"
    tiny.row("users.csv", "stu-4")["locker"] = "\x1b]52;c;cm0gLXJmIC8K\x07"
    outcome = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    [issue] = _controls(outcome.issues)
    assert issue["column_name"] == "locker"
    assert "(ESC, U+001B)" in issue["message"]


@pytest.mark.parametrize("character", ["\x00", "\x1b"])
def test_an_id_holding_a_control_gets_one_error(character, db, tiny, tmp_path):
    """An id's invisible-character rule names every control but NUL; NUL is named here."""
    tiny.row("enrollments.csv", "enr-4a")["userSourcedId"] = f"stu-4{character}"
    outcome = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    rules = {"control_character", "invisible_character"}
    found = [i for i in outcome.issues if i["rule"] in rules]
    assert len(found) == 1 and found[0]["column_name"] == "userSourcedId"


def test_tab_and_line_breaks_in_quoted_values_pass(db, tiny, tmp_path):
    tiny.row("users.csv", "stu-4")["givenName"] = "Dev\tRaj"
    tiny.row("users.csv", "stu-5")["middleName"] = "line one\nline two"
    tiny.row("classes.csv", "cls-a1")["location"] = "Room 4\r\nNorth wing"
    outcome = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    assert outcome.error is None
    assert [i for i in outcome.issues if i["severity"] == "ERROR"] == []


def test_printable_characters_beside_the_controls_pass(db, tiny, tmp_path):
    """U+00A0 follows the C1 controls, U+007E precedes DEL: neither is one."""
    tiny.row("users.csv", "stu-4")["middleName"] = "a\u00a0b~c\u00e9\u20ac"
    outcome = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    assert _controls(outcome.issues) == []


@pytest.mark.parametrize("careful", [False, True], ids=["fast reader", "careful reader"])
def test_both_readers_report_it_alike(careful, db, tiny, tmp_path, monkeypatch):
    """The careful reader takes a file with a quoted line break (after the row, so that the
    row's line is the same); it reports the control character as the fast reader does."""
    tiny.row("users.csv", "stu-2")["givenName"] = HOSTILE
    if careful:
        tiny.row("users.csv", "stu-9")["middleName"] = "a\nb"
    paths: list[bool] = []
    stage = load.stage_file

    def spy(*args, **kwargs):
        staged = stage(*args, **kwargs)
        if staged.entity == "users":
            paths.append(staged.careful_path)
        return staged

    monkeypatch.setattr("daemon.ingest.stage_file", spy)
    outcome = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    assert paths == [careful]
    found = [(i["line"], i["column_name"], i["sourced_id"], i["message"]) for i in outcome.issues]
    assert found == [(3, "givenName", "stu-2", f"users.csv line 3: {ESC_MESSAGE}")]


def test_a_windows_1252_file_is_checked_after_its_conversion(db, tiny, tmp_path):
    """Bytes 0x80-0x9f are printable characters in Windows-1252 (0x85 is an ellipsis, 0x80 the
    euro sign): no error; a C0 control is the same byte in both encodings: an error."""
    tiny.row("users.csv", "stu-2")["givenName"] = HOSTILE
    tiny.row("users.csv", "stu-3")["middleName"] = "\u20ac\u2026\u00e9"
    folder = tiny.write(tmp_path / "drops")
    users = folder / "users.csv"
    users.write_bytes(users.read_text(encoding="utf-8").encode("cp1252"))
    outcome = ingest_folder(db, folder, tmp_path / "work")
    assert outcome.error is None
    assert any(i["rule"] == "encoding" for i in outcome.issues)
    found = [(i["line"], i["column_name"], i["message"]) for i in _controls(outcome.issues)]
    assert found == [(3, "givenName", f"users.csv line 3: {ESC_MESSAGE}")]


def test_a_row_remembered_before_the_rule_is_checked_again(db, tiny, tmp_path, monkeypatch):
    """An older version (no rule) remembered the row as passing its checks (ingest/row_memo.py):
    the rule changes the checks' SQL, hence the memory's context, so the row is checked."""
    tiny.row("users.csv", "stu-2")["givenName"] = HOSTILE
    with monkeypatch.context() as older_version:
        older_version.setattr(drop_module, "count_control_bytes", lambda chunk: 0)
        before = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    assert _controls(before.issues) == []
    assert before.value_checked["users"] == len(tiny.rows("users.csv"))
    outcome = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    assert outcome.value_checked["users"] == len(tiny.rows("users.csv"))
    [issue] = _controls(outcome.issues)
    assert issue["sourced_id"] == "stu-2"
    again = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    assert [i["sourced_id"] for i in _controls(again.issues)] == ["stu-2"]


def test_a_clean_file_pays_nothing(db, tiny, tmp_path):
    """Without a control character in its bytes, a file's checks are those of before the rule:
    the same file again checks no row (what was remembered stays usable)."""
    ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    again = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    assert again.value_checked["users"] == 0


# ---------------------------------------------------------------------------- the count
def _counted(tmp_path, data: bytes) -> int | None:
    path = tmp_path / "users.csv"
    path.write_bytes(data)
    file = DropFile(path.name, path, "users", len(data))
    hash_file(file)
    return file.control_count


def test_the_hashing_pass_counts_control_characters(tmp_path):
    text = "a,b\n\x00,\x1b[31m\n\x7f,\x85\n\t,\r\n\u00a0,\u00e9\u20ac\n"
    assert _counted(tmp_path, text.encode()) == 4


def test_a_c1_control_across_two_chunks_is_counted_once(tmp_path):
    data = b"a" * ((1 << 20) - 1) + "\x9b".encode() + b"b" * 10
    assert data[(1 << 20) - 1 : (1 << 20)] == b"\xc2"
    assert _counted(tmp_path, data) == 1
    assert _counted(tmp_path, b"a" * ((1 << 20) - 1) + "\u00a0".encode()) == 0


def test_the_byte_count_and_the_sql_pattern_agree_on_every_character():
    """One definition: the bytes counted, Python's pattern and DuckDB's agree."""
    codes = [*range(0x0, 0x800), 0x2028, 0x202E, 0xFEFF, 0xFFFD, 0x1F600]
    con = duckdb.connect()
    in_sql = dict(
        con.execute(
            f"SELECT c, regexp_matches(chr(c), {sql_literal(CONTROL_CHARACTER_PATTERN)}) "
            "FROM unnest(?) t(c)",
            [codes],
        ).fetchall()
    )
    for code in codes:
        character = chr(code)
        expected = (code < 0x20 and character not in "\t\n\r") or 0x7F <= code <= 0x9F
        assert (re.fullmatch(CONTROL_CHARACTER_PATTERN, character) is not None) == expected
        assert count_control_bytes(character.encode()) == expected, hex(code)
        assert in_sql[code] == expected, hex(code)


# ------------------------------------------------------------- invisible characters in ids
@pytest.mark.parametrize("character", ["\t", "\n", "\r\n", "\u00a0", "\u200b", "\u202e", "\ufeff"])
def test_an_id_holding_an_invisible_character_is_an_error_in_a_file_without_controls(
    character, db, tiny, tmp_path
):
    """The invisible-character rule matches its pattern only on values a cheap test lets
    through (validate._may_hold_invisible): a file without control bytes still has each found."""
    tiny.row("enrollments.csv", "enr-4a")["userSourcedId"] = f"stu{character}4"
    outcome = ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")
    found = [i for i in outcome.issues if i["rule"] == "invisible_character"]
    assert [(i["line"], i["column_name"]) for i in found] == [(11, "userSourcedId")]


# Unicode's Default_Ignorable_Code_Point, as DerivedCoreProperties.txt lists it (15.1; the
# ranges are those of 14.0 too), adjacent ranges joined.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
# Every code point a string may hold (surrogates are not characters of UTF-8 text).
EVERY_CODE_POINT = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def _meant_invisible_in_an_id(code: int) -> bool:
    """What an id may not hold: a control, a format character (zero-width characters, the
    bidi controls, tags...), a space other than the ASCII one, or a default-ignorable one."""
    character = chr(code)
    return (
        unicodedata.category(character) in ("Cc", "Cf")
        or (character.isspace() and character != " ")
        or any(low <= code <= high for low, high in DEFAULT_IGNORABLE)
    )


def _matched_in_sql(pattern: str, codes: list[int]) -> set[int]:
    rows = duckdb.connect().execute(
        f"SELECT c FROM unnest(?) t(c) WHERE regexp_matches(chr(c), {sql_literal(pattern)})",
        [codes],
    )
    return {code for (code,) in rows.fetchall()}


def test_the_id_pattern_matches_exactly_the_invisible_characters_over_all_of_unicode():
    """Walks every code point: DuckDB's RE2 and Python's `re` both match exactly the characters
    meant (a bidi control or a tag character missing let a look-alike id pass for another)."""
    meant = {code for code in EVERY_CODE_POINT if _meant_invisible_in_an_id(code)}
    in_python = {c for c in EVERY_CODE_POINT if re.match(INVISIBLE_IN_ID_PATTERN, chr(c))}
    assert sorted(_not_yet_assigned(in_python ^ meant)) == []
    in_sql = _matched_in_sql(INVISIBLE_IN_ID_PATTERN, EVERY_CODE_POINT)
    assert sorted(_not_yet_assigned(in_sql ^ meant)) == []


def _not_yet_assigned(codes: set[int]) -> set[int]:
    """`codes` without those unassigned in this Python's Unicode: the pattern holds the format
    characters of later versions too (U+13439-1343F, Unicode 15: Python 3.12 has them, 3.11
    not), so that an id reads the same whichever Python runs it."""
    return {c for c in codes if unicodedata.category(chr(c)) != "Cn"}


@pytest.mark.parametrize("tabs_or_breaks", [True, False])
def test_the_cheap_test_lets_through_every_invisible_character_but_a_control(tabs_or_breaks):
    """Every character the pattern matches passes the cheap test, in a file without control
    bytes (where TAB, LF and CR are told apart by the reader: `may_hold_tabs_or_breaks`), over
    the whole code space."""
    invisible = _matched_in_sql(INVISIBLE_IN_ID_PATTERN, EVERY_CODE_POINT)
    staged = SimpleNamespace(may_hold_tabs_or_breaks=tabs_or_breaks)
    test = _may_hold_invisible(SimpleNamespace(has_controls=False, staged=staged), "v")
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT c, {test} FROM (SELECT c, 'id-' || chr(c) || '-1' AS v FROM unnest(?) t(c))""",
        [sorted(invisible)],
    ).fetchall()
    assert len(rows) == len(invisible) > 4000
    for code, passes in rows:
        control = count_control_bytes(chr(code).encode()) > 0
        tab_or_break = chr(code) in "\t\n\r"
        if not control and (tabs_or_breaks or not tab_or_break):
            assert passes, hex(code)
