"""A/B one roster-sync command: the code of a git revision (A) against the working tree (B).

Samples alternate (A, B, A, B, ...) on fresh copies of the same database, so a shared, noisy
machine slows both alike; every sample must give the same result as the others (the run's change
counts and row counts for `run`), or the script says so and fails. It prints each sample's wall
time and, with --statements, the profiled seconds of the SQL statements whose opening (first
100 characters: the table a statement creates) matches a pattern (ROSTER_SYNC_PROFILE=1).

    python benchmarks/ab_plan.py --ref HEAD~1 --db before-day2.duckdb --drop DIR/day2 \
        --pairs 2 --statements unchanged_enrollments
    python benchmarks/ab_plan.py --ref HEAD~1 --drop DIR/day1      # a first load (new database)

A's code is a `git worktree` of the revision, put first on PYTHONPATH (the venv's editable
install points at the working tree); run it from a clean, committed revision for A.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILED = re.compile(r"\[\s*([\d.]+)s\] (.*)")


def _sample(code: Path | None, db: Path | None, drop: Path, work: Path, pattern: str | None):
    """One `roster-sync run` with the code at `code` (None: the working tree)."""
    target = work / "sample.duckdb"
    for leftover in work.glob("sample.duckdb*"):
        leftover.unlink()
    if db is not None:
        shutil.copyfile(db, target)
    env = dict(os.environ, ROSTER_SYNC_PROFILE="1", ROSTER_SYNC_PROFILE_MIN="0")
    env.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    if code is not None:
        env["PYTHONPATH"] = str(code)
    else:
        env.pop("PYTHONPATH", None)
    cli = ROOT / ".venv" / "bin" / "roster-sync"
    started = time.perf_counter()
    done = subprocess.run(
        [str(cli), "--db", str(target), "run", str(drop), "--json"],
        cwd=work,  # not the project root: Python puts the working folder first on sys.path
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"roster-sync failed ({'A' if code else 'B'}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    seconds = [
        float(m.group(1))
        for line in done.stderr.splitlines()
        if (m := PROFILED.match(line)) and pattern and re.search(pattern, m.group(2)[:100])
    ]
    return wall, {"changes": result["changes"], "rows": result["rows"]}, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ref", required=True, help="git revision whose code is A")
    ap.add_argument("--db", type=Path, help="database to copy for each sample (none: a first load)")
    ap.add_argument("--drop", type=Path, required=True, help="the drop each sample runs")
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--statements", help="regular expression: statements whose seconds to show")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ab-plan-") as tmp:
        work = Path(tmp)
        code = work / "a"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(code), args.ref], cwd=ROOT, check=True
        )
        try:
            outcomes = []
            for pair in range(1, args.pairs + 1):
                for label, where in (("A", code), ("B", None)):
                    wall, outcome, seconds = _sample(
                        where, args.db, args.drop.resolve(), work, args.statements
                    )
                    outcomes.append(outcome)
                    shown = " ".join(f"{s:.2f}" for s in seconds)
                    print(
                        f"pair {pair} {label}: {wall:6.2f} s"
                        + (f"  statements: {shown}" if seconds else "")
                    )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(code)], cwd=ROOT, check=False
            )
    if any(o != outcomes[0] for o in outcomes):
        print("the samples' results differ: A and B do not plan the same", file=sys.stderr)
        return 1
    print("every sample planned the same changes and row results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
