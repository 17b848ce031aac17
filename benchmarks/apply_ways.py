"""Apply one planned run both ways: changed records as new rows and updated in place.

Prints, for each way (alternating, on fresh copies of the database): the apply's wall time, the
memory DuckDB's transaction held once the plan was written (`duckdb_memory()`, tag TRANSACTION:
in memory and spilled), the commit's seconds, and a fingerprint of the directory afterwards,
which must be the same for both ways (sync/apply.py). The figures in BENCHMARKS.md "Sixteenth
session" came from this measurement.

    python benchmarks/apply_ways.py --db planned.duckdb --run 2 [--pairs 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.db.database import Database  # noqa: E402
from daemon.sync import apply, runs  # noqa: E402
from tests.directory_state import directory_fingerprint  # noqa: E402

WAYS = {"new rows": lambda *_: True, "in place": lambda *_: False}


def _transaction_memory(db: Database) -> tuple[float, float]:
    in_memory, spilled = db.rows(
        "SELECT coalesce(sum(memory_usage_bytes), 0) / 1e6, "
        "coalesce(sum(temporary_storage_bytes), 0) / 1e6 "
        "FROM duckdb_memory() WHERE tag = 'TRANSACTION'"
    )[0]
    return float(in_memory), float(spilled)


def _sample(source: Path, run_id: int, way: str, work: Path) -> dict[str, Any]:
    target = work / "sample.duckdb"
    for leftover in work.glob("sample.duckdb*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    shutil.copyfile(source, target)
    figures: dict[str, Any] = {}
    write_plan, transaction = apply.write_plan, Database.transaction

    def measured_write_plan(db: Database, schema: str, run: int) -> None:
        write_plan(db, schema, run)
        figures["memory_mb"] = _transaction_memory(db)

    def timed_commit(db: Database) -> Any:
        class Commit:
            def __enter__(self) -> None:
                db.con.execute("BEGIN TRANSACTION")

            def __exit__(self, kind: Any, *_: Any) -> None:
                if kind is not None:
                    db.con.execute("ROLLBACK")
                    return
                started = time.perf_counter()
                db.con.execute("COMMIT")
                figures["commit_s"] = time.perf_counter() - started

        return Commit()

    apply._few = WAYS[way]  # type: ignore[assignment]
    runs.write_plan = measured_write_plan  # type: ignore[assignment]
    Database.transaction = timed_commit  # type: ignore[assignment,method-assign]
    try:
        started = time.perf_counter()
        with Database(target) as db:
            runs.apply_run(db, run_id, actor="benchmark", override=True, reason="benchmark")
            figures["fingerprint"] = directory_fingerprint(db)[:-1]
        figures["wall_s"] = time.perf_counter() - started  # closing (a checkpoint) included
    finally:
        runs.write_plan, Database.transaction = write_plan, transaction  # type: ignore[method-assign]
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a database with the run planned")
    ap.add_argument("--run", type=int, required=True)
    ap.add_argument("--pairs", type=int, default=1)
    args = ap.parse_args(argv)
    os.environ.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")
    fingerprints = set()
    with tempfile.TemporaryDirectory(dir=args.db.parent) as work:
        for pair in range(1, args.pairs + 1):
            for way in WAYS:
                f = _sample(args.db, args.run, way, Path(work))
                fingerprints.add(f["fingerprint"])
                held, spilled = f["memory_mb"]
                print(
                    f"pair {pair} {way:9}: apply {f['wall_s']:6.2f} s, commit "
                    f"{f['commit_s']:5.2f} s, transaction {held:7.0f} MB held + "
                    f"{spilled:5.0f} MB spilled",
                    flush=True,
                )
    if len(fingerprints) != 1:
        print("the two ways left different directories", file=sys.stderr)
        return 1
    print("both ways left the same directory")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
