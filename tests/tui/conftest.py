"""Fixtures for the review UI: a demo database (fixed clock, fixed ids), clients and Pilot helpers."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import html
import inspect
import io
import pickle
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerState

from daemon.db import Database
from daemon.demo import build_demo
from daemon.models import Access
from daemon.service.api import PermissionDenied, check
from daemon.service.client import ApiError, DaemonUnavailable
from daemon.service.engine import Engine
from roster_tui.app import RosterApp

FIXED_NOW = datetime(2026, 11, 23, 9, 30)
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests here with asyncio (no async plugin needed for Pilot tests)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture
def snap_compare(snap_compare: Callable[..., bool], request: pytest.FixtureRequest) -> Any:
    """The plugin's comparison, which on a mismatch also prints the screen lines that differ:
    its HTML report is not kept where the suite runs in CI, and a log line is."""
    from pytest_textual_snapshot import node_to_report_path  # type: ignore[import-untyped]

    def compare(*args: Any, **kwargs: Any) -> bool:
        result = snap_compare(*args, **kwargs)
        if not result:
            data = pickle.loads(node_to_report_path(request.node).read_bytes())
            expected, actual = screen_lines(data[1]), screen_lines(data[2])
            diff = difflib.unified_diff(expected, actual, "expected", "actual", lineterm="")
            print("\n".join(diff) or "The screens' text is the same: only styles differ.")
        return result

    return compare


def screen_lines(svg: str) -> list[str]:
    """The text of a Textual SVG screenshot, one string per terminal row."""
    rows: dict[float, list[str]] = {}
    for match in re.finditer(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", match.group(2))).replace("\xa0", " ")
        rows.setdefault(float(match.group(1)), []).append(text)
    return ["".join(rows[y]).rstrip() for y in sorted(rows)]


def fixed_clock() -> datetime:
    return FIXED_NOW


def make_app(client: Any, **kwargs: Any) -> RosterApp:
    """The real app with a fixed clock, as the snapshots need."""
    app = RosterApp(client, clock=fixed_clock, blink=False, **kwargs)
    app.animation_level = "none"  # no tab underline sliding: faster, and never caught midway
    return app


async def settle(pilot: Pilot[Any], rounds: int = 8) -> None:
    """Wait for every worker (engine calls run in threads) and for the work their results start."""
    for _ in range(rounds):
        # a load a newer one replaced (exclusive groups) is cancelled: the next round waits
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(
            w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in pilot.app.workers
        ):
            return


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press keys one by one, letting each one's work finish (so screens are deterministic)."""
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def notices_of(app: Any) -> list[str]:
    """The notices shown so far, as 'title: message'."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


def text_of(widget: Any) -> str:
    """What a Static shows, as plain text (its Rich or Textual content rendered wide)."""
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.export_text()


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type into the focused field, then wait for the work it started."""
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])
    await settle(pilot)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: day 1 applied, hand edits, day 2 planned, day 3 held (about two seconds)."""
    return build_demo(tmp_path_factory.mktemp("demo-template"), fixed_time=FIXED_NOW)


@pytest.fixture
def demo_path(demo_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo" / demo_template.name
    target.parent.mkdir()
    shutil.copyfile(demo_template, target)
    return target


@pytest.fixture
def demo_engine(demo_path: Path) -> Iterator[Engine]:
    db = Database(demo_path)
    db.execute("SET threads = 1")  # new ids in a stable order, as in the demo build
    try:
        yield Engine(db, "admin")
    finally:
        db.close()


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    db = Database(tmp_path / "empty" / "roster.duckdb")
    try:
        yield Engine(db, "admin")
    finally:
        db.close()


class RoleClient:
    """The daemon as a caller with `roles` sees it: what the roles allow works, every other
    change is refused with its message, and `access` says what they may do (so the app offers
    only those keys)."""

    is_remote = False

    def __init__(self, engine: Engine, roles: frozenset[str], user: str = "alice") -> None:
        self.engine = engine
        self.roles = roles
        self.user = user
        self.db = engine.db

    def access(self) -> Access:
        self.engine.caller_roles = self.roles  # as the socket server sets them
        try:
            return self.engine.access().model_copy(update={"user": self.user})
        finally:
            self.engine.caller_roles = None

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.engine, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                check(set(self.roles), method, self.user)
            except PermissionDenied as exc:
                raise ApiError("PermissionDenied", str(exc)) from exc
            return target(*args, **kwargs)

        return call


class ViewerClient(RoleClient):
    """A viewer: reads work, and the app offers no key that changes anything."""

    def __init__(self, engine: Engine, user: str = "alice") -> None:
        super().__init__(engine, frozenset({"viewer"}), user)


class UntoldViewerClient(ViewerClient):
    """A viewer on a daemon older than `access`, which answers it as the socket answers any
    operation it does not know: every key is offered and the engine refuses."""

    def access(self) -> Access:
        raise ApiError("BadRequest", "'access' is not an operation of the Roster Sync API")


class NoDuplicatesClient:
    """An engine without duplicate detection (an older daemon)."""

    is_remote = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db = engine.db

    def __getattr__(self, method: str) -> Any:
        if method.startswith("duplicates_"):
            raise AttributeError(method)
        return getattr(self.engine, method)


class GoneClient:
    """A daemon that stopped answering."""

    is_remote = False

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise DaemonUnavailable(
                "cannot reach the daemon at /run/roster-sync/roster-sync.sock: Connection refused"
            )

        return call
