"""Does the working tree sync a drop exactly as a git revision does? Row for row, not by counts.

Each side plans and applies the drop (`run`, then `apply`) with its own code, into a new
database or a copy of `--db` (a directory that is not empty: hand-made records, an earlier
night), optionally followed by more drops (`--then`: a second night, another district's drop).
Then every table of the two databases is compared row for row (EXCEPT ALL both ways): the
directory, `changes` (each change's trace to its file and line), `row_issues`, conflicts,
plan and ledger tables, the row memory, runs; and the exports of both are compared file by
file. Left out are only what two loads of the same drop differ in by nature: timestamps
(columns ending in `_at`, the audit log's time) and each run's timings.

    python benchmarks/compare_first_load.py --ref main --drop DIR/day1 [--then DIR/day2]
    python benchmarks/compare_first_load.py --ref main --db hand-made.duckdb --drop DIR/day1

A's code is a `git worktree` of the revision, first on PYTHONPATH (as in ab_plan.py). Exits 1
when anything differs, naming the tables and a few rows.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "roster-sync"
# Columns two loads of one drop differ in by nature (besides every `*_at` column).
NOT_COMPARED = {"timings_json"}


def _cli(code: Path | None, db: Path, *args: str) -> str:
    """The CLI with the code at `code` (None: this working tree), first on PYTHONPATH: the
    venv's editable install may point at another checkout (a worktree shares the venv)."""
    env = dict(os.environ)
    env.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    env.pop("ROSTER_SYNC_PROFILE", None)
    env["PYTHONPATH"] = str(code or ROOT)
    done = subprocess.run(
        [str(CLI), "--db", str(db), *args],
        cwd=db.parent,  # not the project root: Python puts the working folder on sys.path
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"roster-sync {' '.join(args)} failed ({'A' if code else 'B'}):\n{done.stderr}")
    return done.stdout


def _load(code: Path | None, db: Path, drops: list[Path], export: Path) -> list[dict]:
    """Plan and apply each drop in turn; export the directory. Returns each run's JSON."""
    results = []
    for drop in drops:
        planned = json.loads(_cli(code, db, "run", str(drop), "--json"))
        if planned["status"] in ("planned", "held"):
            override = ["--override", "--reason", "compare"] if planned["status"] == "held" else []
            _cli(code, db, "apply", str(planned["run_id"]), "--no-duplicate-scan", *override)
        results.append({k: planned[k] for k in ("run_id", "status", "changes", "rows")})
    _cli(code, db, "export", str(export))
    return results


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
            [catalog],
        ).fetchall()
    }


def _compared_columns(
    con: duckdb.DuckDBPyConnection, catalog: str, table: str, new: frozenset[str] = frozenset()
) -> list[str]:
    schema, name = table.split(".", 1)
    columns = con.execute(
        """SELECT column_name FROM duckdb_columns()
           WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index""",
        [catalog, schema, name],
    ).fetchall()
    left_out = NOT_COMPARED | new
    return [f'"{c}"' for (c,) in columns if not c.endswith("_at") and c not in left_out]


def compare_databases(a: Path, b: Path, new: frozenset[str] = frozenset()) -> list[str]:
    """`new`: columns one side's schema adds (a migration), left out on both sides; and the
    schema's record of migrations, which then differs by the new one."""
    """What differs between the two databases, table by table (empty: nothing)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    found = []
    in_a, in_b = _tables(con, "a"), _tables(con, "b")
    for only, side in ((in_a - in_b, "A"), (in_b - in_a, "B")):
        found += [f"table {t} only in {side}" for t in sorted(only)]
    for table in sorted(in_a & in_b):
        if new and table.endswith(".schema_migrations"):
            continue
        columns = _compared_columns(con, "a", table, new)
        if columns != _compared_columns(con, "b", table, new):
            found.append(f"{table}: the columns differ")
            continue
        cols = ", ".join(columns)
        for first, second in (("a", "b"), ("b", "a")):
            rows = con.execute(
                f"SELECT {cols} FROM {first}.{table} EXCEPT ALL SELECT {cols} FROM {second}.{table}"
            ).fetchall()
            if rows:
                found.append(
                    f"{table}: {len(rows)} row(s) only in {first.upper()}, e.g. {rows[:3]}"
                )
    return found


def compare_exports(a: Path, b: Path) -> list[str]:
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    return [
        f"export {n} differs"
        for n in names
        if not ((a / n).exists() and (b / n).exists() and filecmp.cmp(a / n, b / n, shallow=False))
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ref", required=True, help="git revision whose code is A")
    ap.add_argument("--drop", type=Path, required=True, help="the drop to load")
    ap.add_argument("--then", type=Path, action="append", default=[], help="drops after it")
    ap.add_argument("--db", type=Path, help="database to start from (none: an empty one)")
    ap.add_argument("--work", type=Path, help="folder for the databases (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the two databases and exports")
    ap.add_argument(
        "--new-column",
        action="append",
        default=[],
        help="a column the working tree's schema adds (a migration): left out on both sides",
    )
    args = ap.parse_args()
    drops = [d.resolve() for d in (args.drop, *args.then)]
    with tempfile.TemporaryDirectory(prefix="compare-load-", dir=args.work) as tmp:
        work = Path(tempfile.mkdtemp(prefix="compare-load-", dir=args.work) if args.keep else tmp)
        code = work / "code"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(code), args.ref], cwd=ROOT, check=True
        )
        try:
            outcome = {}
            for side, where in (("a", code), ("b", None)):
                db = work / side / "roster.duckdb"
                db.parent.mkdir()
                if args.db is not None:
                    shutil.copyfile(args.db, db)
                outcome[side] = _load(where, db, drops, work / side / "export")
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(code)], cwd=ROOT, check=False
            )
        differences = []
        if outcome["a"] != outcome["b"]:
            differences.append(f"the runs differ: A {outcome['a']} B {outcome['b']}")
        differences += compare_databases(
            work / "a" / "roster.duckdb", work / "b" / "roster.duckdb", frozenset(args.new_column)
        )
        differences += compare_exports(work / "a" / "export", work / "b" / "export")
    for line in differences:
        print(line)
    if args.keep:
        print(f"kept in {work}")
    if differences:
        return 1
    print(f"identical: {len(drops)} drop(s), every table row for row, and the exports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
