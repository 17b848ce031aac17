"""The bound before scoring (scoring.bound_pairs) only saves time: it lets through every pair
the guard allows whose points reach the threshold, so scoring the pairs it lets through finds
exactly what scoring every compared pair finds, over generated districts (families, twins,
namesakes, injected duplicates of every kind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.duplicates.dataset import build
from daemon.db import Database
from daemon.duplicates import people, scoring
from daemon.duplicates.nicknames import load_nicknames

STUDENTS = 2000


def _scored(db: Database, kind: str, threshold: int, bounded: bool) -> set[tuple]:
    if bounded:
        scoring.score_pairs(db, kind, threshold, best=False)
    else:
        db.execute(
            f"CREATE OR REPLACE TEMP TABLE {scoring.SCORED} AS {scoring.scored_sql(kind, threshold)}"
        )
    return set(
        db.rows(
            f"""SELECT a, b, points, CAST(evidence AS VARCHAR), CAST(field_points AS VARCHAR)
                FROM {scoring.SCORED}"""
        )
    )


def _compared_pairs(db: Database) -> int:
    """The scan's steps up to its compared pairs (their number), as `duplicates scan` runs them."""
    load_nicknames(db)
    people.source_hashes(db)
    people.build_people(db)
    people.build_keys(db)
    return people.build_pairs(db)


def _both_ways(db: Database, threshold: int) -> dict[str, tuple[set, set]]:
    """Students then guardians (with their children's duplicates), scored with and without
    the bound."""
    _compared_pairs(db)
    students = (_scored(db, "student", threshold, False), _scored(db, "student", threshold, True))
    people.add_student_clusters(db, scoring.SCORED)
    guardians = (
        _scored(db, "guardian", threshold, False),
        _scored(db, "guardian", threshold, True),
    )
    return {"student": students, "guardian": guardians}


@pytest.fixture(scope="module", params=[3, 8])
def district(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("district") / "directory.duckdb"
    with Database(path) as db:
        build(db, STUDENTS, request.param)
    return path


@pytest.mark.parametrize("threshold", [8, scoring.THRESHOLD])
def test_scoring_the_bounded_pairs_finds_what_scoring_every_pair_finds(
    district, tmp_path, threshold
):
    path = tmp_path / "directory.duckdb"
    path.write_bytes(district.read_bytes())
    with Database(path) as db:
        for kind, (every_pair, bounded) in _both_ways(db, threshold).items():
            assert every_pair, kind  # there is something to find at this threshold
            assert bounded == every_pair, kind


def test_the_bound_lets_through_few_of_the_compared_pairs(district, tmp_path):
    path = tmp_path / "directory.duckdb"
    path.write_bytes(district.read_bytes())
    with Database(path) as db:
        compared = _compared_pairs(db)
        kept = scoring.bound_pairs(db, "student") + scoring.bound_pairs(db, "guardian")
        assert kept < compared / 4


def test_every_pair_the_guard_allows_passes_the_bound_at_its_own_points(district, tmp_path):
    """Each compared pair, at a threshold of exactly its points: the bound is never below the
    points the scoring gives, field by field."""
    path = tmp_path / "directory.duckdb"
    path.write_bytes(district.read_bytes())
    with Database(path) as db:
        _compared_pairs(db)
        for kind in ("student", "guardian"):
            if kind == "guardian":
                scoring.score_pairs(db, "student", best=False)
                people.add_student_clusters(db, scoring.SCORED)
            by_points: dict[int, set] = {}
            for a, b, points in db.rows(
                f"""SELECT a, b, points FROM ({scoring.scored_sql(kind, 0, all_rows=True)})
                    WHERE NOT guarded"""
            ):
                by_points.setdefault(int(points), set()).add((a, b))
            assert len(by_points) > 5, kind
            for points, pairs in sorted(by_points.items()):
                scoring.bound_pairs(db, kind, points)
                kept = set(db.rows(f"SELECT a, b FROM {scoring.BOUNDED}"))
                assert pairs <= kept, (kind, points, sorted(pairs - kept)[:5])


def test_lists_that_share_a_value_have_masks_that_share_a_bit(tmp_path):
    """The first bounds read a student's guardians' contacts and names as bit masks
    (scoring._mask): a value in common always shows (the bound stays at or above the points),
    and most lists with nothing in common are told apart (the bound saves time)."""
    with Database(tmp_path / "masks.duckdb") as db:
        db.execute(
            """CREATE TABLE lists AS
               SELECT i AS id, 'student' AS kind,
                      list_transform(range(1 + i % 6), lambda j: 'p' || ((i * 7919 + j * 104729) % 5000))
                          AS fam
               FROM range(600) t(i)"""
        )
        db.execute(
            f"""CREATE TABLE masks AS
                SELECT id, fam, {scoring._mask("fam", 128)} AS m1,
                       {scoring._mask("fam", 128, part=1)} AS m2,
                       {scoring._mask("fam", 64)} AS n1
                FROM lists"""
        )
        rows = db.rows(
            """SELECT list_has_any(a.fam, b.fam) AS shared,
                      (a.m1 & b.m1) <> 0 AND (a.m2 & b.m2) <> 0 AS both,
                      (a.n1 & b.n1) <> 0 AS small
               FROM masks a JOIN masks b ON a.id < b.id"""
        )
    shared = [r for r in rows if r[0]]
    apart = [r for r in rows if not r[0]]
    assert shared and apart
    assert all(both and small for _, both, small in shared)
    assert sum(both for _, both, _ in apart) < 0.1 * len(apart)
