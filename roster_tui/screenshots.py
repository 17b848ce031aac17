"""`python -m roster_tui.screenshots [FOLDER]`: SVG screenshots of the main screens for the README.

Builds a demo database with a fixed clock (so the pictures do not change from one run to the
next), drives the real app with Pilot and saves one SVG per screen (docs/screenshots/ by default).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot

from daemon.db import Database
from daemon.demo import build_demo
from daemon.service.engine import Engine
from roster_tui.app import RosterApp

FIXED_NOW = datetime(2026, 11, 23, 9, 30)
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
# name -> keys pressed from the start (the runs screen), each followed by waiting for workers
SHOTS: dict[str, list[str]] = {
    "runs": [],
    "run-summary-held": ["enter"],
    "run-summary-planned": ["down", "enter"],
    "run-changes": ["down", "enter", "right_square_bracket", "down", "down"],
    "run-rows": ["enter", *["right_square_bracket"] * 3],
    "approve": ["down", "a"],
    "override": ["o"],
    "conflicts": ["2"],
    "archived": ["3"],
    "duplicates": ["4"],
    "directory": ["5", *"haile", "enter"],
    "record": ["5", *"haile", "enter", "down", "down", "enter", "right_square_bracket"],
    "settings": ["6", "end", "up", "up"],
    "help": ["question_mark"],
    "runs-16-colours": [],
}
ANSI = {"runs-16-colours"}


async def settle(pilot: Pilot[None], rounds: int = 3) -> None:
    """Wait until no worker runs and the screen has refreshed."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def shoot(
    database: Path, name: str, keys: Sequence[str], out: Path, size: tuple[int, int]
) -> Path:
    db = Database(database)
    try:
        app = RosterApp(
            Engine(db, "admin"), clock=lambda: FIXED_NOW, blink=False, ansi=name in ANSI
        )
        app.animation_level = "none"
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
            path = out / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(out))
            return path
    finally:
        db.close()


async def main_async(out: Path, size: tuple[int, int], only: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="roster-shots-") as tmp:
        template = build_demo(Path(tmp) / "template", fixed_time=FIXED_NOW)
        for name, keys in SHOTS.items():
            if only and name not in only:
                continue
            copy = Path(tmp) / name / template.name
            copy.parent.mkdir()
            copy.write_bytes(template.read_bytes())
            print(await shoot(copy, name, keys, out, size))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m roster_tui.screenshots")
    parser.add_argument("folder", nargs="?", default=str(OUT))
    parser.add_argument("--size", default="80x24", help="WIDTHxHEIGHT (default 80x24)")
    parser.add_argument("--only", nargs="*", default=[], help="names of screenshots to take")
    args = parser.parse_args(argv)
    width, height = (int(x) for x in args.size.lower().split("x"))
    asyncio.run(main_async(Path(args.folder), (width, height), args.only))


if __name__ == "__main__":
    main()
