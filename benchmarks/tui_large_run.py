"""The review UI on a run with a million changes: time to first paint and time per page.

    .venv/bin/python benchmarks/tui_large_run.py [--changes 1000000] [--pages 40] [--keep DIR]

Builds (set-based: one INSERT ... SELECT over `range()`) a database whose run 1 is planned with
N changes (students updated and archived, enrollments archived), opens it with the real app in
Pilot at 80x24, opens the run's Changes tab and scrolls with PageDown until `--pages` more pages
have loaded. Prints the figures; nothing here asserts a time (tests never time things).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.db import Database
from daemon.models import empty_changes
from daemon.service.engine import Engine
from roster_tui.app import RosterApp
from roster_tui.screens.run_detail import RunDetailScreen
from roster_tui.widgets.changes_panel import ChangesPanel
from roster_tui.widgets.paged_table import PagedTable

NOW = datetime(2026, 11, 23, 9, 30)


def build(path: Path, n: int) -> dict[str, dict[str, int]]:
    """Run 1, planned, with n changes: 40% student updates, 20% student archives, 40% enrollments."""
    updates, archives = int(n * 0.4), int(n * 0.2)
    enrollments = n - updates - archives
    counts = empty_changes()
    counts["students"]["update"] = updates
    counts["students"]["archive"] = archives
    counts["enrollments"]["archive"] = enrollments
    db = Database(path)
    try:
        db.execute(
            """INSERT INTO runs (run_id, source, source_kind, status, created_at, planned_at,
                                 base_version, settings_json, hold_reasons, summary_json, timings_json)
               VALUES (1, 'benchmark/million', 'folder', 'planned', ?, ?, ?, '{}', [], ?, '{}')""",
            [NOW, NOW, db.directory_version(), json.dumps({"changes": counts, "notes": []})],
        )
        started = time.perf_counter()
        db.execute(
            """INSERT INTO changes
               SELECT 1, i,
                      CASE WHEN i <= ? + ? THEN 'students' ELSE 'enrollments' END,
                      CASE WHEN i <= ? THEN 'update' ELSE 'archive' END,
                      i, 'stu-' || i, 'Student ' || i,
                      CASE WHEN i <= ? THEN [{'field': 'email', 'old': 's' || i || '@old.example.org',
                                              'new': 's' || i || '@example.org'}]
                           ELSE [] END,
                      'users.csv', i + 1, CASE WHEN i > ? THEN 'no longer in the feed' END
               FROM range(1, ? + 1) t(i)""",
            [updates, archives, updates, updates, updates, n],
        )
        print(f"built {n:,} changes in {time.perf_counter() - started:.1f}s")
        db.execute("CHECKPOINT")
    finally:
        db.close()
    return counts


async def measure(path: Path, pages: int) -> None:
    db = Database(path)
    try:
        app = RosterApp(Engine(db, "bench"), clock=lambda: NOW, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            started = time.perf_counter()
            while not app.recent_runs:
                await pilot.pause(0.005)
            print(f"runs list shown:              {1000 * (time.perf_counter() - started):7.0f} ms")
            started = time.perf_counter()
            app.open_run(1, "changes")
            table: PagedTable | None = None
            while table is None or not table.items:
                await pilot.pause(0.005)
                if isinstance(app.screen, RunDetailScreen) and app.screen.query(ChangesPanel):
                    table = app.screen.query_one(ChangesPanel).query_one(PagedTable)
            await pilot.pause()
            first = time.perf_counter() - started
            print(f"run detail, first page shown: {1000 * first:7.0f} ms (total {table.total:,})")
            page_times: list[float] = []
            key_times: list[float] = []
            target = table.pages_loaded + pages
            while table.pages_loaded < target:
                before = table.pages_loaded
                pressed = time.perf_counter()
                await pilot.press("pagedown")
                key_times.append(time.perf_counter() - pressed)
                if table.loading_more or table.pages_loaded > before:
                    waited = time.perf_counter()
                    while table.pages_loaded == before:
                        await pilot.pause(0.002)
                    page_times.append(time.perf_counter() - waited + key_times[-1])
            print(
                f"PageDown key (any):           {1000 * statistics.median(key_times):7.1f} ms median,"
                f" {1000 * max(key_times):.1f} ms max over {len(key_times)} presses"
            )
            if page_times:
                print(
                    f"next page loaded:             {1000 * statistics.median(page_times):7.1f} ms median,"
                    f" {1000 * max(page_times):.1f} ms max over {len(page_times)} pages"
                )
            print(f"rows loaded after scrolling:  {len(table.items):,} of {table.total:,}")
            table.move_cursor(row=0)
            await pilot.pause()
            down_times = []
            for _ in range(30):  # the cost of a key press in Pilot with no page to load
                pressed = time.perf_counter()
                await pilot.press("down")
                down_times.append(time.perf_counter() - pressed)
            print(
                f"Down key (no load), baseline: {1000 * statistics.median(down_times):7.1f} ms median"
            )
            for offset in (100_000, 500_000, 990_000):
                if offset < (table.total or 0):
                    t = time.perf_counter()
                    app.gw.run(lambda engine, at=offset: engine.change_page(1, None, None, at, 100))
                    print(
                        f"page at offset {offset:>7,}:       {1000 * (time.perf_counter() - t):7.1f} ms (engine only)"
                    )
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=40, help="pages to scroll through")
    parser.add_argument("--keep", metavar="DIR", help="build the database here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tui-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "large_run.duckdb"
        if not path.exists():
            build(path, args.changes)
        asyncio.run(measure(path, args.pages))


if __name__ == "__main__":
    main()
