"""What storing a plan table costs, column by column: compressed (as the plan stores it),
uncompressed, and as a working (temporary) table.

Run a first plan (`roster-sync --db DB run DIR/day1`, no apply), then point this at a copy
of its database (the tables it writes are dropped, their space stays): the plan table is read into a working table once, then written back as a table of
the database several ways, each timed (wall and the process's CPU, all threads). A column's
own line is the table written with that column alone.

    python benchmarks/plan_write_costs.py --db first-plan.duckdb --run 1 --table plan_users
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import duckdb


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(con: duckdb.DuckDBPyConnection, label: str, sql: str) -> None:
    cpu, started = _cpu(), time.perf_counter()
    con.execute(sql)
    print(f"{label:45s} {time.perf_counter() - started:6.2f} s (CPU {_cpu() - cpu:6.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--db", type=Path, required=True, help="a scratch copy of a database holding a planned run"
    )
    ap.add_argument("--run", type=int, required=True, help="the run whose plan to write again")
    ap.add_argument("--table", default="plan_enrollments")
    ap.add_argument("--memory-limit", default="2GB")
    args = ap.parse_args()
    con = duckdb.connect(str(args.db))
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute(f"SET temp_directory = '{args.db}.tmp'")
    con.execute(f"CREATE TEMP TABLE source AS FROM run_{args.run}.{args.table}")
    columns = [
        name
        for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'source' "
            "ORDER BY column_index"
        ).fetchall()
    ]
    for compression in ("auto", "uncompressed"):
        con.execute(f"SET force_compression = '{compression}'")
        _timed(con, f"every column, stored ({compression})", "CREATE TABLE main.w AS FROM source")
        con.execute("DROP TABLE main.w")
    con.execute("RESET force_compression")
    _timed(con, "every column, a working table", "CREATE TEMP TABLE w AS FROM source")
    con.execute("DROP TABLE w")
    for name in columns:
        _timed(
            con, f"  {name} alone, stored", f'CREATE TABLE main.w AS SELECT "{name}" FROM source'
        )
        con.execute("DROP TABLE main.w")
    con.close()


if __name__ == "__main__":
    main()
