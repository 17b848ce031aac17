"""Value checks run once per row content (daemon/ingest/row_memo.py): a row that passed them is
not checked again by a later run of the same checks, and that never changes what a run reports."""

from __future__ import annotations

import pytest

from tests.ingest.reading import ingest_folder


@pytest.fixture
def db(new_database):
    return new_database


def _ingest(db, tiny, tmp_path):
    return ingest_folder(db, tiny.write(tmp_path / "drops"), tmp_path / "work")


def _rules_at(outcome, file_name: str, sourced_id: str) -> list[str]:
    return sorted(
        i["rule"]
        for i in outcome.issues
        if i["file_name"] == file_name and i["sourced_id"] == sourced_id
    )


def test_the_first_run_checks_every_row(db, tiny, tmp_path):
    outcome = _ingest(db, tiny, tmp_path)
    assert outcome.value_checked["users"] == len(tiny.rows("users.csv"))


def test_the_same_file_again_checks_no_row(db, tiny, tmp_path):
    _ingest(db, tiny, tmp_path)
    assert _ingest(db, tiny, tmp_path).value_checked["users"] == 0


def test_only_a_changed_row_is_checked_again_even_when_lines_move(db, tiny, tmp_path):
    _ingest(db, tiny, tmp_path)
    users = tiny.rows("users.csv")
    users.reverse()
    tiny.row("users.csv", "stu-2")["givenName"] = "Robin"
    assert _ingest(db, tiny, tmp_path).value_checked["users"] == 1


def test_a_row_whose_value_turned_bad_is_reported(db, tiny, tmp_path):
    _ingest(db, tiny, tmp_path)
    tiny.row("users.csv", "stu-1")["enabledUser"] = "yes"
    assert _rules_at(_ingest(db, tiny, tmp_path), "users.csv", "stu-1") == ["boolean"]


def test_a_row_with_a_warning_is_warned_again_the_next_night(db, tiny, tmp_path):
    tiny.rows("demographics.csv")[0]["birthDate"] = "03/07/2015"
    first = _ingest(db, tiny, tmp_path)
    sourced_id = tiny.rows("demographics.csv")[0]["sourcedId"]
    assert _rules_at(first, "demographics.csv", sourced_id) == ["date"]
    again = _ingest(db, tiny, tmp_path)
    assert _rules_at(again, "demographics.csv", sourced_id) == ["date"]
    assert again.value_checked["demographics"] == 1


def test_other_checks_do_not_use_what_was_remembered(db, tiny, tmp_path):
    """A file that now holds a NUL byte adds a check to every column: every row is checked."""
    _ingest(db, tiny, tmp_path)
    tiny.row("users.csv", "stu-1")["middleName"] = "a\x00b"
    outcome = _ingest(db, tiny, tmp_path)
    assert outcome.value_checked["users"] == len(tiny.rows("users.csv"))
    assert "control_character" in _rules_at(outcome, "users.csv", "stu-1")


def test_the_full_path_hook_checks_every_row(db, tiny, tmp_path, monkeypatch):
    _ingest(db, tiny, tmp_path)
    monkeypatch.setenv("ROSTER_SYNC_FULL_PATH", "1")
    assert _ingest(db, tiny, tmp_path).value_checked["users"] == len(tiny.rows("users.csv"))
