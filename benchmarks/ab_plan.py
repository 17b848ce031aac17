"""A/B one roster-sync command: the code of a git revision (A) against the working tree (B).

Samples alternate (A, B, A, B, ...) on fresh copies of the same database, so a shared, noisy
machine slows both alike; every sample must give the same result as the others (the run's change
counts and row counts for `run`), or the script says so and fails. It prints each sample's wall
time and, with --statements, the profiled seconds of the SQL statements whose opening (first
100 characters: the table a statement creates) matches a pattern (ROSTER_SYNC_PROFILE=1).

    python benchmarks/ab_plan.py --ref HEAD~1 --db before-day2.duckdb --drop DIR/day2 \
        --pairs 2 --statements unchanged_enrollments
    python benchmarks/ab_plan.py --ref HEAD~1 --drop DIR/day1      # a first load (new database)
    python benchmarks/ab_plan.py --ref HEAD~1 --drop DIR/day1 --apply   # plan and apply

A's code is a `git worktree` of the revision, B's the tree this script is in, each put first on
PYTHONPATH (the venv's editable install may point at another checkout); run it from a clean,
committed revision for A. Each sample prints its wall and CPU seconds (its own, from wait4: a
steadier second opinion on a shared machine) and the machine's load before it.
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


def _timed(command: list[str], env: dict[str, str], work: Path, label: str):
    """Run one command: its wall seconds, its own CPU seconds (from wait4), stdout, stderr."""
    out_path, err_path = work / "stdout.txt", work / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        # cwd: not the project root, where Python would put it first on sys.path
        child = subprocess.Popen(command, cwd=work, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"roster-sync failed ({label}):\n{err_path.read_text()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, out_path.read_text(), err_path.read_text()


def _sample(
    code: Path | None, db: Path | None, drop: Path, work: Path, pattern: str | None, apply: bool
):
    """One `roster-sync run` (and, with `apply`, its apply) with the code at `code` (None:
    this working tree): each step's (wall, CPU) seconds, the run's outcome, and the seconds
    of the statements matching `pattern`."""
    target = work / "sample.duckdb"
    for leftover in work.glob("sample.duckdb*"):
        leftover.unlink()
    if db is not None:
        shutil.copyfile(db, target)
    env = dict(os.environ, ROSTER_SYNC_PROFILE="1", ROSTER_SYNC_PROFILE_MIN="0")
    env.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    # First on the path whichever tree it is: the venv's editable install may point at another
    # checkout (a git worktree sharing the venv).
    env["PYTHONPATH"] = str(code or ROOT)
    cli = [str(ROOT / ".venv" / "bin" / "roster-sync"), "--db", str(target)]
    label = "A" if code else "B"
    wall, cpu, out, err = _timed([*cli, "run", str(drop), "--json"], env, work, label)
    result = json.loads(out)
    steps, profiles = [(wall, cpu)], [err]
    if apply:
        apply_cli = [*cli, "apply", str(result["run_id"]), "--no-duplicate-scan"]
        wall, cpu, _, err = _timed(apply_cli, env, work, label)
        steps.append((wall, cpu))
        profiles.append(err)
    seconds = [
        float(m.group(1))
        for text in profiles
        for line in text.splitlines()
        if (m := PROFILED.match(line)) and pattern and re.search(pattern, m.group(2)[:100])
    ]
    return steps, {"changes": result["changes"], "rows": result["rows"]}, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ref", required=True, help="git revision whose code is A")
    ap.add_argument("--db", type=Path, help="database to copy for each sample (none: a first load)")
    ap.add_argument(
        "--db-b",
        type=Path,
        help="B's own database (default --db): the same directory as B's code leaves it, where "
        "B remembers more than A (a migration: A cannot open B's, nor B take A's as it is)",
    )
    ap.add_argument("--drop", type=Path, required=True, help="the drop each sample runs")
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--statements", help="regular expression: statements whose seconds to show")
    ap.add_argument("--apply", action="store_true", help="apply each planned run too (timed)")
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
                    # the machine's load (1, 5, 15 minutes) as the sample starts
                    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
                    db = args.db_b if label == "B" and args.db_b else args.db
                    steps, outcome, seconds = _sample(
                        where, db, args.drop.resolve(), work, args.statements, args.apply
                    )
                    outcomes.append(outcome)
                    shown = " ".join(f"{s:.2f}" for s in seconds)
                    timed = "  ".join(
                        f"{name} {wall:6.2f} s (CPU {cpu:6.2f} s)"
                        for name, (wall, cpu) in zip(("plan", "apply"), steps, strict=False)
                    )
                    print(
                        f"pair {pair} {label}: {timed}  load {load}"
                        + (f"  statements: {shown}" if seconds else ""),
                        flush=True,
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
