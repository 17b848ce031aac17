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
