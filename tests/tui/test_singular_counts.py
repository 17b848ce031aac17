"""A count of one reads in the singular: a run with exactly one warning says '1 warning'."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from textual.widgets import Static

from daemon.service.engine import Engine
from tests.tui.conftest import SAMPLE, make_app, press, settle, text_of


def drop_with_one_warning(tmp_path: Path) -> Path:
    """Day 2 with one student naming itself as its own agent: one row with a warning."""
    drop = tmp_path / "one-warning"
    shutil.copytree(SAMPLE / "day2", drop)
    users = drop / "users.csv"
    with users.open(newline="") as f:
        rows = list(csv.reader(f))
    agent, sourced_id = rows[0].index("agentSourcedIds"), rows[0].index("sourcedId")
    row = next(r for r in rows[1:] if r[agent])
    row[agent] = row[sourced_id]
    with users.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return drop


async def test_the_runs_preview_counts_one_warning_in_the_singular(
    demo_engine: Engine, tmp_path: Path
) -> None:
    run = demo_engine.plan_source(str(drop_with_one_warning(tmp_path)))
    assert (run.rows.warning, run.rows.error) == (1, 0)
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)  # the runs are loaded by a worker; the newest is highlighted
        preview = " ".join(text_of(app.screen.query_one("#run-preview")).split())
        assert " ok · 1 warning · 0 errors" in preview, preview


async def test_the_rows_caption_counts_one_warning_in_the_singular(
    demo_engine: Engine, tmp_path: Path
) -> None:
    run = demo_engine.plan_source(str(drop_with_one_warning(tmp_path)))
    app = make_app(demo_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_run(run.run_id, "rows")
        await press(pilot, "w")
        await settle(pilot)
        caption = text_of(app.screen.query_one("#rows-panel").query_one(".caption", Static))
        assert caption.startswith("1 warning · "), caption
