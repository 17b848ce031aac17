"""Where the test suite's SQL time goes, by statement shape (a pytest plugin and its report).

The suite's time is mostly the engine's statements on tiny districts, where DuckDB's planning,
not the rows, is the cost: a shape run thousands of times at 20-60 ms each is worth more than
any one slow test. Each xdist worker sums the wall seconds of every `Database` statement by its
opening (run ids and numbers replaced by '#') and writes them to a JSON file at the end.

    ROSTER_SYNC_SUITE_SQL=/tmp/suite-sql .venv/bin/python -m pytest -n 3 --dist loadfile \\
        -p benchmarks.suite_statements
    .venv/bin/python -m benchmarks.suite_statements /tmp/suite-sql      # the top shapes

Statements run by a command the tests start in a process of its own (the CLI, the daemon) are
not counted."""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT_ENV = "ROSTER_SYNC_SUITE_SQL"
_NUMBERS = re.compile(r"run\d+_|run_\d+|\b\d+\b")
_totals: collections.defaultdict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])


def shape(sql: str) -> str:
    """A statement's opening with its run ids and numbers replaced: one key per shape."""
    return _NUMBERS.sub("#", " ".join(sql.split())[:140])


def _timed(method: Callable[..., Any]) -> Callable[..., Any]:
    def timed(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(self, sql, *args, **kwargs)
        finally:
            total = _totals[shape(sql)]
            total[0] += 1
            total[1] += time.perf_counter() - started

    return timed


def pytest_configure(config: Any) -> None:
    if not os.environ.get(OUT_ENV):
        return
    from daemon.db.database import Database

    for name in ("execute", "rows", "one", "dicts"):
        setattr(Database, name, _timed(getattr(Database, name)))


def pytest_sessionfinish(session: Any) -> None:
    out = os.environ.get(OUT_ENV)
    if not out:
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (Path(out) / f"{worker}.json").write_text(json.dumps(_totals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the workers wrote their totals")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    totals: collections.defaultdict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for file in sorted(args.folder.glob("*.json")):
        for key, (count, seconds) in json.loads(file.read_text()).items():
            totals[key][0] += count
            totals[key][1] += seconds
    seconds = sum(s for _, s in totals.values())
    count = sum(int(n) for n, _ in totals.values())
    print(f"{count} statements, {seconds:.1f} s of wall time in the workers")
    print(f"{'seconds':>8} {'count':>7} {'each ms':>8}  shape")
    ranked = sorted(totals.items(), key=lambda item: -item[1][1])
    for key, (n, s) in ranked[: args.top]:
        print(f"{s:8.1f} {int(n):7d} {s / n * 1000:8.1f}  {key[:110]}")


if __name__ == "__main__":
    main()
