"""The layers of docs/architecture.md hold: `lint-imports` checks the contracts in pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """Run import-linter (the venv's, without a cache in the tree) on the packages under `cwd`."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command is not None, "import-linter is in the dev extra: pip install -e '.[dev]'"
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [command, "--no-cache", "--no-logo", *selected, str(REPO / "pyproject.toml")],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_contract_is_kept() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_of_the_packages(tmp_path: Path) -> Path:
    for package in ("daemon", "roster_tui"):
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def add_import(module: Path, line: str) -> None:
    module.write_text(f"{line}\n{module.read_text()}")


def test_the_sync_reaching_up_to_the_service_breaks_the_contracts(tmp_path: Path) -> None:
    tree = copy_of_the_packages(tmp_path)
    add_import(tree / "daemon/sync/diff.py", "import daemon.service.engine")
    result = lint_imports(tree, "engine-below-service", "engine-layers")
    assert result.returncode == 1
    assert "daemon.sync.diff -> daemon.service.engine" in result.stdout
    assert "0 kept, 2 broken" in result.stdout


def test_the_engine_importing_textual_breaks_the_contract(tmp_path: Path) -> None:
    tree = copy_of_the_packages(tmp_path)
    add_import(tree / "daemon/service/engine.py", "import textual.app")
    result = lint_imports(tree, "engine-without-ui")
    assert result.returncode == 1
    assert "daemon.service.engine -> textual (l.1)" in result.stdout


def test_a_widget_importing_a_screen_breaks_the_contract(tmp_path: Path) -> None:
    tree = copy_of_the_packages(tmp_path)
    add_import(tree / "roster_tui/widgets/conflicts_panel.py", "import roster_tui.screens.base")
    result = lint_imports(tree, "tui-layers")
    assert result.returncode == 1
    assert "roster_tui.widgets.conflicts_panel -> roster_tui.screens.base" in result.stdout


def test_an_import_cycle_breaks_the_contract(tmp_path: Path) -> None:
    tree = copy_of_the_packages(tmp_path)
    add_import(tree / "daemon/sync/conflicts.py", "import daemon.sync.runs")
    result = lint_imports(tree, "no-cycles")
    assert result.returncode == 1
    assert "No cycles are allowed in daemon.sync" in result.stdout


def test_a_roster_sync_command_starts_without_the_sftp_client() -> None:
    """paramiko (a fifth of a second to import) is the daemon's mirror's and `sftp trust`'s
    alone: every other command, and every config read, starts without it."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, daemon.cli.main; print('paramiko' in sys.modules)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.stdout.strip() == "False", loaded.stderr
