"""What reading one night's CSV costs, step by step: the figures behind the speed issue's design.

The day-2 plan reads every row of every file into staging (parsed into columns, kept in file
order so that each row knows its line), then validates, normalises and matches all of them,
although about 99% of the lines are the same as the night before. This script measures, on the
benchmark's files, what each way of reading a file costs in one DuckDB connection configured as
the engine's (memory limit, temp directory, threads):

- `hash lines`: every physical line read as one value (no quote handling), hashed, the hashes
  kept in file order: what recognising unchanged lines before parsing them would cost;
- `new lines`: day 2's line hashes that day 1 did not have (an anti-join): how many lines such a
  plan would still parse, validate and match;
- `parse only`: the engine's dialect, every column as text, counted but not kept;
- `parse and keep, any order` and `parse and keep, file order` (what staging does today).

Usage: python benchmarks/read_costs.py benchmarks/data/district-1000000-seed7-rate0.01
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_common import lines_sql, read_csv_sql

FILES = ("users", "enrollments")


def measure(district: Path, memory_limit: str) -> dict[str, dict[str, float]]:
    import duckdb

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="read-costs-") as scratch:
        con = duckdb.connect(str(Path(scratch) / "costs.duckdb"))
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{scratch}/tmp'")

        def timed(sql: str, ordered: bool = True) -> float:
            con.execute(f"SET preserve_insertion_order = {str(ordered).lower()}")
            started = time.perf_counter()
            con.execute(sql)
            return time.perf_counter() - started

        for name in FILES:
            day1, day2 = district / "day1" / f"{name}.csv", district / "day2" / f"{name}.csv"
            figures: dict[str, float] = {}
            timed(
                f"CREATE OR REPLACE TEMP TABLE old_lines AS SELECT hash(line) AS h FROM {lines_sql(day1)}"
            )
            figures["hash lines"] = timed(
                f"CREATE OR REPLACE TEMP TABLE new_lines AS SELECT hash(line) AS h FROM {lines_sql(day2)}"
            )
            started = time.perf_counter()
            new, total = con.execute(
                "SELECT (SELECT count(*) FROM new_lines n ANTI JOIN old_lines o ON o.h = n.h), "
                "(SELECT count(*) FROM new_lines)"
            ).fetchone()  # type: ignore[misc]
            figures["new lines (anti-join)"] = time.perf_counter() - started
            figures["lines"] = total
            figures["lines new on day 2"] = new
            figures["parse only"] = timed(f"SELECT count(*) FROM {read_csv_sql(day2)}")
            figures["parse and keep, any order"] = timed(
                f"CREATE OR REPLACE TEMP TABLE kept AS SELECT * FROM {read_csv_sql(day2)}",
                ordered=False,
            )
            figures["parse and keep, file order"] = timed(
                f"CREATE OR REPLACE TEMP TABLE kept AS SELECT * FROM {read_csv_sql(day2)}"
            )
            con.execute("DROP TABLE kept")
            results[name] = figures
        con.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("district", type=Path, help="a generated district (day1/, day2/)")
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    results = measure(args.district, args.memory_limit)
    for name, figures in results.items():
        print(f"{name}.csv")
        for what, value in figures.items():
            shown = f"{value:,.0f}" if what.startswith("lines") else f"{value:6.2f} s"
            print(f"  {what:32} {shown:>12}")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
