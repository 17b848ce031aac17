"""The CLI through its real entry point (`roster-sync` is `daemon.cli.entry:main`, which loads
`daemon.cli.main:main`).

Two ways to reach the engine, and every command must work the same through both:
- embedded: `roster-sync --db FILE ...` opens the database in this process;
- daemon: `roster-sync --config FILE ...` talks to a live daemon (`run_daemon` on a thread of
  this process, the same as tests/daemon use) over its Unix socket.

`both` is parametrized over the two; `twins` runs each command in both (on two copies of one
database) and compares what a person would read.
"""

from __future__ import annotations

import difflib
import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.audit import current_actor
from daemon.cli.main import main
from daemon.db import Database
from daemon.service.engine import Engine
from tests.conftest import SAMPLE
from tests.daemon.conftest import DaemonThread, write_config


@pytest.fixture(autouse=True)
def _no_ambient_locations(monkeypatch) -> None:
    """Only what a test passes names the database: never the environment of whoever runs pytest."""
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)
    monkeypatch.delenv("ROSTER_SYNC_DB", raising=False)


@pytest.fixture
def cli(db_path, capsys):
    """Run `roster-sync --db <test db> ...` in process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", str(db_path), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _build(path: Path, held: bool) -> Path:
    db = Database(path)
    try:
        engine = Engine(db, current_actor())
        run = engine.plan_source(str(SAMPLE / "day1"))
        engine.apply_run(run.run_id)
        if held:
            assert engine.plan_source(str(SAMPLE / "day3_broken")).status == "held"
        db.execute("CHECKPOINT")
    finally:
        db.close()
    return path


@pytest.fixture(scope="session")
def day1_template(tmp_path_factory) -> Path:
    """Day one applied (with the duplicate scan), as `roster-sync run day1 --apply` leaves it.
    Built once; tests work on copies."""
    return _build(tmp_path_factory.mktemp("template") / "roster.duckdb", held=False)


@pytest.fixture(scope="session")
def held_template(tmp_path_factory) -> Path:
    """Day one applied, then the broken day three planned: run 2, held."""
    return _build(tmp_path_factory.mktemp("held") / "roster.duckdb", held=True)


@pytest.fixture
def day1_db(db_path: Path, day1_template: Path) -> Path:
    """This test's own copy of the day-one database."""
    shutil.copyfile(day1_template, db_path)
    return db_path


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """`roster-sync` on one database, embedded or through a daemon serving it."""

    def __init__(self, mode: str, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.mode = mode
        self.folder = folder
        self.database = folder / "roster.duckdb"
        self.capsys = capsys
        self.daemon: DaemonThread | None = None
        self.log = folder / "daemon.log"
        self.socket_dir: Path | None = None

    def start(self) -> Cli:
        if self.mode == "daemon":
            self.socket_dir = Path(tempfile.mkdtemp(prefix="rsc-", dir="/tmp"))
            self.config = write_config(
                self.folder / "roster-sync.toml",
                {
                    "database": str(self.database),
                    "inbox": str(self.folder / "inbox"),
                    "archive": str(self.folder / "archive"),
                    "socket": str(self.socket_dir / "rs.sock"),
                    "quiet_seconds": 0.5,
                    "log_level": "INFO",
                },
            )
            self.daemon = DaemonThread(self.config, None).start()
            _log_to(self.log)
            self.capsys.readouterr()  # the daemon's start-up lines
        return self

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.thread.is_alive():
            self.daemon.stop()
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def location(self) -> list[str]:
        if self.mode == "daemon":
            return ["--config", str(self.config)]
        return ["--db", str(self.database)]

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        args = tuple(a.replace("{tmp}", str(self.folder)) for a in args)
        code = main([*self.location(), *args])
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def daemon_log(self) -> str:
        for handler in logging.getLogger("roster_sync").handlers:
            handler.flush()
        return self.log.read_text() if self.log.exists() else ""


def _log_to(path: Path) -> None:
    """The daemon logs to stderr; here to a file, so a command's stderr is only its own."""
    for handler in logging.getLogger("roster_sync").handlers:
        if getattr(handler, "roster_sync_daemon", False):
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(open(path, "a", encoding="utf-8"))  # noqa: SIM115


def _make(mode: str, folder: Path, template: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / "roster.duckdb")
    return Cli(mode, folder, capsys).start()


@pytest.fixture(params=["embedded", "daemon"])
def both(request, tmp_path, capsys) -> Iterator[Cli]:
    """`roster-sync` on a day-one database: embedded, then through a live daemon.
    `@pytest.mark.template("held_template")` starts from another template."""
    marker = request.node.get_closest_marker("template")
    template = request.getfixturevalue(marker.args[0] if marker else "day1_template")
    runner = _make(request.param, tmp_path / request.param, template, capsys)
    yield runner
    runner.stop()


TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")
DURATION = re.compile(
    r'("(?:load|plan|apply|duplicate_scan|seconds|people|keys|names|blocks|pairs|score|cache|store)": )\d+\.\d+'
    r"|in [0-9.]+ s\b"
)
# A scan's "timings" are seconds, whatever its steps are named (a new step made this flaky).
STEP_TIMES = re.compile(r'"timings": \{[^{}]*\}')
SECONDS = re.compile(r"\d+\.\d+")


def normalized(text: str, runner: Cli) -> str:
    """What may differ between two databases built seconds apart: their folder and the clock,
    and how the commands found them (--db or --config, which the printed hints repeat)."""
    text = text.replace(" ".join(runner.location()), "<where>")
    text = text.replace(str(runner.folder), "<folder>")
    text = TIMESTAMP.sub("<time>", text)
    text = STEP_TIMES.sub(lambda m: SECONDS.sub("<n>", m.group(0)), text)
    return DURATION.sub(
        lambda m: (m.group(1) or "in ") + "<n>" + ("" if m.group(1) else " s"), text
    )


class Twins:
    """The same commands on two copies of one database: one embedded, one through a daemon."""

    def __init__(self, embedded: Cli, daemon: Cli) -> None:
        self.embedded, self.daemon = embedded, daemon

    def __call__(self, *args: str) -> Result:
        """Run in both; they must answer alike. Returns the embedded answer."""
        a, b = self.embedded(*args), self.daemon(*args)
        left = (
            f"exit {a.code}\n{normalized(a.out, self.embedded)}\n{normalized(a.err, self.embedded)}"
        )
        right = f"exit {b.code}\n{normalized(b.out, self.daemon)}\n{normalized(b.err, self.daemon)}"
        diff = "\n".join(
            difflib.unified_diff(
                left.splitlines(), right.splitlines(), "embedded", "daemon", lineterm="", n=1
            )
        )
        assert left == right, f"`roster-sync {' '.join(args)}` differs:\n{diff}"
        return a


@pytest.fixture
def twins(tmp_path, day1_template, capsys) -> Iterator[Twins]:
    embedded = _make("embedded", tmp_path / "embedded", day1_template, capsys)
    daemon = _make("daemon", tmp_path / "daemon", day1_template, capsys)
    yield Twins(embedded, daemon)
    daemon.stop()
