"""The least a day-2 plan could cost: planning only the lines that changed since day 1.

A night that recognised every unchanged line for free would still plan the changed ones. This
script writes day 2 with users.csv, demographics.csv and enrollments.csv cut to the lines day 1
did not have (declared delta in the manifest, so nothing is archived for being left out; the
other files as they are) and times `roster-sync run` of it on a copy of the database before
day 2. Lines day 2 removed are not in it, so the plan is a lower bound, not a night's result.

Usage: python benchmarks/changed_lines_only.py --db BEFORE_DAY2.duckdb --district DIR --work DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from pathlib import Path

import duckdb

from benchmarks.bench_common import lines_sql

ROOT = Path(__file__).resolve().parent.parent
CUT = ("users", "demographics", "enrollments")


def write_changed_lines(district: Path, out: Path) -> dict[str, int]:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(district / "day2", out)
    con = duckdb.connect()
    kept = {}
    for name in CUT:
        day1, day2 = district / "day1" / f"{name}.csv", district / "day2" / f"{name}.csv"
        rows = con.execute(
            f"SELECT line FROM {lines_sql(day2)} EXCEPT ALL SELECT line FROM {lines_sql(day1)}"
        ).fetchall()
        with open(day2, encoding="utf-8") as source:
            header = source.readline()
        with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as target:
            target.write(header)
            target.writelines(f"{line}\n" for (line,) in rows)
        kept[name] = len(rows)
    manifest = (out / "manifest.csv").read_text(encoding="utf-8")
    for name in CUT:
        manifest = manifest.replace(f"file.{name},bulk", f"file.{name},delta")
    (out / "manifest.csv").write_text(manifest, encoding="utf-8")
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a database before day 2")
    parser.add_argument("--district", type=Path, required=True, help="with day1/ and day2/")
    parser.add_argument("--work", type=Path, required=True, help="a scratch folder")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    drop = args.work / "changed-lines"
    kept = write_changed_lines(args.district, drop)
    print("lines kept: " + ", ".join(f"{name} {n:,}" for name, n in kept.items()))
    env = dict(os.environ)
    env.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    target = args.work / "sample.duckdb"
    for _ in range(args.repeat):
        for stale in args.work.glob("sample.duckdb*"):
            stale.unlink()
        shutil.copyfile(args.db, target)
        started = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "roster-sync"), "--db", str(target), "run", str(drop)],
            cwd=args.work,
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"plan of the changed lines only: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
