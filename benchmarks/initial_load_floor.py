"""The least a first load could cost that keeps Roster Sync's promises, each part done bare.

The floor reads two days and diffs them. A first load reads one day, but the product promises
more than a copy of it, and each promise is a pass DuckDB must make whatever the design:
- every value checked against its type rule (a clear error naming file, line and column);
- each enrollment resolved to the ids of its class and person (the directory stores ids);
- the plan stored, to be reviewed and approved before anything changes (a separate step,
  often a separate process);
- the directory written from the approved plan, in one transaction.
This script times each of those alone, as plain DuckDB statements on the harness's day 1 (no
row results, no ledger, no invariants, no links or matching), beside the floor of the same run.
The sum is a lower bound for any design that keeps them; Roster Sync's first load is measured
by the harness (run_benchmark.py).

Usage: python -m benchmarks.initial_load_floor --district DIR --work DIR [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import duckdb

from benchmarks.bench_common import read_csv_sql, read_header
from benchmarks.bench_steps import floor
from daemon.db import sql_ident, sql_literal
from daemon.formats.spec import (
    CLASSES,
    DEMOGRAPHICS,
    ENROLLMENTS,
    ORGS,
    USERS_11,
    FileSpec,
    ValueType,
)
from daemon.ingest.value_rules import INVISIBLE_IN_ID_PATTERN, value_rule

FILES: tuple[FileSpec, ...] = (ORGS, CLASSES, USERS_11, ENROLLMENTS, DEMOGRAPHICS)


def _timed(con: duckdb.DuckDBPyConnection, statements: list[str]) -> float:
    started = time.perf_counter()
    for sql in statements:
        con.execute(sql)
    return round(time.perf_counter() - started, 2)


def _checks(spec: FileSpec, header: list[str]) -> str:
    """Every column's type rule (the product's own, daemon/ingest/value_rules.py), as one
    condition: a row breaking any of them."""
    rules = []
    for column in spec.columns:
        if column.name not in header:
            continue
        col = sql_ident(column.name)
        rule = value_rule(column, col)
        if rule is not None:
            rules.append(f"({rule.where})")
        if column.required:
            rules.append(f"({col} IS NULL)")
        if column.type in (ValueType.ID, ValueType.ID_LIST):
            rules.append(f"regexp_matches({col}, {sql_literal(INVISIBLE_IN_ID_PATTERN)})")
    return " OR ".join(rules) or "false"


def parts(day1: Path, db: Path, memory_limit: str) -> dict[str, float]:
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{db}.tmp'")
    headers = {spec.entity: read_header(day1 / spec.file_name) for spec in FILES}
    figures = {
        "read the files": _timed(
            con,
            [
                f"CREATE TEMP TABLE s_{s.entity} AS SELECT * FROM {read_csv_sql(day1 / s.file_name)}"
                for s in FILES
            ],
        ),
        "check every value": _timed(
            con,
            [
                f"SELECT count(*) FROM s_{s.entity} WHERE {_checks(s, headers[s.entity])}"
                for s in FILES
            ],
        ),
        # Each enrollment resolved to its class's and person's ids (their place in staging),
        # on the narrow columns only: what a plan computes before it stores anything.
        "resolve enrollments to ids": _timed(
            con,
            [
                """CREATE TEMP TABLE r_enrollments AS
                   SELECT e.sourcedId, e.role, e.beginDate, e.endDate, e."primary",
                          c.rowid AS classroom_id, u.rowid AS user_id
                   FROM s_enrollments e
                   JOIN s_classes c ON c.sourcedId = e.classSourcedId
                   JOIN s_users u ON u.sourcedId = e.userSourcedId"""
            ],
        ),
        "store the plan": _timed(
            con,
            [
                "BEGIN",
                "CREATE TABLE plan_users AS SELECT rowid AS user_id, * FROM s_users",
                "CREATE TABLE plan_classes AS SELECT rowid AS classroom_id, * FROM s_classes",
                "CREATE TABLE plan_enrollments AS FROM r_enrollments",
                "COMMIT",
                "CHECKPOINT",
            ],
        ),
        "write the directory from the plan": _timed(
            con,
            [
                "BEGIN",
                "CREATE TABLE users AS FROM plan_users",
                "CREATE TABLE classrooms AS FROM plan_classes",
                "CREATE TABLE enrollments AS FROM plan_enrollments",
                "COMMIT",
                "CHECKPOINT",
            ],
        ),
    }
    con.close()
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(f"{db}.tmp", ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--district", type=Path, required=True, help="with day1/ and day2/")
    parser.add_argument("--work", type=Path, required=True, help="a scratch folder")
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    runs = []
    for _ in range(args.repeat):
        base = floor(
            args.district / "day1",
            args.district / "day2",
            args.work / "floor.duckdb",
            args.memory_limit,
        )
        figures = parts(args.district / "day1", args.work / "parts.duckdb", args.memory_limit)
        total = round(sum(figures.values()), 2)
        runs.append(
            {
                "floor": base["seconds"],
                "parts": figures,
                "sum": total,
                "sum/floor": round(total / base["seconds"], 2),
            }
        )
        print(json.dumps(runs[-1]), flush=True)


if __name__ == "__main__":
    main()
