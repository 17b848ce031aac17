"""Does the working tree's incremental duplicate scan leave exactly what a git revision's does?

Both sides start from copies of one database (a night applied since the last scan, e.g. the
harness's day 2 applied with `--no-duplicate-scan`). Each runs `duplicates scan` (incremental)
with its own code; the candidates (ids, pairs, status, points, score, evidence, field points)
and every cache table (duplicate_scan_*, the state's threshold and counts but not its times)
are compared row for row, EXCEPT ALL both ways. Then each runs `duplicates scan --full` and the
same comparison is made again, and each side's full result against its incremental one.

    python benchmarks/compare_incremental_scan.py --ref main --db after-day2.duckdb [--adopt-cache]

The cache's format is a hash of the scan's code: a side whose code differs from the code that
wrote the database's cache would scan in full. `--adopt-cache` marks the cache as each side's
own first (right when the change is to how the cache is read or updated, not to what a full
scan writes; the full scans compared after say whether that holds).

A's code is a `git worktree` of the revision, first on PYTHONPATH (as in ab_plan.py). Exits 1
when anything differs, naming the tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
CACHE = ("people", "keys", "names", "scored", "extra", "big")


def _scan(code: Path, db: Path, *extra: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(code)}
    env.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    env.pop("ROSTER_SYNC_PROFILE", None)
    entry = "import sys; from daemon.cli.entry import main; sys.exit(main())"
    done = subprocess.run(
        [str(PY), "-c", entry, "--db", str(db), "duplicates", "scan", "--json", *extra],
        cwd=db.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"duplicates scan {' '.join(extra)} failed ({code}):\n{done.stderr}")


def _adopt_cache(code: Path, db: Path) -> None:
    """The cache in `db` marked as written by the code at `code`: its format is a hash of the
    scan's code, so another code's cache makes the next scan full. For code that changes how the
    cache is read or updated, not what a full scan writes (the full scans compared below say
    whether that holds)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    env.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    script = (
        "import sys; from daemon.db import Database; from daemon.duplicates import scan; "
        "m = sys.modules['daemon.duplicates.scan']; db = Database(sys.argv[1]); "
        "db.execute('UPDATE duplicate_scan_state SET format = ?', [m._format(db)]); db.close()"
    )
    subprocess.run([str(PY), "-c", script, str(db)], env=env, cwd=db.parent, check=True)


def _tables() -> dict[str, str]:
    """What is compared: a query per table, {db} standing for the database's name."""
    queries = {
        "candidates": """SELECT candidate_id, left_id, right_id, record_kind, score, points,
                                CAST(evidence AS VARCHAR), CAST(field_points AS VARCHAR), status
                         FROM {db}.duplicate_candidates""",
        "state": "SELECT format, threshold, rebuilt FROM {db}.duplicate_scan_state",
    }
    for table in CACHE:
        queries[f"duplicate_scan_{table}"] = f"SELECT * FROM {{db}}.duplicate_scan_{table}"
    return queries


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(f"SELECT count(*) FROM ({query})").fetchone()
    return int(row[0]) if row else 0


def _differences(
    a: Path, b: Path, what: str, only: tuple[str, ...] = (), sides: tuple[str, str] = ("A", "B")
) -> list[str]:
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    found = []
    for name, query in _tables().items():
        if only and name not in only:
            continue
        qa, qb = query.format(db="a"), query.format(db="b")
        extra = _count(con, f"{qa} EXCEPT ALL {qb}")
        missing = _count(con, f"{qb} EXCEPT ALL {qa}")
        rows = _count(con, qa)
        status = "same" if extra == missing == 0 else "DIFFERENT"
        print(
            f"{what}: {name}: {rows:,} rows, {status} ({extra} only in {sides[0]}, {missing} only in {sides[1]})"
        )
        if extra or missing:
            found.append(f"{what}: {name}")
    con.close()
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", required=True, help="git revision whose code is A")
    ap.add_argument("--db", type=Path, required=True, help="database to copy for each side")
    ap.add_argument(
        "--adopt-cache",
        action="store_true",
        help="each side takes the database's scan cache as its own (see _adopt_cache)",
    )
    ap.add_argument("--work", type=Path, help="folder for the copies (default: a new temp one)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="compare-scan-"))
    work.mkdir(parents=True, exist_ok=True)
    code_a = work / "code-a"
    if not code_a.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(code_a), args.ref],
            check=True,
            capture_output=True,
        )
    sides = {"A": (code_a, work / "a.duckdb"), "B": (ROOT, work / "b.duckdb")}
    for code, db in sides.values():
        shutil.copy(args.db, db)
        if args.adopt_cache:
            _adopt_cache(code, db)
        _scan(code, db)
    a, b = sides["A"][1], sides["B"][1]
    bad = _differences(a, b, "incremental, A against B")
    for code, db in sides.values():
        shutil.copy(db, db.with_suffix(".incremental.duckdb"))
        _scan(code, db, "--full")
    bad += _differences(a, b, "full after it, A against B")
    for side, (_, db) in sides.items():
        bad += _differences(
            db.with_suffix(".incremental.duckdb"),
            db,
            f"{side}: incremental against the full after it",
            only=("candidates",),
            sides=("the incremental", "the full"),
        )
    print("identical" if not bad else "DIFFERENT: " + "; ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
