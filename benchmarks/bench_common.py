"""Helpers shared by the benchmark scripts: reading OneRoster CSV with an explicit dialect, and
running a plan that copies its working tables aside."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DIFF_FILES = ("users", "enrollments")


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return next(csv.reader(fh))


def read_csv_sql(path: Path, *, store_rejects: bool = False) -> str:
    """A read_csv() call with the dialect configured (no sniffing), every column VARCHAR.

    See docs/craft.md: the sniffer can mis-guess quoting, so the header is read separately.
    """
    cols = ", ".join(f"'{c}': 'VARCHAR'" for c in read_header(path))
    rejects = ", store_rejects=true" if store_rejects else ""
    return (
        f"read_csv('{path}', columns={{{cols}}}, auto_detect=false, header=true, delim=',', "
        f"quote='\"', escape='\"', strict_mode=true{rejects})"
    )


def lines_sql(path: Path) -> str:
    """A read_csv() call giving each physical data line as one value (`line`): a delimiter and
    no quote the benchmark's files never hold."""
    return (
        f"read_csv('{path}', columns={{'line': 'VARCHAR'}}, header=true, auto_detect=false, "
        "delim='\\x02', quote='', escape='', strict_mode=false)"
    )


def diff_sql(name: str, old: str, new: str) -> str:
    """Keyed diff of two tables with the same columns: added/gone/changed/unchanged by role."""
    return f"""
        SELECT coalesce(b.role, a.role) AS role,
               count(*) FILTER (WHERE a."sourcedId" IS NULL) AS added,
               count(*) FILTER (WHERE b."sourcedId" IS NULL) AS gone,
               count(*) FILTER (WHERE a."sourcedId" IS NOT NULL AND b."sourcedId" IS NOT NULL
                                AND a IS DISTINCT FROM b) AS changed,
               count(*) FILTER (WHERE a."sourcedId" IS NOT NULL AND b."sourcedId" IS NOT NULL
                                AND a IS NOT DISTINCT FROM b) AS unchanged
        FROM {old} a FULL OUTER JOIN {new} b ON a."sourcedId" = b."sourcedId"
        GROUP BY ALL ORDER BY role  -- {name}
    """


KEYS = ("added", "gone", "changed", "unchanged")


def summarize(rows: list[tuple]) -> dict:
    """Turn diff_sql rows into {"total": {...}, "by_role": {role: {...}}}."""
    by_role = {r[0]: dict(zip(KEYS, r[1:], strict=True)) for r in rows}
    total = {k: sum(v[k] for v in by_role.values()) for k in KEYS}
    return {"total": total, "by_role": by_role}


def compare_changes(expected: dict, actual: dict) -> list[str]:
    """Mismatches between two {file: {"total", "by_role"}} diffs (roles absent count as zero)."""
    problems = []
    for name in DIFF_FILES:
        exp, act = expected[name], actual[name]
        if exp["total"] != act["total"]:
            problems.append(f"{name} total: expected {exp['total']}, got {act['total']}")
        for role in sorted(set(exp["by_role"]) | set(act["by_role"])):
            if role == "guardian/parent":
                continue
            e = exp["by_role"].get(role, dict.fromkeys(KEYS, 0))
            a = act["by_role"].get(role, dict.fromkeys(KEYS, 0))
            if e != a:
                problems.append(f"{name} role {role}: expected {e}, got {a}")
    return problems


def plan_with_capture(db: Path, drop: Path, work: Path, capture: str) -> tuple[Path, Path]:
    """Plan `drop` with `roster-sync run` on a copy of `db`, in a process that first runs the
    Python `capture` (which takes the capture database's path as its first argument, then starts
    the CLI): returns the planned copy (the directory as the plan saw it: a plan changes none
    of it) and the capture database."""
    work.mkdir(parents=True, exist_ok=True)
    planned, captured = work / "planned.duckdb", work / "capture.duckdb"
    for stale in (*work.glob("planned.duckdb*"), *work.glob("capture.duckdb*")):
        stale.unlink()
    shutil.copyfile(db, planned)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    subprocess.run(
        [sys.executable, "-c", capture, str(captured), "--db", str(planned), "run", str(drop)],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    return planned, captured
