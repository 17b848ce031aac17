"""Generate a synthetic OneRoster 1.1 district: DIR/day1/, DIR/day2/ and DIR/expected.json.

Set-based: every row is produced by DuckDB SQL (range() and hash()-based pseudo-randomness, so the
output is a pure function of --students, --seed and --change-rate) and written with COPY.
Python only sequences the statements. See district_sql.py for the data layout.

    python benchmarks/generate_district.py --students 2000 --out /tmp/d [--seed 7] [--change-rate 0.01]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import district_sql as q
from bench_common import DIFF_FILES, KEYS, diff_sql, summarize

GENERATOR_VERSION = 1
STATIC_FILES = ["orgs", "academicSessions", "courses", "classes"]
DAY_FILES = ["users", "enrollments", "demographics"]
ALL_FILES = [*STATIC_FILES, *DAY_FILES]
USER_ROLES = ["student", "teacher", "parent", "guardian"]


def params_for(students: int, seed: int, change_rate: float) -> dict[str, Any]:
    if students < 1:
        raise SystemExit("--students must be at least 1")
    if not 0 <= change_rate <= 0.3:
        raise SystemExit("--change-rate must be between 0 and 0.3")
    k = round(change_rate * students)
    return {
        "generator_version": GENERATOR_VERSION,
        "students": students,
        "seed": seed,
        "change_rate": change_rate,
        "intended": {"added_students": k, "leaving_students": k, "changed_students": k},
    }


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _copy(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> None:
    con.execute(f"COPY ({source}) TO '{path}' (HEADER, DELIMITER ',')")


def generate(students: int, out: Path, seed: int = 7, change_rate: float = 0.01,
             memory_limit: str = "4GB", quiet: bool = False) -> dict[str, Any]:  # fmt: skip
    params = params_for(students, seed, change_rate)
    k = params["intended"]["added_students"]
    t0 = time.perf_counter()
    log = (
        (lambda *a: None)
        if quiet
        else (lambda *a: print(f"[{time.perf_counter() - t0:6.1f}s]", *a))
    )
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".tmp"
    for sub in ("day1", "day2", ".tmp"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir()
    (out / "expected.json").unlink(missing_ok=True)

    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{tmp}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET python_enable_replacements = false")  # never scan Python variables
    con.execute(q.macros(seed))
    con.execute(q.school_table(students))
    con.execute(q.student_tables(students, added=k, leavers=k, changed=k))
    con.execute(q.class_table())
    n_cls = _scalar(con, "SELECT count(*) FROM cls")
    n_tch = _scalar(con, "SELECT count(*) FROM tch")
    n_gdn = _scalar(con, "SELECT sum(ng) FROM fam")
    n_sch = _scalar(con, "SELECT count(*) FROM school")
    widths = {
        "stu": max(7, len(str(students + k))),
        "gdn": max(7, len(str(n_gdn))),
        "tch": max(6, len(str(n_tch))),
        "sch": max(4, len(str(n_sch))),
        "cls": max(6, len(str(n_cls))),
        "crs": max(6, len(str(n_sch * q.COURSES_PER_SCHOOL))),
    }
    log(f"model built: {n_sch} schools, {n_cls} classes, {n_tch} teachers, {n_gdn} guardians")

    rows: dict[str, dict[str, int]] = {"day1": {}, "day2": {}}
    for name, sql in q.static_files(widths).items():
        con.execute(f"CREATE TABLE static_{name} AS {sql}")
        _copy(con, f"SELECT * FROM static_{name}", out / "day1" / f"{name}.csv")
        shutil.copyfile(out / "day1" / f"{name}.csv", out / "day2" / f"{name}.csv")
        n = _scalar(con, f"SELECT count(*) FROM static_{name}")
        rows["day1"][name] = rows["day2"][name] = n
    for day in (1, 2):
        for name, parts in q.day_files(day, widths).items():
            table = f"d{day}_{name}"
            con.execute(f"CREATE TABLE {table} AS {parts[0]}")
            for part in parts[1:]:
                con.execute(f"INSERT INTO {table} {part}")
            _copy(con, f"SELECT * FROM {table}", out / f"day{day}" / f"{name}.csv")
            rows[f"day{day}"][name] = _scalar(con, f"SELECT count(*) FROM {table}")
            log(f"day{day}/{name}.csv: {rows[f'day{day}'][name]:,} rows")
        _copy(con, q.manifest(ALL_FILES), out / f"day{day}" / "manifest.csv")
        rows[f"day{day}"]["manifest"] = 2 + len(ALL_FILES) + len(q.ABSENT_FILES) + 2
    write_seconds = time.perf_counter() - t0

    changes = diff_days(con)
    people = person_changes(con)
    con.close()
    shutil.rmtree(tmp, ignore_errors=True)
    total_seconds = time.perf_counter() - t0
    log(f"expected changes computed ({total_seconds - write_seconds:.1f}s)")

    sizes = {
        day: {p.stem: p.stat().st_size for p in sorted((out / day).glob("*.csv"))}
        for day in ("day1", "day2")
    }
    expected = {
        **params,
        "schools": n_sch,
        "classes": n_cls,
        "teachers": n_tch,
        "changes": changes,
        "person_changes": people,
        "rows": rows,
        "bytes": sizes,
        "total_bytes": {day: sum(v.values()) for day, v in sizes.items()},
        "generation_seconds": round(write_seconds, 2),
        "expected_diff_seconds": round(total_seconds - write_seconds, 2),
        "total_seconds": round(total_seconds, 2),
        "threads": _threads(),
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    return expected


def _threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def diff_days(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Keyed diff of day1 vs day2 users and enrollments, from the tables that were written."""
    result = {
        name: summarize(con.execute(diff_sql(name, f"d1_{name}", f"d2_{name}")).fetchall())
        for name in DIFF_FILES
    }
    zero = dict.fromkeys(KEYS, 0)
    roles = result["users"]["by_role"]
    for role in USER_ROLES:
        roles.setdefault(role, dict(zero))
    # The harness and Roster Sync speak of "guardians" for parents and guardians together.
    roles["guardian/parent"] = {key: roles["parent"][key] + roles["guardian"][key] for key in zero}
    return result


def person_changes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Users whose row changed in more than agentSourcedIds, by role. A row that changes only
    its agents (a parent whose child left or arrived) changes who is linked, not the person:
    Roster Sync plans it as links, not as an update of the person, so the harness compares a
    plan's person updates with this count (a keyed diff of whole rows counts both)."""
    columns = [r[0] for r in con.execute("DESCRIBE d1_users").fetchall()]
    rows = con.execute(
        f"""SELECT b.role, count(*) FROM d1_users a JOIN d2_users b USING ("sourcedId")
            WHERE struct_pack({_person_columns("a", columns)})
                  IS DISTINCT FROM struct_pack({_person_columns("b", columns)})
            GROUP BY ALL"""
    ).fetchall()
    counts = {role: 0 for role in USER_ROLES} | {role: int(n) for role, n in rows}
    counts["guardian/parent"] = counts["parent"] + counts["guardian"]
    return counts


def _person_columns(alias: str, columns: list[str]) -> str:
    return ", ".join(f'"{c}" := {alias}."{c}"' for c in columns if c != "agentSourcedIds")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--change-rate", type=float, default=0.01)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    exp = generate(args.students, args.out, args.seed, args.change_rate, args.memory_limit,
                   quiet=args.quiet)  # fmt: skip
    mb = {day: round(b / 1e6, 1) for day, b in exp["total_bytes"].items()}
    print(f"generated {args.students:,} students in {exp['generation_seconds']:.1f}s "
          f"(+{exp['expected_diff_seconds']:.1f}s for expected.json; {exp['threads']} threads); "
          f"CSV MB: {mb}")  # fmt: skip
    print(json.dumps(exp["changes"], indent=None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
