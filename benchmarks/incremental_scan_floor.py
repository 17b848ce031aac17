"""How far below today's incremental duplicate scan could it go? Its work split into what any
incremental scan must do and the bookkeeping around it, from one run on a fresh copy.

The scan runs as `duplicates scan` runs it (in this process, the code of this tree), with each
SQL statement's wall and CPU seconds (the process's CPU: DuckDB's threads included) put under
one of these heads:

- `detect`: everyone's raw-column hash and its comparison with the cache's (the changed people);
- `rebuild`: the changed people built again, with their blocking keys;
- `pairs`: the pairs to compare made from the blocks' members (keep_pairs);
- `score`: those pairs bounded and scored, with the people the bounds let through built
  (scoring.score_pairs), and apart the scoring statement itself;
- `commit`, and the connection's close (DuckDB's checkpoint of the scan's writes);
- `bookkeeping`: the rest (cache lookups and updates, names, reconcile).

Then the least the detection can cost as it is defined (every person's raw columns and links
read and hashed, nothing written, no join: a lower bound, not a way to do it) is timed on the
same database, twice.

    python benchmarks/incremental_scan_floor.py --db after-day2.duckdb
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from daemon.db import Database
from daemon.duplicates import people, scoring

scan = importlib.import_module("daemon.duplicates.scan")


class _Timed:
    """A DuckDB connection whose statements are timed under the head in force."""

    def __init__(self, con: Any, heads: dict[str, list[float]], head: list[str]) -> None:
        self._con, self._heads, self._head = con, heads, head

    def execute(self, sql: str, params: Any = None) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = self._con.execute(sql, params or [])
        if sql.lstrip().upper().startswith("SELECT"):
            result = _Fetched(result.fetchall())
        head = self._head[-1]
        text = " ".join(sql.split())
        if text.upper() == "COMMIT":
            head = "commit"
        elif f"TEMP TABLE {people.SOURCE} AS" in text or "TEMP TABLE dup_changed AS" in text:
            head = "detect"
        elif head == "score" and f"TEMP TABLE {scoring.SCORED} AS WITH raw" in text:
            head = "score: the scoring statement itself"
        totals = self._heads[head]
        totals[0] += time.perf_counter() - wall
        totals[1] += time.process_time() - cpu
        totals[2] += 1
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class _Fetched:
    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows

    def fetchall(self) -> list[tuple]:
        return self.rows

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None


def _under(head: list[str], name: str, function: Any) -> Any:
    """`function`, its statements timed under `name` (the outermost head wins)."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nested = head[-1] != "bookkeeping"
        if not nested:
            head.append(name)
        try:
            return function(*args, **kwargs)
        finally:
            if not nested:
                head.pop()

    return wrapped


def profile(db_path: Path) -> dict[str, list[float]]:
    heads: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    head = ["bookkeeping"]
    db = Database(db_path)
    plain = db.con
    db.con = _Timed(plain, heads, head)  # type: ignore[assignment]
    originals = {
        (people, "build_people"): "rebuild",
        (people, "build_keys"): "rebuild",
        (people, "keep_pairs"): "pairs",
        (scoring, "score_pairs"): "score",
    }
    saved = {key: getattr(*key) for key in originals}
    for (module, name), label in originals.items():
        setattr(module, name, _under(head, label, saved[(module, name)]))
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = scan.scan(db)
        inside = (time.perf_counter() - wall, time.process_time() - cpu)
    finally:
        for (module, name), function in saved.items():
            setattr(module, name, function)
    db.con = plain
    wall, cpu = time.perf_counter(), time.process_time()
    db.close()
    heads["close (its checkpoint)"] = [time.perf_counter() - wall, time.process_time() - cpu, 0]
    heads["scan (inside)"] = [inside[0], inside[1], 0]
    print(
        f"changed {result['changed']:,}, pairs compared {result['pairs_compared']:,}, "
        f"found {result['found']:,}, incremental {result['incremental']}"
    )
    return heads


_COLUMNS = """u.kind, u.status, u.origin, u.given_name, u.family_name, u.preferred_given_name,
    u.birth_date, u.grades, u.identifier, u.email, u.user_ids, u.mobile_phone, u.home_phone,
    u.org_sis_ids, u.created_run, u.archived_run"""
FLOORS = {
    "everyone's raw columns read and hashed (no write)": f"""SELECT sum(hash({_COLUMNS}))
        FROM users u WHERE u.kind IN ('student', 'guardian') AND u.status IN ('active', 'archived')""",
    "every link read and hashed (no write)": """SELECT sum(hash(student_id, guardian_id))
        FROM guardian_links""",
    "every link's hash summed per person (no write)": """SELECT count(*), sum(h) FROM (
        SELECT user_id, sum(h) AS h FROM (
            SELECT student_id AS user_id, hash('g', guardian_id) AS h FROM guardian_links
            UNION ALL SELECT guardian_id, hash('s', student_id) FROM guardian_links)
        GROUP BY user_id)""",
}


def floors(db_path: Path) -> None:
    db = Database(db_path)
    for name, sql in FLOORS.items():
        for _ in range(2):
            wall, cpu = time.perf_counter(), time.process_time()
            db.one(sql)
            print(f"  floor: {name}: {time.perf_counter() - wall:.3f} s wall, "
                  f"{time.process_time() - cpu:.3f} s CPU")  # fmt: skip
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, required=True, help="the database to copy (not changed)")
    ap.add_argument("--work", type=Path, default=Path("/tmp"), help="folder for the copy")
    args = ap.parse_args()
    copy = args.work / "incremental-scan-floor.duckdb"
    for path in (copy, copy.with_name(copy.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.copy(args.db, copy)
    os.sync()  # the copy's writes are not left for the scan's commit to wait for
    print(f"load {os.getloadavg()[0]:.1f}")
    heads = profile(copy)
    for name, (wall, cpu, n) in sorted(heads.items(), key=lambda x: -x[1][1]):
        print(f"  {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {int(n)} statements")
    floors(copy)
    print(f"load {os.getloadavg()[0]:.1f}")
    copy.unlink()


if __name__ == "__main__":
    main()
