"""A key sent twice in one file: every later row is an ERROR naming the first line, whatever the
mixture of keys, empty ids and readers. The check finds candidates by sorting the keys' hashes
(ingest/validate.py); here its result is compared with the plain reading of the rule."""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.db import Database
from daemon.ingest import load
from tests.district import TinyDistrict
from tests.ingest.reading import ingest_folder

_FOLDERS = itertools.count(1)
# Few distinct ids, so repeats are common; spaces around an id are trimmed as the sync reads it.
_IDS = ["a", "b", "c", " a", "b ", ""]


def _repeated_key_issues(
    db: Database, tmp_path: Path, file: str, rows: list[dict[str, str]], careful: bool
) -> list[tuple[int, str]]:
    """(line, message) of each duplicate_id issue ingest reports for `file` of a tiny drop whose
    rows of that file are `rows` (the careful reader when asked)."""
    tiny = TinyDistrict()
    tiny.files[file] = rows
    folder = tmp_path / f"drop{next(_FOLDERS)}"
    fast_reader = mock.patch.object(load, "_read_clean_file_with_duckdb", lambda *a: False)
    with fast_reader if careful else contextlib.nullcontext():
        outcome = ingest_folder(db, tiny.write(folder / "drop"), folder / "work")
    assert outcome.error is None, outcome.error
    return [
        (i["line"], i["message"])
        for i in outcome.issues
        if i["rule"] == "duplicate_id" and i["file_name"] == file
    ]


def _expected(keys: list[tuple[str, ...]]) -> list[tuple[int, int]]:
    """(line, first line) of every row whose key (trimmed; an empty first part is no key) was
    sent on an earlier line."""
    first: dict[tuple[str, ...], int] = {}
    found = []
    for line, key in enumerate(keys, start=2):
        key = tuple(part.strip() for part in key)
        if not key[0]:
            continue
        if key in first:
            found.append((line, first[key]))
        else:
            first[key] = line
    return found


def _check(got: list[tuple[int, str]], expected: list[tuple[int, int]]) -> None:
    assert [line for line, _ in got] == [line for line, _ in expected]
    for (_, message), (_, first) in zip(got, expected, strict=True):
        assert f"(first on line {first}); this row was skipped" in message


_SETTINGS = settings(
    max_examples=int(os.environ.get("REPEATED_KEY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@_SETTINGS
@given(ids=st.lists(st.sampled_from(_IDS), min_size=1, max_size=12), careful=st.booleans())
def test_each_later_row_of_a_repeated_sourced_id_is_an_error(new_database, tmp_path, ids, careful):
    template = TinyDistrict().rows("enrollments.csv")[0]
    rows = [{**template, "sourcedId": i, "userSourcedId": f"stu-{n}"} for n, i in enumerate(ids)]
    got = _repeated_key_issues(new_database, tmp_path, "enrollments.csv", rows, careful)
    _check(got, _expected([(i,) for i in ids]))


@_SETTINGS
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from(_IDS), st.sampled_from(["s1", "s2", ""])),
        min_size=1,
        max_size=12,
    ),
    careful=st.booleans(),
)
def test_each_later_row_of_a_repeated_guardian_and_student_is_an_error(
    new_database, tmp_path, pairs, careful
):
    row = {"relationship": "parent", "givenName": "Pat", "familyName": "Doe"}
    rows = [{**row, "sourcedId": g, "studentSourcedId": s} for g, s in pairs]
    got = _repeated_key_issues(new_database, tmp_path, "guardians.csv", rows, careful)
    _check(got, _expected(pairs))
