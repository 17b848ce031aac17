"""Shared fixtures: a real DuckDB file per test, the engine, the sample data and a tiny district."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.db.database import THREADS_ENV
from daemon.models import Run
from daemon.service import server as api_server
from daemon.service.engine import Engine
from tests.district import TinyDistrict

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"

# The files that take longest (seconds on two busy cores, `--durations`, 2 December), run first.
# scripts/test.sh hands each worker a file at a time in the order collected (xdist's own order,
# most tests first, left the one-test property file to run alone at the very end): longest
# first, the short files even out the workers' ends. Only the order changes.
LONGEST_FIRST = (
    "properties/test_sync_properties.py",  # 240
    # few tests, long (6 December, a loaded run's --durations): by their number of tests alone
    # they came last, and one of them then ran alone at the very end
    "properties/test_roles_changes.py",
    "ingest/test_repeated_keys.py",
    "sync/test_same_drop_same_ids.py",
    "daemon/test_daemon_blackout.py",
    "daemon/test_unattended_drops.py",
    "sync/test_kill_during_apply.py",  # 182
    "cli/test_both_ways.py",  # 175
    # long and not listed (6 December, twenty-ninth session: a run loaded about 3.7 times,
    # seconds divided by that; the SFTP late-manifest file grew with its export-order tests)
    "daemon/test_sftp_late_manifest.py",  # 66
    "sources/test_pull_moving.py",  # 53
    "sources/test_clever_records.py",  # 47
    "sources/test_clever_contact_ids.py",  # 42
    "tui/test_operations.py",  # 38
    "sync/test_hand_unarchive.py",  # 38
    "sync/test_held_records.py",  # 37
    "duplicates/test_undo_chains.py",  # 36
    "tui/test_snapshots_runs.py",  # 158
    "sources/test_clever_csv.py",  # 145
    "tui/test_snapshots_screens.py",  # 143
    "tui/test_flows.py",  # 131
    "sync/test_settings.py",  # 112
    "sync/test_runs.py",  # 109
    "daemon/test_daemon_drops.py",  # 108
    "sync/test_hand_made.py",  # 99
    "ingest/test_malformed.py",  # 96
    "duplicates/test_merge.py",  # 96
    "daemon/test_socket_roles.py",  # 80
    "sync/test_promises.py",  # 79
    "sources/test_cli_sources.py",  # 75
    "daemon/test_daemon_signals.py",  # 74
    "ingest/test_row_checks.py",  # 73
    "tui/test_keys.py",  # 64
    "sources/test_clever_api.py",  # 64
    "sources/test_rest_faults.py",  # 61
    "cli/test_packaging.py",  # 61
    "duplicates/test_candidates.py",  # 59
    "ingest/test_fuzz.py",  # 56
    "benchmarks/test_benchmark_smoke.py",  # 55
    # one test (10 examples in CI), 20 s on 4 December: not left to run alone at the very end
    "properties/test_delta_rows_land.py",
    "sync/test_roles_12.py",
    "ingest/test_reader_agreement.py",
    "sync/test_statement_plans.py",
    "duplicates/test_bound.py",
)


# One DuckDB thread per test process: the suite runs a worker per core and one more, and each
# connection's own threads only contend with the other workers' (about 15% less CPU, measured
# on tests/sync). The files whose point is what several threads may do to row order keep
# DuckDB's default (`pytest.mark.duckdb_threads`); so does a run that sets the variable itself.
_ONE_THREAD = THREADS_ENV not in os.environ
if _ONE_THREAD:
    os.environ[THREADS_ENV] = "1"

# Each in-process daemon's stop waits for its API thread to look whether it was asked to stop:
# 0.5 s apart in the product, ~0.3 s a stop, and the tests stop hundreds of daemons.
api_server.STOP_POLL_SECONDS = 0.05


@pytest.fixture(autouse=True)
def _duckdb_threads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if _ONE_THREAD and request.node.get_closest_marker("duckdb_threads"):
        monkeypatch.delenv(THREADS_ENV)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first, then the others by their number of tests (xdist's order); a file's
    tests stay together and in their own order."""
    here = Path(__file__).parent
    rank = {here / name: i for i, name in enumerate(LONGEST_FIRST)}
    count: dict[Path, int] = {}
    for item in items:
        count[item.path] = count.get(item.path, 0) + 1
    items.sort(key=lambda item: (rank.get(item.path, len(rank)), -count[item.path], str(item.path)))


def example_folder(tmp_path_factory: pytest.TempPathFactory) -> tempfile.TemporaryDirectory[str]:
    """A folder for one Hypothesis example's database, removed after it, in the session's
    temporary folder: in memory when scripts/test.sh found room in /dev/shm, where the system's
    /tmp is on disk and each commit's fsync waits on it."""
    return tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp())


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "roster.duckdb"


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new database, migrated and closed: made once (the migrations take a while), copied."""
    path = tmp_path_factory.mktemp("empty-template") / "roster.duckdb"
    Database(path).close()
    return path


@dataclass(frozen=True)
class Applied:
    """A drop applied as run 1 under some settings (set before it): a database tests start from."""

    write: Callable[[Path], Path]  # writes the drop under a folder and returns it
    settings: dict[str, str] = field(default_factory=dict)

    def apply(self, sync: Sync, root: Path) -> Run:
        for key, value in self.settings.items():
            sync.engine.settings_set(key, value)
        return sync.apply(self.write(root))


# The fixtures that start a test from a drop applied as run 1: the name a test asks for.
APPLIED: dict[str, Applied] = {
    "tiny_applied": Applied(lambda root: TinyDistrict().write(root)),
    "tiny_applied_by_identifier": Applied(
        lambda root: TinyDistrict().write(root), {"student_id": "identifier"}
    ),
    "sample12_applied": Applied(
        lambda root: Path(shutil.copytree(SAMPLE / "oneroster12", root / "oneroster12"))
    ),
}


@pytest.fixture(scope="session")
def applied_templates(
    tmp_path_factory: pytest.TempPathFactory, empty_template: Path
) -> Callable[[str], Path]:
    """The database each APPLIED fixture starts from, made once when first asked for, by
    `Sync.apply` as any test would (its drop kept for the session, so a replan of run 1 finds
    it), then closed."""
    made: dict[str, Path] = {}

    def template(name: str) -> Path:
        if name not in made:
            folder = tmp_path_factory.mktemp(f"{name}-template")
            path = folder / "roster.duckdb"
            shutil.copyfile(empty_template, path)
            db = Database(path)
            try:
                run = APPLIED[name].apply(Sync(Engine(db, "tester"), folder / "drops"), folder)
                assert run.status == "applied", run.error
            finally:
                db.close()
            made[name] = path
        return made[name]

    return template


@pytest.fixture
def new_database(
    request: pytest.FixtureRequest, db_path: Path, empty_template: Path
) -> Iterator[Database]:
    """This test's own new database at db_path, open: a copy of the migrated empty one, or of
    a drop applied when the test asks for one of APPLIED."""
    applied = [name for name in APPLIED if name in request.fixturenames]
    assert len(applied) <= 1, f"a test starts from one database, not {applied}"
    template = (
        request.getfixturevalue("applied_templates")(applied[0]) if applied else empty_template
    )
    shutil.copyfile(template, db_path)
    db = Database(db_path)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def engine(new_database: Database) -> Engine:
    return Engine(new_database, "tester")


@pytest.fixture
def tiny() -> TinyDistrict:
    return TinyDistrict()


@pytest.fixture
def sample() -> Path:
    return SAMPLE


class Sync:
    """Small verbs for tests: plan a drop, apply it, read its issues and changes."""

    def __init__(self, engine: Engine, root: Path, scan_duplicates: bool = False) -> None:
        self.engine = engine
        self.root = root
        # Duplicate scanning after apply has its own tests (tests/duplicates turn it on).
        self.scan_duplicates = scan_duplicates

    def plan(self, drop: TinyDistrict | Path) -> Run:
        source = drop.write(self.root) if isinstance(drop, TinyDistrict) else drop
        return self.engine.plan_source(str(source))

    def apply(self, drop: TinyDistrict | Path, override: bool = False) -> Run:
        run = self.plan(drop)
        assert run.status in ("planned", "held"), run.error
        return self.engine.apply_run(
            run.run_id,
            override=override,
            reason="a test overrides the hold" if override else None,
            scan_duplicates=self.scan_duplicates,
        )

    def apply_planned(self, run: Run) -> Run:
        """Apply a run planned elsewhere (a revert, say), which must be planned, not held."""
        assert run.status == "planned", run.hold_reasons
        return self.engine.apply_run(run.run_id, scan_duplicates=self.scan_duplicates)

    def issues(self, run: Run, severity: str | None = None) -> list[dict]:
        sql = "SELECT * FROM row_issues WHERE run_id = ?"
        params: list = [run.run_id]
        if severity:
            sql += " AND severity = ?"
            params.append(severity)
        return self.engine.db.dicts(sql + " ORDER BY file_name, line", params)

    def said(self, run: Run, severity: str, file_name: str, rule: str) -> set[str]:
        """What a run's rows of one file say at one severity under one rule, each message
        without its 'file line N: '."""
        return {
            i["message"].split(": ", 1)[1]
            for i in self.issues(run, severity)
            if i["file_name"] == file_name and i["rule"] == rule
        }

    def changes(self, run: Run, kind: str | None = None, op: str | None = None) -> list[dict]:
        return [
            c.model_dump() for c in self.engine.change_page(run.run_id, kind, op, limit=500).items
        ]

    def user(self, sis_id: str) -> dict:
        return self.engine.db.dicts("SELECT * FROM users WHERE sis_id = ?", [sis_id])[0]


@pytest.fixture
def sync(engine: Engine, tmp_path: Path) -> Sync:
    return Sync(engine, tmp_path / "drops")


@pytest.fixture
def tiny_applied(sync: Sync) -> Run:
    """The tiny district applied as run 1: what `sync.apply(tiny)` leaves, without its second of
    plan and apply (the database is a copy of one it made once: `applied_templates`)."""
    return _run_1(sync)


@pytest.fixture
def tiny_applied_by_identifier(sync: Sync) -> Run:
    """As `tiny_applied`, with student_id = identifier set before the tiny district was applied."""
    return _run_1(sync)


@pytest.fixture
def sample12_applied(sync: Sync) -> Run:
    """As `tiny_applied`, with the bundled OneRoster 1.2 drop (sample_data/oneroster12)."""
    return _run_1(sync)


def _run_1(sync: Sync) -> Run:
    assert not sync.scan_duplicates, "the template was applied without a duplicate scan"
    return sync.engine.get_run(1)
