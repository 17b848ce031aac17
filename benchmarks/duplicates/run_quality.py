"""Duplicate finding: precision, recall and F1 on labelled data, and the scan's speed.

    .venv/bin/python -m benchmarks.duplicates.run_quality --students 100000 --seed 2
    .venv/bin/python -m benchmarks.duplicates.run_quality --students 1000000 --seed 3

Builds the data set (benchmarks/duplicates/dataset.py) straight into a fresh directory database,
runs the product's real scan, and compares the open candidates with the truth: a pair is a true
duplicate when both records belong to one person. Scores were tuned on seed 1; report other
seeds (docs/duplicates.md). `--sweep` also shows precision and recall at other thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.duplicates.dataset import build
from daemon.db import Database
from daemon.duplicates import scoring
from daemon.duplicates.scan import scan


def evaluate(db: Database, threshold: int) -> dict[str, Any]:
    """Precision / recall / F1 of open candidates at `threshold` points, per kind and overall."""
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE q_found AS
            SELECT c.left_id AS a, c.right_id AS b, c.record_kind AS kind, c.points,
                   ma.person_id = mb.person_id AS correct,
                   CASE WHEN ma.person_id = mb.person_id THEN 'true duplicate'
                        WHEN ma.family_id = mb.family_id AND ma.dob = mb.dob THEN 'twins'
                        WHEN ma.family_id = mb.family_id AND c.record_kind = 'student' THEN 'siblings'
                        WHEN ma.family_id = mb.family_id THEN 'same household'
                        WHEN ua.given_name = ub.given_name AND ua.family_name = ub.family_name
                            THEN 'same name, different person'
                        ELSE 'other' END AS relation
            FROM duplicate_candidates c
            JOIN bench_map ma ON ma.user_id = c.left_id JOIN bench_map mb ON mb.user_id = c.right_id
            JOIN users ua ON ua.user_id = c.left_id JOIN users ub ON ub.user_id = c.right_id
            WHERE c.status = 'open' AND c.points >= {threshold}"""
    )
    db.execute(
        """CREATE OR REPLACE TEMP TABLE q_truth AS
           SELECT min(user_id) AS a, max(user_id) AS b, any_value(kind) AS kind,
                  max(dup_kind) AS dup_kind
           FROM bench_map GROUP BY person_id, kind HAVING count(*) = 2
           UNION ALL  -- a guardian with three records: each pair is a duplicate
           SELECT x.user_id, y.user_id, x.kind, coalesce(y.dup_kind, x.dup_kind)
           FROM bench_map x JOIN bench_map y ON x.person_id = y.person_id AND x.user_id < y.user_id
           WHERE x.person_id IN (SELECT person_id FROM bench_map GROUP BY ALL HAVING count(*) = 3)"""
    )
    result: dict[str, Any] = {"threshold_points": threshold}
    for kind in ("student", "guardian", None):
        where = f"WHERE kind = '{kind}'" if kind else ""
        found, tp = db.rows(
            f"SELECT count(*), count(*) FILTER (WHERE correct) FROM q_found {where}"
        )[0]
        truth = int(db.one(f"SELECT count(*) FROM q_truth {where}"))
        p = tp / found if found else 1.0
        r = tp / truth if truth else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        result[kind or "all"] = {
            "proposed": found,
            "correct": tp,
            "true_pairs": truth,
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f1, 4),
        }
    result["recall_by_kind"] = {
        k: {"recall": round(found / n, 4), "found": found, "injected": n}
        for k, n, found in db.rows(
            """SELECT t.dup_kind, count(*), count(f.a) FROM q_truth t
               LEFT JOIN q_found f ON f.a = t.a AND f.b = t.b GROUP BY 1 ORDER BY 1"""
        )
    }
    result["false_positives_by_relation"] = dict(
        db.rows(
            "SELECT relation, count(*) FROM q_found WHERE NOT correct GROUP BY 1 ORDER BY 2 DESC"
        )
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2, help="1 is the tuning seed; report others")
    parser.add_argument("--dir", help="keep the database here (default: a temporary folder)")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory limit (default 2GB)")
    parser.add_argument(
        "--sweep", action="store_true", help="also evaluate thresholds below/above the default"
    )
    parser.add_argument("--json-out", help="write the results here as JSON")
    args = parser.parse_args(argv)
    if args.memory_limit:
        os.environ["ROSTER_SYNC_MEMORY_LIMIT"] = args.memory_limit
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="dupbench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"dup{args.students}_s{args.seed}.duckdb"
    for stale in (path, Path(str(path) + ".wal")):
        stale.unlink(missing_ok=True)
    low = scoring.THRESHOLD - 4 if args.sweep else scoring.THRESHOLD
    try:
        with Database(path) as db:
            started = time.perf_counter()
            sizes = build(db, args.students, args.seed)
            built = time.perf_counter() - started
            print(f"built {sizes} in {built:.1f} s (seed {args.seed})", flush=True)
            started = time.perf_counter()
            counts = scan(db, threshold=low)
            seconds = time.perf_counter() - started
            threads = db.one("SELECT current_setting('threads')")
            memory = db.one("SELECT current_setting('memory_limit')")
            results = {
                "students": args.students,
                "seed": args.seed,
                "data": sizes,
                "scan_seconds": round(seconds, 2),
                "scan": counts,
                "threads": threads,
                "memory_limit": memory,
                "default": evaluate(db, scoring.THRESHOLD),
            }
            if args.sweep:
                results["sweep"] = [
                    {k: v for k, v in evaluate(db, t).items() if k in ("threshold_points", "all")}
                    for t in range(low, scoring.THRESHOLD + 7)
                ]
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)
    _report(results)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2, default=str))
    return 0


def _report(r: dict[str, Any]) -> None:
    d = r["default"]
    print(
        f"scan: {r['scan_seconds']:.1f} s on {r['threads']} threads, memory limit {r['memory_limit']} "
        f"({r['scan']['pairs_compared']:,} pairs compared; steps {r['scan']['timings']})"
    )
    print(f"default threshold: {d['threshold_points']} points (score 0.5)")
    for kind in ("student", "guardian", "all"):
        k = d[kind]
        print(
            f"  {kind:9} precision {k['precision']:.4f}  recall {k['recall']:.4f}  F1 {k['f1']:.4f}"
            f"  ({k['correct']:,} of {k['proposed']:,} proposed correct; {k['true_pairs']:,} true pairs)"
        )
    print("  recall by injected kind:")
    for kind, v in d["recall_by_kind"].items():
        print(f"    {kind:22} {v['recall']:.4f}  ({v['found']:,} of {v['injected']:,})")
    if d["false_positives_by_relation"]:
        print(f"  wrong proposals by relation: {d['false_positives_by_relation']}")
    for row in r.get("sweep", []):
        a = row["all"]
        print(
            f"  at {row['threshold_points']:>3} points: precision {a['precision']:.4f} "
            f"recall {a['recall']:.4f} F1 {a['f1']:.4f}"
        )


if __name__ == "__main__":
    sys.exit(main())
