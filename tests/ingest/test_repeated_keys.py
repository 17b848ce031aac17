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
from daemon.formats.drop import DropFile, hash_file
from daemon.formats.spec import ENROLLMENTS, GUARDIANS, FileSpec
from daemon.ingest import load
from daemon.ingest.validate import FileContext, Validator

_RUN_IDS = itertools.count(960_001)
# Few distinct ids, so repeats are common; spaces around an id are trimmed as the sync reads it.
_IDS = ["a", "b", "c", " a", "b ", ""]


def _repeated_key_issues(
    db: Database,
    folder: Path,
    spec: FileSpec,
    header: list[str],
    rows: list[list[str]],
    careful: bool,
) -> list[tuple[int, str]]:
    """(line, message) of each duplicate_id issue the validator reports for the file."""
    path = folder / f"{spec.entity}.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    file = DropFile(path.name, path, spec.entity, path.stat().st_size)
    hash_file(file)
    run_id = next(_RUN_IDS)
    fast_reader = mock.patch.object(load, "_read_clean_file_with_duckdb", lambda *a: False)
    with fast_reader if careful else contextlib.nullcontext():
        staged = load.stage_file(db, run_id, file, spec, folder / "work")
    context = FileContext(staged, spec, "bulk")
    Validator(db, run_id, {spec.entity: context}, lambda entity: None).run()
    return sorted(
        (int(line), message)
        for line, message in db.rows(
            "SELECT line, message FROM row_issues WHERE run_id = ? AND rule = 'duplicate_id'",
            [run_id],
        )
    )


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
    header = ["sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"]
    rows = [[i, "cls-a", "sch-a", f"stu-{n}", "student"] for n, i in enumerate(ids)]
    folder = tmp_path / f"e{next(_RUN_IDS)}"
    folder.mkdir()
    got = _repeated_key_issues(new_database, folder, ENROLLMENTS, header, rows, careful)
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
    header = ["sourcedId", "studentSourcedId", "relationship", "givenName", "familyName"]
    rows = [[g, s, "parent", "Pat", "Doe"] for g, s in pairs]
    folder = tmp_path / f"g{next(_RUN_IDS)}"
    folder.mkdir()
    got = _repeated_key_issues(new_database, folder, GUARDIANS, header, rows, careful)
    _check(got, _expected(pairs))
