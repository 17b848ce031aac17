"""Measured child processes of run_benchmark.py. Each prints one JSON object on stdout.

    python benchmarks/bench_steps.py floor DAY1 DAY2 --db PATH [--memory-limit 2GB]
    python benchmarks/bench_steps.py naive DAY1 DAY2

floor: DuckDB alone, the least work any DuckDB-based sync must do: read day 1 and day 2 users.csv and
enrollments.csv into tables of an on-disk database (all VARCHAR, explicit dialect), then a keyed FULL
OUTER JOIN per file counting added / gone / changed (row IS DISTINCT FROM row).
naive: the same keyed diff with the csv module and dicts, one file at a time (both days in memory).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import DIFF_FILES, KEYS, diff_sql, read_csv_sql, summarize


def floor(day1: Path, day2: Path, db: Path, memory_limit: str) -> dict[str, Any]:
    import duckdb

    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{db}.tmp'")
    con.execute("SET python_enable_replacements = false")
    phases: dict[str, float] = {}
    for day, folder in (("d1", day1), ("d2", day2)):
        for name in DIFF_FILES:
            t = time.perf_counter()
            con.execute(f"CREATE TABLE {day}_{name} AS SELECT * FROM {read_csv_sql(folder / f'{name}.csv')}")  # fmt: skip
            phases[f"load_{day}_{name}"] = round(time.perf_counter() - t, 2)
    changes = {}
    for name in DIFF_FILES:
        t = time.perf_counter()
        changes[name] = summarize(
            con.execute(diff_sql(name, f"d1_{name}", f"d2_{name}")).fetchall()
        )
        phases[f"diff_{name}"] = round(time.perf_counter() - t, 2)
    con.close()
    seconds = time.perf_counter() - t0
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(f"{db}.tmp", ignore_errors=True)
    return {"changes": changes, "phases": phases, "seconds": round(seconds, 2)}


def _load(path: Path) -> tuple[dict[str, tuple[str, ...]], int]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return {row[0]: tuple(row) for row in reader}, header.index("role")


def naive(day1: Path, day2: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    changes: dict[str, Any] = {}
    phases: dict[str, float] = {}
    for name in DIFF_FILES:
        t = time.perf_counter()
        old, role_at = _load(day1 / f"{name}.csv")
        new, _ = _load(day2 / f"{name}.csv")
        phases[f"load_{name}"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        by_role: dict[str, dict[str, int]] = {}

        def bump(role: str, key: str, by_role: dict[str, dict[str, int]] = by_role) -> None:
            by_role.setdefault(role, dict.fromkeys(KEYS, 0))[key] += 1

        for sid, row in old.items():
            other = new.get(sid)
            if other is None:
                bump(row[role_at], "gone")
            else:
                bump(other[role_at], "unchanged" if other == row else "changed")
        for sid, row in new.items():
            if sid not in old:
                bump(row[role_at], "added")
        rows = [(role, *(v[k] for k in KEYS)) for role, v in sorted(by_role.items())]
        changes[name] = summarize(rows)
        phases[f"diff_{name}"] = round(time.perf_counter() - t, 2)
        del old, new
    return {"changes": changes, "phases": phases, "seconds": round(time.perf_counter() - t0, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["floor", "naive"])
    ap.add_argument("day1", type=Path)
    ap.add_argument("day2", type=Path)
    ap.add_argument("--db", type=Path, help="on-disk DuckDB file for the floor (deleted after)")
    ap.add_argument("--memory-limit", default="2GB")
    args = ap.parse_args(argv)
    if args.step == "floor":
        if args.db is None:
            ap.error("floor needs --db")
        result = floor(args.day1, args.day2, args.db, args.memory_limit)
    else:
        result = naive(args.day1, args.day2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
