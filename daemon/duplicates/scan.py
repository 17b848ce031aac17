"""Finding duplicate candidates: after each applied run and on demand.

A scan rebuilds the candidate set from scratch (set-based, a few seconds per million people)
and reconciles it with the stored candidates: a pair found again keeps its id and decision, a
new pair is added as open, an open or skipped pair no longer found goes away. Decided pairs
(merged, rejected) are history and stay. Scanning writes only the candidate table: it is not a
directory change, so it bumps no version and supersedes no plan.
"""

from __future__ import annotations

import time
from typing import Any

from daemon.db import Database
from daemon.duplicates import people, scoring
from daemon.duplicates.nicknames import load_nicknames

_TEMP_TABLES = (
    people.PEOPLE,
    people.KEYS,
    people.PAIRS,
    people.FREQ,
    scoring.SCORED,
    "dup_nick",
    "dup_nick_parent",
    "dup_base",
    "dup_people_next",
)


def scan(db: Database, threshold: int = scoring.THRESHOLD) -> dict[str, Any]:
    """Recompute candidates; returns counts and the time each step took."""
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[name] = round(now - started, 3)
        started = now

    for table in _TEMP_TABLES:
        db.execute(f"DROP TABLE IF EXISTS temp.{table}")
    try:
        with db.unordered():
            load_nicknames(db)
            n_people = people.build_people(db)
            people.build_frequencies(db)
            step("people")
            n_keys = people.build_keys(db)
            step("keys")
            n_pairs = people.build_pairs(db)
            step("pairs")
            found = scoring.score_pairs(db, "student", threshold)
            people.add_student_clusters(db, scoring.SCORED)
            found += scoring.score_pairs(db, "guardian", threshold, append=True)
            step("score")
        with db.transaction():
            counts = _reconcile(db)
        step("store")
    finally:
        for table in _TEMP_TABLES:
            db.execute(f"DROP TABLE IF EXISTS temp.{table}")
    return {
        "people": n_people,
        "keys": n_keys,
        "pairs_compared": n_pairs,
        "found": found,
        **counts,
        "seconds": round(sum(timings.values()), 3),
        "timings": timings,
    }


def _reconcile(db: Database) -> dict[str, Any]:
    scored = scoring.SCORED
    db.execute(
        f"""
        UPDATE duplicate_candidates SET score = s.score, points = s.points, evidence = s.evidence,
               field_points = s.field_points, last_seen_at = current_timestamp
        FROM {scored} s
        WHERE duplicate_candidates.left_id = s.a AND duplicate_candidates.right_id = s.b
        """
    )
    gone = int(
        db.one(
            f"""SELECT count(*) FROM duplicate_candidates c
                WHERE c.status IN ('open', 'skipped')
                  AND NOT EXISTS (SELECT 1 FROM {scored} s WHERE s.a = c.left_id AND s.b = c.right_id)"""
        )
    )
    db.execute(
        f"""DELETE FROM duplicate_candidates
            WHERE status IN ('open', 'skipped')
              AND NOT EXISTS (SELECT 1 FROM {scored} s
                              WHERE s.a = duplicate_candidates.left_id AND s.b = duplicate_candidates.right_id)"""
    )
    new = int(
        db.one(
            f"""SELECT count(*) FROM {scored} s
                ANTI JOIN duplicate_candidates c ON c.left_id = s.a AND c.right_id = s.b"""
        )
    )
    db.execute(
        f"""
        INSERT INTO duplicate_candidates
            (candidate_id, left_id, right_id, record_kind, score, points, evidence, field_points,
             status, found_at, last_seen_at)
        SELECT (SELECT coalesce(max(candidate_id), 0) FROM duplicate_candidates)
                   + row_number() OVER (ORDER BY s.points DESC, s.a, s.b),
               s.a, s.b, s.kind, s.score, s.points, s.evidence, s.field_points,
               'open', current_timestamp, current_timestamp
        FROM {scored} s
        ANTI JOIN duplicate_candidates c ON c.left_id = s.a AND c.right_id = s.b
        """
    )
    by_kind = dict(
        db.rows(
            """SELECT record_kind, count(*) FROM duplicate_candidates WHERE status = 'open'
               GROUP BY record_kind ORDER BY record_kind"""
        )
    )
    return {
        "new": new,
        "gone": gone,
        "open": sum(int(v) for v in by_kind.values()),
        "open_by_kind": {k: int(v) for k, v in by_kind.items()},
    }


def scan_after_apply(db: Database) -> dict[str, Any]:
    """The engine calls this after each applied run: people changed, so candidates may have."""
    return scan(db)
