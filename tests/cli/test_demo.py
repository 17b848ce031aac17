"""The demo: its own folder only, and the review UI on the district it just printed
(issue 13, items 1 and 17).

scripts/demo.sh runs here in a copy of the repository's layout whose scripts/venv.sh does
nothing (the project's .venv is linked in), so the test installs nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.demo import MARKER, DemoFolderRefused, build_demo
from daemon.service.engine import Engine

REPO = Path(__file__).resolve().parents[2]


def make_checkout(root: Path) -> Path:
    """A repository layout for scripts/demo.sh: the real script, the real .venv, no installing."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "demo.sh", root / "scripts" / "demo.sh")
    (root / "scripts" / "venv.sh").write_text(": # the test's .venv is ready\n")
    (root / ".venv").symlink_to(REPO / ".venv")
    return root


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return make_checkout(tmp_path / "checkout")


def make_precious(folder: Path) -> Path:
    """A real administrator's folder: their database and other files beside it."""
    folder.mkdir(parents=True)
    with Database(folder / "roster.duckdb") as db:
        db.execute("INSERT INTO settings VALUES ('auto_apply', 'true', current_timestamp, 'me')")
    (folder / "notes.txt").write_text("do not lose me\n")
    return folder


class DemoRun:
    def __init__(self, checkout: Path, precious: Path, before: dict, result) -> None:  # type: ignore[no-untyped-def]
        self.checkout, self.precious, self.before, self.result = checkout, precious, before, result


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> DemoRun:
    """demo.sh run once, with ROSTER_SYNC_DB and ROSTER_SYNC_CONFIG pointing at a real folder."""
    base = tmp_path_factory.mktemp("demo")
    checkout = make_checkout(base / "checkout")
    precious = make_precious(base / "srv" / "roster")
    before = snapshot(precious)
    result = demo_sh(
        checkout,
        ROSTER_SYNC_DB=str(precious / "roster.duckdb"),
        ROSTER_SYNC_CONFIG=str(precious / "roster-sync.toml"),
    )
    assert result.returncode == 0, result.stderr
    return DemoRun(checkout, precious, before, result)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def demo_sh(checkout: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_SYNC")} | env
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "demo.sh")],
        env=full, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_demo_sh_never_touches_the_folder_roster_sync_db_points_into(demo_run):
    assert snapshot(demo_run.precious) == demo_run.before
    assert (demo_run.checkout / ".demo" / "roster.duckdb").is_file()
    assert (demo_run.checkout / ".demo" / MARKER).is_file()


def test_demo_sh_again_replaces_only_its_own_files(demo_run):
    checkout = demo_run.checkout
    (checkout / ".demo" / "my-notes.txt").write_text("mine\n")
    again = demo_sh(checkout)
    assert again.returncode == 0, again.stderr
    assert (checkout / ".demo" / "my-notes.txt").read_text() == "mine\n"
    with Database(checkout / ".demo" / "roster.duckdb") as db:
        assert db.one("SELECT count(*) FROM runs") == 3  # built afresh, not added to


def test_demo_sh_leaves_a_demo_folder_it_did_not_make_alone(checkout):
    (checkout / ".demo").mkdir()
    (checkout / ".demo" / "roster.duckdb").write_text("someone else's file\n")
    refused = demo_sh(checkout)
    assert refused.returncode != 0
    assert "holds files the demo did not make" in refused.stderr
    assert (checkout / ".demo" / "roster.duckdb").read_text() == "someone else's file\n"


def test_build_demo_refuses_a_folder_with_files_it_did_not_make(tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work\n")
    with pytest.raises(DemoFolderRefused):
        build_demo(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def held_students(text: str) -> str:
    return re.search(r"HELD: students: (\d+ of \d+) active records", text).group(1)


def test_the_review_ui_opens_on_the_district_demo_sh_printed(demo_run):
    result = demo_run.result
    database = demo_run.checkout / ".demo" / "roster.duckdb"
    assert "run .venv/bin/roster-tui --db .demo/roster.duckdb" in result.stdout
    with Database(database) as db:
        held = Engine(db, "test").get_run(3)
    assert held.status == "held"
    printed = held_students(result.stdout)
    assert f"students: {printed} active records" in held.hold_reasons[0]


def test_roster_tui_demo_shows_the_same_district_and_removes_its_folder(
    monkeypatch, tmp_path, capsys, demo_run
):
    """`roster-tui --demo` builds the database demo.sh builds, in a folder it then removes."""
    from roster_tui import __main__ as tui_main
    from roster_tui.app import RosterApp

    seen: dict = {}

    def instead_of_the_ui(app: RosterApp, *args, **kwargs) -> None:
        seen["folder"] = app.demo_path.parent
        seen["files"] = sorted(p.name for p in app.demo_path.parent.iterdir())
        seen["held"] = app.gw.client.get_run(3).hold_reasons[0]

    monkeypatch.setattr(RosterApp, "run", instead_of_the_ui)
    monkeypatch.setattr(tui_main.tempfile, "tempdir", str(tmp_path))
    assert tui_main.main(["--demo"]) == 0
    assert "roster.duckdb" in seen["files"]
    assert not seen["folder"].exists()
    assert list(tmp_path.iterdir()) == []

    printed = held_students(demo_run.result.stdout)  # what demo.sh told
    assert f"students: {printed} active records" in seen["held"]


def test_the_demo_story_says_next_steps_that_paste_as_they_are(demo_run):
    assert "Next: .venv/bin/roster-sync --db .demo/roster.duckdb apply 2" in demo_run.result.stdout
