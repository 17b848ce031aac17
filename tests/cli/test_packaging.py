"""Roster Sync installed from its wheel, away from the source checkout (issue 13, items 22, 23).

The wheel is built from a copy of the sources (the checkout is not written to), without network
or build isolation (the dev extra brings setuptools>=77), and installed into a fresh venv with
--no-deps; the dependencies come from the project's venv through a plain path line (so the
editable install of the checkout is not activated). The demo then runs from that install only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("daemon", "roster_tui", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
DEMO = ("day1", "day2", "day3_broken")

pytestmark = pytest.mark.slow


def _copy_sources(target: Path) -> Path:
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "__snapshots__")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    for drop in DEMO:
        shutil.copytree(REPO / "sample_data" / drop, target / "sample_data" / drop)
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """(the wheel, the build's output)."""
    work = tmp_path_factory.mktemp("wheel")
    sources = _copy_sources(work / "src")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(work / "dist"), str(sources)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = (work / "dist").glob("roster_sync-*.whl")
    return wheel, result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> Path:
    """A fresh venv holding only the wheel; returns its python."""
    wheel, _ = built
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deps = sysconfig.get_paths()["purelib"]  # duckdb, textual, pydantic, ... of the project venv
    Path(site, "project-dependencies.pth").write_text(deps + "\n")
    return python


def _run(python: Path, cwd: Path, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTER_SYNC", "PYTHON"))}
    return subprocess.run(
        [str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_the_license_is_an_spdx_string_and_the_build_prints_no_deprecation(built):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    _, output = built
    assert "project.license" not in output and "deprecated" not in output.lower()


def test_the_wheel_carries_the_demo_drops(built):
    import zipfile

    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    for drop in DEMO:
        expected = {
            f"daemon/demo_drops/{drop}/{p.name}"
            for p in (REPO / "sample_data" / drop).glob("*.csv")
        }
        assert expected and expected <= names
    assert "daemon/db/migrations/0006_override_reason.sql" in names
    assert not any(name.startswith("sample_data/") for name in names)


def test_the_demo_builds_from_the_installed_package_alone(installed, tmp_path):
    """`python -m daemon.demo` (what scripts/demo.sh runs), far from any checkout."""
    result = _run(
        installed,
        tmp_path,
        "import daemon, sys; from daemon.demo import main; "
        "print('PACKAGE', daemon.__file__); sys.exit(main(['demo']))",
    )
    assert result.returncode == 0, result.stderr
    package = result.stdout.split("PACKAGE ", 1)[1].splitlines()[0]
    assert package.startswith(str(installed.parent.parent)) and str(REPO) not in package
    assert "daemon/demo_drops/day3_broken (folder" in result.stdout
    assert "Run 3: HELD" in result.stdout
    assert (tmp_path / "demo" / "roster.duckdb").is_file()


def test_roster_tui_demo_runs_from_the_installed_package(installed, tmp_path):
    """`roster-tui --demo` up to the screen (no terminal here), then its folder is gone."""
    result = _run(
        installed,
        tmp_path,
        "import json, tempfile, sys\n"
        f"tempfile.tempdir = {str(tmp_path)!r}\n"
        "from roster_tui.app import RosterApp\n"
        "def shown(app, *a, **k):\n"
        "    print('SHOWN', json.dumps([str(app.demo_path), app.gw.client.get_run(3).status]))\n"
        "RosterApp.run = shown\n"
        "from roster_tui.__main__ import main\n"
        "sys.exit(main(['--demo']))\n",
    )
    assert result.returncode == 0, result.stderr
    path, status = json.loads(result.stdout.split("SHOWN ", 1)[1].splitlines()[0])
    assert status == "held" and path.startswith(str(tmp_path))
    assert not Path(path).parent.exists()
